/*
 * dp_book.c - order-by-order (L3) books of every symbol of one feed.
 *
 * The hot path is dp_book_apply() on order events (add, execute, cancel,
 * delete, replace). On a real feed those events hit orders all over the
 * book, so both cache misses and instructions count (PERFORMANCE.md has the
 * split). The layout below keeps the distinct cache lines per event few:
 *
 *   - an order is one 32-byte record (two per cache line), addressed by a
 *     32-bit index into a pool;
 *   - orders are found by reference through a direct index: slot
 *     ref mod ref_window (a power of two) holds {order index + 1}. ITCH
 *     references rise through the day, so a new order's slot is free
 *     unless an order older than ref_window references still sits there;
 *     that older order's entry then moves to an overflow hash (open
 *     addressing, 8-byte slots {order index + 1, 32-bit hash}, backward-
 *     shift deletion), which is only probed when the direct slot does not
 *     hold the reference and the overflow is not empty. A lookup is one
 *     4-byte slot and the order itself, with no hashing: the common case
 *     costs a handful of instructions and no data-dependent branch;
 *   - price levels are 32-byte records of the same node pool (indices
 *     after the orders); each level's orders form a circular doubly linked
 *     FIFO through the level itself (see struct lnk);
 *   - per symbol and side, a price ladder (struct dp_ladder) holds the levels
 *     within 128 ticks of the touch in a direct array indexed by tick, so
 *     an add finds or makes its level, and a removal empties it, with no
 *     search; the side's other levels sit in a sorted array of
 *     {key, level index} with the best price at the end.
 *
 * All memory is taken in dp_book_create() (through struct dp_mem) and
 * never again. The per-side sorted arrays grow inside a preallocated arena
 * of power-of-two chunks with one free list per size class.
 *
 * Single owner, no locks, integers only.
 */
#include "dp_book.h"

#include <errno.h>
#include <stddef.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "dp_itch.h"
#include "dp_ladder.h"

#define NIL UINT32_MAX

/* Linear scan length from the touch before falling back to binary search. */
#define NEAR_SCAN 8
/* Smallest side-array chunk: 2^MIN_CLS entries. */
#define MIN_CLS 3
/* Largest size class we ever need (a chunk of 2^32 entries is impossible). */
#define MAX_CLS 32

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x) (x)
#define unlikely(x) (x)
#endif

/*
 * Orders and price levels are 32-byte nodes of one pool: indices
 * [0, max_orders) are orders, [max_orders, max_orders + max_levels) levels.
 * Every node has its FIFO links at the same offset (struct lnk), and each
 * level's orders form a circular doubly linked list through the level
 * itself: the level's `next` is its oldest order (first to trade), its
 * `prev` the newest, and the oldest order's `prev` and the newest's `next`
 * are the level. Unlinking an order and appending one are then the same
 * few stores whatever the order's place, with no test for an end of the
 * list (an empty level links to itself).
 */
struct lnk {
	uint32_t prev;
	uint32_t next;
};

/*
 * One resting order, 32 bytes, two per cache line.
 *
 *   0        8       12       16       20       24       28     30   31
 *   +--------+--------+--------+--------+--------+--------+------+----+----+
 *   | ref    | qty    | prev   | next   | lvl    | price  |locate|side|live|
 *   +--------+--------+--------+--------+--------+--------+------+----+----+
 *
 * lvl, prev and next are node indices. A free order keeps its free-list
 * link in `next` (NIL ends the list). price/locate/side repeat the level's
 * facts so dp_book_order() and replace do not need the level line.
 */
struct ord {
	uint64_t ref;
	uint32_t qty;
	struct lnk ln;
	uint32_t lvl;
	uint32_t price;
	uint16_t locate;
	uint8_t side;  /* DP_BOOK_BID / DP_BOOK_ASK */
	uint8_t live;
};
_Static_assert(sizeof(struct ord) == 32, "order record is 32 bytes");

/*
 * One price level, 32 bytes.
 *
 *   0                8       12       16       20       24     26   27     32
 *   +----------------+--------+--------+--------+--------+------+----+------+
 *   | qty (total)    | price  | tail   | head   | count  |locate|side| pad  |
 *   +----------------+--------+--------+--------+--------+------+----+------+
 *
 * tail (ln.prev) is the newest order, head (ln.next) the oldest. A free
 * level keeps its free-list link in ln.next.
 */
struct lvl {
	uint64_t qty;
	uint32_t price;
	struct lnk ln;
	uint32_t count;
	uint16_t locate;
	uint8_t side;
	uint8_t inl;  /* 1: in its side's ladder at slot idx; 0: in the side array */
	uint8_t idx;
	uint8_t pad[3];
};
_Static_assert(sizeof(struct lvl) == 32, "level record is 32 bytes");
_Static_assert(offsetof(struct ord, ln) == 12 && offsetof(struct lvl, ln) == 12,
	       "FIFO links at the same offset in every node");
#define NODE 32

/*
 * Hash slot, 8 bytes: idx1 = order index + 1 (0 = empty, so a zeroed table
 * is empty), h = low 32 bits of the mixed reference. Home slot = h & mask.
 */
struct hslot {
	uint32_t idx1;
	uint32_t h;
};

/*
 * Sorted-array entry. key = price for bids, ~price for asks, so both sides
 * are sorted ascending by key and the best price is always the last entry:
 *
 *   arena + off:  [ key0 | lvl ] [ key1 | lvl ] ... [ best | lvl ]  (n used)
 *                  worst                              touch       (cap = 2^cls)
 */
struct pent {
	uint32_t key;
	uint32_t lvl;
};

/*
 * Price ladders (dataplane/common/dp_ladder.h): the levels of one side on
 * its tick grid within DP_LAD_SLOTS ticks of a base key, by tick, slot
 * value = level index (never 0: levels come after the orders). Every other
 * level of the side (off the window or the grid) sits in the side's sorted
 * array; the two never hold the same key, and queries merge them. Ladders
 * come from a pool (dp_book_cfg.ladders) and are given to sides as they
 * get their first order; a side without one uses the array only.
 */
#define LAD_POOL_MAX 65535 /* ladder ids are 16 bits, 0 = none */

struct side {
	uint32_t off;  /* first entry in the arena */
	uint32_t n;    /* array entries used (levels off the ladder) */
	uint8_t cls;   /* chunk holds 2^cls entries; 0 = no chunk */
	uint8_t t100;  /* ladder tick: 1 = 100 price units (a cent), 0 = 1 unit */
	uint16_t lad;  /* ladder id, 0 = none */
	uint32_t base; /* ladder key at slot 0 */
};

/*
 * Per-locate state, 64 bytes (one cache line).
 *
 *   0                  16                 32       36       40
 *   +------------------+------------------+--------+--------+
 *   | side[BID]        | side[ASK]        | orders |roundlot|
 *   +--------+---------+--------+--+--+--+--+--------------+
 *   40       48                 56 57 58 59 60             64
 *   | events | stock[8]         |st|mc|sn|nm| pad          |
 *   +--------+------------------+--+--+--+--+--------------+
 */
struct sym {
	struct side side[2];
	uint32_t orders;
	uint32_t round_lot;
	uint64_t events;
	char stock[8];    /* space padded as on the wire */
	char state;       /* trading state, ' ' if never set */
	char category;    /* market category */
	uint8_t seen;     /* some event was applied (or named) */
	uint8_t named;    /* stock[] is set */
	uint8_t pad[4];
};
_Static_assert(sizeof(struct sym) == 64, "symbol record is one cache line");

/*
 * Prefetch pipeline (see dp_book_prefetch): entry i of q[] is the hint made
 * at call number i (mod PF_RING), with what its earlier stages found. Hints
 * only fetch memory; apply does not read them, so a hint that went stale or
 * was made for another event costs a useless prefetch, never a wrong result.
 */
#define PF_STEP 4
#define PF_RING 16 /* power of two > 3 * PF_STEP */
struct pfe {
	uint32_t ds;     /* direct reference slot of ref */
	uint32_t oi;     /* stage 2: order in that slot (or 0) */
	uint32_t key;    /* side-array key of the event's price */
	uint32_t wi;     /* stage 2: ladder slot of key, as an index into lad_words() */
	uint32_t li;     /* stage 3: level in that slot (or 0), < nodes */
	uint16_t locate; /* clamped to the book */
	uint8_t side;
	uint8_t pad;
};
_Static_assert(sizeof(struct pfe) == 24, "hint entry is 24 bytes");
struct pf {
	uint32_t calls;   /* dp_book_prefetch calls */
	struct pfe q[PF_RING];
};

