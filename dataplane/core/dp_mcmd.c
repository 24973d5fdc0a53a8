/*
 * dp_mcmd.c - commands from mgw-control served on the match lcore: risk
 * show / set, kill switches, the client book of a symbol, positions.
 *
 * The match lcore owns the engine and the risk state, so it is the only
 * one that may read or change them: control posts these commands on the
 * match command ring (mgw_cmd_is_match), into the same slot region as the
 * book lcore's commands, and the match lcore answers in place with the
 * same POSTED -> DONE protocol as dp_cmd.c. A few per periodic tick.
 *
 * A kill switch that goes on also queues the mass cancel risk hands back
 * (dp_mstage_inject): the match stage runs it before the next order, so
 * its CANCELLED reports reach the report ring like any other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_ring.h>

#include "dp_lcore.h"

#define CMDS_PER_TICK 4

static int reason(char *dst, size_t cap, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int reason(char *dst, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	return rc;
}

static void fill_acct(struct dp_lcore_ctx *c, uint32_t account, struct mgw_risk_acct *o)
{
	struct dp_risk_limits l;
	struct dp_risk_acct a;
	memset(o, 0, sizeof(*o));
	o->account = account;
	if (dp_risk_get_limits(c->ms->r, account, &l) == 0) {
		o->enabled = l.enabled;
		o->max_order_qty = l.max_order_qty;
		o->collar_bps = l.collar_bps;
		o->max_order_notional = l.max_order_notional;
		o->credit_limit = l.credit_limit;
		o->max_position = l.max_position;
	}
	if (dp_risk_account(c->ms->r, account, &a) == 0) {
		o->open_notional = a.open_notional;
		o->position_cost = a.position_cost;
		o->exposure = a.exposure;
		o->realized = a.realized;
		o->live_orders = a.live_orders;
		o->killed = a.killed;
	}
	o->stp = dp_match_get_stp(c->ms->m, account);
}

static int cmd_risk_show(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	struct dp_risk_stats st;
	dp_risk_stats(c->ms->r, &st);
	slot->resp.risk_show.checked = st.checked;
	slot->resp.risk_show.passed = st.passed;
	slot->resp.risk_show.global_killed = dp_risk_killed(c->ms->r, DP_RISK_GLOBAL, 0) == 1;
	uint32_t n = 0;
	if (!slot->req.risk_show.all) {
		struct dp_risk_limits l;
		if (dp_risk_get_limits(c->ms->r, slot->req.risk_show.account, &l) != 0)
			return -ENOENT;
		fill_acct(c, slot->req.risk_show.account, &slot->resp.risk_show.accts[n++]);
	} else {
		for (uint32_t i = 0; i < c->n_accts && n < MGW_RISK_SHOW_MAX; i++)
			fill_acct(c, c->accts[i], &slot->resp.risk_show.accts[n++]);
	}
	slot->resp.risk_show.n = n;
	return 0;
}

static int cmd_risk_set(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	char *why = slot->resp.risk_set.reason;
	const size_t wcap = sizeof(slot->resp.risk_set.reason);
	uint32_t acct = slot->req.risk_set.account;
	char key[MGW_RISK_KEY_MAX + 1];
	memcpy(key, slot->req.risk_set.key, MGW_RISK_KEY_MAX);
	key[MGW_RISK_KEY_MAX] = '\0';
	uint64_t v = slot->req.risk_set.value;
	why[0] = '\0';

	if (strcmp(key, "restrict") == 0 || strcmp(key, "unrestrict") == 0) {
		char name[9];
		memcpy(name, slot->req.risk_set.symbol, 8);
		name[8] = '\0';
		struct dp_risk_limits l;
		if (dp_risk_get_limits(c->ms->r, acct, &l) != 0)
			return reason(why, wcap, -ENOENT, "account %u has no limits (set one first)", acct);
		if (!name[0])
			return reason(why, wcap, -EINVAL, "%s needs a symbol", key);
		int on = key[0] == 'r';
		if (dp_mstage_restrict(c->ms, acct, name, on) != 0)
			return reason(why, wcap, -ENOSPC, "restricted symbol list full");
		slot->resp.risk_set.new_value = (uint64_t)on;
		return 0;
	}
	if (strcmp(key, "stp") == 0) {
		if (v > DP_STP_CANCEL_BOTH)
			return reason(why, wcap, -EINVAL, "stp must be 0..3 (none, cancel_newest, "
				      "cancel_oldest, cancel_both)");
		slot->resp.risk_set.old_value = dp_match_get_stp(c->ms->m, acct);
		int rc = dp_match_set_stp(c->ms->m, acct, (uint8_t)v);
		if (rc)
			return reason(why, wcap, rc, "cannot set stp: %s", strerror(-rc));
		slot->resp.risk_set.new_value = v;
		return 0;
	}
	static const struct {
		const char *name;
		uint32_t bit;
		int dollars;
	} keys[] = {
		{"max_order_qty", DP_RISK_CHK_MAX_QTY, 0},
		{"max_order_notional", DP_RISK_CHK_MAX_NOTIONAL, 1},
		{"collar_bps", DP_RISK_CHK_COLLAR, 0},
		{"credit_limit", DP_RISK_CHK_CREDIT, 1},
		{"max_position", DP_RISK_CHK_MAX_POSITION, 0},
	};
	size_t k;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(key, keys[k].name) == 0)
			break;
	if (k == sizeof(keys) / sizeof(keys[0]))
		return reason(why, wcap, -EINVAL, "unknown key '%s'", key);
	if ((k == 0 || k == 2) && v > UINT32_MAX)
		return reason(why, wcap, -ERANGE, "%s is at most %u", key, UINT32_MAX);
	if (keys[k].dollars && v > 1000000000000ull)
		return reason(why, wcap, -ERANGE, "%s is at most 1000000000000 dollars", key);
	struct dp_risk_limits l;
	memset(&l, 0, sizeof(l));
	int fresh = dp_risk_get_limits(c->ms->r, acct, &l) != 0;
	if (fresh && c->n_accts >= MGW_RISK_SHOW_MAX)
		return reason(why, wcap, -ENOSPC, "at most %d accounts", MGW_RISK_SHOW_MAX);
	uint64_t *u64 = NULL;
	uint32_t *u32 = NULL;
	switch (k) {
	case 0: u32 = &l.max_order_qty; break;
	case 1: u64 = &l.max_order_notional; break;
	case 2: u32 = &l.collar_bps; break;
	case 3: u64 = &l.credit_limit; break;
	default: u64 = &l.max_position; break;
	}
	uint64_t scale = keys[k].dollars ? 10000 : 1; /* dollars -> 1/10000 dollar */
	uint64_t old = (l.enabled & keys[k].bit) ? (u64 ? *u64 : *u32) / scale : 0;
	if (u64)
		*u64 = v * scale;
	else
		*u32 = (uint32_t)v;
	/* 0 turns the check off */
	if (v)
		l.enabled |= keys[k].bit;
	else
		l.enabled &= ~keys[k].bit;
	int rc = dp_risk_set_limits(c->ms->r, acct, &l);
	if (rc)
		return reason(why, wcap, rc, "risk refused the limits: %s", strerror(-rc));
	if (fresh)
		c->accts[c->n_accts++] = acct;
	slot->resp.risk_set.old_value = old;
	slot->resp.risk_set.new_value = v;
	return 0;
}

