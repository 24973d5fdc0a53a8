/*
 * dp_ref.h - the reference price table: the exchange BBO of every locate,
 * written by the book lcore, read by the match lcore, without locks.
 *
 * The book lcore is the only writer. After it applies a burst of feed
 * events it republishes the entries of the locates the burst touched
 * (best bid, best ask, whether the symbol's trading state is 'T'), and
 * on its periodic tick it raises the table-wide `stale` flag when the feed
 * has an unrecovered sequence gap (docs/ARCHITECTURE.md, "Reference
 * prices"). The match lcore reads one entry per order.
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

struct dp_ref_table {
	uint32_t n;                   /* entries: locates 0..n-1 */
	uint32_t pad;
	/* 1 once the feed had a sequence gap that is not recovered: every
	   reference is stale. Written by the book lcore only. */
	_Alignas(64) _Atomic uint32_t stale;
	_Alignas(64) struct dp_ref_entry e[]; /* n entries */
};

static inline size_t dp_ref_table_size(uint32_t n)
{
	return sizeof(struct dp_ref_table) + (size_t)n * sizeof(struct dp_ref_entry);
}

/* Writer (book lcore): publish one locate's reference. stock: the name,
   NUL-terminated or 8 characters, NULL or "" if not known yet. */
static inline void dp_ref_publish(struct dp_ref_table *t, uint16_t locate, uint32_t bid, uint32_t ask,
				  int trading, const char *stock)
{
	if (locate >= t->n)
		return;
	struct dp_ref_entry *e = &t->e[locate];
	uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	uint32_t f = atomic_load_explicit(&e->flags, memory_order_relaxed);
	uint32_t nf = (trading ? DP_REF_F_TRADING : 0) | (f & DP_REF_F_NAMED);
	/* Most feed events leave the top of book unchanged: skip the write then,
	   so the match lcore's cache line is not invalidated for nothing. */
	if (atomic_load_explicit(&e->bid, memory_order_relaxed) == bid &&
	    atomic_load_explicit(&e->ask, memory_order_relaxed) == ask && nf == f &&
	    (f & DP_REF_F_NAMED || !stock || !stock[0]))
		return;
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
}

/* Writer: the feed has (1) or no longer has (0) an unrecovered gap. */
static inline void dp_ref_set_stale(struct dp_ref_table *t, int stale)
{
	atomic_store_explicit(&t->stale, stale ? 1u : 0u, memory_order_release);
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
