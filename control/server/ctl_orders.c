/*
 * ctl_orders.c - the order-path CLI commands of mgw-control: risk show /
 * set, kill on / off, orders book, positions (docs/CLI.md).
 *
 * Each one posts a command that the match lcore serves (it owns the engine
 * and the risk state) and renders the answer as a table or as JSON. risk
 * set and kill change state: the command table gives them operator access,
 * so ctl_cmd_dispatch audits them with the caller's identity.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_server.h"

static void err(struct ctl_conn *c, int32_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(struct ctl_conn *c, int32_t status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_buf_reset(&c->out);
	if (c->json) {
		ctl_buf_printf(&c->out, "{\"error\":");
		ctl_buf_json_str(&c->out, msg);
		ctl_buf_printf(&c->out, ",\"status\":%d}\n", status);
	} else {
		ctl_buf_printf(&c->out, "error: %s\n", msg);
	}
	ctl_cmd_reply(c, status);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Price(4) as dollars; 1/10000-dollar amounts as dollars with 4 decimals. */
static void px(char *out, size_t cap, uint32_t p)
{
	if (!p)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%u.%04u", p / 10000, p % 10000);
}

static void money(char *out, size_t cap, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	snprintf(out, cap, "%s%" PRIu64 ".%04" PRIu64, v < 0 ? "-" : "", a / 10000, a % 10000);
}

static const char *stp_name(uint8_t s)
{
	static const char *const n[] = {"none", "cancel_newest", "cancel_oldest", "cancel_both"};
	return s < 4 ? n[s] : "?";
}

/* ---- risk show ------------------------------------------------------------ */

static void limit_json(struct ctl_buf *b, const char *name, int on, uint64_t v)
{
	if (on)
		ctl_buf_printf(b, ",\"%s\":%" PRIu64, name, v);
	else
		ctl_buf_printf(b, ",\"%s\":null", name);
}

static void acct_json(struct ctl_buf *b, const struct mgw_risk_acct *a)
{
	ctl_buf_printf(b, "{\"account\":%u", a->account);
	limit_json(b, "max_order_qty", a->enabled & CTL_RISK_MAX_QTY, a->max_order_qty);
	/* dollars, as in the config file and `risk set` */
	limit_json(b, "max_order_notional", a->enabled & CTL_RISK_MAX_NOTIONAL, a->max_order_notional / 10000);
	limit_json(b, "collar_bps", a->enabled & CTL_RISK_COLLAR, a->collar_bps);
	limit_json(b, "credit_limit", a->enabled & CTL_RISK_CREDIT, a->credit_limit / 10000);
	limit_json(b, "max_position", a->enabled & CTL_RISK_MAX_POSITION, a->max_position);
	/* exposure figures in 1/10000 dollar (exact integers) */
	ctl_buf_printf(b, ",\"stp\":\"%s\",\"killed\":%s,\"live_orders\":%u,\"open_notional\":%" PRId64
		       ",\"position_cost\":%" PRId64 ",\"exposure\":%" PRId64 ",\"realized\":%" PRId64 "}",
		       stp_name(a->stp), a->killed ? "true" : "false", a->live_orders, a->open_notional,
		       a->position_cost, a->exposure, a->realized);
}

static void lim_txt(char *out, size_t cap, int on, uint64_t v)
{
	if (on)
		snprintf(out, cap, "%" PRIu64, v);
	else
		snprintf(out, cap, "-");
}

