/*
 * dp_lcore.c - the poll loop run by every worker lcore.
 *
 * Shape of one pass: read the TSC once; rx stage (if this lcore has it):
 * poll each rx queue for a burst, turn frames into book events, push them
 * to the ring in bulk; book stage: pull a burst of events and apply them;
 * then, on a TSC budget rather than every pass, publish counters and feed
 * state and serve commands. No allocation, lock, syscall or printf here.
 */
#include "dp_lcore.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_config.h"

atomic_int dp_stop;

/*
 * After a burst: is the feed over? 1 when every MoldUDP64 session seen has
 * sent end of session (a session's `ended` is cleared only by a new session
 * name, so late A/B copies of an ended session do not revive it; the next
 * day's session does). The book lcore reads the gauge to mark references
 * stale (dp_ref_watch). A handful of sessions at most: cheap per burst.
 */
static void publish_ended(struct dp_lcore_ctx *c)
{
	uint32_t n = c->feed.n_sessions, ended = 0;
	for (uint32_t i = 0; i < n; i++)
		if (c->feed.sessions[i].active)
			ended += c->feed.sessions[i].ended ? 1u : 0u;
		else
			n--;
	mgw_ctr_set(c->ctr, MGW_CTR_MOLD_SESSIONS_ENDED, n && ended == n);
}

/*
 * Rx stage. Backpressure instead of loss: a burst is only pulled from a
 * queue when the ring has room for every event it could produce, so the
 * ring never refuses an enqueue; when it lacks room the NIC queue holds the
 * frames (and counts them as missed if it overflows).
 */
static uint32_t rx_stage(struct dp_lcore_ctx *c)
{
	struct rte_mbuf *pkts[256];
	uint32_t work = 0;

	/* A new filter from a config epoch takes effect here, between bursts:
	   one acquire load per pass (dp_feed.h). */
	dp_feed_sync(&c->feed);
	for (uint32_t q = 0; q < c->n_rxq; q++) {
		uint32_t room = rte_ring_free_count(c->ring) / c->ev_per_frame;
		uint16_t want = (uint16_t)(room < c->burst ? room : c->burst);
		if (want == 0) {
			mgw_ctr_add(c->ctr, MGW_CTR_RX_BACKPRESSURE, 1);
			break;
		}
		uint16_t nb = rte_eth_rx_burst(c->rxq[q].port_id, c->rxq[q].queue_id, pkts, want);
		if (nb == 0)
			continue;
		uint64_t bytes = 0;
		for (uint16_t i = 0; i < nb; i++) {
			struct rte_mbuf *m = pkts[i];
			if (i + 1 < nb)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			bytes += m->pkt_len;
			if (m->nb_segs != 1) {
				mgw_ctr_add(c->ctr, MGW_CTR_PKT_DROP_SEGMENTED, 1);
				continue;
			}
			uint32_t n = dp_feed_frame(&c->feed, rte_pktmbuf_mtod(m, const uint8_t *),
						   m->data_len, c->rx_evs, RTE_DIM(c->rx_evs));
			if (n) {
				/* Cannot fail: room was checked above and we are the only producer. */
				unsigned int ok = rte_ring_enqueue_bulk_elem(c->ring, c->rx_evs,
									  sizeof(struct dp_book_ev), n, NULL);
				RTE_ASSERT(ok == n);
				(void)ok;
				mgw_ctr_add(c->ctr, MGW_CTR_RING_ENQUEUED, n);
			}
		}
		rte_pktmbuf_free_bulk(pkts, nb);
		mgw_ctr_add(c->ctr, MGW_CTR_RX_PACKETS, nb);
		mgw_ctr_add(c->ctr, MGW_CTR_RX_BYTES, bytes);
		work += nb;
	}
	if (work)
		publish_ended(c);
	return work;
}

/*
 * Is the reference table usable? The rx lcore's counters say whether the
 * feed had a gap (sticky: no recovery yet), whether every session ended,
 * and whether packets still come; dp_ref_watch_step decides (dp_ref.h).
 * Each change is published to the table and counted by the state entered.
 */