static int cmd_kill(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	char *why = slot->resp.kill.reason;
	const size_t wcap = sizeof(slot->resp.kill.reason);
	uint8_t level = slot->req.kill.level;
	why[0] = '\0';
	slot->resp.kill.cancelled_scope = 0;
	if (level > DP_RISK_SESSION)
		return reason(why, wcap, -EINVAL, "bad level %u", level);
	if (slot->req.kill.on && c->ms->has_inject)
		return reason(why, wcap, -EBUSY, "the previous mass cancel still waits for room in the "
			      "report ring (is anyone consuming it?); retry");
	struct dp_order_msg cancel;
	memset(&cancel, 0, sizeof(cancel));
	int rc = dp_risk_kill(c->ms->r, (enum dp_risk_level)level, slot->req.kill.key,
			      slot->req.kill.on != 0, &cancel);
	if (rc < 0)
		return reason(why, wcap, rc, "%s", rc == -ENOENT ? "unknown account" : strerror(-rc));
	if (rc == 1) {
		(void)dp_mstage_inject(c->ms, &cancel); /* cannot be busy: checked above */
		slot->resp.kill.cancelled_scope = cancel.mass;
	}
	return 0;
}

/* Locate of a stock name from the reference table (names come from the feed). */
static int find_locate(const struct dp_lcore_ctx *c, const char *name)
{
	const struct dp_ref_table *t = c->ms->ref;
	for (uint32_t i = 0; i < t->n; i++) {
		char stock[8];
		if (dp_ref_stock(t, (uint16_t)i, stock) && dp_ref_stock_eq(stock, name))
			return (int)i;
	}
	return -ENOENT;
}