struct dp_book {
	/* Hot, read on every event. */
	struct ord *ord;        /* the node pool, seen as orders (index < max_orders) */
	struct lvl *lvl;        /* the same pool, seen as levels (index >= max_orders) */
	uint32_t *rix;          /* direct reference index, wmask + 1 slots */
	struct hslot *tab;      /* overflow hash */
	struct sym *sym;
	struct pent *arena;
	struct dp_ladder *lad;     /* ladder pool; lad[0] is "none" and stays zero */
	uint32_t wmask;         /* reference window - 1 */
	uint32_t mask;          /* overflow hash capacity - 1 */
	uint32_t ovf_live;      /* entries in the overflow hash */
	uint64_t ovf_moved;     /* entries ever moved there */
	uint64_t max_ref;       /* no live order has a larger reference */
	uint32_t max_orders;
	uint32_t max_levels;
	uint32_t max_symbols;
	uint32_t nodes;         /* max_orders + max_levels */

	/* Pools: free list first, then never-used tail (bump). Level indices start at max_orders. */
	uint32_t ord_free, ord_bump, ord_live;
	uint32_t lvl_free, lvl_bump, lvl_live;

	/* Ladders: lad[1..lad_n] exist, lad[1..lad_used] are given to sides. */
	uint32_t lad_n, lad_used;
	uint64_t rebases;

	/* Side-array arena: bump pointer and one free list per size class. */
	uint32_t arena_size, arena_bump;
	uint32_t chunk_free[MAX_CLS + 1];

	/* Locates that ever saw an event, in first-seen order. */
	uint16_t *seen;
	uint32_t nseen;

	struct dp_book_stats st;

	struct dp_mem mem;

	/*
	 * Prefetch hints are scratch state, not part of the book's value:
	 * dp_book_prefetch() takes a const book and writes through this
	 * pointer, which points at pf_state below.
	 */
	struct pf *pf;
	struct pf pf_state;
};

/* ------------------------------------------------------------------ */
/* Memory                                                               */

struct layout {
	uint64_t hcap;
	uint64_t window;   /* reference index slots */
	uint64_t arena;    /* entries */
	uint64_t ladders;  /* usable ladders (the pool has one more, id 0) */
	size_t sz_book, sz_node, sz_rix, sz_tab, sz_sym, sz_arena, sz_seen, sz_lad;
};

/*
 * Arena sizing: a side array of n levels lives in a chunk of at most
 * max(8, 2n) entries, so all live chunks need at most 2 * max_levels plus
 * 8 per side of each symbol. Grown-out chunks wait on free lists for reuse
 * (and bigger ones are split when a class runs dry), so twice that is kept.
 */
static void layout_of(const struct dp_book_cfg *cfg, struct layout *l)
{
	l->hcap = dp_pow2_at_least(2 * (uint64_t)cfg->max_orders);
	if (l->hcap < 8)
		l->hcap = 8;
	l->window = dp_pow2_at_least(cfg->ref_window ? cfg->ref_window : 4 * (uint64_t)cfg->max_orders);
	if (l->window > (1ull << 31))
		l->window = 1ull << 31;
	l->arena = 4 * dp_pow2_at_least(cfg->max_levels) + 32 * (uint64_t)cfg->max_symbols;
	if (l->arena > UINT32_MAX)
		l->arena = (uint64_t)1 << 31;
	l->sz_book = dp_round64(sizeof(struct dp_book));
	l->sz_node = dp_round64(((size_t)cfg->max_orders + cfg->max_levels) * NODE);
	l->sz_rix = dp_round64((size_t)l->window * sizeof(uint32_t));
	l->sz_tab = dp_round64((size_t)l->hcap * sizeof(struct hslot));
	l->sz_sym = dp_round64((size_t)cfg->max_symbols * sizeof(struct sym));
	l->sz_arena = dp_round64((size_t)l->arena * sizeof(struct pent));
	l->sz_seen = dp_round64((size_t)cfg->max_symbols * sizeof(uint16_t));
	l->ladders = cfg->ladders ? cfg->ladders : 2 * (uint64_t)cfg->max_symbols;
	if (!cfg->ladders && l->ladders > DP_BOOK_LADDERS_DEFAULT_MAX)
		l->ladders = DP_BOOK_LADDERS_DEFAULT_MAX;
	l->sz_lad = dp_round64((size_t)(l->ladders + 1) * sizeof(struct dp_ladder));
}

static bool cfg_ok(const struct dp_book_cfg *cfg)
{
	return cfg && cfg->max_orders && cfg->max_levels && cfg->max_symbols &&
	       cfg->max_symbols <= 65536 && cfg->max_orders < (1u << 31) &&
	       cfg->max_levels < (1u << 31) && cfg->ref_window <= (1u << 31) &&
	       cfg->ladders <= LAD_POOL_MAX;
}

size_t dp_book_mem_size(const struct dp_book_cfg *cfg)
{
	struct layout l;
	if (!cfg_ok(cfg))
		return 0;
	layout_of(cfg, &l);
	return l.sz_book + l.sz_node + l.sz_rix + l.sz_tab + l.sz_sym + l.sz_arena +
	       l.sz_seen + l.sz_lad;
}

void dp_book_destroy(struct dp_book *b)
{
	if (!b)
		return;
	struct dp_mem m = b->mem;
	m.free(b->ord, m.arg);
	m.free(b->rix, m.arg);
	m.free(b->tab, m.arg);
	m.free(b->sym, m.arg);
	m.free(b->arena, m.arg);
	m.free(b->seen, m.arg);
	m.free(b->lad, m.arg);
	m.free(b, m.arg);
}

int dp_book_create(struct dp_book **out, const struct dp_book_cfg *cfg,
		   const struct dp_mem *mem)
{
	struct dp_mem m = dp_mem_pick(mem);
	struct layout l;

	if (!out || !cfg_ok(cfg))
		return -EINVAL;
	layout_of(cfg, &l);

	struct dp_book *b = m.zalloc(l.sz_book, m.arg);
	if (!b)
		return -ENOMEM;
	b->mem = m;
	b->ord = m.zalloc(l.sz_node, m.arg);
	b->lvl = (struct lvl *)(void *)b->ord;
	b->rix = m.zalloc(l.sz_rix, m.arg);
	b->tab = m.zalloc(l.sz_tab, m.arg);
	b->sym = m.zalloc(l.sz_sym, m.arg);
	b->arena = m.zalloc(l.sz_arena, m.arg);
	b->seen = m.zalloc(l.sz_seen, m.arg);
	b->lad = m.zalloc(l.sz_lad, m.arg);
	if (!b->ord || !b->rix || !b->tab || !b->sym || !b->arena || !b->seen || !b->lad) {
		/* destroy frees whatever was obtained; m.free must accept NULL */
		dp_book_destroy(b);
		return -ENOMEM;
	}
	b->pf = &b->pf_state;
	b->mask = (uint32_t)(l.hcap - 1);
	b->wmask = (uint32_t)(l.window - 1);
	b->max_orders = cfg->max_orders;
	b->max_levels = cfg->max_levels;
	b->nodes = cfg->max_orders + cfg->max_levels;
	b->lvl_bump = cfg->max_orders;
	b->max_symbols = cfg->max_symbols;
	b->ord_free = NIL;
	b->lvl_free = NIL;
	b->arena_size = (uint32_t)l.arena;
	b->lad_n = (uint32_t)l.ladders;
	for (int c = 0; c <= MAX_CLS; c++)
		b->chunk_free[c] = NIL;
	for (uint32_t i = 0; i < cfg->max_symbols; i++) {
		b->sym[i].state = ' ';
		b->sym[i].category = ' ';
		memset(b->sym[i].stock, ' ', sizeof b->sym[i].stock);
	}
	*out = b;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hash table                                                          */

/* Mix a reference into 32 bits (murmur3 finalizer halves: cheap, good). */
static inline uint32_t ref_hash(uint64_t r)
{
	r ^= r >> 33;
	r *= 0xff51afd7ed558ccdULL;
	r ^= r >> 33;
	return (uint32_t)r;
}

/*
 * Find ref. Returns the slot holding it (*found = 1) or the empty slot that
 * ends its probe run, where an insert would go (*found = 0).
 */
static inline uint32_t tab_probe(const struct dp_book *b, uint64_t ref, uint32_t h, int *found)
{
	uint32_t i = h & b->mask;
	for (;;) {
		struct hslot s = b->tab[i];
		if (s.idx1 == 0) {
			*found = 0;
			return i;
		}
		if (s.h == h && b->ord[s.idx1 - 1].ref == ref) {
			*found = 1;
			return i;
		}
		i = (i + 1) & b->mask;
	}
}

/*
 * Remove slot i by backward shift: later entries of the run whose home is
 * not in (i, j] move back into the hole, so no tombstones are ever needed
 * and probe runs stay as short as the load allows.
 */
static inline void tab_erase(struct dp_book *b, uint32_t i)
{
	uint32_t mask = b->mask, j = i;
	for (;;) {
		j = (j + 1) & mask;
		struct hslot s = b->tab[j];
		if (s.idx1 == 0)
			break;
		uint32_t home = s.h & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			b->tab[i] = s;
			i = j;
		}
	}
	b->tab[i].idx1 = 0;
	b->tab[i].h = 0;
}