static void risk_show_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result == -ENOENT) {
		err(c, CTL_NOT_FOUND, "account %u has no risk limits", slot->req.risk_show.account);
		return;
	}
	if (slot->result) {
		err(c, CTL_ERR, "dataplane refused: %s", strerror(-slot->result));
		return;
	}
	struct ctl_buf *b = &c->out;
	uint32_t n = slot->resp.risk_show.n;
	if (n > MGW_RISK_SHOW_MAX)
		n = MGW_RISK_SHOW_MAX;
	if (c->json) {
		ctl_buf_printf(b, "{\"global_killed\":%s,\"checked\":%" PRIu64 ",\"passed\":%" PRIu64
			       ",\"units\":{\"limits\":\"dollars\",\"exposure\":\"1/10000 dollar\"},\"accounts\":[",
			       slot->resp.risk_show.global_killed ? "true" : "false",
			       slot->resp.risk_show.checked, slot->resp.risk_show.passed);
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				ctl_buf_printf(b, ",");
			acct_json(b, &slot->resp.risk_show.accts[i]);
		}
		ctl_buf_printf(b, "]}\n");
		ctl_cmd_reply(c, CTL_OK);
		return;
	}
	ctl_buf_printf(b, "global kill switch: %s   orders checked %" PRIu64 ", passed %" PRIu64 "\n",
		       slot->resp.risk_show.global_killed ? "ON" : "off", slot->resp.risk_show.checked,
		       slot->resp.risk_show.passed);
	ctl_buf_printf(b, "%-10s %10s %14s %7s %14s %12s %-13s %4s %6s %16s %16s\n", "ACCOUNT", "MAX_QTY",
		       "MAX_NOTIONAL$", "COLLAR", "CREDIT$", "MAX_POS", "STP", "KILL", "LIVE", "EXPOSURE$",
		       "REALIZED$");
	for (uint32_t i = 0; i < n; i++) {
		const struct mgw_risk_acct *a = &slot->resp.risk_show.accts[i];
		char q[24], no[24], co[24], cr[24], mp[24], ex[32], re[32];
		lim_txt(q, sizeof(q), a->enabled & CTL_RISK_MAX_QTY, a->max_order_qty);
		lim_txt(no, sizeof(no), a->enabled & CTL_RISK_MAX_NOTIONAL, a->max_order_notional / 10000);
		lim_txt(co, sizeof(co), a->enabled & CTL_RISK_COLLAR, a->collar_bps);
		lim_txt(cr, sizeof(cr), a->enabled & CTL_RISK_CREDIT, a->credit_limit / 10000);
		lim_txt(mp, sizeof(mp), a->enabled & CTL_RISK_MAX_POSITION, a->max_position);
		money(ex, sizeof(ex), a->exposure);
		money(re, sizeof(re), a->realized);
		ctl_buf_printf(b, "%-10u %10s %14s %7s %14s %12s %-13s %4s %6u %16s %16s\n", a->account, q, no,
			       co, cr, mp, stp_name(a->stp), a->killed ? "ON" : "off", a->live_orders, ex, re);
	}
	if (!n)
		ctl_buf_printf(b, "(no account has limits: every order is refused, unknown account)\n");
	ctl_cmd_reply(c, CTL_OK);
}

void ctl_risk_show(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	struct { uint32_t account; uint8_t all; } req = {0, 1};
	_Static_assert(sizeof(req) <= sizeof(((struct mgw_cmd_slot *)0)->req.risk_show), "req fits");
	if (a->npos > 1 || (a->npos == 1 && parse_u32(a->pos[0], &req.account))) {
		err(c, CTL_USAGE, "usage: risk show [ACCOUNT]");
		return;
	}
	req.all = a->npos == 0;
	ctl_cmd_post(srv, c, MGW_CMD_RISK_SHOW, &req, sizeof(req), risk_show_done);
}

/* ---- risk set --------------------------------------------------------------- */

static void risk_set_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	const char *key = slot->req.risk_set.key;
	if (slot->result) {
		err(c, slot->result == -ENOENT ? CTL_NOT_FOUND : CTL_ERR, "risk set refused: %s",
		    slot->resp.risk_set.reason[0] ? slot->resp.risk_set.reason : strerror(-slot->result));
		return;
	}
	struct ctl_buf *b = &c->out;
	int sym = strcmp(key, "restrict") == 0 || strcmp(key, "unrestrict") == 0;
	if (c->json) {
		ctl_buf_printf(b, "{\"account\":%u,\"key\":", slot->req.risk_set.account);
		ctl_buf_json_str(b, key);
		if (sym) {
			ctl_buf_printf(b, ",\"symbol\":");
			ctl_buf_json_str(b, slot->req.risk_set.symbol);
			ctl_buf_printf(b, "}\n");
		} else {
			ctl_buf_printf(b, ",\"old\":%" PRIu64 ",\"new\":%" PRIu64 "}\n",
				       slot->resp.risk_set.old_value, slot->resp.risk_set.new_value);
		}
	} else if (sym) {
		ctl_buf_printf(b, "account %u: %s %s\n", slot->req.risk_set.account, key,
			       slot->req.risk_set.symbol);
	} else {
		ctl_buf_printf(b, "account %u: %s %" PRIu64 " -> %" PRIu64 "%s\n", slot->req.risk_set.account,
			       key, slot->resp.risk_set.old_value, slot->resp.risk_set.new_value,
			       slot->resp.risk_set.new_value ? "" : " (check off)");
	}
	ctl_cmd_reply(c, CTL_OK);
}

