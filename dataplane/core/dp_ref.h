/*
 * dp_ref.h - the reference price table: the exchange BBO of every locate,
 * written by the book lcore, read by the match lcore, without locks.
 *
 * The book lcore is the only writer. After it applies a burst of feed
 * events it republishes the entries of the locates the burst touched
 * (best bid, best ask, whether the symbol's trading state is 'T'), and
 * it keeps the table-wide `stale` word: the reason the whole table may not
 * be used (dp_ref_stale_decide below: an unrecovered sequence gap, the
 * MoldUDP64 session ended, or the feed silent too long; docs/MATCHING.md,
 * "Reference prices"). The match lcore reads one entry per order.
 *
 * Each entry is a seqlock: the writer makes `seq` odd, writes the fields,
 * then makes it even again (release); a reader retries while `seq` is odd
 * or changed under it. The fields are relaxed atomics, so there is no data
 * race in the C11 sense, and a reader never sees a bid of one update with
 * the ask of another. The writer never waits; a reader retries only while
 * an update of that very entry is in flight (a few nanoseconds).
 *
 * When the book and match roles share an lcore the same code runs; the
 * seqlock is then simply never contended. Plain header: no DPDK, so the
 * unit tests run exactly this code on two threads.
 */
#ifndef DP_REF_H
#define DP_REF_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "dp_order.h"

struct dp_ref_entry {
	_Atomic uint32_t seq;    /* odd while the writer is updating */
	_Atomic uint32_t bid;    /* Price(4); 0 = no bid */
	_Atomic uint32_t ask;    /* Price(4); 0 = no offer */
	_Atomic uint32_t flags;  /* DP_REF_F_* */
	/* ITCH stock name, space padded as in the feed; written once (before
	   DP_REF_F_NAMED is first published) and never changed after. */
	_Atomic uint64_t stock;
	uint64_t pad;
};
_Static_assert(sizeof(struct dp_ref_entry) == 32, "two entries per cache line");

#define DP_REF_F_TRADING 0x1u /* the symbol's trading state is 'T' */
#define DP_REF_F_NAMED 0x2u   /* stock is set */

/*
 * Why the whole table is stale (the `stale` word; 0 = usable). The order is
 * the precedence when several hold: a gap is sticky (no recovery yet, so
 * until restart), an ended session and a silent feed clear when packets
 * come again.
 */
enum dp_ref_stale_reason {
	DP_REF_VALID = 0,
	DP_REF_STALE_GAP = 1,    /* a MoldUDP64 sequence gap was seen (until restart) */
	DP_REF_STALE_ENDED = 2,  /* every MoldUDP64 session seen has sent end of session */
	DP_REF_STALE_SILENT = 3, /* no MoldUDP64 packet (heartbeats count) for stale_after */
	DP_REF_STALE__COUNT
};

struct dp_ref_table {
	uint32_t n;                   /* entries: locates 0..n-1 */
	uint32_t pad;
	/* enum dp_ref_stale_reason: non-zero makes every reference invalid.
	   Written by the book lcore only. */
	_Alignas(64) _Atomic uint32_t stale;
	_Alignas(64) struct dp_ref_entry e[]; /* n entries */
};

static inline size_t dp_ref_table_size(uint32_t n)
{
	return sizeof(struct dp_ref_table) + (size_t)n * sizeof(struct dp_ref_entry);
}

/* Writer (book lcore): publish one locate's reference. stock: the name,
   NUL-terminated or 8 characters, NULL or "" if not known yet. Returns 1 if
   the entry was rewritten, 0 if nothing changed (or no such locate). */
static inline int dp_ref_publish(struct dp_ref_table *t, uint16_t locate, uint32_t bid, uint32_t ask,
				  int trading, const char *stock)
{
	if (locate >= t->n)
		return 0;
	struct dp_ref_entry *e = &t->e[locate];
	uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	uint32_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
	uint32_t nf = (trading ? DP_REF_F_TRADING : 0) | (f & DP_REF_F_NAMED);
	/* Most feed events leave the top of book unchanged: skip the write then,
	   so the match lcore's cache line is not invalidated for nothing. */
	if (atomic_load_explicit(&e->bid, memory_order_relaxed) == bid &&
	    atomic_load_explicit(&e->ask, memory_order_relaxed) == ask && nf == f &&
	    (f & DP_REF_F_NAMED || !stock || !stock[0]))
		return 0;
	atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
	/* The odd seq must be visible before any field changes. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->bid, bid, memory_order_relaxed);
	atomic_store_explicit(&e->ask, ask, memory_order_relaxed);
	if (!(f & DP_REF_F_NAMED) && stock && stock[0]) {
		char pad[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		for (int i = 0; i < 8 && stock[i]; i++)
			pad[i] = stock[i];
		uint64_t v;
		memcpy(&v, pad, 8);
		atomic_store_explicit(&e->stock, v, memory_order_relaxed);
		nf |= DP_REF_F_NAMED;
	}
	/* release: a reader that sees DP_REF_F_NAMED (acquire) also sees stock */
	atomic_store_explicit(&e->flags, nf, memory_order_release);
	atomic_store_explicit(&e->seq, s + 2, memory_order_release);
	return 1;
}

/* Writer: the table is stale for `reason` (enum dp_ref_stale_reason), 0 = usable again. */
static inline void dp_ref_set_stale(struct dp_ref_table *t, uint32_t reason)
{
	atomic_store_explicit(&t->stale, reason, memory_order_release);
}