/* FIFO links of node i, order or level. */
static inline struct lnk *lk(const struct dp_book *b, uint32_t i)
{
	return (struct lnk *)(void *)((char *)b->ord + (size_t)i * NODE + offsetof(struct ord, ln));
}

/* ------------------------------------------------------------------ */
/* Reference index: direct slots, overflow hash                        */

static inline uint32_t *rix_slot(const struct dp_book *b, uint64_t ref)
{
	return &b->rix[(uint32_t)ref & b->wmask];
}

/* Order of ref in the overflow hash, or NIL; *slot = its hash slot. */
static uint32_t ovf_find(const struct dp_book *b, uint64_t ref, uint32_t *slot)
{
	int found;
	*slot = tab_probe(b, ref, ref_hash(ref), &found);
	return found ? b->tab[*slot].idx1 - 1 : NIL;
}

/* Order index of the live order ref, or NIL. Read-only. */
static inline uint32_t ref_find(const struct dp_book *b, uint64_t ref)
{
	uint32_t e = *rix_slot(b, ref);
	if (likely(e != 0 && b->ord[e - 1].ref == ref))
		return e - 1;
	if (likely(b->ovf_live == 0))
		return NIL;
	uint32_t slot;
	return ovf_find(b, ref, &slot);
}

static __attribute__((noinline)) uint32_t ovf_take(struct dp_book *b, uint64_t ref)
{
	uint32_t slot, oi = ovf_find(b, ref, &slot);
	if (oi != NIL) {
		tab_erase(b, slot);
		b->ovf_live--;
	}
	return oi;
}

/*
 * Find the live order ref and drop its index entry (the caller removes
 * the order itself). Returns its index, or NIL if ref is not live.
 */
static inline uint32_t ref_take(struct dp_book *b, uint64_t ref)
{
	uint32_t *d = rix_slot(b, ref);
	uint32_t e = *d;
	if (likely(e != 0 && b->ord[e - 1].ref == ref)) {
		*d = 0;
		return e - 1;
	}
	if (likely(b->ovf_live == 0))
		return NIL;
	return ovf_take(b, ref);
}

/*
 * Whether ref may be added (is not live). A reference above every one
 * added so far cannot be live: on a feed whose references rise, that is
 * the whole test.
 */
static inline bool ref_absent(const struct dp_book *b, uint64_t ref)
{
	if (likely(ref > b->max_ref))
		return true;
	return ref_find(b, ref) == NIL;
}

/* Move the index entry e (order index + 1) out of its direct slot into the overflow. */
static __attribute__((noinline)) void ovf_put(struct dp_book *b, uint32_t e)
{
	uint64_t ref = b->ord[e - 1].ref;
	uint32_t h = ref_hash(ref);
	int found;
	/* Never found (a ref is indexed once) and never full (entries <= live orders < capacity). */
	uint32_t slot = tab_probe(b, ref, h, &found);
	b->tab[slot].idx1 = e;
	b->tab[slot].h = h;
	b->ovf_live++;
	b->ovf_moved++;
}

/* Index the new order oi under ref (known absent). */
static inline void ref_put(struct dp_book *b, uint64_t ref, uint32_t oi)
{
	uint32_t *d = rix_slot(b, ref);
	if (unlikely(*d != 0))
		ovf_put(b, *d);
	*d = oi + 1;
	b->max_ref = ref > b->max_ref ? ref : b->max_ref;
}

/* ------------------------------------------------------------------ */
/* Side-array chunk arena                                              */

/* Take a chunk of 2^cls entries; NIL if the arena is exhausted. */
static uint32_t chunk_get(struct dp_book *b, unsigned cls)
{
	uint32_t off = b->chunk_free[cls];
	if (off != NIL) {
		b->chunk_free[cls] = b->arena[off].lvl;
		return off;
	}
	uint32_t size = 1u << cls;
	if (b->arena_size - b->arena_bump >= size) {
		off = b->arena_bump;
		b->arena_bump += size;
		return off;
	}
	/* Split the smallest larger free chunk; keep the upper halves. */
	for (unsigned c = cls + 1; c <= MAX_CLS && c < 32; c++) {
		off = b->chunk_free[c];
		if (off == NIL)
			continue;
		b->chunk_free[c] = b->arena[off].lvl;
		while (c > cls) {
			c--;
			uint32_t half = off + (1u << c);
			b->arena[half].lvl = b->chunk_free[c];
			b->chunk_free[c] = half;
		}
		return off;
	}
	return NIL;
}

static void chunk_put(struct dp_book *b, uint32_t off, unsigned cls)
{
	b->arena[off].lvl = b->chunk_free[cls];
	b->chunk_free[cls] = off;
}

/*
 * Position of key in a side: returns the index holding it (*found = 1) or
 * the index where it would be inserted (*found = 0). Looks at the few
 * entries next to the touch first, where nearly all activity is.
 */
static inline uint32_t side_find(const struct pent *a, uint32_t n, uint32_t key, int *found)
{
	uint32_t i = n, stop = n > NEAR_SCAN ? n - NEAR_SCAN : 0;
	while (i > stop) {
		uint32_t k = a[i - 1].key;
		if (k <= key) {
			*found = (k == key);
			return i - (k == key);
		}
		i--;
	}
	uint32_t lo = 0, hi = i;
	while (lo < hi) {
		uint32_t mid = lo + ((hi - lo) >> 1);
		if (a[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = (lo < i && a[lo].key == key);
	return lo;
}

/*
 * side_find for a key that is in the side (n >= 1): compare the last 8
 * entries (or the first 8 of a shorter array: a chunk has at least 8) at
 * once, so that where the key sits near the touch is not a branch.
 */
static inline uint32_t side_find_present(const struct pent *a, uint32_t n, uint32_t key, int *found)
{
#if defined(__SSE2__)
	uint32_t base = n > 8 ? n - 8 : 0, used = n - base;
	__m128i k = _mm_set1_epi32((int)key);
	unsigned m = 0;
	for (int j = 0; j < 4; j++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(a + base + 2 * j));
		m |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, k))) << (4 * j);
	}
	/* Key lanes of the entries in use. */
	m &= 0x5555u & ((1u << (2 * used)) - 1);
	if (likely(m != 0)) {
		*found = 1;
		return base + ((unsigned)__builtin_ctz(m) >> 1);
	}
	return side_find(a, base, key, found);
#else
	return side_find(a, n, key, found);
#endif
}

/*
 * side_find for an add: where key is or would go. The last 8 entries (or
 * the first 8 of a shorter array: a chunk has at least 8, and an empty
 * side reads the arena's first entries, masked off) are compared at once:
 * the entries below key are a prefix, so their count is the position.
 * Only a key below all 8 of a longer array searches the rest.
 */