void ctl_risk_set(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	struct mgw_cmd_slot probe;
	__typeof__(probe.req.risk_set) req;
	memset(&req, 0, sizeof(req));
	if (a->npos != 3 || parse_u32(a->pos[0], &req.account)) {
		err(c, CTL_USAGE, "usage: risk set ACCOUNT KEY VALUE (keys: max_order_qty, "
		    "max_order_notional, collar_bps, credit_limit, max_position, stp, restrict, unrestrict)");
		return;
	}
	static const char *const keys[] = {"max_order_qty", "max_order_notional", "collar_bps",
					   "credit_limit", "max_position", "stp", "restrict",
					   "unrestrict", NULL};
	int k;
	for (k = 0; keys[k]; k++)
		if (strcmp(a->pos[1], keys[k]) == 0)
			break;
	if (!keys[k]) {
		err(c, CTL_USAGE, "unknown risk key '%s' (max_order_qty, max_order_notional, collar_bps, "
		    "credit_limit, max_position, stp, restrict, unrestrict)", a->pos[1]);
		return;
	}
	snprintf(req.key, sizeof(req.key), "%s", keys[k]);
	const char *v = a->pos[2];
	if (k >= 6) {
		size_t len = strlen(v);
		if (len == 0 || len > 8) {
			err(c, CTL_USAGE, "a symbol has 1 to 8 characters, got '%s'", v);
			return;
		}
		memcpy(req.symbol, v, len);
	} else if (k == 5) {
		static const char *const stp[] = {"none", "cancel_newest", "cancel_oldest", "cancel_both"};
		int m;
		for (m = 0; m < 4 && strcmp(v, stp[m]); m++)
			;
		if (m == 4) {
			err(c, CTL_USAGE, "stp is none, cancel_newest, cancel_oldest or cancel_both");
			return;
		}
		req.value = (uint64_t)m;
	} else {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (!*v || *v == '-' || *end || errno) {
			err(c, CTL_USAGE, "%s needs a whole number (dollars for notional and credit; 0 = off), "
			    "got '%s'", keys[k], v);
			return;
		}
		req.value = x;
	}
	ctl_cmd_post(srv, c, MGW_CMD_RISK_SET, &req, sizeof(req), risk_set_done);
}

/* ---- kill ---------------------------------------------------------------------- */

static const char *level_name(uint8_t l)
{
	return l == 0 ? "global" : l == 1 ? "account" : "session";
}

static void kill_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result) {
		err(c, slot->result == -ENOENT ? CTL_NOT_FOUND : CTL_ERR, "kill refused: %s",
		    slot->resp.kill.reason[0] ? slot->resp.kill.reason : strerror(-slot->result));
		return;
	}
	struct ctl_buf *b = &c->out;
	uint8_t l = slot->req.kill.level;
	if (c->json) {
		ctl_buf_printf(b, "{\"kill\":%s,\"level\":\"%s\"", slot->req.kill.on ? "true" : "false",
			       level_name(l));
		if (l)
			ctl_buf_printf(b, ",\"key\":%u", slot->req.kill.key);
		ctl_buf_printf(b, ",\"mass_cancel\":%s}\n", slot->resp.kill.cancelled_scope ? "true" : "false");
	} else if (slot->req.kill.on) {
		ctl_buf_printf(b, "kill switch ON (%s", level_name(l));
		if (l)
			ctl_buf_printf(b, " %u", slot->req.kill.key);
		ctl_buf_printf(b, "): new orders refused, resting orders cancelled\n");
	} else {
		ctl_buf_printf(b, "kill switch off (%s", level_name(l));
		if (l)
			ctl_buf_printf(b, " %u", slot->req.kill.key);
		ctl_buf_printf(b, "): orders accepted again\n");
	}
	ctl_cmd_reply(c, CTL_OK);
}

static void kill_cmd(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a, int on)
{
	if (ctl_args_done(c, a))
		return;
	struct mgw_cmd_slot probe;
	__typeof__(probe.req.kill) req;
	memset(&req, 0, sizeof(req));
	req.on = (uint8_t)on;
	int ok = 0;
	if (a->npos == 1 && strcmp(a->pos[0], "global") == 0) {
		req.level = 0;
		ok = 1;
	} else if (a->npos == 2 && (strcmp(a->pos[0], "account") == 0 || strcmp(a->pos[0], "session") == 0)) {
		req.level = a->pos[0][0] == 'a' ? 1 : 2;
		ok = parse_u32(a->pos[1], &req.key) == 0;
	}
	if (!ok) {
		err(c, CTL_USAGE, "usage: kill %s global|account N|session N", on ? "on" : "off");
		return;
	}
	ctl_cmd_post(srv, c, MGW_CMD_KILL, &req, sizeof(req), kill_done);
}

