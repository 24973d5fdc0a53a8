/*
 * ctl_cmd.c - the CLI commands served by mgw-control.
 *
 * Each command renders its answer here, as an aligned table for people or
 * as JSON with --json, so mgwctl stays a thin pipe and every client sees
 * the same truth. Commands that need the books post a dataplane command
 * and render when it completes. See docs/CLI.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "ctl_reload.h"

#ifndef MGW_VERSION
#define MGW_VERSION "0.0.0"
#endif

uint64_t ctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reply(struct ctl_conn *c, int32_t status)
{
	c->status = status;
	c->state = CTL_CONN_WRITE;
	if (ctl_buf_failed(&c->out)) {
		ctl_buf_reset(&c->out);
		ctl_buf_printf(&c->out, "error: mgw-control is out of memory\n");
		c->status = CTL_ERR;
	}
}

/* One-line error, in JSON when asked. */
static void fail(struct ctl_conn *c, int32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct ctl_conn *c, int32_t status, const char *fmt, ...)
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
	reply(c, status);
}

void ctl_cmd_reply(struct ctl_conn *c, int32_t status)
{
	reply(c, status);
}

static void fmt_price(char *out, size_t cap, uint32_t p)
{
	snprintf(out, cap, "%u.%04u", p / 10000, p % 10000);
}

static void fmt_uptime(char *out, size_t cap, uint64_t secs)
{
	snprintf(out, cap, "%" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, secs / 86400,
		 secs / 3600 % 24, secs / 60 % 60, secs % 60);
}

static const char *dp_state_name(uint32_t s)
{
	switch (s) {
	case MGW_DP_STARTING: return "starting";
	case MGW_DP_RUNNING: return "running";
	case MGW_DP_STOPPING: return "stopping";
	case MGW_DP_STOPPED: return "stopped";
	default: return "unknown";
	}
}

static bool need_dataplane(struct ctl_server *srv, struct ctl_conn *c)
{
	if (ctl_dp_check(&srv->dp))
		return true;
	fail(c, CTL_NO_DATAPLANE, "dataplane not attached: %s", srv->dp.last_err);
	return false;
}

/* ---- status ---------------------------------------------------------------- */

/*
 * The reference table's state, from the book lcore's counters (it decides,
 * dp_ref_watch): only with a match lcore (no order path, no table).
 */
static void status_reference(struct ctl_server *srv, struct ctl_conn *c)
{
	const struct mgw_shm *s = &srv->dp.shm;
	const struct mgw_shm_hdr *h = s->hdr;
	struct ctl_buf *b = &c->out;
	int book = -1, match = 0;
	for (uint32_t i = 1; i < h->n_lcores && i < MGW_SHM_MAX_LCORES; i++) {
		if (h->lcores[i].roles & CTL_ROLE_BOOK)
			book = (int)i;
		if (h->lcores[i].roles & CTL_ROLE_MATCH)
			match = 1;
	}
	if (book < 0 || !match) {
		if (c->json)
			ctl_buf_printf(b, ",\"reference\":null");
		else
			ctl_buf_printf(b, "\nreference      none (no match lcore: no order path)\n");
		return;
	}
	const uint64_t *blk = mgw_shm_block(s, (uint32_t)book);
	uint64_t st = mgw_ctr_read(blk, MGW_CTR_REF_STATE);
	uint64_t idle = mgw_ctr_read(blk, MGW_CTR_REF_FEED_IDLE_MS);
	static const char *const names[] = {"valid", "gap", "end_of_session", "silent"};
	const char *name = st < 4 ? names[st] : "unknown";
	uint32_t after = srv->cfg.reference.stale_after_ms;
	if (c->json) {
		ctl_buf_printf(b, ",\"reference\":{\"state\":\"%s\",\"stale\":%s,\"reason\":", name,
			       st ? "true" : "false");
		if (st)
			ctl_buf_printf(b, "\"%s\"", name);
		else
			ctl_buf_printf(b, "null");
		ctl_buf_printf(b, ",\"feed_idle_ms\":%" PRIu64 ",\"stale_after_ms\":%u,\"transitions\":{"
			       "\"valid\":%" PRIu64 ",\"gap\":%" PRIu64 ",\"end_of_session\":%" PRIu64
			       ",\"silent\":%" PRIu64 "}}", idle, after, mgw_ctr_read(blk, MGW_CTR_REF_TO_VALID),
			       mgw_ctr_read(blk, MGW_CTR_REF_TO_GAP), mgw_ctr_read(blk, MGW_CTR_REF_TO_ENDED),
			       mgw_ctr_read(blk, MGW_CTR_REF_TO_SILENT));
		return;
	}
	char lim[48];
	if (after)
		snprintf(lim, sizeof(lim), "stale after %u ms of silence", after);
	else
		snprintf(lim, sizeof(lim), "silence check off");
	if (!st) {
		ctl_buf_printf(b, "\nreference      valid (last feed packet %" PRIu64 " ms ago; %s)\n", idle, lim);
		return;
	}
	const char *why = st == 1 ? "a MoldUDP64 sequence gap (no recovery yet: until restart)"
			  : st == 2 ? "the MoldUDP64 session ended (until a new session sends)"
				    : "the feed is silent (until packets come again)";
	ctl_buf_printf(b, "\nreference      STALE: %s, %s; last feed packet %" PRIu64 " ms ago (%s); "
		       "marketable orders are refused no_reference\n", name, why, idle, lim);
}