static int cmd_match_book(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	char name[9];
	memcpy(name, slot->req.match_book.stock, 8);
	name[8] = '\0';
	int loc = find_locate(c, name);
	if (loc < 0)
		return -ENOENT;
	unsigned int depth = slot->req.match_book.depth;
	if (depth == 0 || depth > MGW_SNAP_MAX_DEPTH)
		depth = MGW_SNAP_MAX_DEPTH;
	struct dp_ref_px ref = dp_ref_read(c->ms->ref, (uint16_t)loc);
	slot->resp.match_book.locate = (uint16_t)loc;
	slot->resp.match_book.ref_valid = ref.valid;
	slot->resp.match_book.ref_bid = ref.bid;
	slot->resp.match_book.ref_ask = ref.ask;
	slot->resp.match_book.orders = dp_match_symbol_orders(c->ms->m, (uint16_t)loc);
	struct dp_match_level lv[MGW_SNAP_MAX_DEPTH];
	int n = dp_match_depth(c->ms->m, (uint16_t)loc, DP_MATCH_BID, lv, (int)depth);
	for (int i = 0; i < n; i++)
		slot->resp.match_book.bids[i] = (struct mgw_snap_level){lv[i].price, lv[i].orders, lv[i].qty};
	slot->resp.match_book.n_bids = (uint16_t)n;
	n = dp_match_depth(c->ms->m, (uint16_t)loc, DP_MATCH_ASK, lv, (int)depth);
	for (int i = 0; i < n; i++)
		slot->resp.match_book.asks[i] = (struct mgw_snap_level){lv[i].price, lv[i].orders, lv[i].qty};
	slot->resp.match_book.n_asks = (uint16_t)n;
	return 0;
}

static int cmd_positions(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	uint32_t acct = slot->req.positions.account;
	struct dp_risk_limits l;
	if (dp_risk_get_limits(c->ms->r, acct, &l) != 0)
		return -ENOENT;
	fill_acct(c, acct, &slot->resp.positions.acct);
	uint32_t n = 0, more = 0;
	const struct dp_mstage *ms = c->ms;
	/* Only locates that ever had a fill can hold a position. */
	for (uint32_t w = 0; w < ms->max_symbols / 64 + 1 && w < DP_MSTAGE_MAX_SYMBOLS / 64; w++) {
		for (uint64_t bits = ms->traded[w]; bits; bits &= bits - 1) {
			uint16_t loc = (uint16_t)(w * 64 + (uint32_t)__builtin_ctzll(bits));
			struct dp_ref_px ref = dp_ref_read(ms->ref, loc);
			uint32_t mid = dp_risk_mid(&ref);
			struct dp_risk_pos p;
			if (dp_risk_position(ms->r, acct, loc, mid, &p) != 0)
				continue;
			if (n == MGW_POS_MAX) {
				more = 1;
				continue;
			}
			struct mgw_pos_row *row = &slot->resp.positions.rows[n++];
			memset(row, 0, sizeof(*row));
			char stock[8];
			if (dp_ref_stock(ms->ref, loc, stock)) {
				memcpy(row->stock, stock, 8);
				for (int i = 7; i >= 0 && row->stock[i] == ' '; i--)
					row->stock[i] = '\0';
			}
			row->locate = loc;
			row->restricted = p.restricted;
			row->avg_px = p.avg_px;
			row->mid_px = mid;
			row->qty = p.qty;
			row->realized = p.realized;
			row->unrealized = p.unrealized;
			row->open_buy_qty = p.open_buy_qty;
			row->open_sell_qty = p.open_sell_qty;
		}
	}
	slot->resp.positions.n = n;
	slot->resp.positions.truncated = more;
	return 0;
}

void dp_mcmd_poll(struct dp_lcore_ctx *c)
{
	struct rte_ring *r = mgw_shm_match_cmd_ring(c->shm);
	for (int k = 0; k < CMDS_PER_TICK; k++) {
		void *obj;
		if (rte_ring_dequeue(r, &obj) != 0)
			return;
		uint32_t idx = (uint32_t)(uintptr_t)obj;
		if (idx >= c->shm->hdr->n_cmd_slots) {
			mgw_ctr_add(c->ctr, MGW_CTR_CMD_FAILED, 1);
			continue;
		}
		struct mgw_cmd_slot *slot = mgw_shm_cmd_slot(c->shm, idx);
		/* Pairs with control's release store of POSTED. */
		if (atomic_load_explicit(&slot->state, memory_order_acquire) != MGW_CMD_POSTED) {
			mgw_ctr_add(c->ctr, MGW_CTR_CMD_FAILED, 1);
			continue;
		}
		int rc;
		switch (slot->type) {
		case MGW_CMD_RISK_SHOW: rc = cmd_risk_show(c, slot); break;
		case MGW_CMD_RISK_SET: rc = cmd_risk_set(c, slot); break;
		case MGW_CMD_KILL: rc = cmd_kill(c, slot); break;
		case MGW_CMD_MATCH_BOOK: rc = cmd_match_book(c, slot); break;
		case MGW_CMD_POSITIONS: rc = cmd_positions(c, slot); break;
		default: rc = -EOPNOTSUPP; break;
		}
		slot->result = rc;
		mgw_ctr_add(c->ctr, rc == 0 ? MGW_CTR_CMD_DONE : MGW_CTR_CMD_FAILED, 1);
		/* Pairs with control's acquire load of DONE. */
		atomic_store_explicit(&slot->state, MGW_CMD_DONE, memory_order_release);
	}
}
