/*
 * dp_match.h - the client matching engine: one central limit order book per
 * symbol for client orders (separate from the exchange books), driven by
 * the fixed 64-byte dp_order_msg records of dp_order.h and answering with
 * 64-byte dp_exec_report records.
 *
 * The engine is a plain library (no DPDK): the match lcore, the unit tests,
 * the differential test and mgw-bench-match all call the same
 * dp_match_process(). Rules (price-time priority, order types, TIF,
 * post-only, replace, STP, reference protection) are in docs/MATCHING.md.
 *
 * Memory is taken once at dp_match_create(), sized from dp_match_cfg, and
 * never again. One engine is owned by one lcore: no locking, not thread
 * safe. Integers only: prices are Price(4) ticks, quantities shares.
 */
#ifndef DP_MATCH_H
#define DP_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dp_mem.h"
#include "dp_order.h"

/* Self-trade prevention modes (per account; default from the cfg). */
enum dp_stp_mode {
	DP_STP_NONE = 0,          /* self trades allowed */
	DP_STP_CANCEL_NEWEST = 1, /* the incoming order's remainder is cancelled */
	DP_STP_CANCEL_OLDEST = 2, /* the resting order is cancelled, matching goes on */
	DP_STP_CANCEL_BOTH = 3,   /* both */
};

struct dp_match_cfg {
	uint32_t max_orders;   /* order records at once (resting + the one in flight), < 2^31 */
	uint32_t max_levels;   /* live price levels at once, all symbols and sides, < 2^31 */
	uint32_t max_symbols;  /* symbols 0..max_symbols-1 accepted (<= 65536) */
	uint32_t max_sessions; /* session ids 0..max_sessions-1 accepted */
	uint32_t max_accounts; /* accounts with an explicit STP mode (dp_match_set_stp) */
	uint8_t stp_default;   /* dp_stp_mode for accounts never set */
};

/*
 * Report flags (values of dp_exec_report.flags, a field dp_order.h left
 * open): set on the aggressor's side of a FILL.
 */
#define DP_MATCH_RF_AGGRESSOR 0x01

/*
 * Smallest `cap` dp_match_process / dp_match_resume accept. With a bigger
 * cap the engine writes as many reports as fit; the work of one message is
 * never bounded by cap, it is paused (see dp_match_resume).
 */
#define DP_MATCH_MIN_CAP 4

struct dp_match;

/* Bytes dp_match_create() would allocate for cfg (0 for a bad cfg). */
size_t dp_match_mem_size(const struct dp_match_cfg *cfg);

/*
 * Create an engine. Returns 0 and *out; -EINVAL for a bad cfg (a zero size,
 * max_symbols > 65536, max_orders or max_levels >= 2^31, stp_default > 3);
 * -ENOMEM if an allocation failed (nothing is leaked).
 */
int dp_match_create(struct dp_match **out, const struct dp_match_cfg *cfg,
		    const struct dp_mem *mem);
void dp_match_destroy(struct dp_match *m); /* accepts NULL */

/*
 * Process one message. ref is the reference BBO of msg->symbol now (NULL is
 * "no reference"); for a cancel/replace the target's symbol must equal
 * msg->symbol, so the caller's ref is the right one. Writes reports to
 * out[0..cap) and returns how many.
 *
 * Worst case and pausing: one order can sweep any number of resting
 * orders (two reports per fill) and a mass cancel can cancel every order,
 * so no fixed cap is enough. Instead the engine pauses when fewer than 3
 * slots are left and there is more to do; dp_match_pending() is then
 * non-zero and the caller must drain with dp_match_resume() (any cap >=
 * DP_MATCH_MIN_CAP) until it is zero, before the next message. The reports
 * are exactly those of one uninterrupted call with an unlimited cap.
 *
 * cap < DP_MATCH_MIN_CAP, or a call while paused: nothing is done, 0 is
 * returned and stats.misuse counts it (the message is NOT consumed).
 * A message may still legitimately produce 0 reports: a mass cancel that
 * matched no order.
 */
uint32_t dp_match_process(struct dp_match *m, const struct dp_order_msg *msg,
			  const struct dp_ref_px *ref, struct dp_exec_report *out, uint32_t cap);