static void cmd_status(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_buf *b = &c->out;
	uint64_t now = realtime_ns();
	bool att = ctl_dp_check(&srv->dp);
	char up[32];
	fmt_uptime(up, sizeof(up), (uint64_t)((now - srv->start_ns) / 1000000000ull));

	if (c->json) {
		ctl_buf_printf(b, "{\"control\":{\"pid\":%d,\"version\":\"%s\",\"uptime_s\":%" PRIu64
			       ",\"instance\":", (int)getpid(), MGW_VERSION,
			       (uint64_t)((now - srv->start_ns) / 1000000000ull));
		ctl_buf_json_str(b, srv->cfg.instance);
		ctl_buf_printf(b, ",\"attaches\":%" PRIu64 ",\"config_epoch\":%" PRIu64 "},\"dataplane\":",
			       srv->dp.attaches, srv->cfg_epoch);
		if (!att) {
			ctl_buf_printf(b, "{\"attached\":false,\"reason\":");
			ctl_buf_json_str(b, srv->dp.last_err);
			ctl_buf_printf(b, "}}\n");
			reply(c, CTL_NO_DATAPLANE);
			return;
		}
	} else {
		ctl_buf_printf(b, "mgw-control    pid %-7d version %-8s up %s  instance %s\n", (int)getpid(),
			       MGW_VERSION, up, srv->cfg.instance);
		ctl_buf_printf(b, "config         epoch %" PRIu64 "  %s\n", srv->cfg_epoch, srv->cfg.source);
		if (!att) {
			ctl_buf_printf(b, "mgw-dataplane  not attached: %s\n", srv->dp.last_err);
			reply(c, CTL_NO_DATAPLANE);
			return;
		}
	}

	const struct mgw_shm *s = &srv->dp.shm;
	const struct mgw_shm_hdr *h = s->hdr;
	uint64_t dp_up = now > h->start_ns ? (now - h->start_ns) / 1000000000ull : 0;
	uint64_t hb = ctl_dp_heartbeat_age_ms(&srv->dp);
	uint32_t state = atomic_load(&h->state);
	fmt_uptime(up, sizeof(up), dp_up);

	if (c->json) {
		ctl_buf_printf(b, "{\"attached\":true,\"pid\":%d,\"version\":", h->dp_pid);
		ctl_buf_json_str(b, h->version);
		ctl_buf_printf(b, ",\"state\":\"%s\",\"uptime_s\":%" PRIu64 ",\"heartbeat_age_ms\":%" PRIu64
			       ",\"hugepages\":%s,\"tsc_hz\":%" PRIu64 ",\"config_epoch\":%" PRIu64
			       ",\"lcores\":[", dp_state_name(state),
			       dp_up, hb, h->hugepages ? "true" : "false",
			       (uint64_t)h->tsc_hz_hi << 32 | h->tsc_hz_lo,
			       (uint64_t)atomic_load(&h->config_epoch));
	} else {
		ctl_buf_printf(b, "mgw-dataplane  pid %-7d version %-8s up %s  %s, heartbeat %" PRIu64
			       " ms ago, %s, config epoch %" PRIu64 "\n", h->dp_pid, h->version, up,
			       dp_state_name(state), hb, h->hugepages ? "hugepages" : "no hugepages (--no-huge)",
			       (uint64_t)atomic_load(&h->config_epoch));
		ctl_buf_printf(b, "\nLCORE  ROLES        BUSY%%        PASSES\n");
	}
	for (uint32_t i = 0; i < h->n_lcores && i < MGW_SHM_MAX_LCORES; i++) {
		const uint64_t *blk = mgw_shm_block(s, i);
		uint64_t passes = mgw_ctr_read(blk, MGW_CTR_LOOP_PASSES);
		uint64_t busy = mgw_ctr_read(blk, MGW_CTR_LOOP_BUSY);
		uint64_t cyc = mgw_ctr_read(blk, MGW_CTR_LOOP_CYCLES);
		uint64_t bcyc = mgw_ctr_read(blk, MGW_CTR_LOOP_BUSY_CYCLES);
		char roles[64];
		if (i == 0)
			snprintf(roles, sizeof(roles), "main");
		else
			ctl_roles_format(h->lcores[i].roles, roles, sizeof(roles));
		/* Busy share of loop time since start (cycles of passes that did work). */
		double pct = cyc ? 100.0 * (double)bcyc / (double)cyc : 0.0;
		if (c->json) {
			ctl_buf_printf(b, "%s{\"lcore\":%u,\"roles\":\"%s\",\"passes\":%" PRIu64
				       ",\"busy_passes\":%" PRIu64 ",\"cycles\":%" PRIu64 ",\"busy_cycles\":%"
				       PRIu64 "}", i ? "," : "", h->lcores[i].lcore_id, roles, passes, busy,
				       cyc, bcyc);
		} else if (i == 0) {
			ctl_buf_printf(b, "%-6u %-12s %6s %13s\n", h->lcores[i].lcore_id, roles, "-", "-");
		} else {
			ctl_buf_printf(b, "%-6u %-12s %5.1f%% %13" PRIu64 "\n", h->lcores[i].lcore_id, roles,
				       pct, passes);
		}
	}

	const struct mgw_shm_port *ports = mgw_shm_ports(s);
	if (c->json)
		ctl_buf_printf(b, "],\"ports\":[");
	else
		ctl_buf_printf(b, "\nPORT      DEVICE           Q   MTU LINK      RX_PKTS       RX_BYTES"
			       "   MISSED   ERRORS   NOMBUF\n");
	for (uint32_t i = 0; i < h->n_ports && i < MGW_SHM_MAX_PORTS; i++) {
		const struct mgw_shm_port *p = &ports[i];
		uint64_t ip = __atomic_load_n(&p->ipackets, __ATOMIC_RELAXED);
		uint64_t ib = __atomic_load_n(&p->ibytes, __ATOMIC_RELAXED);
		uint64_t im = __atomic_load_n(&p->imissed, __ATOMIC_RELAXED);
		uint64_t ie = __atomic_load_n(&p->ierrors, __ATOMIC_RELAXED);
		uint64_t nb = __atomic_load_n(&p->rx_nombuf, __ATOMIC_RELAXED);
		if (c->json) {
			ctl_buf_printf(b, "%s{\"name\":", i ? "," : "");
			ctl_buf_json_str(b, p->name);
			ctl_buf_printf(b, ",\"device\":");
			ctl_buf_json_str(b, p->device);
			ctl_buf_printf(b, ",\"port_id\":%u,\"rx_queues\":%u,\"mtu\":%u,\"link_up\":%s,"
				       "\"link_speed_mbps\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
				       ",\"rx_missed\":%" PRIu64 ",\"rx_errors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64
				       "}", p->port_id, p->rx_queues, p->mtu, p->link_up ? "true" : "false",
				       p->link_speed_mbps, ip, ib, im, ie, nb);
		} else {
			ctl_buf_printf(b, "%-9s %-16.16s %-3u %4u %-5s %12" PRIu64 " %14" PRIu64 " %8" PRIu64
				       " %8" PRIu64 " %8" PRIu64 "\n", p->name, p->device, p->rx_queues, p->mtu,
				       p->link_up ? "up" : "down", ip, ib, im, ie, nb);
		}
	}

	const struct mgw_shm_feed_session *fs = mgw_shm_sessions(s);
	if (c->json)
		ctl_buf_printf(b, "],\"feed_sessions\":[");
	else
		ctl_buf_printf(b, "\nFEED SESSION      NEXT_SEQ       GAPS   GAP_MSGS   DUP_MSGS  STATE\n");
	int shown = 0;
	for (uint32_t i = 0; i < MGW_SHM_MAX_SESSIONS; i++) {
		if (!__atomic_load_n(&fs[i].active, __ATOMIC_ACQUIRE))
			continue;
		char name[11];
		memcpy(name, fs[i].session, 10);
		name[10] = '\0';
		for (int k = 9; k >= 0 && name[k] == ' '; k--)
			name[k] = '\0';
		uint64_t next = __atomic_load_n(&fs[i].next_seq, __ATOMIC_RELAXED);
		uint64_t gaps = __atomic_load_n(&fs[i].gaps, __ATOMIC_RELAXED);
		uint64_t gm = __atomic_load_n(&fs[i].gap_msgs, __ATOMIC_RELAXED);
		uint64_t dm = __atomic_load_n(&fs[i].dup_msgs, __ATOMIC_RELAXED);
		if (c->json) {
			ctl_buf_printf(b, "%s{\"session\":", shown ? "," : "");
			ctl_buf_json_str(b, name);
			ctl_buf_printf(b, ",\"next_seq\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"gap_messages\":%" PRIu64
				       ",\"duplicate_messages\":%" PRIu64 ",\"ended\":%s}", next, gaps, gm, dm,
				       fs[i].ended ? "true" : "false");
		} else {
			ctl_buf_printf(b, "%-12s %13" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  %s\n",
				       name, next, gaps, gm, dm, fs[i].ended ? "ended" : "open");
		}
		shown++;
	}
	if (c->json)
		ctl_buf_printf(b, "]");
	else if (!shown)
		ctl_buf_printf(b, "(no feed packets seen yet)\n");
	status_reference(srv, c);
	if (c->json)
		ctl_buf_printf(b, "}}\n");
	reply(c, CTL_OK);
}