void ctl_kill_on(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	kill_cmd(srv, c, a, 1);
}

void ctl_kill_off(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	kill_cmd(srv, c, a, 0);
}

/* ---- orders book ---------------------------------------------------------------- */

static void level_json(struct ctl_buf *b, const struct mgw_snap_level *l)
{
	ctl_buf_printf(b, "{\"price\":%u,\"qty\":%" PRIu64 ",\"orders\":%u}", l->price, l->qty, l->orders);
}

static void orders_book_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result == -ENOENT) {
		err(c, CTL_NOT_FOUND, "symbol '%.8s' is not known from the feed yet",
		    slot->req.match_book.stock);
		return;
	}
	if (slot->result) {
		err(c, CTL_ERR, "dataplane refused: %s", strerror(-slot->result));
		return;
	}
	const __typeof__(slot->resp.match_book) *r = &slot->resp.match_book;
	unsigned int nb = r->n_bids > MGW_SNAP_MAX_DEPTH ? MGW_SNAP_MAX_DEPTH : r->n_bids;
	unsigned int na = r->n_asks > MGW_SNAP_MAX_DEPTH ? MGW_SNAP_MAX_DEPTH : r->n_asks;
	struct ctl_buf *b = &c->out;
	if (c->json) {
		ctl_buf_printf(b, "{\"symbol\":");
		ctl_buf_json_str(b, slot->req.match_book.stock);
		ctl_buf_printf(b, ",\"locate\":%u,\"orders\":%u,\"reference\":{\"valid\":%s,\"bid\":%u,\"ask\":%u},"
			       "\"bids\":[", r->locate, r->orders, r->ref_valid ? "true" : "false", r->ref_bid,
			       r->ref_ask);
		for (unsigned int i = 0; i < nb; i++) {
			if (i)
				ctl_buf_printf(b, ",");
			level_json(b, &r->bids[i]);
		}
		ctl_buf_printf(b, "],\"asks\":[");
		for (unsigned int i = 0; i < na; i++) {
			if (i)
				ctl_buf_printf(b, ",");
			level_json(b, &r->asks[i]);
		}
		ctl_buf_printf(b, "]}\n");
		ctl_cmd_reply(c, CTL_OK);
		return;
	}
	char rb[24], ra[24];
	px(rb, sizeof(rb), r->ref_bid);
	px(ra, sizeof(ra), r->ref_ask);
	ctl_buf_printf(b, "%.8s  locate %u  client orders %u  reference %s x %s (%s)\n",
		       slot->req.match_book.stock, r->locate, r->orders, rb, ra,
		       r->ref_valid ? "valid" : "NOT valid: stale, halted or no quote");
	ctl_buf_printf(b, "%8s %10s %12s | %-12s %10s %8s\n", "ORDERS", "BID_QTY", "BID", "ASK", "ASK_QTY",
		       "ORDERS");
	unsigned int rows = nb > na ? nb : na;
	for (unsigned int i = 0; i < rows; i++) {
		char bp[24] = "", ap[24] = "", bq[24] = "", aq[24] = "", bo[16] = "", ao[16] = "";
		if (i < nb) {
			px(bp, sizeof(bp), r->bids[i].price);
			snprintf(bq, sizeof(bq), "%" PRIu64, r->bids[i].qty);
			snprintf(bo, sizeof(bo), "%u", r->bids[i].orders);
		}
		if (i < na) {
			px(ap, sizeof(ap), r->asks[i].price);
			snprintf(aq, sizeof(aq), "%" PRIu64, r->asks[i].qty);
			snprintf(ao, sizeof(ao), "%u", r->asks[i].orders);
		}
		ctl_buf_printf(b, "%8s %10s %12s | %-12s %10s %8s\n", bo, bq, bp, ap, aq, ao);
	}
	if (!rows)
		ctl_buf_printf(b, "(no client orders resting)\n");
	ctl_cmd_reply(c, CTL_OK);
}