static void watch_refs(struct dp_lcore_ctx *c, uint64_t now_tsc)
{
	if (!c->rx_ctr)
		return;
	int changed;
	uint32_t st = dp_ref_watch_step(&c->ref_watch, mgw_ctr_read(c->rx_ctr, MGW_CTR_MOLD_PACKETS),
					mgw_ctr_read(c->rx_ctr, MGW_CTR_MOLD_GAPS),
					mgw_ctr_read(c->rx_ctr, MGW_CTR_MOLD_SESSIONS_ENDED) != 0, now_tsc,
					&changed);
	if (!changed)
		return;
	dp_ref_set_stale(c->ref, st);
	static const enum mgw_ctr_id to[DP_REF_STALE__COUNT] = {
		[DP_REF_VALID] = MGW_CTR_REF_TO_VALID,
		[DP_REF_STALE_GAP] = MGW_CTR_REF_TO_GAP,
		[DP_REF_STALE_ENDED] = MGW_CTR_REF_TO_ENDED,
		[DP_REF_STALE_SILENT] = MGW_CTR_REF_TO_SILENT,
	};
	mgw_ctr_add(c->ctr, to[st], 1);
	mgw_ctr_set(c->ctr, MGW_CTR_REF_STATE, st);
	mgw_ctr_set(c->ctr, MGW_CTR_REF_STALE, st != DP_REF_VALID);
}

/*
 * Reference prices after a burst (only with a match lcore): the locates the
 * burst touched get their BBO and trading state republished (dp_ref.h skips
 * entries whose top did not change). The rx lcore's counters are read
 * here, after the dequeue: rx counts a gap before it enqueues the events
 * that follow it, so the table is marked stale before any of those events
 * can move a reference. Silence and end of session are also checked on the
 * periodic tick (no events come then).
 */
static void publish_refs(struct dp_lcore_ctx *c, unsigned int n, uint64_t now_tsc)
{
	watch_refs(c, now_tsc);
	uint32_t last = UINT32_MAX, published = 0;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t loc = c->book_evs[i].locate;
		if (loc == last)
			continue;
		last = loc;
		struct dp_book_symbol_info info;
		struct dp_book_level bid, ask;
		if (dp_book_symbol(c->book, loc, &info) != 0 || dp_book_bbo(c->book, loc, &bid, &ask) != 0)
			continue;
		published += (uint32_t)dp_ref_publish(c->ref, loc, bid.qty ? bid.price : 0,
						       ask.qty ? ask.price : 0, info.trading_state == 'T',
						       info.stock);
	}
	if (published)
		mgw_ctr_add(c->ctr, MGW_CTR_REF_PUBLISHED, published);
}

static uint32_t book_stage(struct dp_lcore_ctx *c, uint64_t now_tsc)
{
	unsigned int n = rte_ring_dequeue_burst_elem(c->ring, c->book_evs, sizeof(struct dp_book_ev),
						     DP_BOOK_BURST, NULL);
	if (n == 0)
		return 0;
	/*
	 * The book is a random-access structure and most events touch cold
	 * lines: dp_book_apply_burst hints each event 16 ahead inside the
	 * burst. Only within a burst: holding events back for a fuller
	 * pipeline would add latency when the feed is quiet.
	 */
	dp_book_apply_burst(c->book, c->book_evs, n);
	mgw_ctr_add(c->ctr, MGW_CTR_RING_DEQUEUED, n);
	if (c->ref)
		publish_refs(c, n, now_tsc);
	return n;
}

/*
 * How many orders ahead of the one being processed the match stage warms
 * the risk and engine tables, in two stages: dp_risk_match_prefetch_early
 * 2 x MATCH_PREFETCH ahead (the lines the message's own fields address),
 * dp_risk_match_prefetch_late MATCH_PREFETCH ahead (what those lines point
 * to, by then cached). Their lines come from L3 or DRAM; a few orders'
 * work covers that latency (mgw-bench-match --prefetch measures the same
 * distances).
 */
#define MATCH_PREFETCH 3

static inline void match_prefetch_early(struct dp_lcore_ctx *c, uint32_t i)
{
	dp_risk_match_prefetch_early(c->ms->r, c->ms->m, &c->ord_buf[i]);
}

static inline void match_prefetch_late(struct dp_lcore_ctx *c, uint32_t i)
{
	dp_risk_match_prefetch_late(c->ms->r, c->ms->m, &c->ord_buf[i]);
}

/* Enqueue the pass's reports held in rep_buf. The caller made sure of the
 * room (we are the ring's only producer: it cannot shrink meanwhile). */
