/*
 * dp_book.h - order-by-order (L3) books of the exchange feed, every symbol.
 *
 * One dp_book holds the books of all symbols of a feed, keyed by the ITCH
 * stock locate (16 bits). It applies normalized book events (dp_book_ev,
 * made from ITCH by dp_book_ev_from_itch) and answers queries: best bid and
 * offer, depth by price level, a single order, per-symbol facts.
 *
 * Memory is taken once at dp_book_create(), sized from dp_book_cfg, and
 * never again: orders and price levels come from pools addressed by 32-bit
 * indices; orders are found by reference through a direct index (slot
 * ref mod ref_window) with an overflow hash for orders that outlive the
 * window (see dp_book_cfg.ref_window); price levels near the touch through
 * a per-side price ladder indexed by tick (dp_book_cfg.ladders), the rest
 * through a sorted array per side. When a pool is full the event is
 * refused and counted (the book stays consistent; it does not guess).
 *
 * A book is owned by one lcore: no locking, not thread safe.
 * Prices are Price(4) integers as on the wire, quantities integer shares.
 */
#ifndef DP_BOOK_H
#define DP_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_mem.h"

struct dp_itch_msg;

/* Normalized book event: the fixed-size record that rx passes to book. */
enum dp_book_ev_kind {
	DP_BEV_NONE = 0,
	DP_BEV_ADD,           /* A, F: ref, side, qty, price, stock */
	DP_BEV_EXEC,          /* E: ref, qty executed, ref2 = match number */
	DP_BEV_EXEC_PX,       /* C: ref, qty, price = execution price, ref2 = match */
	DP_BEV_CANCEL,        /* X: ref, qty cancelled */
	DP_BEV_DELETE,        /* D: ref */
	DP_BEV_REPLACE,       /* U: ref = original, ref2 = new ref, qty, price */
	DP_BEV_DIRECTORY,     /* R: stock, qty = round lot size, flag = market category */
	DP_BEV_TRADING_STATE, /* H: stock, flag = trading state (H P Q T) */
	DP_BEV__COUNT
};

struct dp_book_ev {
	uint8_t kind;      /* dp_book_ev_kind */
	char side;         /* 'B' / 'S' for ADD */
	uint16_t locate;
	uint32_t qty;
	uint32_t price;
	char flag;
	uint8_t pad[3];
	uint64_t ref;
	uint64_t ref2;
	uint64_t ts;       /* feed timestamp, ns since midnight */
	char stock[8];
};
_Static_assert(sizeof(struct dp_book_ev) == 48, "dp_book_ev is a 48-byte ring element");

/*
 * Map a decoded ITCH message to a book event. Returns 1 if the message
 * changes a book (and fills *ev), 0 if it does not concern the book.
 */
int dp_book_ev_from_itch(const struct dp_itch_msg *m, struct dp_book_ev *ev);

/*
 * Fused fast path of dp_itch_decode + dp_book_ev_from_itch: decode one ITCH
 * message occupying exactly buf[0..len) straight into a book event, reading
 * only the fields the book needs. Validates exactly like dp_itch_decode
 * (same checks, same order, same negative dp_itch_err, including
 * DP_ITCH_ERR_BAD_FIELD for a bad A/F/P side) and never reads outside the
 * buffer. On success sets *type_out to the type byte and returns 1 with *ev
 * filled (a book message) or 0 with *ev zeroed (a valid non-book message),
 * i.e. *ev is what dp_book_ev_from_itch would make. On error returns the
 * negative dp_itch_err; *ev and *type_out are then unspecified.
 */
int dp_itch_decode_book_ev(const uint8_t *buf, size_t len, struct dp_book_ev *ev,
			   uint8_t *type_out);

struct dp_book_cfg {
	uint32_t max_orders;  /* live orders at once, over all symbols */
	uint32_t max_levels;  /* live price levels at once, over all symbols and sides */
	uint32_t max_symbols; /* locates 0..max_symbols-1 accepted (<= 65536) */
	/*
	 * Slots of the direct reference index (rounded up to a power of two,
	 * at most 2^31; 0 = the default, 4 * max_orders). An order is found
	 * at slot ref mod ref_window while no newer order maps to the same
	 * slot; one that outlives ref_window later references moves to the
	 * overflow hash (see dp_book_ref_overflow). Memory: 4 bytes a slot.
	 */
	uint32_t ref_window;
	/*
	 * Price ladders (0 = the default, 2 * max_symbols but at most
	 * DP_BOOK_LADDERS_DEFAULT_MAX; at most 65535). A side of a symbol
	 * gets one with its first order, while any are left: its levels
	 * within 128 ticks of the touch are then found, made and emptied by
	 * index, with no search. A side without one keeps all its levels in
	 * the sorted array (correct, slower). Memory: 576 bytes a ladder.
	 */
	uint32_t ladders;
};
#define DP_BOOK_LADDERS_DEFAULT_MAX 32768u

/* Event outcomes, counted. Single writer (the owning lcore). */
struct dp_book_stats {
	uint64_t events[DP_BEV__COUNT]; /* applied, by kind */
	uint64_t unknown_ref;    /* E C X D U on an order reference not in the book */
	uint64_t duplicate_ref;  /* A F U adding a reference already live: refused */
	uint64_t overfill;       /* E C X for more shares than remain: order removed */
	uint64_t bad_locate;     /* locate >= max_symbols: refused */
	uint64_t bad_side;       /* side not B/S: refused */
	uint64_t zero_qty;       /* add/replace with 0 shares: refused */
	uint64_t orders_full;    /* order pool exhausted: add refused */
	uint64_t levels_full;    /* level pool exhausted: add refused */
};