/*
 * dp_match_process for a message whose kind the caller has already told
 * apart (NEW, CANCEL, REPLACE), with the key hashes it has already
 * computed: h = dp_order_key_hash(msg->session, msg->cl_ord_id), ho = the
 * same of msg->orig_cl_ord_id. Same result, reports and pausing as
 * dp_match_process; the kind is not dispatched again nor the ids hashed
 * again (dp_risk_match, which shares them with the risk checks). idx:
 * below. A NEW's slot: DP_MATCH_NO_SLOT, or the slot dp_match_find gave
 * for (msg->session, msg->cl_ord_id) when it found no order, with no call
 * that changed the book in between: the engine then does not probe its
 * table again. The kind, hashes and slot must be right (checked by assert
 * in debug builds): a wrong one corrupts the order table.
 */
#define DP_MATCH_NO_SLOT UINT32_MAX
uint32_t dp_match_new(struct dp_match *m, const struct dp_order_msg *msg,
		      const struct dp_ref_px *ref, uint32_t h, uint32_t slot,
		      struct dp_exec_report *out, uint32_t *idx, uint32_t cap);
uint32_t dp_match_cancel(struct dp_match *m, const struct dp_order_msg *msg, uint32_t ho,
			 struct dp_exec_report *out, uint32_t *idx, uint32_t cap);
uint32_t dp_match_replace(struct dp_match *m, const struct dp_order_msg *msg,
			  const struct dp_ref_px *ref, uint32_t h, uint32_t ho,
			  struct dp_exec_report *out, uint32_t *idx, uint32_t cap);

/*
 * Order indices of reports. idx (NULL: not wanted) receives, for each
 * report out[i] a call writes, the engine's pool index of the order the
 * report is about (0 .. dp_match_max_orders()-1; stable while the order
 * lives), or DP_MATCH_NO_ORDER for a report about a message only (a
 * REJECTED new order, a CANCEL_REJECTED of an unknown target). It lets a
 * caller keep its own data per order in an array beside the engine's
 * (dp_risk_match does) instead of finding the order again by key. The
 * _idx calls are dp_match_process / dp_match_resume with idx.
 */
#define DP_MATCH_NO_ORDER UINT32_MAX
uint32_t dp_match_process_idx(struct dp_match *m, const struct dp_order_msg *msg,
			      const struct dp_ref_px *ref, struct dp_exec_report *out, uint32_t *idx,
			      uint32_t cap);
uint32_t dp_match_resume_idx(struct dp_match *m, struct dp_exec_report *out, uint32_t *idx,
			     uint32_t cap);
/*
 * Index of the resting order (session, cl_ord_id) (h: its
 * dp_order_key_hash), or DP_MATCH_NO_ORDER; *slot (if slot is not NULL):
 * the table slot the lookup ended on, which dp_match_new can take.
 */
uint32_t dp_match_find(const struct dp_match *m, uint32_t session, uint64_t cl_ord_id, uint32_t h,
		       uint32_t *slot);
/* Order records of the engine (cfg max_orders): every order index is below it. */
uint32_t dp_match_max_orders(const struct dp_match *m);

/*
 * Hint: msg will be processed soon; start loading what it will touch (the
 * order table slot of its id and of a cancel/replace target, the target
 * order, the symbol's best levels). Call it a few messages ahead of
 * dp_match_process in a burst, as dp_risk_prefetch. Changes nothing, any
 * message is accepted (a bad one is ignored), also while paused.
 */
void dp_match_prefetch(const struct dp_match *m, const struct dp_order_msg *msg);

/*
 * The same hint in two stages, for a caller that has its messages further
 * ahead: dp_match_prefetch_early about twice as far ahead as
 * dp_match_prefetch would be (it starts the loads of the table slots of
 * the message's ids and, through a new order's symbol record, of the best
 * opposite level and its own ladder slot), then dp_match_prefetch_late
 * for the same message at the usual distance (it reads those, by then
 * cached, and loads what they point to: a target's order, links, level
 * and ladder lines; a new order's own level and, if it is marketable, the
 * first resting order it will meet). Returns the order index of that
 * resting order, or of a cancel's or replace's target if its table slot
 * names it at the first probe (a guess, for a caller's own data beside
 * the engine's records; dp_risk_match_prefetch_late uses it), else
 * DP_MATCH_NO_ORDER. Same rules as dp_match_prefetch: changes nothing,
 * any message accepted.
 */