static inline uint32_t side_pos(const struct pent *a, uint32_t n, uint32_t key, int *found)
{
#if defined(__SSE2__)
	uint32_t base = n > 8 ? n - 8 : 0, used = n - base;
	__m128i k = _mm_set1_epi32((int)key);
	/* Unsigned key < key: signed compare with the sign bits flipped. */
	__m128i bias = _mm_set1_epi32(INT32_MIN);
	__m128i kb = _mm_xor_si128(k, bias);
	unsigned eq = 0, lt = 0;
	for (int j = 0; j < 4; j++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(a + base + 2 * j));
		eq |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, k))) << (4 * j);
		lt |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
			      _mm_cmplt_epi32(_mm_xor_si128(v, bias), kb))) << (4 * j);
	}
	/* Key lanes of the entries in use. */
	unsigned valid = 0x5555u & ((1u << (2 * used)) - 1);
	eq &= valid;
	uint32_t below = (uint32_t)__builtin_popcount(lt & valid);
	/* Below all 8 of a longer array is the only case that needs the rest. */
	unsigned done = ((below | eq) != 0) | (base == 0);
	if (likely(done)) {
		*found = eq != 0;
		return base + below;
	}
	return side_find(a, base, key, found);
#else
	return side_find(a, n, key, found);
#endif
}

/* Make the side array's chunk hold at least need entries; false if the arena cannot. */
static bool side_reserve(struct dp_book *b, struct side *s, uint32_t need)
{
	if (s->cls && need <= (1u << s->cls))
		return true;
	unsigned cls = MIN_CLS;
	while (cls < MAX_CLS - 1 && (1u << cls) < need)
		cls++;
	if ((1u << cls) < need)
		return false;
	uint32_t off = chunk_get(b, cls);
	if (off == NIL)
		return false;
	if (s->cls) {
		memcpy(&b->arena[off], &b->arena[s->off], (size_t)s->n * sizeof(struct pent));
		chunk_put(b, s->off, s->cls);
	}
	s->off = off;
	s->cls = (uint8_t)cls;
	return true;
}

/* Insert {key, lvl} at pos; returns false if the arena cannot grow. */
static bool side_insert(struct dp_book *b, struct side *s, uint32_t pos, uint32_t key, uint32_t lvl)
{
	if (!side_reserve(b, s, s->n + 1))
		return false;
	struct pent *a = &b->arena[s->off];
	if (pos < s->n)
		memmove(&a[pos + 1], &a[pos], (size_t)(s->n - pos) * sizeof(struct pent));
	a[pos].key = key;
	a[pos].lvl = lvl;
	s->n++;
	return true;
}

static void side_remove(struct dp_book *b, struct side *s, uint32_t pos)
{
	struct pent *a = &b->arena[s->off];
	s->n--;
	if (pos < s->n)
		memmove(&a[pos], &a[pos + 1], (size_t)(s->n - pos) * sizeof(struct pent));
	if (s->n == 0) {
		/* An empty side gives its chunk back; it restarts at 8 entries. */
		chunk_put(b, s->off, s->cls);
		s->cls = 0;
		s->off = 0;
	}
}

static inline uint32_t key_of(uint32_t price, unsigned side)
{
	return price ^ (0u - (side & 1)); /* ~price for asks (side 1), no select */
}

/* ------------------------------------------------------------------ */
/* Price ladders                                                       */

/*
 * floor(d / tick) for d < 2^32 as (d * magic) >> 32: exact for tick 1, and
 * for tick 100 whenever d is a multiple of 100 below 2^32 (the error term
 * 4 * d / 100 stays under 2^32); any other d fails the i * tick == d test.
 */
static const uint64_t lad_magic[2] = { 1ull << 32, 42949673ull };

static inline uint32_t lad_tick(const struct side *sd)
{
	return 1u + 99u * sd->t100;
}

/*
 * Slot of key in sd's ladder, or DP_LAD_SLOTS if the side has no ladder or
 * the key is off its window or grid. Keys below base wrap to large d.
 */
static inline uint32_t lad_index(const struct side *sd, uint32_t key)
{
	uint32_t d = key - sd->base;
	uint64_t i = ((uint64_t)d * lad_magic[sd->t100 & 1]) >> 32;
	/* Flags as integers, so that no compiler makes a branch of them (random for the hints). */
	uint32_t bad = (uint32_t)(i >= DP_LAD_SLOTS) | (uint32_t)((uint32_t)i * lad_tick(sd) != d) |
		       (uint32_t)(sd->lad == 0);
	return ((uint32_t)i & (bad - 1u)) | (DP_LAD_SLOTS & (0u - bad));
}

static inline uint32_t lad_key(const struct side *sd, uint32_t i)
{
	return sd->base + i * lad_tick(sd);
}

/* Best key of a side over ladder and array; *any = 0 if the side is empty. */
static uint32_t side_best_key(const struct dp_book *b, const struct side *sd, int *any)
{
	uint32_t best = 0;
	*any = 0;
	if (sd->n) {
		best = b->arena[sd->off + sd->n - 1].key;
		*any = 1;
	}
	int top = sd->lad ? dp_lad_top_from(&b->lad[sd->lad], DP_LAD_SLOTS - 1) : -1;
	if (top >= 0) {
		uint32_t k = lad_key(sd, (uint32_t)top);
		best = *any && best > k ? best : k;
		*any = 1;
	}
	return best;
}

/*
 * Move sd's ladder window so that key `center` sits at slot DP_LAD_AT (or as
 * near as the ends of the key space allow), on the grid of tick 100 if
 * t100 else 1. Every level stays where a lookup will find it: the ladder's
 * levels are merged into the sorted array, then the array's levels on the
 * new window's grid move into the ladder. O(levels of the side); rare.
 * Returns false (nothing changed) if the array cannot grow to hold them.
 */
static bool lad_rebase(struct dp_book *b, struct side *sd, uint32_t center, unsigned t100)
{
	struct dp_ladder *L = &b->lad[sd->lad];
	uint32_t nl = dp_lad_count(L);
	if (nl && !side_reserve(b, sd, sd->n + nl))
		return false;
	struct pent *a = &b->arena[sd->off];
	if (nl) {
		/* Merge from the back: ladder slots high to low into a[]. */
		int64_t r = (int64_t)sd->n - 1, w = (int64_t)sd->n + nl - 1;
		for (int i = dp_lad_top_from(L, DP_LAD_SLOTS - 1); i >= 0;
		     i = i ? dp_lad_top_from(L, i - 1) : -1) {
			uint32_t key = lad_key(sd, (uint32_t)i), li = L->slot[i];
			while (r >= 0 && a[r].key > key)
				a[w--] = a[r--];
			a[w].key = key;
			a[w--].lvl = li;
			b->lvl[li].inl = 0;
			dp_lad_clear(L, (uint32_t)i);
		}
		sd->n += nl;
	}

	sd->base = dp_lad_base(center, t100 ? 100 : 1);
	sd->t100 = (uint8_t)(t100 != 0);
	L->misses = 0;
	b->rebases++;

	uint32_t w = 0;
	for (uint32_t r = 0; r < sd->n; r++) {
		uint32_t i = lad_index(sd, a[r].key);
		if (i < DP_LAD_SLOTS) {
			struct lvl *l = &b->lvl[a[r].lvl];
			l->inl = 1;
			l->idx = (uint8_t)i;
			dp_lad_set(L, i, a[r].lvl);
		} else {
			a[w++] = a[r];
		}
	}
	sd->n = w;
	if (w == 0 && sd->cls) {
		chunk_put(b, sd->off, sd->cls);
		sd->cls = 0;
		sd->off = 0;
	}
	return true;
}

/*
 * An add's key missed sd's ladder (or the side has none). Decide whether
 * the window should move first: a side with no ladder takes one from the
 * pool; an empty ladder recentres on the key at once; otherwise a miss
 * near the best price (the touch left the window) is counted, and after
 * DP_LAD_MISS_MAX of them the window recentres on the best. Returns true if
 * the window moved (the caller looks the key up again).
 */