/*
 * The staleness rule as a pure function (unit-tested alone):
 *   gaps          the rx lcore's MoldUDP64 gap count (never decreases);
 *   ended         1 while every session seen has sent end of session;
 *   last_pkt_tsc  TSC when the feed's packet count last moved (or start);
 *   now_tsc       now (same clock, >= last_pkt_tsc normally);
 *   after_tsc     silence threshold in TSC cycles, 0 = silence never counts.
 * Returns the enum dp_ref_stale_reason that holds, by precedence.
 */
static inline uint32_t dp_ref_stale_decide(uint64_t gaps, int ended, uint64_t last_pkt_tsc,
					   uint64_t now_tsc, uint64_t after_tsc)
{
	if (gaps)
		return DP_REF_STALE_GAP;
	if (ended)
		return DP_REF_STALE_ENDED;
	if (after_tsc && now_tsc > last_pkt_tsc && now_tsc - last_pkt_tsc > after_tsc)
		return DP_REF_STALE_SILENT;
	return DP_REF_VALID;
}

/*
 * The book lcore's watch over the feed (private to it): it sees the rx
 * lcore's packet count move and remembers when, then decides. One call per
 * periodic tick and per dequeued burst; returns the reason now in force,
 * and *changed = 1 when it differs from the previous call's (the caller
 * publishes it with dp_ref_set_stale and counts the transition).
 */
struct dp_ref_watch {
	uint64_t pkts;         /* rx's MoldUDP64 packet count last seen */
	uint64_t last_pkt_tsc; /* when it last moved (start time before any) */
	uint64_t after_tsc;    /* silence threshold, 0 = off */
	uint32_t state;        /* enum dp_ref_stale_reason in force */
};

static inline void dp_ref_watch_init(struct dp_ref_watch *w, uint64_t now_tsc, uint64_t after_tsc)
{
	w->pkts = 0;
	w->last_pkt_tsc = now_tsc;
	w->after_tsc = after_tsc;
	w->state = DP_REF_VALID;
}

static inline uint32_t dp_ref_watch_step(struct dp_ref_watch *w, uint64_t pkts, uint64_t gaps, int ended,
					 uint64_t now_tsc, int *changed)
{
	if (pkts != w->pkts) {
		w->pkts = pkts;
		w->last_pkt_tsc = now_tsc;
	}
	uint32_t s = dp_ref_stale_decide(gaps, ended, w->last_pkt_tsc, now_tsc, w->after_tsc);
	*changed = s != w->state;
	w->state = s;
	return s;
}

/* "valid", "gap", "end_of_session", "silent" (also the counter label). */
static inline const char *dp_ref_stale_name(uint32_t reason)
{
	switch (reason) {
	case DP_REF_VALID: return "valid";
	case DP_REF_STALE_GAP: return "gap";
	case DP_REF_STALE_ENDED: return "end_of_session";
	case DP_REF_STALE_SILENT: return "silent";
	default: return "?";
	}
}

/*
 * Reader (match lcore): the reference of a locate. valid = trading state
 * 'T', not stale, and at least one side priced; the matching engine and
 * the risk checks apply their own "both sides, not crossed" rule on top.
 * An unknown locate gives an invalid reference.
 */
static inline struct dp_ref_px dp_ref_read(const struct dp_ref_table *t, uint16_t locate)
{
	struct dp_ref_px r = {0, 0, 0};
	if (!t || locate >= t->n)
		return r;
	const struct dp_ref_entry *e = &t->e[locate];
	uint32_t s1, s2, f;
	do {
		s1 = atomic_load_explicit(&((struct dp_ref_entry *)e)->seq, memory_order_acquire);
		r.bid = atomic_load_explicit(&((struct dp_ref_entry *)e)->bid, memory_order_relaxed);
		r.ask = atomic_load_explicit(&((struct dp_ref_entry *)e)->ask, memory_order_relaxed);
		f = atomic_load_explicit(&((struct dp_ref_entry *)e)->flags, memory_order_relaxed);
		/* The field loads must complete before seq is read again. */
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&((struct dp_ref_entry *)e)->seq, memory_order_relaxed);
	} while ((s1 & 1u) || s1 != s2);
	uint32_t stale = atomic_load_explicit(&((struct dp_ref_table *)t)->stale, memory_order_acquire);
	r.valid = (f & DP_REF_F_TRADING) && !stale && (r.bid || r.ask);
	return r;
}

/* Reader: the stock name of a locate (8 bytes, space padded), 0 if not yet known. */
static inline int dp_ref_stock(const struct dp_ref_table *t, uint16_t locate, char out[8])
{
	if (!t || locate >= t->n)
		return 0;
	struct dp_ref_entry *e = (struct dp_ref_entry *)&t->e[locate];
	if (!(atomic_load_explicit(&e->flags, memory_order_acquire) & DP_REF_F_NAMED))
		return 0;
	uint64_t v = atomic_load_explicit(&e->stock, memory_order_relaxed);
	memcpy(out, &v, 8);
	return 1;
}

/* Compare a NUL-terminated name (<= 8 chars) with a space-padded ITCH stock. */
static inline int dp_ref_stock_eq(const char stock[8], const char *name)
{
	size_t i = 0;
	for (; i < 8 && name[i]; i++)
		if (stock[i] != name[i])
			return 0;
	for (; i < 8; i++)
		if (stock[i] != ' ' && stock[i] != '\0')
			return 0;
	return 1;
}

#endif /* DP_REF_H */
