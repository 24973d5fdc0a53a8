/*
 * dp_cmd.c - commands from mgw-control, served on the book lcore.
 *
 * Control writes a request into a free slot, marks it POSTED and enqueues
 * the slot index on the command ring. The book lcore (the only consumer)
 * answers in place and stores DONE with release order; control polls the
 * slot with a timeout, so a slow dataplane never blocks control and a dead
 * control never blocks the dataplane. A few commands per periodic tick at
 * most, to bound the time taken from the data path.
 *
 * A config epoch is the one command that is not answered in the same
 * tick: it publishes a new rx filter and stays pending until the rx lcore
 * acknowledges it (checked on every later tick), so the book lcore never
 * waits for rx. If rx has not acknowledged within EPOCH_ACK_MS the filter
 * is retracted and the epoch refused, before control's own 2 s timeout, so
 * both sides agree that the old config stays in force.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ring.h>

#include "dp_lcore.h"

#define CMDS_PER_TICK 4

static void fill_symbol(const struct dp_book *b, uint16_t locate, struct mgw_snap_symbol *s)
{
	struct dp_book_symbol_info info;
	struct dp_book_level bid, ask;
	memset(s, 0, sizeof(*s));
	s->locate = locate;
	if (dp_book_symbol(b, locate, &info) == 0) {
		memcpy(s->stock, info.stock, sizeof(s->stock));
		s->trading_state = info.trading_state;
		s->market_category = info.market_category;
		s->orders = info.orders;
		s->bid_levels = info.bid_levels;
		s->ask_levels = info.ask_levels;
		s->events = info.events;
	}
	if (dp_book_bbo(b, locate, &bid, &ask) == 0) {
		s->bid = (struct mgw_snap_level){bid.price, bid.orders, bid.qty};
		s->ask = (struct mgw_snap_level){ask.price, ask.orders, ask.qty};
	}
}

static int cmd_snapshot(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	char name[9];
	memcpy(name, slot->req.snapshot.stock, 8);
	name[8] = '\0';
	int loc = dp_book_find_symbol(c->book, name);
	if (loc < 0)
		return -ENOENT;
	unsigned int depth = slot->req.snapshot.depth;
	if (depth == 0 || depth > MGW_SNAP_MAX_DEPTH)
		depth = MGW_SNAP_MAX_DEPTH;
	fill_symbol(c->book, (uint16_t)loc, &slot->resp.snapshot.sym);
	struct dp_book_level lv[MGW_SNAP_MAX_DEPTH];
	int n = dp_book_depth(c->book, (uint16_t)loc, DP_BOOK_BID, lv, (int)depth);
	for (int i = 0; i < n; i++)
		slot->resp.snapshot.bids[i] = (struct mgw_snap_level){lv[i].price, lv[i].orders, lv[i].qty};
	slot->resp.snapshot.n_bids = (uint16_t)n;
	n = dp_book_depth(c->book, (uint16_t)loc, DP_BOOK_ASK, lv, (int)depth);
	for (int i = 0; i < n; i++)
		slot->resp.snapshot.asks[i] = (struct mgw_snap_level){lv[i].price, lv[i].orders, lv[i].qty};
	slot->resp.snapshot.n_asks = (uint16_t)n;
	return 0;
}

static int cmd_top(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot)
{
	uint16_t locs[MGW_TOP_MAX];
	unsigned int want = slot->req.top.count;
	if (want == 0 || want > MGW_TOP_MAX)
		want = MGW_TOP_MAX;
	int n = dp_book_busiest(c->book, locs, (int)want);
	for (int i = 0; i < n; i++)
		fill_symbol(c->book, locs[i], &slot->resp.top.syms[i]);
	slot->resp.top.n = (uint32_t)n;
	return 0;
}

#define EPOCH_ACK_MS 1000

_Static_assert(MGW_EPOCH_MAX_UDP_PORTS == CTL_MAX_UDP_PORTS, "epoch request holds every port");
_Static_assert(MGW_EPOCH_MAX_GROUPS == CTL_MAX_GROUPS, "epoch request holds every group");

static int epoch_refuse(struct mgw_cmd_slot *slot, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int epoch_refuse(struct mgw_cmd_slot *slot, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(slot->resp.epoch.reason, sizeof(slot->resp.epoch.reason), fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Check and publish an epoch. Returns 1 when it is pending (rx has to
 * acknowledge the filter), else the result to answer now. Nothing changes
 * unless the whole request is valid.
 */