/* ---- counters -------------------------------------------------------------- */

/* `type="A",x="y"` -> JSON object members. Labels come from our own table. */
static void labels_json(struct ctl_buf *b, const char *labels)
{
	ctl_buf_printf(b, "{");
	const char *p = labels;
	int first = 1;
	while (*p) {
		const char *eq = strchr(p, '=');
		if (!eq || eq[1] != '"')
			break;
		const char *end = strchr(eq + 2, '"');
		if (!end)
			break;
		ctl_buf_printf(b, "%s\"%.*s\":\"%.*s\"", first ? "" : ",", (int)(eq - p), p,
			       (int)(end - eq - 2), eq + 2);
		first = 0;
		p = end + 1;
		if (*p == ',')
			p++;
	}
	ctl_buf_printf(b, "}");
}

/*
 * Counters as the operator sees them: raw totals minus the `counters clear`
 * baseline (counters only; gauges are levels, not totals, and show as is),
 * or the raw totals with --raw. --tsv gives "name{labels}<TAB>value" lines
 * for scripts and `mgwctl counters --watch`.
 */
static void cmd_counters(struct ctl_server *srv, struct ctl_conn *c, const char *prefix, bool raw,
			 bool tsv)
{
	if (!need_dataplane(srv, c))
		return;
	ctl_baseline_check(srv);
	const struct ctl_baseline *bl = &srv->baseline;
	const struct mgw_shm *s = &srv->dp.shm;
	const struct mgw_shm_counter_desc *d = mgw_shm_desc(s);
	uint32_t n = s->hdr->n_counters;
	struct ctl_buf *b = &c->out;
	int shown = 0;
	if (c->json)
		ctl_buf_printf(b, "{\"counters\":[");
	for (uint32_t i = 0; i < n; i++) {
		char name[sizeof(d[i].name) + 1], labels[sizeof(d[i].labels) + 1];
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(d[i].name), d[i].name);
		snprintf(labels, sizeof(labels), "%.*s", (int)sizeof(d[i].labels), d[i].labels);
		if (prefix && strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		uint64_t rv = mgw_shm_counter_total(s, d[i].id);
		uint64_t v = raw || d[i].kind == MGW_CTR_GAUGE ? rv : ctl_baseline_apply(bl, d[i].id, rv);
		if (c->json) {
			ctl_buf_printf(b, "%s{\"name\":\"%s\",\"labels\":", shown ? "," : "", name);
			labels_json(b, labels);
			ctl_buf_printf(b, ",\"kind\":\"%s\",\"value\":%" PRIu64 ",\"raw\":%" PRIu64 "}",
				       d[i].kind == MGW_CTR_GAUGE ? "gauge" : "counter", v, rv);
		} else if (tsv) {
			ctl_buf_printf(b, "%s%s%s%s\t%" PRIu64 "\n", name, labels[0] ? "{" : "", labels,
				       labels[0] ? "}" : "", v);
		} else {
			char full[160];
			snprintf(full, sizeof(full), "%s%s%s%s", name, labels[0] ? "{" : "", labels,
				 labels[0] ? "}" : "");
			ctl_buf_printf(b, "%-60s %20" PRIu64 "\n", full, v);
		}
		shown++;
	}
	if (c->json)
		ctl_buf_printf(b, "],\"baseline\":%s}\n", bl->valid && !raw ? "true" : "false");
	if (!shown && prefix) {
		fail(c, CTL_NOT_FOUND, "no counter name starts with '%s' (try mgwctl counters)", prefix);
		return;
	}
	reply(c, CTL_OK);
}