static inline void report_flush(struct dp_lcore_ctx *c, uint32_t n)
{
	if (!n)
		return;
	unsigned int ok = rte_ring_enqueue_bulk_elem(c->report_ring, c->rep_buf,
						     sizeof(struct dp_exec_report), n, NULL);
	RTE_ASSERT(ok == n);
	(void)ok;
}

/*
 * Match stage. Reports are never dropped: an engine call is made only when
 * the report ring has room for the reports held so far plus DP_MATCH_CHUNK
 * (we are its only producer, so the room cannot shrink before our
 * enqueue, which therefore cannot fail), and the engine pauses rather than
 * write more than that. Above the high-water mark (the reports held count
 * as used) new orders and replaces are refused at once with
 * DP_RJ_BACKPRESSURE (one report each, taken from the headroom) while
 * cancels still run; when even DP_MATCH_CHUNK slots are missing nothing is
 * taken and the orders wait in the order ring (its producers see it fill).
 *
 * The reports of a pass are enqueued together, at its end or when
 * rep_buf cannot hold another message's worst case: one enqueue, and one
 * look at the consumer's side of the ring, per burst instead of per
 * order. A report waits at most for the rest of its burst (DP_MATCH_BURST
 * orders); when orders come one at a time, it goes out at once.
 */
static uint32_t match_stage(struct dp_lcore_ctx *c, uint64_t now_tsc)
{
	struct dp_mstage *ms = c->ms;
	uint64_t now_ns = 0;
	uint32_t work = 0, held = 0;
	/* free slots as last read: it only grows behind our back */
	unsigned int free_slots = rte_ring_free_count(c->report_ring);
	for (uint32_t k = 0; k < DP_MATCH_BURST; k++) {
		if (held + DP_MATCH_CHUNK > DP_MATCH_REP_BUF ||
		    free_slots < held + DP_MATCH_CHUNK) {
			report_flush(c, held);
			held = 0;
			free_slots = rte_ring_free_count(c->report_ring);
		}
		if (free_slots < DP_MATCH_CHUNK) {
			mgw_ctr_add(c->ctr, MGW_CTR_MATCH_STALLS, 1);
			break;
		}
		uint32_t n;
		if (dp_mstage_pending(ms)) {
			n = dp_mstage_resume(ms, c->rep_buf + held, DP_MATCH_CHUNK);
		} else {
			const struct dp_order_msg *m;
			if (ms->has_inject) {
				m = &ms->inject;
			} else {
				if (c->ord_head == c->ord_n) {
					c->ord_head = 0;
					c->ord_n = rte_ring_dequeue_burst_elem(c->order_ring, c->ord_buf,
									       sizeof(struct dp_order_msg),
									       DP_MATCH_BURST, NULL);
					if (c->ord_n == 0)
						break;
					/* Warm the tables of the burst's first orders (the
					 * first one is needed at once: nothing to gain). */
					for (uint32_t j = 1; j < c->ord_n && j < 2 * MATCH_PREFETCH; j++)
						match_prefetch_early(c, j);
					for (uint32_t j = 1; j < c->ord_n && j < MATCH_PREFETCH; j++)
						match_prefetch_late(c, j);
				}
				struct dp_order_msg *om = &c->ord_buf[c->ord_head++];
				/* Internal flag: only the kill switch's own cancels may carry it. */
				om->flags &= (uint8_t)~DP_ORD_F_KILL;
				m = om;
				/* ... and those of the orders ahead while this one runs. */
				if (c->ord_head - 1 + 2 * MATCH_PREFETCH < c->ord_n)
					match_prefetch_early(c, c->ord_head - 1 + 2 * MATCH_PREFETCH);
				if (c->ord_head - 1 + MATCH_PREFETCH < c->ord_n)
					match_prefetch_late(c, c->ord_head - 1 + MATCH_PREFETCH);
			}
			if (!now_ns) /* throttle clock: once per pass, only when there is an order */
				now_ns = (uint64_t)((unsigned __int128)now_tsc * 1000000000u / c->tsc_hz);
			unsigned int used = c->report_size - 1 - free_slots + held;
			n = dp_mstage_msg(ms, m, now_ns, used > c->report_hiwat, c->rep_buf + held,
					  DP_MATCH_CHUNK);
			if (m == &ms->inject)
				ms->has_inject = 0;
		}
		held += n;
		work++;
	}
	report_flush(c, held);
	return work;
}