static int cmd_epoch_start(struct dp_lcore_ctx *c, uint32_t idx, struct mgw_cmd_slot *slot)
{
	const struct mgw_cmd_config_epoch *e = &slot->req.epoch;
	slot->resp.epoch.reason[0] = '\0';
	slot->resp.epoch.epoch = atomic_load_explicit(&c->shm->hdr->config_epoch, memory_order_relaxed);
	if (!c->rx_feed)
		return epoch_refuse(slot, -ENODEV, "no rx lcore to apply the feed filter to");
	if (c->epoch_busy)
		return epoch_refuse(slot, -EBUSY, "another config epoch is being applied");
	if (e->epoch == 0)
		return epoch_refuse(slot, -EINVAL, "epoch number 0");
	if (e->n_udp_ports == 0 || e->n_udp_ports > MGW_EPOCH_MAX_UDP_PORTS)
		return epoch_refuse(slot, -EINVAL, "feed.udp_ports: %u entries, 1 to %d allowed",
				    e->n_udp_ports, MGW_EPOCH_MAX_UDP_PORTS);
	if (e->n_groups > MGW_EPOCH_MAX_GROUPS)
		return epoch_refuse(slot, -EINVAL, "feed.groups: %u entries, at most %d allowed",
				    e->n_groups, MGW_EPOCH_MAX_GROUPS);
	struct dp_feed_filter nf;
	memset(&nf, 0, sizeof(nf));
	for (uint32_t i = 0; i < e->n_udp_ports; i++) {
		if (e->udp_ports[i] == 0)
			return epoch_refuse(slot, -EINVAL, "feed.udp_ports[%u]: port 0", i);
		nf.udp_ports[i] = e->udp_ports[i];
	}
	nf.n_udp_ports = e->n_udp_ports;
	memcpy(nf.groups, e->groups, e->n_groups * sizeof(nf.groups[0]));
	nf.n_groups = e->n_groups;
	uint64_t g = dp_feed_filter_publish(c->rx_feed, &nf);
	if (!g)
		return epoch_refuse(slot, -EBUSY, "the rx lcore has not picked up the previous filter "
				    "yet (is it stuck? see mgwctl status); retry");
	c->epoch_busy = 1;
	c->epoch_slot = idx;
	c->epoch_gen = g;
	c->epoch_deadline = rte_rdtsc() + rte_get_tsc_hz() / 1000 * EPOCH_ACK_MS;
	return 1;
}

static void answer(struct dp_lcore_ctx *c, struct mgw_cmd_slot *slot, int rc)
{
	slot->result = rc;
	mgw_ctr_add(c->ctr, rc == 0 ? MGW_CTR_CMD_DONE : MGW_CTR_CMD_FAILED, 1);
	/* Pairs with control's acquire load of DONE. */
	atomic_store_explicit(&slot->state, MGW_CMD_DONE, memory_order_release);
}

/* The pending epoch: answer once rx runs with its filter, or give up at the deadline. */
static void epoch_check(struct dp_lcore_ctx *c)
{
	if (!c->epoch_busy)
		return;
	struct mgw_cmd_slot *slot = mgw_shm_cmd_slot(c->shm, c->epoch_slot);
	if (dp_feed_filter_acked(c->rx_feed, c->epoch_gen)) {
		uint64_t epoch = slot->req.epoch.epoch;
		atomic_store_explicit(&c->shm->hdr->config_epoch, epoch, memory_order_release);
		slot->resp.epoch.epoch = epoch;
		answer(c, slot, 0);
	} else if (rte_rdtsc() >= c->epoch_deadline) {
		/* Put the old filter back (no buffer rx may read is written). If rx
		   took the new one in the meantime it switches back on its next pass. */
		dp_feed_filter_retract(c->rx_feed, c->epoch_gen);
		epoch_refuse(slot, -ETIMEDOUT, "the rx lcore did not pick up the new filter within %d ms; "
			     "the old filter stays in force", EPOCH_ACK_MS);
		answer(c, slot, -ETIMEDOUT);
	} else {
		return;
	}
	c->epoch_busy = 0;
}

void dp_cmd_poll(struct dp_lcore_ctx *c)
{
	struct rte_ring *r = mgw_shm_cmd_ring(c->shm);
	epoch_check(c);
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
		case MGW_CMD_BOOK_SNAPSHOT:
			rc = cmd_snapshot(c, slot);
			break;
		case MGW_CMD_BOOK_TOP:
			rc = cmd_top(c, slot);
			break;
		case MGW_CMD_CONFIG_EPOCH:
			rc = cmd_epoch_start(c, idx, slot);
			if (rc == 1)
				continue; /* answered by epoch_check once rx acknowledges */
			break;
		default:
			rc = -EOPNOTSUPP;
			break;
		}
		answer(c, slot, rc);
	}
}