/* ---- book and top (dataplane commands) -------------------------------------- */

static void json_level(struct ctl_buf *b, const struct mgw_snap_level *l)
{
	ctl_buf_printf(b, "{\"price\":%u,\"qty\":%" PRIu64 ",\"orders\":%u}", l->price, l->qty, l->orders);
}

static void book_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result == -ENOENT) {
		fail(c, CTL_NOT_FOUND, "symbol '%.8s' is not in the books (no stock directory or order "
		     "seen for it)", slot->req.snapshot.stock);
		return;
	}
	if (slot->result != 0) {
		fail(c, CTL_ERR, "dataplane refused the snapshot: %s", strerror(-slot->result));
		return;
	}
	const struct mgw_snap_symbol *sym = &slot->resp.snapshot.sym;
	unsigned int nb = slot->resp.snapshot.n_bids, na = slot->resp.snapshot.n_asks;
	if (nb > MGW_SNAP_MAX_DEPTH)
		nb = MGW_SNAP_MAX_DEPTH;
	if (na > MGW_SNAP_MAX_DEPTH)
		na = MGW_SNAP_MAX_DEPTH;
	struct ctl_buf *b = &c->out;
	char st[2] = {sym->trading_state ? sym->trading_state : ' ', 0};
	if (c->json) {
		ctl_buf_printf(b, "{\"symbol\":");
		ctl_buf_json_str(b, sym->stock);
		ctl_buf_printf(b, ",\"locate\":%u,\"trading_state\":", sym->locate);
		ctl_buf_json_str(b, st);
		ctl_buf_printf(b, ",\"orders\":%u,\"bid_levels\":%u,\"ask_levels\":%u,\"events\":%" PRIu64
			       ",\"bids\":[", sym->orders, sym->bid_levels, sym->ask_levels, sym->events);
		for (unsigned int i = 0; i < nb; i++) {
			if (i)
				ctl_buf_printf(b, ",");
			json_level(b, &slot->resp.snapshot.bids[i]);
		}
		ctl_buf_printf(b, "],\"asks\":[");
		for (unsigned int i = 0; i < na; i++) {
			if (i)
				ctl_buf_printf(b, ",");
			json_level(b, &slot->resp.snapshot.asks[i]);
		}
		ctl_buf_printf(b, "]}\n");
		reply(c, CTL_OK);
		return;
	}
	ctl_buf_printf(b, "%s  locate %u  state %s  orders %u  levels %u/%u  events %" PRIu64 "\n",
		       sym->stock, sym->locate, st, sym->orders, sym->bid_levels, sym->ask_levels,
		       sym->events);
	ctl_buf_printf(b, "%8s %10s %12s | %-12s %10s %8s\n", "ORDERS", "BID_QTY", "BID", "ASK",
		       "ASK_QTY", "ORDERS");
	unsigned int rows = nb > na ? nb : na;
	for (unsigned int i = 0; i < rows; i++) {
		char bp[24] = "", ap[24] = "", bq[24] = "", aq[24] = "", bo[16] = "", ao[16] = "";
		if (i < nb) {
			const struct mgw_snap_level *l = &slot->resp.snapshot.bids[i];
			fmt_price(bp, sizeof(bp), l->price);
			snprintf(bq, sizeof(bq), "%" PRIu64, l->qty);
			snprintf(bo, sizeof(bo), "%u", l->orders);
		}
		if (i < na) {
			const struct mgw_snap_level *l = &slot->resp.snapshot.asks[i];
			fmt_price(ap, sizeof(ap), l->price);
			snprintf(aq, sizeof(aq), "%" PRIu64, l->qty);
			snprintf(ao, sizeof(ao), "%u", l->orders);
		}
		ctl_buf_printf(b, "%8s %10s %12s | %-12s %10s %8s\n", bo, bq, bp, ap, aq, ao);
	}
	if (!rows)
		ctl_buf_printf(b, "(book empty)\n");
	reply(c, CTL_OK);
}