static bool lad_miss(struct dp_book *b, struct side *sd, unsigned side, uint32_t key)
{
	unsigned t100 = key_of(key, side) % 100 == 0; /* key_of is its own inverse */
	if (sd->lad == 0) {
		if (b->lad_used == b->lad_n)
			return false;
		sd->lad = (uint16_t)++b->lad_used;
		return lad_rebase(b, sd, key, t100);
	}
	struct dp_ladder *L = &b->lad[sd->lad];
	if (dp_lad_count(L) == 0)
		return lad_rebase(b, sd, key, t100);
	int any;
	uint32_t best = side_best_key(b, sd, &any);
	uint64_t reach = (uint64_t)key + (uint64_t)DP_LAD_NEAR * lad_tick(sd);
	if (reach < best)
		return false; /* deep in the book: the array is the place */
	if (++L->misses < DP_LAD_MISS_MAX)
		return false;
	if (key > best)
		best = key;
	return lad_rebase(b, sd, best, key_of(best, side) % 100 == 0);
}

/* ------------------------------------------------------------------ */
/* Apply                                                               */

static inline void sym_touch(struct dp_book *b, struct sym *s, uint16_t locate)
{
	if (unlikely(!s->seen)) {
		s->seen = 1;
		b->seen[b->nseen++] = locate;
	}
}

static inline void applied(struct dp_book *b, struct sym *s, uint16_t locate, unsigned kind)
{
	sym_touch(b, s, locate);
	s->events++;
	b->st.events[kind]++;
}

/* A new, empty level (not yet in ladder or array); NIL if the pool is full. */
static inline uint32_t level_new(struct dp_book *b, uint16_t locate, unsigned side, uint32_t price)
{
	uint32_t li = b->lvl_free;
	if (li != NIL) {
		b->lvl_free = b->lvl[li].ln.next;
	} else if (likely(b->lvl_bump < b->nodes)) {
		li = b->lvl_bump++;
	} else {
		b->st.levels_full++;
		return NIL;
	}
	b->lvl_live++;
	struct lvl *nl = &b->lvl[li];
	nl->qty = 0;
	nl->price = price;
	nl->count = 0;
	nl->ln.prev = li;
	nl->ln.next = li;
	nl->locate = locate;
	nl->side = (uint8_t)side;
	nl->inl = 0;
	nl->idx = 0;
	return li;
}

static void level_free(struct dp_book *b, uint32_t li)
{
	b->lvl[li].ln.next = b->lvl_free;
	b->lvl_free = li;
	b->lvl_live--;
}

/* The level at ladder slot i, made if the slot is empty; NIL if the pool is full. */
static inline uint32_t lad_level(struct dp_book *b, struct dp_ladder *L, uint32_t i, uint16_t locate,
				 unsigned side, uint32_t price)
{
	uint32_t li = L->slot[i];
	if (!li) {
		li = level_new(b, locate, side, price);
		if (unlikely(li == NIL))
			return NIL;
		b->lvl[li].inl = 1;
		b->lvl[li].idx = (uint8_t)i;
		dp_lad_set(L, i, li);
	}
	return li;
}

/*
 * Unlink order oi from its level and free it; frees the level (and removes
 * it from its side) when it empties. The hash slot is the caller's job.
 */
static void order_remove(struct dp_book *b, uint32_t oi)
{
	struct ord *o = &b->ord[oi];
	uint32_t li = o->lvl;
	struct lvl *l = &b->lvl[li];

	/* Circular through the level: the neighbours always exist. */
	uint32_t prev = o->ln.prev, next = o->ln.next;
	lk(b, prev)->next = next;
	lk(b, next)->prev = prev;
	l->qty -= o->qty;
	l->count--;

	struct sym *sy = &b->sym[o->locate];
	sy->orders--;
	if (l->count == 0) {
		struct side *sd = &sy->side[l->side];
		if (likely(l->inl)) {
			dp_lad_clear(&b->lad[sd->lad], l->idx);
		} else {
			int found;
			uint32_t pos = side_find_present(&b->arena[sd->off], sd->n,
							 key_of(l->price, l->side), &found);
			side_remove(b, sd, pos);
		}
		level_free(b, li);
	}
	o->live = 0;
	o->ln.next = b->ord_free;
	b->ord_free = oi;
	b->ord_live--;
}

/*
 * The level of an add whose key missed the ladder: after lad_miss() maybe
 * moved the window, the ladder again, else the sorted array (found or
 * inserted). NIL if a pool or the arena is full (counted).
 */
static __attribute__((noinline)) uint32_t far_level(struct dp_book *b, struct side *sd,
						    uint16_t locate, unsigned side,
						    uint32_t price, uint32_t key)
{
	if (lad_miss(b, sd, side, key)) {
		uint32_t i = lad_index(sd, key);
		if (i < DP_LAD_SLOTS)
			return lad_level(b, &b->lad[sd->lad], i, locate, side, price);
	}
	int found;
	uint32_t pos = side_pos(&b->arena[sd->off], sd->n, key, &found);
	if (found)
		return b->arena[sd->off + pos].lvl;
	uint32_t li = level_new(b, locate, side, price);
	if (li == NIL)
		return NIL;
	if (unlikely(!side_insert(b, sd, pos, key, li))) {
		level_free(b, li);
		b->st.levels_full++;
		return NIL;
	}
	return li;
}

/*
 * Add a new order whose ref is known to be absent. Arguments already
 * validated except pool space. Returns true if added.
 */
static bool order_add(struct dp_book *b, struct sym *sy, uint16_t locate, unsigned side,
		      uint32_t price, uint32_t qty, uint64_t ref)
{
	if (unlikely(b->ord_free == NIL && b->ord_bump == b->max_orders)) {
		b->st.orders_full++;
		return false;
	}
	struct side *sd = &sy->side[side];
	uint32_t key = key_of(price, side);
	uint32_t i = lad_index(sd, key);
	uint32_t li;
	if (likely(i < DP_LAD_SLOTS))
		li = lad_level(b, &b->lad[sd->lad], i, locate, side, price);
	else
		li = far_level(b, sd, locate, side, price, key);
	if (unlikely(li == NIL))
		return false;

	uint32_t oi;
	if (b->ord_free != NIL) {
		oi = b->ord_free;
		b->ord_free = b->ord[oi].ln.next;
	} else {
		oi = b->ord_bump++;
	}
	b->ord_live++;

	struct lvl *l = &b->lvl[li];
	struct ord *o = &b->ord[oi];
	o->ref = ref;
	o->qty = qty;
	o->lvl = li;
	uint32_t tail = l->ln.prev; /* li itself when the level is empty */
	o->ln.prev = tail;
	o->ln.next = li;
	o->price = price;
	o->locate = locate;
	o->side = (uint8_t)side;
	o->live = 1;
	lk(b, tail)->next = oi;
	l->ln.prev = oi;
	l->qty += qty;
	l->count++;
	sy->orders++;

	ref_put(b, ref, oi);
	return true;
}

/* Side + 1 of an add from its wire byte: B, S, else 0 (refused). */
static const uint8_t side_code1[256] = {
	['B'] = DP_BOOK_BID + 1, ['S'] = DP_BOOK_ASK + 1,
};

/* Checks shared by ADD and the add half of REPLACE; then adds. */
static bool add_checked(struct dp_book *b, uint16_t locate, char side_ch, uint32_t price,
			uint32_t qty, uint64_t ref, const char *stock)
{
	if (unlikely(locate >= b->max_symbols)) {
		b->st.bad_locate++;
		return false;
	}
	/* B or S is random: a table, not a branch on it. */
	unsigned side = side_code1[(uint8_t)side_ch] - 1u;
	if (unlikely(side > DP_BOOK_ASK)) {
		b->st.bad_side++;
		return false;
	}
	if (unlikely(qty == 0)) {
		b->st.zero_qty++;
		return false;
	}
	if (unlikely(!ref_absent(b, ref))) {
		b->st.duplicate_ref++;
		return false;
	}
	struct sym *sy = &b->sym[locate];
	if (!order_add(b, sy, locate, side, price, qty, ref))
		return false;
	if (unlikely(!sy->named) && stock) {
		memcpy(sy->stock, stock, sizeof sy->stock);
		sy->named = 1;
	}
	return true;
}