static void match_publish(struct dp_lcore_ctx *c)
{
	mgw_ctr_set(c->ctr, MGW_CTR_MATCH_LIVE_ORDERS, dp_match_live_orders(c->ms->m));
	mgw_ctr_set(c->ctr, MGW_CTR_MATCH_REPORT_RING_USED, rte_ring_count(c->report_ring));
}

void dp_book_publish(struct dp_lcore_ctx *c)
{
	const struct dp_book_stats *st = dp_book_stats(c->book);
	uint64_t *ctr = c->ctr;
	for (int k = DP_BEV_ADD; k < DP_BEV__COUNT; k++)
		mgw_ctr_set(ctr, (enum mgw_ctr_id)(MGW_CTR_BOOK_ADD + (k - DP_BEV_ADD)), st->events[k]);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_UNKNOWN_REF, st->unknown_ref);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_DUPLICATE_REF, st->duplicate_ref);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_OVERFILL, st->overfill);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_BAD_LOCATE, st->bad_locate);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_BAD_SIDE, st->bad_side);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_ZERO_QTY, st->zero_qty);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_ORDERS_FULL, st->orders_full);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LEVELS_FULL, st->levels_full);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LIVE_ORDERS, dp_book_live_orders(c->book));
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LIVE_LEVELS, dp_book_live_levels(c->book));
	uint32_t ovf_live;
	uint64_t ovf_moved;
	dp_book_ref_overflow(c->book, &ovf_live, &ovf_moved);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_REF_OVERFLOW, ovf_live);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_REF_MOVED, ovf_moved);
	uint32_t lad_used, lad_total;
	uint64_t rebases;
	dp_book_ladders(c->book, &lad_used, &lad_total, &rebases);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LADDERS_USED, lad_used);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LADDERS_TOTAL, lad_total);
	mgw_ctr_set(ctr, MGW_CTR_BOOK_LADDER_REBASES, rebases);
}

_Static_assert(MGW_CTR_BOOK_TRADING_STATE - MGW_CTR_BOOK_ADD == DP_BEV_TRADING_STATE - DP_BEV_ADD,
	       "book event counters follow dp_book_ev_kind");

static void periodic(struct dp_lcore_ctx *c, uint64_t now_tsc)
{
	if (c->roles & CTL_ROLE_RX)
		dp_feed_publish_sessions(&c->feed, mgw_shm_sessions(c->shm));
	if (c->roles & CTL_ROLE_BOOK) {
		dp_book_publish(c);
		if (c->ref) {
			watch_refs(c, now_tsc); /* silence and end of session come with no events */
			uint64_t idle = now_tsc - c->ref_watch.last_pkt_tsc;
			mgw_ctr_set(c->ctr, MGW_CTR_REF_FEED_IDLE_MS,
				    (uint64_t)((unsigned __int128)idle * 1000u / c->tsc_hz));
		}
		dp_cmd_poll(c);
	}
	if (c->ms) {
		match_publish(c);
		dp_mcmd_poll(c);
	}
}

int dp_lcore_loop(void *arg)
{
	struct dp_lcore_ctx *c = arg;
	uint64_t prev = rte_rdtsc(), next = prev + c->tsc_period;
	uint32_t prev_work = 0;

	while (!atomic_load_explicit(&dp_stop, memory_order_relaxed)) {
		uint64_t now = rte_rdtsc();
		/* Charge the previous pass: one TSC read per pass serves both. */
		mgw_ctr_add(c->ctr, MGW_CTR_LOOP_CYCLES, now - prev);
		if (prev_work)
			mgw_ctr_add(c->ctr, MGW_CTR_LOOP_BUSY_CYCLES, now - prev);
		prev = now;
		uint32_t work = 0;
		if (c->roles & CTL_ROLE_RX)
			work += rx_stage(c);
		if (c->roles & CTL_ROLE_BOOK)
			work += book_stage(c, now);
		if (c->ms)
			work += match_stage(c, now);
		mgw_ctr_add(c->ctr, MGW_CTR_LOOP_PASSES, 1);
		if (work)
			mgw_ctr_add(c->ctr, MGW_CTR_LOOP_BUSY, 1);
		prev_work = work;
		if (now >= next) {
			periodic(c, now);
			next = now + c->tsc_period;
		}
	}
	/* Drain what rx already handed over, so the final books are complete. */
	if (c->roles & CTL_ROLE_BOOK)
		while (book_stage(c, rte_rdtsc()))
			;
	periodic(c, rte_rdtsc());
	return 0;
}