static void top_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	(void)srv;
	if (slot->result != 0) {
		fail(c, CTL_ERR, "dataplane refused: %s", strerror(-slot->result));
		return;
	}
	uint32_t n = slot->resp.top.n;
	if (n > MGW_TOP_MAX)
		n = MGW_TOP_MAX;
	struct ctl_buf *b = &c->out;
	if (c->json)
		ctl_buf_printf(b, "{\"symbols\":[");
	else
		ctl_buf_printf(b, "%-8s %6s %10s %7s %10s %12s %12s %10s %5s\n", "SYMBOL", "LOCATE", "EVENTS",
			       "ORDERS", "BID_QTY", "BID", "ASK", "ASK_QTY", "STATE");
	for (uint32_t i = 0; i < n; i++) {
		const struct mgw_snap_symbol *s = &slot->resp.top.syms[i];
		char st[2] = {s->trading_state ? s->trading_state : ' ', 0};
		if (c->json) {
			ctl_buf_printf(b, "%s{\"symbol\":", i ? "," : "");
			ctl_buf_json_str(b, s->stock);
			ctl_buf_printf(b, ",\"locate\":%u,\"events\":%" PRIu64 ",\"orders\":%u,\"trading_state\":",
				       s->locate, s->events, s->orders);
			ctl_buf_json_str(b, st);
			ctl_buf_printf(b, ",\"bid\":");
			json_level(b, &s->bid);
			ctl_buf_printf(b, ",\"ask\":");
			json_level(b, &s->ask);
			ctl_buf_printf(b, "}");
		} else {
			char bp[24] = "-", ap[24] = "-";
			if (s->bid.qty)
				fmt_price(bp, sizeof(bp), s->bid.price);
			if (s->ask.qty)
				fmt_price(ap, sizeof(ap), s->ask.price);
			ctl_buf_printf(b, "%-8s %6u %10" PRIu64 " %7u %10" PRIu64 " %12s %12s %10" PRIu64 " %5s\n",
				       s->stock, s->locate, s->events, s->orders, s->bid.qty, bp, ap,
				       s->ask.qty, st);
		}
	}
	if (c->json)
		ctl_buf_printf(b, "]}\n");
	reply(c, CTL_OK);
}

static void post(struct ctl_server *srv, struct ctl_conn *c, uint32_t type, const void *req,
		 size_t len, ctl_complete_fn done)
{
	if (!need_dataplane(srv, c))
		return;
	int slot = ctl_dp_post(&srv->dp, type, req, len, &c->seq);
	if (slot == -ENODEV) {
		fail(c, CTL_ERR, "the dataplane has no match lcore (no lcore has role match): "
		     "there is no order path");
		return;
	}
	if (slot < 0) {
		fail(c, CTL_ERR, "cannot post to the dataplane: %s; retry",
		     slot == -EBUSY ? "all command slots busy" : strerror(-slot));
		return;
	}
	c->slot = slot;
	c->complete = done;
	c->state = CTL_CONN_PENDING;
	c->deadline_ms = ctl_now_ms() + CTL_CMD_TIMEOUT_MS;
}

void ctl_cmd_post(struct ctl_server *srv, struct ctl_conn *c, uint32_t type, const void *req,
		  size_t len, ctl_complete_fn done)
{
	post(srv, c, type, req, len, done);
}

void ctl_cmd_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	ctl_dp_abandon(&srv->dp, c->slot);
	if (c->on_timeout) { /* the command answers (and audits) its own timeout */
		c->on_timeout(srv, c);
		return;
	}
	fail(c, CTL_TIMEOUT, "the dataplane did not answer within %d ms (is the book lcore stuck? "
	     "see mgwctl status)", CTL_CMD_TIMEOUT_MS);
}