struct dp_book;

/* Bytes that dp_book_create() will allocate for cfg (for sizing and docs). */
size_t dp_book_mem_size(const struct dp_book_cfg *cfg);

/*
 * Create a book. Returns 0 and *out, -EINVAL for a bad cfg (zero sizes,
 * max_symbols > 65536, max_orders >= 2^31, ref_window > 2^31,
 * ladders > 65535), -ENOMEM if allocation failed.
 */
int dp_book_create(struct dp_book **out, const struct dp_book_cfg *cfg,
		   const struct dp_mem *mem);
void dp_book_destroy(struct dp_book *b); /* accepts NULL */

/* Apply one event. Never fails hard: refusals are counted in stats. */
void dp_book_apply(struct dp_book *b, const struct dp_book_ev *ev);

/*
 * Hint: the caller will soon apply ev; start fetching what it touches.
 * Hints are pipelined (each call also advances the hints of earlier calls),
 * so call it for every event, in apply order, at least 13 events ahead
 * (16 is a good default). It keeps a little scratch state inside the book:
 * like every other call, only the owning lcore may make it.
 */
void dp_book_prefetch(const struct dp_book *b, const struct dp_book_ev *ev);

/*
 * dp_book_prefetch(b, hint) then dp_book_apply(b, ev) in one call (one
 * call's overhead and the book's fields loaded once): the steady state of
 * a loop that hints each event K events before applying it.
 */
void dp_book_prefetch_apply(struct dp_book *b, const struct dp_book_ev *hint,
			    const struct dp_book_ev *ev);

/*
 * Apply ev[0..n) in order, with the prefetch pipeline run inside the call:
 * the first DP_BOOK_LOOKAHEAD events are hinted before the first apply,
 * then each apply hints the event DP_BOOK_LOOKAHEAD later, and the last
 * applies only advance the pipeline. Same result as dp_book_apply on each
 * event in turn; the loop a ring consumer wants (one call per burst, no
 * per-event call overhead), best with bursts of 64 or more.
 */
#define DP_BOOK_LOOKAHEAD 16
void dp_book_apply_burst(struct dp_book *b, const struct dp_book_ev *ev, uint32_t n);

const struct dp_book_stats *dp_book_stats(const struct dp_book *b);

struct dp_book_level {
	uint32_t price;
	uint32_t orders;
	uint64_t qty;
};

enum { DP_BOOK_BID = 0, DP_BOOK_ASK = 1 };

/*
 * Depth of one side of locate's book, best price first, at most max levels.
 * Returns the number of levels written (0 if empty or locate invalid).
 */
int dp_book_depth(const struct dp_book *b, uint16_t locate, int side,
		  struct dp_book_level *out, int max);

/* Best bid and ask; a missing side has qty 0. Returns 0, or -EINVAL. */
int dp_book_bbo(const struct dp_book *b, uint16_t locate,
		struct dp_book_level *bid, struct dp_book_level *ask);

struct dp_book_order_info {
	uint64_t ref;
	uint16_t locate;
	char side;
	uint32_t price;
	uint32_t qty;
	uint32_t queue_pos; /* 0 = first at its price level */
};

/* Look up a live order by reference. Returns 0, or -ENOENT. */
int dp_book_order(const struct dp_book *b, uint64_t ref, struct dp_book_order_info *out);

struct dp_book_symbol_info {
	char stock[9];        /* from R (or from the first A/F), NUL terminated */
	char trading_state;   /* from H; ' ' if never set */
	char market_category; /* from R */
	uint32_t round_lot;
	uint32_t orders;      /* live orders */
	uint32_t bid_levels, ask_levels;
	uint64_t events;      /* events applied to this symbol */
};

/* Facts about one locate. Returns 0, or -ENOENT if never seen. */
int dp_book_symbol(const struct dp_book *b, uint16_t locate, struct dp_book_symbol_info *out);

/* Locate of a symbol by name (as from R or A/F), or -ENOENT. */
int dp_book_find_symbol(const struct dp_book *b, const char *stock);

/*
 * Fill out[] with up to max locates with the most events applied, most
 * active first. Returns the count.
 */
int dp_book_busiest(const struct dp_book *b, uint16_t *out, int max);

/*
 * Reference index overflow: orders now found through the overflow hash
 * (*live) and moves into it so far (*moved), because a newer reference
 * took their direct slot. Either pointer may be NULL.
 */
void dp_book_ref_overflow(const struct dp_book *b, uint32_t *live, uint64_t *moved);

/*
 * Price ladders: given to sides so far (*used), in the pool (*total), and
 * window moves so far (*rebases). Any pointer may be NULL.
 */
void dp_book_ladders(const struct dp_book *b, uint32_t *used, uint32_t *total, uint64_t *rebases);

/* Live orders and levels in use, over all symbols. */
uint32_t dp_book_live_orders(const struct dp_book *b);
uint32_t dp_book_live_levels(const struct dp_book *b);

/*
 * Check every internal invariant (FIFO links, level totals, sorted levels,
 * hash table consistency). Returns 0 or a negative number naming the first
 * broken invariant; slow, for tests.
 */
int dp_book_check(const struct dp_book *b);

#endif /* DP_BOOK_H */