void dp_match_prefetch_early(const struct dp_match *m, const struct dp_order_msg *msg);
uint32_t dp_match_prefetch_late(const struct dp_match *m, const struct dp_order_msg *msg);

/*
 * Internal, visible only for the inline dp_match_pending (asked after
 * every message): the first member of struct dp_match. Not an API.
 */
struct dp_match_hdr {
	uint32_t paused; /* kind of the paused message, 0 = none */
};

/* Non-zero while a paused message has reports left to produce. */
static inline int dp_match_pending(const struct dp_match *m)
{
	return ((const struct dp_match_hdr *)(const void *)m)->paused != 0;
}

/*
 * Continue a paused message (the reference given to dp_match_process stays
 * in force: the message is one event). Returns the reports written; 0 if
 * nothing was pending.
 */
uint32_t dp_match_resume(struct dp_match *m, struct dp_exec_report *out, uint32_t cap);

/*
 * Set the STP mode of an account. Returns 0, -EINVAL for a bad mode,
 * -ENOSPC when max_accounts distinct accounts already have a mode.
 */
int dp_match_set_stp(struct dp_match *m, uint32_t account, uint8_t mode);
uint8_t dp_match_get_stp(const struct dp_match *m, uint32_t account);

/* Text of a dp_reject_reason ("unknown" for numbers not in the enum). */
const char *dp_match_reason_text(uint8_t reason);

/* Queries (tests, CLI). */
enum { DP_MATCH_BID = 0, DP_MATCH_ASK = 1 };

struct dp_match_level {
	uint32_t price;
	uint32_t orders;
	uint64_t qty; /* sum of leaves */
};

/*
 * Depth of one side of a symbol, best price first, at most max levels.
 * Returns the number written (0 for an empty side or a bad symbol).
 */
int dp_match_depth(const struct dp_match *m, uint16_t symbol, int side,
		   struct dp_match_level *out, int max);

struct dp_match_order_info {
	uint64_t cl_ord_id;
	uint64_t order_id;
	uint32_t account;
	uint32_t session;
	uint16_t symbol;
	char side;
	uint8_t flags;     /* DP_ORD_F_* */
	uint32_t price;
	uint32_t qty;      /* order quantity (total, after replaces) */
	uint32_t leaves;
	uint32_t cum;
	uint32_t avg_px;
	uint32_t queue_pos; /* 0 = first in its level's FIFO */
};

/* Live (resting) order by (session, cl_ord_id). Returns 0 or -ENOENT. */
int dp_match_order(const struct dp_match *m, uint32_t session, uint64_t cl_ord_id,
		   struct dp_match_order_info *out);

/*
 * Orders of one level in FIFO order (time priority): writes up to max
 * infos of the level at `price` on `side`. Returns the count (0 if none).
 */
int dp_match_level_orders(const struct dp_match *m, uint16_t symbol, int side, uint32_t price,
			  struct dp_match_order_info *out, int max);

struct dp_match_stats {
	uint64_t msgs[5];        /* by dp_ord_kind (index 0: bad kind) */
	uint64_t accepted;
	uint64_t rejected[64];   /* REJECTED / CANCEL_REJECTED by reason (reason < 64) */
	uint64_t fills;          /* matches (each gives two FILL reports) */
	uint64_t cancelled;      /* CANCELLED reports, any reason */
	uint64_t replaced;
	uint64_t pauses;         /* messages that needed dp_match_resume */
	uint64_t misuse;         /* calls refused: cap too small or paused */
};
const struct dp_match_stats *dp_match_stats(const struct dp_match *m);

uint32_t dp_match_live_orders(const struct dp_match *m);  /* resting orders */
uint32_t dp_match_live_levels(const struct dp_match *m);
uint32_t dp_match_symbol_orders(const struct dp_match *m, uint16_t symbol);

/*
 * Check every invariant: no symbol crossed (best bid < best ask), FIFO
 * links and level totals, sorted level arrays, time priority inside each
 * level, leaves = qty - cum > 0 for each resting order, order table
 * consistency, pool counts. Returns 0 or a negative number naming the
 * first broken one. Slow: for tests.
 */
int dp_match_check(const struct dp_match *m);

#endif /* DP_MATCH_H */