/* ---- dispatch ---------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Take option `name` with a number 1..max from the command's options.
 * Returns 1 if present (and *out set), 0 if absent, -1 after replying with a
 * usage error.
 */
int ctl_opt_uint(struct ctl_conn *c, struct ctl_args *a, const char *name, unsigned long max,
		 unsigned long *out)
{
	for (int i = 0; i < a->nopt; i++) {
		if (!a->opt[i] || strcmp(a->opt[i], name) != 0)
			continue;
		if (!a->optval[i] || parse_uint(a->optval[i], max, out) || *out == 0) {
			fail(c, CTL_USAGE, "%s needs a number from 1 to %lu", name, max);
			return -1;
		}
		a->opt[i] = NULL; /* consumed */
		return 1;
	}
	return 0;
}

/* Take a flag without value. Returns 1 if present, 0 if not. */
int ctl_opt_flag(struct ctl_args *a, const char *name)
{
	for (int i = 0; i < a->nopt; i++) {
		if (a->opt[i] && !a->optval[i] && strcmp(a->opt[i], name) == 0) {
			a->opt[i] = NULL;
			return 1;
		}
	}
	return 0;
}

/* After a command took its options: refuse any left. Returns 0 or -1 (replied). */
int ctl_args_done(struct ctl_conn *c, const struct ctl_args *a)
{
	for (int i = 0; i < a->nopt; i++) {
		if (a->opt[i]) {
			fail(c, CTL_USAGE, "unknown option '%s' for '%s' (see mgwctl help)", a->opt[i],
			     a->cmd);
			return -1;
		}
	}
	return 0;
}

static void do_help(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);

static void do_ping(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	(void)srv;
	if (ctl_args_done(c, a))
		return;
	ctl_buf_printf(&c->out, c->json ? "{\"pong\":true}\n" : "pong\n");
	reply(c, CTL_OK);
}

static void do_status(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	if (a->npos) {
		fail(c, CTL_USAGE, "status takes no arguments");
		return;
	}
	cmd_status(srv, c);
}

static void do_counters(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	bool raw = ctl_opt_flag(a, "--raw"), tsv = ctl_opt_flag(a, "--tsv");
	if (ctl_args_done(c, a))
		return;
	if (a->npos > 1) {
		fail(c, CTL_USAGE, "usage: counters [PREFIX] [--raw] [--tsv]");
		return;
	}
	cmd_counters(srv, c, a->npos ? a->pos[0] : NULL, raw, tsv);
}

/*
 * counters clear: the current raw totals become the baseline of the
 * `counters` view. The dataplane's counters are untouched (they never
 * reset; Prometheus and --raw keep the raw totals).
 */
static void do_counters_clear(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	if (a->npos) {
		fail(c, CTL_USAGE, "usage: counters clear");
		return;
	}
	if (!need_dataplane(srv, c))
		return;
	const struct mgw_shm *s = &srv->dp.shm;
	const struct mgw_shm_counter_desc *d = mgw_shm_desc(s);
	struct ctl_baseline *nb = calloc(1, sizeof(*nb));
	if (!nb) {
		fail(c, CTL_ERR, "out of memory");
		return;
	}
	nb->start_ns = s->hdr->start_ns;
	nb->taken_ns = realtime_ns();
	for (uint32_t i = 0; i < s->hdr->n_counters; i++) {
		if (d[i].id >= CTL_BASELINE_MAX || d[i].kind == MGW_CTR_GAUGE)
			continue;
		nb->values[d[i].id] = mgw_shm_counter_total(s, d[i].id);
		if (d[i].id + 1 > nb->n)
			nb->n = d[i].id + 1;
	}
	nb->valid = true;
	/* Persist first: a baseline that would be lost on restart is refused
	 * rather than shown, so the operator's view never silently jumps back. */
	int rc = ctl_baseline_save(srv->baseline_path, nb);
	if (rc) {
		free(nb);
		fail(c, CTL_ERR, "cannot save the counters baseline to %s: %s", srv->baseline_path,
		     strerror(-rc));
		return;
	}
	srv->baseline = *nb;
	free(nb);
	printf("mgw-control: counters baseline taken (%u counters), saved to %s\n", srv->baseline.n,
	       srv->baseline_path);
	if (c->json)
		ctl_buf_printf(&c->out, "{\"cleared\":true,\"taken_ns\":%" PRIu64 "}\n",
			       srv->baseline.taken_ns);
	else
		ctl_buf_printf(&c->out, "counters cleared: `counters` now counts from here; "
			       "`counters --raw` shows the raw totals\n");
	reply(c, CTL_OK);
}

void ctl_baseline_init(struct ctl_server *srv)
{
	char err[512];
	if (ctl_baseline_path(srv->cfg.control.socket, srv->baseline_path,
			      sizeof(srv->baseline_path)) != 0) {
		srv->baseline_path[0] = '\0';
		return;
	}
	int rc = ctl_baseline_load(srv->baseline_path, &srv->baseline, err, sizeof(err));
	if (rc == 0)
		printf("mgw-control: counters baseline loaded from %s\n", srv->baseline_path);
	else if (rc != -ENOENT)
		printf("mgw-control: ignoring counters baseline: %s\n", err);
}

