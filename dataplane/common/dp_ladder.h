/*
 * dp_ladder.h - the price ladder shared by the L3 book (dataplane/book) and
 * the client book of the matching engine (dataplane/match).
 *
 * A ladder holds the price levels of one side that lie on its tick grid
 * within a window of DP_LAD_SLOTS ticks from a base key, in a direct array
 * indexed by tick, with a bitmap of the occupied slots: finding, making and
 * emptying a level near the touch is an index, a load and a bit, and the
 * best level is the bitmap's top bit. What a slot holds (a level index, or
 * one plus it) and how a key becomes a slot (each library divides by the
 * tick its own way) belong to the owner; the window's placement and the
 * bitmap are here.
 *
 *   bits[2] | misses | pad (one cache line) | slot[0..127] (8 lines)
 *
 * Header only; no allocation; single owner.
 */
#ifndef DP_LADDER_H
#define DP_LADDER_H

#include <stdbool.h>
#include <stdint.h>

#define DP_LAD_SLOTS 128
#define DP_LAD_AT 96       /* a rebase puts its centre key at this slot */
#define DP_LAD_NEAR 32     /* a missing key within this many ticks of the best is "near" */
#define DP_LAD_MISS_MAX 8  /* near keys that missed the window before a rebase */
/* Slot i's 32-bit word in a pool of ladders seen as words (prefetch hints). */
#define DP_LAD_WORD(lad, i) ((lad) * (uint32_t)(sizeof(struct dp_ladder) / 4) + 16u + (i))

struct dp_ladder {
	uint64_t bits[DP_LAD_SLOTS / 64];
	uint32_t misses; /* near keys off the window since the last rebase */
	uint8_t pad[44];
	uint32_t slot[DP_LAD_SLOTS]; /* 0 = empty */
};
_Static_assert(sizeof(struct dp_ladder) == 576, "ladder: a header line and 8 slot lines");
_Static_assert(__builtin_offsetof(struct dp_ladder, slot) == 64, "DP_LAD_WORD: slots after 16 words");

/* Highest occupied slot <= from (from < DP_LAD_SLOTS), or -1. */
static inline int dp_lad_top_from(const struct dp_ladder *L, int from)
{
	if (from >= 64) {
		uint64_t w = L->bits[1] & (~0ull >> (127 - from));
		if (w)
			return 127 - __builtin_clzll(w);
		from = 63;
	}
	if (from < 0)
		return -1;
	uint64_t w = L->bits[0] & (~0ull >> (63 - from));
	return w ? 63 - __builtin_clzll(w) : -1;
}

static inline uint32_t dp_lad_count(const struct dp_ladder *L)
{
	return (uint32_t)(__builtin_popcountll(L->bits[0]) + __builtin_popcountll(L->bits[1]));
}

static inline bool dp_lad_empty(const struct dp_ladder *L)
{
	return (L->bits[0] | L->bits[1]) == 0;
}

/* Occupy slot i with v (not 0). */
static inline void dp_lad_set(struct dp_ladder *L, uint32_t i, uint32_t v)
{
	L->slot[i] = v;
	L->bits[i >> 6] |= 1ull << (i & 63);
}

static inline void dp_lad_clear(struct dp_ladder *L, uint32_t i)
{
	L->slot[i] = 0;
	L->bits[i >> 6] &= ~(1ull << (i & 63));
}

/*
 * Base key of a window of tick t (1 or 100) that puts key `center` at slot
 * DP_LAD_AT, or as near as the ends of the 32-bit key space allow; the
 * base stays on center's grid (congruent to it modulo t).
 */
static inline uint32_t dp_lad_base(uint32_t center, uint32_t t)
{
	uint64_t base = center >= (uint64_t)DP_LAD_AT * t ? center - (uint64_t)DP_LAD_AT * t : center % t;
	uint64_t top = base + (uint64_t)(DP_LAD_SLOTS - 1) * t;
	if (top > UINT32_MAX)
		base -= (top - UINT32_MAX + t - 1) / t * t;
	return (uint32_t)base;
}

#endif