/* Execution or cancel of qty shares of ref. */
static void reduce(struct dp_book *b, const struct dp_book_ev *ev)
{
	uint32_t oi = ref_find(b, ev->ref);
	if (unlikely(oi == NIL)) {
		b->st.unknown_ref++;
		return;
	}
	struct ord *o = &b->ord[oi];
	uint16_t locate = o->locate;
	if (ev->qty >= o->qty) {
		if (ev->qty > o->qty)
			b->st.overfill++;
		ref_take(b, ev->ref);
		order_remove(b, oi);
	} else {
		o->qty -= ev->qty;
		b->lvl[o->lvl].qty -= ev->qty;
	}
	applied(b, &b->sym[locate], locate, ev->kind);
}

static inline __attribute__((always_inline)) void apply_one(struct dp_book *b,
							    const struct dp_book_ev *ev)
{
	switch (ev->kind) {
	case DP_BEV_ADD:
		if (add_checked(b, ev->locate, ev->side, ev->price, ev->qty, ev->ref, ev->stock))
			applied(b, &b->sym[ev->locate], ev->locate, DP_BEV_ADD);
		return;
	case DP_BEV_EXEC:
	case DP_BEV_EXEC_PX:
	case DP_BEV_CANCEL:
		reduce(b, ev);
		return;
	case DP_BEV_DELETE: {
		uint32_t oi = ref_take(b, ev->ref);
		if (unlikely(oi == NIL)) {
			b->st.unknown_ref++;
			return;
		}
		uint16_t locate = b->ord[oi].locate;
		order_remove(b, oi);
		applied(b, &b->sym[locate], locate, DP_BEV_DELETE);
		return;
	}
	case DP_BEV_REPLACE: {
		/*
		 * The original goes first, whatever happens to the new order:
		 * the exchange has removed it. If the new order is then refused
		 * (duplicate ref, zero qty, pool full) only the refusal is
		 * counted; events[REPLACE] counts complete replaces.
		 */
		uint32_t oi = ref_take(b, ev->ref);
		if (unlikely(oi == NIL)) {
			b->st.unknown_ref++;
			return;
		}
		uint16_t locate = b->ord[oi].locate;
		char side = b->ord[oi].side == DP_BOOK_BID ? 'B' : 'S';
		order_remove(b, oi);
		if (add_checked(b, locate, side, ev->price, ev->qty, ev->ref2, NULL))
			applied(b, &b->sym[locate], locate, DP_BEV_REPLACE);
		return;
	}
	case DP_BEV_DIRECTORY:
	case DP_BEV_TRADING_STATE: {
		if (ev->locate >= b->max_symbols) {
			b->st.bad_locate++;
			return;
		}
		struct sym *sy = &b->sym[ev->locate];
		if (ev->kind == DP_BEV_DIRECTORY) {
			memcpy(sy->stock, ev->stock, sizeof sy->stock);
			sy->named = 1;
			sy->round_lot = ev->qty;
			sy->category = ev->flag;
		} else {
			sy->state = ev->flag;
			/* H carries the name too: use it if nothing named the locate. */
			if (!sy->named) {
				memcpy(sy->stock, ev->stock, sizeof sy->stock);
				sy->named = 1;
			}
		}
		applied(b, sy, ev->locate, ev->kind);
		return;
	}
	default:
		return;
	}
}

/* The ladder pool as 32-bit words (a prefetch hint's ladder slot is an index into it). */
static inline const uint32_t *lad_words(const struct dp_book *b)
{
	return (const uint32_t *)(const void *)b->lad;
}

/*
 * Applying an event is a chain of dependent loads that miss the cache on a
 * big book: for a delete or execution, hash slot -> order -> its FIFO
 * neighbours and level; for an add, symbol -> side array at the touch ->
 * level -> the level's tail order (plus the insert slot). One prefetch of
 * the first line hides only the first miss. So hints are pipelined: each
 * call starts the hint for ev and moves the hints made PF_STEP, 2 * PF_STEP
 * and 3 * PF_STEP calls ago one link further, reading only lines that the
 * previous stage prefetched. A caller that hints each event 3 * PF_STEP + 1
 * or more events before applying it gets the whole chain in cache.
 *
 * Event kinds come in random order, so this code does not branch on them
 * (a mispredicted branch costs about as much as all the work here): every
 * event walks both chains, with clamped, always-valid indices. A chain that
 * does not apply to the event, or a hint made stale by events applied in
 * between, only costs a useless prefetch, never a wrong result.
 */
static inline __attribute__((always_inline)) void prefetch_one(const struct dp_book *b,
							       const struct dp_book_ev *ev)
{
	struct pf *pf = b->pf;
	uint32_t n = pf->calls++;
	struct pfe *e = &pf->q[n & (PF_RING - 1)];

	/* Stage 1: slot of ref (for an add: where it goes), symbol line. */
	uint32_t ds = (uint32_t)ev->ref & b->wmask;
	uint32_t side = ev->side == 'S';
	uint16_t locate = ev->locate < b->max_symbols ? ev->locate : 0;
	e->ds = ds;
	e->locate = locate;
	e->side = (uint8_t)side;
	e->key = key_of(ev->price, side);
	__builtin_prefetch(&b->rix[ds], 1, 3);
	__builtin_prefetch(&b->sym[locate], 0, 3);
	if (unlikely(ev->kind == DP_BEV_REPLACE))
		__builtin_prefetch(&b->rix[(uint32_t)ev->ref2 & b->wmask], 1, 3);

	/*
	 * Stage 2: direct slot -> order (an overflowed order is not fetched);
	 * symbol -> side-array entries at the touch (the last 8, or the first
	 * 8 of a shorter array: a chunk always has 8).
	 */
	e = &pf->q[(n - PF_STEP) & (PF_RING - 1)];
	uint32_t se = b->rix[e->ds];
	/* Arithmetic, not ?: so gcc makes no branch (empty or not is random). */
	e->oi = (se - 1) & -(uint32_t)(se != 0);
	__builtin_prefetch(&b->ord[e->oi], 1, 3);
	const struct side *sd = &b->sym[e->locate].side[e->side];
	uint32_t li = lad_index(sd, e->key);
	/* Off the ladder: slot 0 of ladder 0, which is always empty. */
	uint32_t lad = sd->lad & -(uint32_t)(li < DP_LAD_SLOTS);
	e->wi = DP_LAD_WORD(lad, li & (DP_LAD_SLOTS - 1));
	__builtin_prefetch(&lad_words(b)[e->wi], 0, 3);
	__builtin_prefetch(b->lad[lad].bits, 1, 3);

	/*
	 * Stage 3: order -> FIFO neighbours and level; touch -> level of key.
	 * A live order's links are node indices; a stale hint may read a
	 * free order's NIL, which maps to the node just before the pool by
	 * the +1 / -1. These addresses are only prefetched, which never faults.
	 */
	e = &pf->q[(n - 2 * PF_STEP) & (PF_RING - 1)];
	const struct ord *o = &b->ord[e->oi];
	uintptr_t nb = (uintptr_t)b->ord - NODE;
	__builtin_prefetch((const void *)(nb + (uintptr_t)(uint32_t)(o->ln.prev + 1) * NODE), 1, 3);
	__builtin_prefetch((const void *)(nb + (uintptr_t)(uint32_t)(o->ln.next + 1) * NODE), 1, 3);
	__builtin_prefetch((const void *)(nb + (uintptr_t)(uint32_t)(o->lvl + 1) * NODE), 1, 3);
	uint32_t sl = lad_words(b)[e->wi];
	e->li = sl & -(uint32_t)(sl < b->nodes); /* clamped without a branch */
	__builtin_prefetch(&b->lvl[e->li], 1, 3);

	/* Stage 4: level -> its tail order, which an add links after. */
	e = &pf->q[(n - 3 * PF_STEP) & (PF_RING - 1)];
	uint32_t t = lk(b, e->li)->prev;
	__builtin_prefetch((const void *)(nb + (uintptr_t)(uint32_t)(t + 1) * NODE), 1, 3);
}

void dp_book_apply(struct dp_book *b, const struct dp_book_ev *ev)
{
	apply_one(b, ev);
}

void dp_book_prefetch(const struct dp_book *b, const struct dp_book_ev *ev)
{
	prefetch_one(b, ev);
}