void ctl_baseline_check(struct ctl_server *srv)
{
	if (!srv->baseline.valid || !srv->dp.attached)
		return;
	uint64_t cur = srv->dp.shm.hdr->start_ns;
	if (srv->baseline.start_ns == cur)
		return;
	printf("mgw-control: discarding counters baseline of another dataplane run (baseline for "
	       "start_ns %" PRIu64 ", attached dataplane started %" PRIu64 ")\n",
	       srv->baseline.start_ns, cur);
	srv->baseline.valid = false;
	if (srv->baseline_path[0])
		unlink(srv->baseline_path);
}

static void do_book(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	unsigned long depth = 10;
	if (ctl_opt_uint(c, a, "--depth", MGW_SNAP_MAX_DEPTH, &depth) < 0 || ctl_args_done(c, a))
		return;
	if (a->npos != 1) {
		fail(c, CTL_USAGE, "usage: book SYMBOL [--depth N]");
		return;
	}
	size_t len = strlen(a->pos[0]);
	if (len == 0 || len > 8) {
		fail(c, CTL_USAGE, "a symbol has 1 to 8 characters, got '%s'", a->pos[0]);
		return;
	}
	struct { char stock[9]; uint8_t pad; uint16_t depth; } req;
	memset(&req, 0, sizeof(req));
	memcpy(req.stock, a->pos[0], len);
	req.depth = (uint16_t)depth;
	_Static_assert(sizeof(req) == sizeof(((struct mgw_cmd_slot *)0)->req.snapshot), "req layout");
	post(srv, c, MGW_CMD_BOOK_SNAPSHOT, &req, sizeof(req), book_done);
}

static void do_top(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	unsigned long n = 10;
	if (ctl_args_done(c, a))
		return;
	if (a->npos > 1 || (a->npos == 1 && (parse_uint(a->pos[0], MGW_TOP_MAX, &n) || !n))) {
		fail(c, CTL_USAGE, "usage: top [N], N from 1 to %d", MGW_TOP_MAX);
		return;
	}
	uint16_t req = (uint16_t)n;
	post(srv, c, MGW_CMD_BOOK_TOP, &req, sizeof(req), top_done);
}

/*
 * The command table. `access` is the least role that may run the command
 * (docs/CLI.md); every command that changes state must need operator or
 * admin. Commands with a `sub` word ("config show") match on both words.
 */
static const struct ctl_cmd_def commands[] = {
	{"status", NULL, CTL_ACCESS_VIEWER, do_status, "status",
	 "processes, lcores, ports, feed sessions"},
	{"counters", "clear", CTL_ACCESS_OPERATOR, do_counters_clear, "counters clear",
	 "counters view counts from now (raw totals untouched)"},
	{"counters", NULL, CTL_ACCESS_VIEWER, do_counters, "counters [PREFIX] [--raw] [--tsv]",
	 "dataplane counters, summed over lcores, since the last clear"},
	{"book", NULL, CTL_ACCESS_VIEWER, do_book, "book SYMBOL [--depth N]",
	 "depth of one symbol's exchange book (N <= 64, default 10)"},
	{"top", NULL, CTL_ACCESS_VIEWER, do_top, "top [N]",
	 "the N most active symbols with their best bid and offer"},
	{"config", "show", CTL_ACCESS_VIEWER, ctl_config_show, "config show",
	 "the config in force: file, epoch, every key (live or restart)"},
	{"config", "validate", CTL_ACCESS_VIEWER, ctl_config_validate, "config validate FILE",
	 "check a config file; OK or file:line: key: error, and what it would change"},
	{"config", "reload", CTL_ACCESS_ADMIN, ctl_config_reload, "config reload",
	 "re-read the config file, apply live keys as one epoch or refuse it whole"},
	{"risk", "show", CTL_ACCESS_VIEWER, ctl_risk_show, "risk show [ACCOUNT]",
	 "risk limits, exposure and kill state of one or every account"},
	{"risk", "set", CTL_ACCESS_OPERATOR, ctl_risk_set, "risk set ACCOUNT KEY VALUE",
	 "change one risk limit live (0 turns a check off); restrict|unrestrict SYMBOL"},
	{"kill", "on", CTL_ACCESS_OPERATOR, ctl_kill_on, "kill on global|account N|session N",
	 "kill switch: refuse new orders and cancel resting ones in the scope"},
	{"kill", "off", CTL_ACCESS_OPERATOR, ctl_kill_off, "kill off global|account N|session N",
	 "release a kill switch"},
	{"orders", "book", CTL_ACCESS_VIEWER, ctl_orders_book, "orders book SYMBOL [--depth N]",
	 "the client order book of a symbol (matching engine) and its reference"},
	{"positions", NULL, CTL_ACCESS_VIEWER, ctl_positions, "positions ACCOUNT",
	 "positions and P&L of an account against the reference mid"},
	{"ping", NULL, CTL_ACCESS_VIEWER, do_ping, "ping", "check that mgw-control answers"},
	{"help", NULL, CTL_ACCESS_VIEWER, do_help, "help", "this list"},
};

