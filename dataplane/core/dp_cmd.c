/*
 * dp_cmd.c - commands from mgw-control, served on the book lcore.
 *
 * Control writes a request into a free slot, marks it POSTED and enqueues
 * the slot index on the command ring. The book lcore (the only consumer)
 * answers in place and stores DONE with release order; control polls the
 * slot with a timeout, so a slow dataplane never blocks control and a dead
 * control never blocks the dataplane. A few commands per periodic tick at
 * most, to bound the time taken from the data path.
 */
#include <errno.h>
#include <string.h>

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

void dp_cmd_poll(struct dp_lcore_ctx *c)
{
	struct rte_ring *r = mgw_shm_cmd_ring(c->shm);
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
		default:
			rc = -EOPNOTSUPP;
			break;
		}
		slot->result = rc;
		mgw_ctr_add(c->ctr, rc == 0 ? MGW_CTR_CMD_DONE : MGW_CTR_CMD_FAILED, 1);
		/* Pairs with control's acquire load of DONE. */
		atomic_store_explicit(&slot->state, MGW_CMD_DONE, memory_order_release);
	}
}