void dp_book_prefetch_apply(struct dp_book *b, const struct dp_book_ev *hint,
			    const struct dp_book_ev *ev)
{
	prefetch_one(b, hint);
	apply_one(b, ev);
}

void dp_book_apply_burst(struct dp_book *b, const struct dp_book_ev *ev, uint32_t n)
{
	uint32_t k = n < DP_BOOK_LOOKAHEAD ? n : DP_BOOK_LOOKAHEAD, i = 0;
	for (uint32_t j = 0; j < k; j++)
		prefetch_one(b, &ev[j]);
	for (; i + k < n; i++) {
		prefetch_one(b, &ev[i + k]);
		apply_one(b, &ev[i]);
	}
	/* Drain: hinting the last event again moves the earlier hints' stages on. */
	for (; i < n; i++) {
		prefetch_one(b, &ev[n - 1]);
		apply_one(b, &ev[i]);
	}
}

/* ------------------------------------------------------------------ */
/* ITCH mapping                                                        */

int dp_book_ev_from_itch(const struct dp_itch_msg *m, struct dp_book_ev *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->locate = m->hdr.stock_locate;
	ev->ts = m->hdr.timestamp;
	switch (m->hdr.type) {
	case 'A':
	case 'F':
		ev->kind = DP_BEV_ADD;
		ev->ref = m->u.add.ref;
		ev->side = m->u.add.side;
		ev->qty = m->u.add.shares;
		ev->price = m->u.add.price;
		memcpy(ev->stock, m->u.add.stock, sizeof ev->stock);
		return 1;
	case 'E':
		ev->kind = DP_BEV_EXEC;
		ev->ref = m->u.executed.ref;
		ev->qty = m->u.executed.shares;
		ev->ref2 = m->u.executed.match;
		return 1;
	case 'C':
		ev->kind = DP_BEV_EXEC_PX;
		ev->ref = m->u.executed_px.ref;
		ev->qty = m->u.executed_px.shares;
		ev->ref2 = m->u.executed_px.match;
		ev->price = m->u.executed_px.price;
		ev->flag = m->u.executed_px.printable;
		return 1;
	case 'X':
		ev->kind = DP_BEV_CANCEL;
		ev->ref = m->u.cancel.ref;
		ev->qty = m->u.cancel.shares;
		return 1;
	case 'D':
		ev->kind = DP_BEV_DELETE;
		ev->ref = m->u.del.ref;
		return 1;
	case 'U':
		ev->kind = DP_BEV_REPLACE;
		ev->ref = m->u.replace.orig_ref;
		ev->ref2 = m->u.replace.new_ref;
		ev->qty = m->u.replace.shares;
		ev->price = m->u.replace.price;
		return 1;
	case 'R':
		ev->kind = DP_BEV_DIRECTORY;
		memcpy(ev->stock, m->u.stock_directory.stock, sizeof ev->stock);
		ev->qty = m->u.stock_directory.round_lot_size;
		ev->flag = m->u.stock_directory.market_category;
		return 1;
	case 'H':
		ev->kind = DP_BEV_TRADING_STATE;
		memcpy(ev->stock, m->u.trading_action.stock, sizeof ev->stock);
		ev->flag = m->u.trading_action.trading_state;
		return 1;
	default:
		memset(ev, 0, sizeof *ev);
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

const struct dp_book_stats *dp_book_stats(const struct dp_book *b)
{
	return &b->st;
}

/*
 * Levels of one side best first: the ladder and the sorted array merged
 * by key (they never share one).
 */
int dp_book_depth(const struct dp_book *b, uint16_t locate, int side,
		  struct dp_book_level *out, int max)
{
	if (locate >= b->max_symbols || (side != DP_BOOK_BID && side != DP_BOOK_ASK) || max <= 0)
		return 0;
	const struct side *sd = &b->sym[locate].side[side];
	const struct pent *a = &b->arena[sd->off];
	const struct dp_ladder *L = &b->lad[sd->lad]; /* ladder 0 is empty */
	int ls = dp_lad_top_from(L, DP_LAD_SLOTS - 1);
	uint32_t ai = sd->n;
	int k = 0;
	while (k < max && (ls >= 0 || ai > 0)) {
		uint32_t li;
		if (ls >= 0 && (ai == 0 || lad_key(sd, (uint32_t)ls) > a[ai - 1].key)) {
			li = L->slot[ls];
			ls = ls ? dp_lad_top_from(L, ls - 1) : -1;
		} else {
			li = a[--ai].lvl;
		}
		const struct lvl *l = &b->lvl[li];
		out[k].price = l->price;
		out[k].orders = l->count;
		out[k].qty = l->qty;
		k++;
	}
	return k;
}

int dp_book_bbo(const struct dp_book *b, uint16_t locate,
		struct dp_book_level *bid, struct dp_book_level *ask)
{
	if (locate >= b->max_symbols)
		return -EINVAL;
	struct dp_book_level dummy;
	if (!bid)
		bid = &dummy;
	if (!ask)
		ask = &dummy;
	memset(bid, 0, sizeof *bid);
	memset(ask, 0, sizeof *ask);
	dp_book_depth(b, locate, DP_BOOK_BID, bid, 1);
	dp_book_depth(b, locate, DP_BOOK_ASK, ask, 1);
	return 0;
}

int dp_book_order(const struct dp_book *b, uint64_t ref, struct dp_book_order_info *out)
{
	uint32_t oi = ref_find(b, ref);
	if (oi == NIL)
		return -ENOENT;
	const struct ord *o = &b->ord[oi];
	out->ref = o->ref;
	out->locate = o->locate;
	out->side = o->side == DP_BOOK_BID ? 'B' : 'S';
	out->price = o->price;
	out->qty = o->qty;
	uint32_t pos = 0;
	for (uint32_t p = o->ln.prev; p != o->lvl; p = lk(b, p)->prev)
		pos++;
	out->queue_pos = pos;
	return 0;
}

int dp_book_symbol(const struct dp_book *b, uint16_t locate, struct dp_book_symbol_info *out)
{
	if (locate >= b->max_symbols)
		return -ENOENT;
	const struct sym *s = &b->sym[locate];
	if (!s->seen)
		return -ENOENT;
	memset(out, 0, sizeof *out);
	memcpy(out->stock, s->stock, 8);
	int n = 8;
	while (n > 0 && out->stock[n - 1] == ' ')
		n--;
	out->stock[n] = '\0';
	out->trading_state = s->state;
	out->market_category = s->category;
	out->round_lot = s->round_lot;
	out->orders = s->orders;
	out->bid_levels = s->side[DP_BOOK_BID].n + dp_lad_count(&b->lad[s->side[DP_BOOK_BID].lad]);
	out->ask_levels = s->side[DP_BOOK_ASK].n + dp_lad_count(&b->lad[s->side[DP_BOOK_ASK].lad]);
	out->events = s->events;
	return 0;
}

int dp_book_find_symbol(const struct dp_book *b, const char *stock)
{
	char want[8];
	size_t n = strlen(stock);
	if (n > 8)
		return -ENOENT;
	memset(want, ' ', sizeof want);
	memcpy(want, stock, n);
	for (uint32_t i = 0; i < b->nseen; i++) {
		const struct sym *s = &b->sym[b->seen[i]];
		if (s->named && memcmp(s->stock, want, 8) == 0)
			return b->seen[i];
	}
	return -ENOENT;
}

int dp_book_busiest(const struct dp_book *b, uint16_t *out, int max)
{
	int k = 0;
	if (max <= 0)
		return 0;
	/* Insertion into a top-max list: fine for a stats query. Ties: lower locate first. */
	for (uint32_t i = 0; i < b->nseen; i++) {
		uint16_t loc = b->seen[i];
		uint64_t ev = b->sym[loc].events;
		int j = k < max ? k : max - 1;
		if (k == max) {
			uint16_t last = out[max - 1];
			uint64_t lev = b->sym[last].events;
			if (ev < lev || (ev == lev && loc > last))
				continue;
		} else {
			k++;
		}
		while (j > 0) {
			uint16_t p = out[j - 1];
			uint64_t pev = b->sym[p].events;
			if (pev > ev || (pev == ev && p < loc))
				break;
			out[j] = p;
			j--;
		}
		out[j] = loc;
	}
	return k;
}

void dp_book_ref_overflow(const struct dp_book *b, uint32_t *live, uint64_t *moved)
{
	if (live)
		*live = b->ovf_live;
	if (moved)
		*moved = b->ovf_moved;
}

void dp_book_ladders(const struct dp_book *b, uint32_t *used, uint32_t *total, uint64_t *rebases)
{
	if (used)
		*used = b->lad_used;
	if (total)
		*total = b->lad_n;
	if (rebases)
		*rebases = b->rebases;
}

uint32_t dp_book_live_orders(const struct dp_book *b)
{
	return b->ord_live;
}

uint32_t dp_book_live_levels(const struct dp_book *b)
{
	return b->lvl_live;
}

/* ------------------------------------------------------------------ */
/* Invariants                                                          */

/* One level's FIFO and totals (for dp_book_check); adds its orders to *cnt_out. */
static int check_level(const struct dp_book *b, uint32_t li, uint16_t loc, unsigned side,
		       uint32_t key, uint32_t *cnt_out)
{
	if (li < b->max_orders || li >= b->lvl_bump)
		return -5;
	const struct lvl *l = &b->lvl[li];
	if (key_of(l->price, side) != key || l->side != side || l->locate != loc)
		return -6; /* level facts disagree with its array entry or ladder slot */
	if (l->count == 0 || l->ln.next == li || l->ln.prev == li)
		return -7; /* empty level kept */
	uint64_t qty = 0;
	uint32_t cnt = 0, prev = li;
	for (uint32_t oi = l->ln.next; oi != li; oi = lk(b, oi)->next) {
		if (oi >= b->ord_bump || cnt > l->count)
			return -8; /* bad link or cycle */
		const struct ord *o = &b->ord[oi];
		if (!o->live || o->lvl != li || o->ln.prev != prev)
			return -9; /* FIFO back link / level */
		if (o->qty == 0 || o->price != l->price || o->side != side || o->locate != loc)
			return -10;
		if (o->ref > b->max_ref || ref_find(b, o->ref) != oi)
			return -11; /* order not reachable by its ref */
		qty += o->qty;
		cnt++;
		prev = oi;
	}
	if (prev != l->ln.prev || cnt != l->count || qty != l->qty)
		return -12; /* level totals */
	*cnt_out += cnt;
	return 0;
}

/* A side's ladder: slots and bits agree, levels know their slot, the window does not wrap. */
static int check_ladder(const struct dp_book *b, const struct side *sd, uint16_t loc,
			unsigned side, uint32_t *cnt, uint64_t *levels)
{
	if (sd->lad == 0)
		return sd->base || sd->t100 ? -23 : 0;
	if (sd->lad > b->lad_used || sd->t100 > 1)
		return -23;
	if ((uint64_t)sd->base + (uint64_t)(DP_LAD_SLOTS - 1) * lad_tick(sd) > UINT32_MAX)
		return -24; /* window wraps the key space */
	const struct dp_ladder *L = &b->lad[sd->lad];
	for (uint32_t i = 0; i < DP_LAD_SLOTS; i++) {
		uint32_t li = L->slot[i];
		bool bit = L->bits[i >> 6] >> (i & 63) & 1;
		if ((li != 0) != bit)
			return -25; /* slot and bit disagree */
		if (!li)
			continue;
		if (li < b->max_orders || li >= b->lvl_bump || !b->lvl[li].inl || b->lvl[li].idx != i)
			return -26;
		int rc = check_level(b, li, loc, side, lad_key(sd, i), cnt);
		if (rc)
			return rc;
		(*levels)++;
	}
	return 0;
}

int dp_book_check(const struct dp_book *b)
{
	uint64_t orders = 0, levels = 0, arena_used = 0, ladders = 0;

	for (uint32_t loc = 0; loc < b->max_symbols; loc++) {
		const struct sym *sy = &b->sym[loc];
		uint32_t sym_orders = 0;
		if (!sy->seen && (sy->side[0].n || sy->side[1].n || sy->orders))
			return -1; /* activity on a locate not in the seen list */
		for (unsigned side = 0; side < 2; side++) {
			const struct side *sd = &sy->side[side];
			int rc = check_ladder(b, sd, (uint16_t)loc, side, &sym_orders, &levels);
			if (rc)
				return rc;
			ladders += sd->lad != 0;
			if (sd->n == 0) {
				if (sd->cls != 0)
					return -2; /* empty side keeps a chunk */
				continue;
			}
			if (sd->cls < MIN_CLS || sd->n > (1u << sd->cls) ||
			    (uint64_t)sd->off + (1u << sd->cls) > b->arena_bump)
				return -3; /* chunk bounds */
			arena_used += 1u << sd->cls;
			const struct pent *a = &b->arena[sd->off];
			for (uint32_t i = 0; i < sd->n; i++) {
				if (i > 0 && a[i - 1].key >= a[i].key)
					return -4; /* side not strictly sorted */
				if (lad_index(sd, a[i].key) < DP_LAD_SLOTS)
					return -27; /* a key the ladder should hold */
				uint32_t li = a[i].lvl;
				if (li >= b->max_orders && li < b->lvl_bump && b->lvl[li].inl)
					return -26;
				rc = check_level(b, li, (uint16_t)loc, side, a[i].key, &sym_orders);
				if (rc)
					return rc;
				levels++;
			}
		}
		orders += sym_orders;
		if (sym_orders != sy->orders)
			return -13;
	}
	if (orders != b->ord_live || levels != b->lvl_live)
		return -14;
	if (ladders != b->lad_used || b->lad_used > b->lad_n)
		return -28; /* a ladder given twice or lost (they are never taken back) */

	/*
	 * Every direct slot in use holds a live order whose ref maps there;
	 * every overflow slot a live order not in its direct slot, reachable
	 * from its home with no hole between; together, each live order once.
	 */
	uint64_t used = 0, ovf = 0;
	for (uint64_t i = 0; i <= b->wmask; i++) {
		uint32_t e = b->rix[i];
		if (e == 0)
			continue;
		used++;
		if (e - 1 >= b->ord_bump || !b->ord[e - 1].live ||
		    ((uint32_t)b->ord[e - 1].ref & b->wmask) != i)
			return -15;
	}
	for (uint64_t i = 0; i <= b->mask; i++) {
		struct hslot s = b->tab[i];
		if (s.idx1 == 0)
			continue;
		ovf++;
		uint32_t oi = s.idx1 - 1;
		if (oi >= b->ord_bump || !b->ord[oi].live || ref_hash(b->ord[oi].ref) != s.h ||
		    *rix_slot(b, b->ord[oi].ref) == s.idx1)
			return -15;
		for (uint32_t j = s.h & b->mask; j != (uint32_t)i; j = (j + 1) & b->mask)
			if (b->tab[j].idx1 == 0)
				return -16; /* hole inside a probe run */
	}
	if (ovf != b->ovf_live || used + ovf != b->ord_live)
		return -17;

	/* Free lists: sizes add up to the pools. */
	uint64_t nfree = 0;
	for (uint32_t oi = b->ord_free; oi != NIL; oi = b->ord[oi].ln.next) {
		if (oi >= b->ord_bump || b->ord[oi].live || ++nfree > b->ord_bump)
			return -18;
	}
	if (nfree + b->ord_live != b->ord_bump)
		return -18;
	nfree = 0;
	for (uint32_t li = b->lvl_free; li != NIL; li = b->lvl[li].ln.next) {
		if (li < b->max_orders || li >= b->lvl_bump || ++nfree > b->lvl_bump)
			return -19;
	}
	if (nfree + b->lvl_live + b->max_orders != b->lvl_bump)
		return -19;
	for (unsigned c = 0; c <= MAX_CLS; c++) {
		uint64_t k = 0;
		for (uint32_t off = b->chunk_free[c]; off != NIL; off = b->arena[off].lvl) {
			if ((uint64_t)off + (1ull << c) > b->arena_bump || ++k > b->arena_bump)
				return -20;
			arena_used += 1ull << c;
		}
	}
	if (arena_used != b->arena_bump)
		return -21; /* arena chunks lost or double counted */
	if (b->nseen > b->max_symbols)
		return -22;
	return 0;
}