static void do_help(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	(void)srv;
	(void)a;
	ctl_buf_printf(&c->out, "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		ctl_buf_printf(&c->out, "  %-34s %s%s%s%s\n", commands[i].usage, commands[i].help,
			       commands[i].access > CTL_ACCESS_VIEWER ? " (needs " : "",
			       commands[i].access > CTL_ACCESS_VIEWER
				       ? ctl_acl_role_name((enum ctl_acl_role)commands[i].access) : "",
			       commands[i].access > CTL_ACCESS_VIEWER ? ")" : "");
	ctl_buf_printf(&c->out, "every command takes --json; your role: %s\n",
		       ctl_acl_role_name(c->role));
	reply(c, CTL_OK);
}

/* The command line for the audit log: words joined by spaces, with quotes,
 * backslashes and control bytes escaped so one line stays one line. */
static void audit_cmd_text(struct ctl_conn *c, int argc, char **argv)
{
	size_t n = 0, cap = sizeof(c->audit_cmd);
	for (int i = 0; i < argc && n + 8 < cap; i++) {
		if (i)
			c->audit_cmd[n++] = ' ';
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p && n + 8 < cap; p++) {
			if (*p == '"' || *p == '\\') {
				c->audit_cmd[n++] = '\\';
				c->audit_cmd[n++] = (char)*p;
			} else if (*p < 0x20 || *p >= 0x7f) {
				n += (size_t)snprintf(c->audit_cmd + n, cap - n, "\\x%02x", *p);
			} else {
				c->audit_cmd[n++] = (char)*p;
			}
		}
	}
	c->audit_cmd[n] = '\0';
}

void ctl_cmd_dispatch(struct ctl_server *srv, struct ctl_conn *c, int argc, char **argv)
{
	struct ctl_args a;
	memset(&a, 0, sizeof(a));
	a.cmd = argv[0];
	c->json = false;
	/* Split positionals from options; "--opt value" when the option takes one. */
	static const char *const valued[] = {"--depth", NULL};
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			c->json = true;
		} else if (strncmp(argv[i], "--", 2) == 0) {
			a.opt[a.nopt] = argv[i];
			for (int k = 0; valued[k]; k++)
				if (strcmp(argv[i], valued[k]) == 0)
					a.optval[a.nopt] = i + 1 < argc ? argv[++i] : NULL;
			a.nopt++;
		} else {
			a.pos[a.npos++] = argv[i];
		}
	}
	const struct ctl_cmd_def *def = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !def; i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		if (!commands[i].sub)
			def = &commands[i];
		else if (a.npos && strcmp(commands[i].sub, a.pos[0]) == 0)
			def = &commands[i];
	}
	if (!def) {
		fail(c, CTL_USAGE, "unknown command '%s%s%s' (mgwctl help lists them)", argv[0],
		     a.npos ? " " : "", a.npos ? a.pos[0] : "");
		return;
	}
	if (def->sub) { /* drop the sub-command word */
		for (int i = 1; i < a.npos; i++)
			a.pos[i - 1] = a.pos[i];
		a.npos--;
	}
	/* Roles: state-changing commands need operator or admin (the table
	 * says which); the refusal and every state-changing call are audited. */
	struct ctl_peer peer;
	ctl_peer_lookup(&peer, c->peer_uid, c->peer_gid);
	c->role = ctl_access_role(&srv->cfg.access, &peer);
	snprintf(c->peer_user, sizeof(c->peer_user), "%s", peer.user);
	audit_cmd_text(c, argc, argv);
	char cmdname[64];
	snprintf(cmdname, sizeof(cmdname), "%s%s%s", def->name, def->sub ? " " : "",
		 def->sub ? def->sub : "");
	if ((int)c->role < (int)def->access) {
		c->audit = true;
		fail(c, CTL_DENIED, "'%s' needs role %s; uid %ld (%s) has role %s", cmdname,
		     ctl_acl_role_name((enum ctl_acl_role)def->access), (long)(int32_t)c->peer_uid,
		     c->peer_user[0] ? c->peer_user : "unknown user", ctl_acl_role_name(c->role));
		return;
	}
	c->audit = def->access >= CTL_ACCESS_OPERATOR;
	def->fn(srv, c, &a);
}

static const char *status_word(int32_t st)
{
	switch (st) {
	case CTL_OK: return "ok";
	case CTL_ERR: return "error";
	case CTL_USAGE: return "usage";
	case CTL_NOT_FOUND: return "not_found";
	case CTL_NO_DATAPLANE: return "no_dataplane";
	case CTL_TIMEOUT: return "timeout";
	case CTL_DENIED: return "denied";
	default: return "unknown";
	}
}

void ctl_cmd_audit(const struct ctl_conn *c)
{
	if (!c->audit)
		return;
	/* One line per attempt; the journal issue makes these durable. */
	printf("audit: uid=%ld gid=%ld pid=%ld user=%s role=%s cmd=\"%s\" result=%s\n",
	       (long)(int32_t)c->peer_uid, (long)(int32_t)c->peer_gid, (long)c->peer_pid,
	       c->peer_user[0] ? c->peer_user : "-", ctl_acl_role_name(c->role), c->audit_cmd,
	       status_word(c->status));
}