void ctl_orders_book(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	unsigned long depth = 10;
	if (ctl_opt_uint(c, a, "--depth", MGW_SNAP_MAX_DEPTH, &depth) < 0 || ctl_args_done(c, a))
		return;
	if (a->npos != 1) {
		err(c, CTL_USAGE, "usage: orders book SYMBOL [--depth N]");
		return;
	}
	size_t len = strlen(a->pos[0]);
	if (len == 0 || len > 8) {
		err(c, CTL_USAGE, "a symbol has 1 to 8 characters, got '%s'", a->pos[0]);
		return;
	}
	struct mgw_cmd_slot probe;
	__typeof__(probe.req.match_book) req;
	memset(&req, 0, sizeof(req));
	memcpy(req.stock, a->pos[0], len);
	req.depth = (uint16_t)depth;
	ctl_cmd_post(srv, c, MGW_CMD_MATCH_BOOK, &req, sizeof(req), orders_book_done);
}

/* ---- positions -------------------------------------------------------------------- */

static void positions_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result == -ENOENT) {
		err(c, CTL_NOT_FOUND, "account %u has no risk limits", slot->req.positions.account);
		return;
	}
	if (slot->result) {
		err(c, CTL_ERR, "dataplane refused: %s", strerror(-slot->result));
		return;
	}
	const __typeof__(slot->resp.positions) *p = &slot->resp.positions;
	uint32_t n = p->n > MGW_POS_MAX ? MGW_POS_MAX : p->n;
	struct ctl_buf *b = &c->out;
	if (c->json) {
		ctl_buf_printf(b, "{\"account\":%u,\"units\":{\"price\":\"Price(4)\",\"money\":\"1/10000 dollar\"},"
			       "\"summary\":", slot->req.positions.account);
		acct_json(b, &p->acct);
		ctl_buf_printf(b, ",\"truncated\":%s,\"positions\":[", p->truncated ? "true" : "false");
		for (uint32_t i = 0; i < n; i++) {
			const struct mgw_pos_row *r = &p->rows[i];
			ctl_buf_printf(b, "%s{\"symbol\":", i ? "," : "");
			ctl_buf_json_str(b, r->stock);
			ctl_buf_printf(b, ",\"locate\":%u,\"qty\":%" PRId64 ",\"avg_px\":%u,\"mid_px\":%u,\"realized\":%"
				       PRId64 ",\"unrealized\":%" PRId64 ",\"open_buy_qty\":%" PRIu64
				       ",\"open_sell_qty\":%" PRIu64 ",\"restricted\":%s}", r->locate, r->qty,
				       r->avg_px, r->mid_px, r->realized, r->unrealized, r->open_buy_qty,
				       r->open_sell_qty, r->restricted ? "true" : "false");
		}
		ctl_buf_printf(b, "]}\n");
		ctl_cmd_reply(c, CTL_OK);
		return;
	}
	char ex[32], re[32];
	money(ex, sizeof(ex), p->acct.exposure);
	money(re, sizeof(re), p->acct.realized);
	ctl_buf_printf(b, "account %u  live orders %u  exposure $%s  realized $%s%s\n", slot->req.positions.account,
		       p->acct.live_orders, ex, re, p->acct.killed ? "  KILLED" : "");
	ctl_buf_printf(b, "%-8s %6s %10s %12s %12s %14s %14s %9s %9s\n", "SYMBOL", "LOCATE", "QTY", "AVG_PX",
		       "MID", "REALIZED$", "UNREALIZED$", "OPEN_BUY", "OPEN_SELL");
	for (uint32_t i = 0; i < n; i++) {
		const struct mgw_pos_row *r = &p->rows[i];
		char ap[24], mp[24], rl[32], ur[32];
		px(ap, sizeof(ap), r->avg_px);
		px(mp, sizeof(mp), r->mid_px);
		money(rl, sizeof(rl), r->realized);
		money(ur, sizeof(ur), r->unrealized);
		ctl_buf_printf(b, "%-8s %6u %10" PRId64 " %12s %12s %14s %14s %9" PRIu64 " %9" PRIu64 "\n",
			       r->stock[0] ? r->stock : "?", r->locate, r->qty, ap, mp, rl, ur, r->open_buy_qty,
			       r->open_sell_qty);
	}
	if (!n)
		ctl_buf_printf(b, "(no fills yet)\n");
	else if (p->truncated)
		ctl_buf_printf(b, "(more symbols than shown: first %d)\n", MGW_POS_MAX);
	ctl_cmd_reply(c, CTL_OK);
}

void ctl_positions(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	uint32_t acct;
	if (a->npos != 1 || parse_u32(a->pos[0], &acct)) {
		err(c, CTL_USAGE, "usage: positions ACCOUNT");
		return;
	}
	ctl_cmd_post(srv, c, MGW_CMD_POSITIONS, &acct, sizeof(acct), positions_done);
}
