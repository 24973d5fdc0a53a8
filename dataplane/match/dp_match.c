/*
 * dp_match.c - the client matching engine (central limit order books of
 * client orders, one per symbol). Rules: docs/MATCHING.md.
 *
 * Layout, chosen so that the common messages (a new order resting or
 * taking at the touch, a cancel, a replace) touch few cache lines:
 *
 *   - an order is one 64-byte record (one cache line) in a pool addressed
 *     by 32-bit indices; a free record keeps its free-list link in `next`;
 *   - the order table is an open-addressing hash of 8-byte slots {order
 *     index + 1, 32-bit hash} from (session, cl_ord_id) to resting orders,
 *     with backward-shift deletion (no tombstones);
 *   - price levels are 32-byte records in a second pool, each with an
 *     intrusive FIFO (doubly linked through the orders) of its orders;
 *   - per symbol and side, a price ladder (struct dp_ladder, from a pool)
 *     holds the levels within 128 ticks of a base price near the touch in
 *     a direct array indexed by tick with a bitmap of the occupied slots:
 *     a level there is found, made and emptied by index, with no search
 *     and no entries moved, and the best is the bitmap's top bit;
 *   - every other level of the side (off the window or off its tick grid,
 *     or all of them for a side that got no ladder) sits in a sorted array
 *     of {key, level} with the best price LAST (key = price for bids,
 *     ~price for asks). The arrays live in chunks of 2^k entries from one
 *     preallocated arena (free list per size class). Ladder and array
 *     never hold the same key; the side's best is the better of the two
 *     tops.
 *
 * Everything is allocated in dp_match_create(). Single owner, no locks,
 * no floating point: money is u32 Price(4) ticks times u32 shares, and a
 * cumulative notional is at most (2^32-1)^2 < 2^64, so u64 never wraps.
 */
#include "dp_match.h"
#include "dp_ladder.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#define NIL UINT32_MAX
#define MIN_CLS 3   /* smallest side-array chunk: 8 entries */
#define MAX_CLS 31
#define NEAR_SCAN 8 /* top side-array entries compared at once before a binary search */

/*
 * Price ladder of one side (struct dp_ladder, dataplane/common/dp_ladder.h,
 * shared with the L3 book): slot i holds level index + 1 (0 = none) of the
 * level with key base + i * tick (the window, kept in struct side so a
 * lookup needs no line of the ladder but the slot's), and bit i of bits[]
 * is set with it. The tick is 100 (a cent in Price(4)) when the window was
 * centred on a whole cent, else 1. The window moves (rebase) when the
 * touch leaves it. The bitmap is read only to find a new best level when
 * the best one empties, and by rebases.
 */
#define LAD_POOL_DEFAULT 4096u /* ladders made: min(2 * max_symbols, this) */

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x) (x)
#define unlikely(x) (x)
#endif

/* Order bits in ord.bits. */
#define OB_TIF 0x03      /* dp_tif */
#define OB_MARKET 0x04
#define OB_POST 0x08
#define OB_RESTING 0x10  /* in a level FIFO and in the order table */
#define OB_USED 0x20     /* record taken from the pool */

/*
 * One order, 64 bytes (one cache line).
 *
 *   0          8          16         24     28     32     36     40     44
 *   +----------+----------+----------+------+------+------+------+------+
 *   | cl_ord_id| order_id | notional |acct  |sess  |price |qty   |cum   |
 *   +------+------+------+------+------+----+------+------+------+------+
 *   44     48     52     56     60     62   63   64
 *   | spare       | lvl  | tseq |symbol|side|bits|
 *   +------+------+------+------+------+----+----+
 *
 * Its neighbours in its level's FIFO are not here but in link[] (see
 * struct link).
 * qty is the order quantity (after replaces), cum the executed shares,
 * leaves = qty - cum. notional = sum of px * shares executed (avg_px).
 * tseq is the time-priority stamp given when the order joined its level
 * (only dp_match_check reads it; compared modulo 2^32).
 */
struct ord {
	uint64_t cl_ord_id;
	uint64_t order_id;
	uint64_t notional;
	uint32_t account;
	uint32_t session;
	uint32_t price;
	uint32_t qty;
	uint32_t cum;
	uint32_t spare[2];
	uint32_t lvl;
	uint32_t tseq;
	uint16_t symbol;
	uint8_t side; /* DP_MATCH_BID / DP_MATCH_ASK */
	uint8_t bits; /* OB_* */
};
_Static_assert(sizeof(struct ord) == 64, "order record is one cache line");

/*
 * The FIFO links of order i, in an array of their own (8 bytes an order):
 * joining a level writes the old tail's next, leaving one writes the
 * neighbours' links, and those are lines of this small array (mostly in
 * L2) instead of the neighbours' whole records, cold in a pool 8 times
 * its size. A free order keeps its free-list link in next.
 */
struct link {
	uint32_t prev;
	uint32_t next;
};

/*
 * One price level, 32 bytes. head = oldest (first to trade). A free level
 * keeps its free-list link in head.
 *
 *   0            8      12     16     20     24     26   27  28  29   32
 *   +------------+------+------+------+------+------+----+---+---+----+
 *   | qty        |price |count |head  |tail  |symbol|side|inl|idx|pad |
 *   +------------+------+------+------+------+------+----+---+---+----+
 */
struct lvl {
	uint64_t qty;
	uint32_t price;
	uint32_t count;
	uint32_t head;
	uint32_t tail;
	uint16_t symbol;
	uint8_t side;
	uint8_t inl; /* 1: in its side's ladder at slot idx; 0: in the side array */
	uint8_t idx;
	uint8_t pad[3];
};
_Static_assert(sizeof(struct lvl) == 32, "level record is 32 bytes");

/*
 * Order table slot: idx1 = order index + 1 (0 = empty), h = its hash; lvl
 * and at say where the order rested when it was indexed: its level, and
 * its side and ladder slot (at = slot | 0x100 if the level is in its
 * side's ladder | side << 9). Both only hints: the late hint of a cancel
 * or replace loads the level and the ladder lines it may clear beside the
 * order instead of after it; a stale one costs a useless load.
 */
struct hslot {
	uint32_t idx1;
	uint32_t h;
	uint32_t lvl;
	uint32_t at;
};

/*
 * Side-array entry; both sides ascend by key so the best is last:
 *
 *   arena + off: [ worst | lvl ] ... [ next | lvl ] [ best | lvl ]   n used of 2^cls
 */
struct pent {
	uint32_t key;
	uint32_t lvl;
};

/*
 * One side of a symbol: its sorted array, its ladder's window and its best
 * level, kept up to date as levels come and go (a new order's marketable
 * test, matching and the hints read it with no search).
 */
struct side {
	uint32_t off;  /* array chunk in the arena */
	uint32_t n;    /* array entries (levels not in the ladder) */
	uint32_t base; /* ladder key at slot 0 */
	uint32_t best; /* best level of the side (ladder or array), NIL if empty */
	uint32_t bkey; /* its key */
	uint32_t inv;  /* ladder tick 1: 1; tick 100: the inverse of 25 mod 2^32 (lad_index) */
	uint32_t orders; /* resting orders on the side */
	uint8_t cls;   /* array chunk holds 2^cls entries; 0 = no chunk */
	uint8_t rot;   /* ladder tick 1: 0; tick 100: 2 */
	uint16_t lad;  /* ladder id, 0 = none (lad[0] stays empty) */
};
_Static_assert(sizeof(struct side) == 32, "side record is 32 bytes");

/* Per symbol, 64 bytes (one line): its two sides. */
struct sym {
	struct side side[2];
};
_Static_assert(sizeof(struct sym) == 64, "symbol record is one cache line");

/* STP table slot (open addressing, never deleted). */
struct stpslot {
	uint32_t account;
	uint8_t used;
	uint8_t mode;
	uint8_t pad[2];
};

/* Why matching stopped with shares left. */
enum stop { ST_EXHAUSTED, ST_REFERENCE, ST_STP };

/* A message paused for lack of report slots (dp_match_resume); hdr.paused says which kind. */
enum { PEND_NONE = 0, PEND_MATCH = 1, PEND_MASS = 2 };
struct pend {
	uint32_t oi;          /* PEND_MATCH: the aggressor */
	struct dp_ref_px ref; /* PEND_MATCH: reference of the message */
	uint32_t h;           /* PEND_MATCH: key_hash of the aggressor (it may rest) */
	uint32_t cursor;      /* PEND_MASS: next pool index to look at */
	uint32_t key;         /* PEND_MASS: account / session / symbol */
	uint8_t scope;
	uint8_t reason;       /* PEND_MASS: reason of its CANCELLED reports */
};

/* Filled resting orders whose table entries wait to be erased (tab_defer). */
#define TAB_DEFER 4

struct dp_match {
	struct dp_match_hdr hdr; /* first: dp_match_pending() reads it inline */
	struct ord *ord;
	struct link *link;
	struct lvl *lvl;
	struct hslot *tab;
	struct sym *sym;
	struct pent *arena;
	struct dp_ladder *lad; /* lad[0] is "none" and stays zero; lad[1..lad_used] are given to sides */
	struct stpslot *stp;
	uint32_t mask;      /* order table capacity - 1 */
	uint32_t stp_mask;  /* STP table capacity - 1 */
	uint32_t stp_used, max_accounts;
	uint32_t max_orders, max_levels, max_symbols, max_sessions;
	uint8_t stp_default;

	uint32_t ord_free, ord_bump, ord_live; /* ord_live: resting orders */
	uint32_t lvl_free, lvl_bump, lvl_live;
	uint32_t arena_size, arena_bump;
	uint32_t chunk_free[MAX_CLS + 1];
	uint32_t lad_n, lad_used;

	/* Table entries of filled resting orders not yet erased (tab_defer):
	   order index and key hash, a ring of TAB_DEFER; their records are
	   free or another order's, so lookups pass over them. */
	uint32_t dfr_oi[TAB_DEFER], dfr_h[TAB_DEFER];
	uint32_t dfr_n, dfr_next;

	uint64_t order_seq; /* last order_id given */
	uint64_t exec_seq;  /* last exec event number (exec_id >> 1) */
	uint32_t tseq;

	/* Report writer of the current call. */
	struct dp_exec_report *out;
	uint32_t *idx_out; /* NULL, or where the order index of each report goes */
	uint32_t n, cap;

	struct pend pend;
	struct dp_match_stats st;
	struct dp_mem mem;
};

/* ------------------------------------------------------------------ */
/* Memory                                                              */


struct layout {
	uint64_t hcap, scap, arena, lads;
	size_t sz_m, sz_ord, sz_link, sz_lvl, sz_tab, sz_sym, sz_arena, sz_lad, sz_stp;
};

/*
 * A side of n levels holds a chunk of at most max(8, 2n) entries, so live
 * chunks need at most 2 * max_levels + 16 per symbol; chunks given back
 * wait on free lists (larger ones are split on demand), so twice that is
 * reserved. If the arena still runs dry, the order that needed a new level
 * is refused (DP_RJ_BOOK_FULL) and the book stays consistent.
 */
static void layout_of(const struct dp_match_cfg *c, struct layout *l)
{
	l->hcap = dp_pow2_at_least(2 * (uint64_t)c->max_orders);
	if (l->hcap < 8)
		l->hcap = 8;
	l->scap = dp_pow2_at_least(2 * (uint64_t)c->max_accounts);
	if (l->scap < 8)
		l->scap = 8;
	l->arena = 4 * dp_pow2_at_least(c->max_levels) + 32 * (uint64_t)c->max_symbols;
	if (l->arena > ((uint64_t)1 << 31))
		l->arena = (uint64_t)1 << 31;
	/* a ladder per side while they last: 576 bytes each (2.3 MB at most) */
	l->lads = 2 * (uint64_t)c->max_symbols;
	if (l->lads > LAD_POOL_DEFAULT)
		l->lads = LAD_POOL_DEFAULT;
	l->sz_m = dp_round64(sizeof(struct dp_match));
	l->sz_ord = dp_round64((size_t)c->max_orders * sizeof(struct ord));
	l->sz_link = dp_round64((size_t)c->max_orders * sizeof(struct link));
	l->sz_lvl = dp_round64((size_t)c->max_levels * sizeof(struct lvl));
	l->sz_tab = dp_round64((size_t)l->hcap * sizeof(struct hslot));
	l->sz_sym = dp_round64((size_t)c->max_symbols * sizeof(struct sym));
	l->sz_arena = dp_round64((size_t)l->arena * sizeof(struct pent));
	l->sz_lad = dp_round64((size_t)(l->lads + 1) * sizeof(struct dp_ladder));
	l->sz_stp = dp_round64((size_t)l->scap * sizeof(struct stpslot));
}

static bool cfg_ok(const struct dp_match_cfg *c)
{
	return c && c->max_orders && c->max_levels && c->max_symbols && c->max_sessions &&
	       c->max_accounts && c->max_symbols <= 65536 && c->max_orders < (1u << 31) &&
	       c->max_levels < (1u << 31) && c->max_accounts < (1u << 30) &&
	       c->stp_default <= DP_STP_CANCEL_BOTH;
}

size_t dp_match_mem_size(const struct dp_match_cfg *cfg)
{
	struct layout l;
	if (!cfg_ok(cfg))
		return 0;
	layout_of(cfg, &l);
	return l.sz_m + l.sz_ord + l.sz_link + l.sz_lvl + l.sz_tab + l.sz_sym + l.sz_arena +
	       l.sz_lad + l.sz_stp;
}

void dp_match_destroy(struct dp_match *m)
{
	if (!m)
		return;
	struct dp_mem mm = m->mem;
	mm.free(m->ord, mm.arg);
	mm.free(m->link, mm.arg);
	mm.free(m->lvl, mm.arg);
	mm.free(m->tab, mm.arg);
	mm.free(m->sym, mm.arg);
	mm.free(m->arena, mm.arg);
	mm.free(m->lad, mm.arg);
	mm.free(m->stp, mm.arg);
	mm.free(m, mm.arg);
}

int dp_match_create(struct dp_match **out, const struct dp_match_cfg *cfg,
		    const struct dp_mem *mem)
{
	struct dp_mem mm = dp_mem_pick(mem);
	struct layout l;

	if (!out || !cfg_ok(cfg))
		return -EINVAL;
	layout_of(cfg, &l);
	struct dp_match *m = mm.zalloc(l.sz_m, mm.arg);
	if (!m)
		return -ENOMEM;
	m->mem = mm;
	m->ord = mm.zalloc(l.sz_ord, mm.arg);
	m->link = mm.zalloc(l.sz_link, mm.arg);
	m->lvl = mm.zalloc(l.sz_lvl, mm.arg);
	m->tab = mm.zalloc(l.sz_tab, mm.arg);
	m->sym = mm.zalloc(l.sz_sym, mm.arg);
	m->arena = mm.zalloc(l.sz_arena, mm.arg);
	m->lad = mm.zalloc(l.sz_lad, mm.arg);
	m->stp = mm.zalloc(l.sz_stp, mm.arg);
	if (!m->ord || !m->link || !m->lvl || !m->tab || !m->sym || !m->arena || !m->lad || !m->stp) {
		dp_match_destroy(m);
		return -ENOMEM;
	}
	m->mask = (uint32_t)(l.hcap - 1);
	m->stp_mask = (uint32_t)(l.scap - 1);
	m->max_accounts = cfg->max_accounts;
	m->max_orders = cfg->max_orders;
	m->max_levels = cfg->max_levels;
	m->max_symbols = cfg->max_symbols;
	m->max_sessions = cfg->max_sessions;
	m->stp_default = cfg->stp_default;
	m->ord_free = NIL;
	m->lvl_free = NIL;
	m->arena_size = (uint32_t)l.arena;
	m->lad_n = (uint32_t)l.lads;
	for (uint32_t i = 0; i < cfg->max_symbols; i++)
		m->sym[i].side[0].best = m->sym[i].side[1].best = NIL;
	for (int c = 0; c <= MAX_CLS; c++)
		m->chunk_free[c] = NIL;
	*out = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Order table: (session, cl_ord_id) -> resting order                  */

/* The order key's hash: dp_order_key_hash of dp_order.h (risk's too). */
static inline uint32_t key_hash(uint32_t session, uint64_t cl)
{
	return dp_order_key_hash(session, cl);
}

/* Slot holding the key (*found = 1) or the empty slot ending its run. */
static inline uint32_t tab_probe(const struct dp_match *m, uint32_t session, uint64_t cl,
				 uint32_t h, int *found)
{
	uint32_t i = h & m->mask;
	for (;;) {
		struct hslot s = m->tab[i];
		if (s.idx1 == 0) {
			*found = 0;
			return i;
		}
		if (s.h == h) {
			/* a deferred entry's record is free (bits 0) or another
			   order's (another key, or the same key again: that order) */
			const struct ord *o = &m->ord[s.idx1 - 1];
			if (o->cl_ord_id == cl && o->session == session && o->bits) {
				*found = 1;
				return i;
			}
		}
		i = (i + 1) & m->mask;
	}
}

/* Backward-shift delete: entries whose home is not in (i, j] move back. */
static void tab_erase(struct dp_match *m, uint32_t i)
{
	uint32_t mask = m->mask, j = i;
	for (;;) {
		j = (j + 1) & mask;
		struct hslot s = m->tab[j];
		if (s.idx1 == 0)
			break;
		uint32_t home = s.h & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->tab[i] = s;
			i = j;
		}
	}
	m->tab[i].idx1 = 0;
	m->tab[i].h = 0;
}

/* The slot of resting order oi under a key of hash h (lvl must be of oi's level). */
static inline struct hslot slot_of(const struct dp_match *m, uint32_t oi, uint32_t h)
{
	const struct ord *o = &m->ord[oi];
	const struct lvl *l = &m->lvl[o->lvl];
	return (struct hslot){ oi + 1, h, o->lvl,
			       l->idx | (uint32_t)l->inl << 8 | (uint32_t)o->side << 9 };
}

/*
 * Index order oi under its key, whose hash h the caller has at hand, in
 * the first empty slot of the run. The caller checked that no live order
 * has the key; the entry of a filled order waiting to be erased
 * (tab_defer) may still hold it, even with this very record (reused), so
 * a lookup's "found" slot is not to be written over: the two entries
 * then agree and the deferred erase takes the first. The table is 2x
 * max_orders, so an empty slot is near.
 */
static void tab_insert(struct dp_match *m, uint32_t oi, uint32_t h)
{
	uint32_t i = h & m->mask;
	while (m->tab[i].idx1 != 0)
		i = (i + 1) & m->mask;
	m->tab[i] = slot_of(m, oi, h);
}

static void tab_remove(struct dp_match *m, uint32_t oi)
{
	const struct ord *o = &m->ord[oi];
	int found;
	uint32_t slot = tab_probe(m, o->session, o->cl_ord_id, key_hash(o->session, o->cl_ord_id),
				  &found);
	if (found)
		tab_erase(m, slot);
}

/* Resting order index for (session, cl), or NIL. */
static inline uint32_t tab_find(const struct dp_match *m, uint32_t session, uint64_t cl)
{
	int found;
	uint32_t slot = tab_probe(m, session, cl, key_hash(session, cl), &found);
	return found ? m->tab[slot].idx1 - 1 : NIL;
}

/* Same with the hash given, and the slot it is in (valid until the table changes). */
static inline uint32_t tab_find_at(const struct dp_match *m, uint32_t session, uint64_t cl,
				   uint32_t h, uint32_t *slot)
{
	int found;
	*slot = tab_probe(m, session, cl, h, &found);
	return found ? m->tab[*slot].idx1 - 1 : NIL;
}

/*
 * A replace gives order oi, at table slot `slot`, the id of hash hn: with
 * the same id nothing changes; else the new key takes dslot, the empty
 * slot its duplicate check ended on (no table change since), before the
 * old slot is erased (an insertion into an empty slot moves nothing, so
 * `slot` stays right). One probe fewer than an erase and an insert.
 */
static inline void tab_rekey(struct dp_match *m, uint32_t oi, uint32_t slot, bool same_id,
			     uint32_t dslot, uint32_t hn)
{
	if (same_id)
		return;
	m->tab[dslot] = slot_of(m, oi, hn);
	tab_erase(m, slot);
}

/*
 * Erase order oi's entry under hash h (the key may already be its new
 * one). The entry is in the run from h's home; should it not be (a broken
 * table: dp_match_check says which), the run's empty slot ends the search
 * and nothing is erased, rather than a loop round the whole table.
 */
static void tab_erase_at(struct dp_match *m, uint32_t oi, uint32_t h)
{
	uint32_t i = h & m->mask;
	while (m->tab[i].idx1 != oi + 1 || m->tab[i].h != h) {
		if (m->tab[i].idx1 == 0)
			return;
		i = (i + 1) & m->mask;
	}
	tab_erase(m, i);
}

/*
 * A filled resting order leaves the table later: its entry's line is
 * cold (the hints cannot know which order a fill will meet in time to
 * load it), so the line is asked for now and the entry erased when
 * TAB_DEFER later fills have come, by then a cache hit. Until then the
 * entry is passed over by every lookup (tab_probe: its record is free or
 * holds another order). An entry (oi, h) is erased whichever of two equal
 * ones comes first: equal entries resolve to the same record, so the
 * table means the same either way.
 */
static void tab_defer(struct dp_match *m, uint32_t oi)
{
	const struct ord *o = &m->ord[oi];
	const uint32_t h = key_hash(o->session, o->cl_ord_id);
	__builtin_prefetch(&m->tab[h & m->mask], 1);
	const uint32_t k = m->dfr_next;
	if (m->dfr_n == TAB_DEFER)
		tab_erase_at(m, m->dfr_oi[k], m->dfr_h[k]);
	else
		m->dfr_n++;
	m->dfr_oi[k] = oi;
	m->dfr_h[k] = h;
	m->dfr_next = (k + 1) % TAB_DEFER;
}

/* ------------------------------------------------------------------ */
/* STP modes                                                           */

static inline uint32_t acct_hash(uint32_t a)
{
	uint64_t x = (uint64_t)a * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(x >> 32);
}

int dp_match_set_stp(struct dp_match *m, uint32_t account, uint8_t mode)
{
	if (!m || mode > DP_STP_CANCEL_BOTH)
		return -EINVAL;
	uint32_t i = acct_hash(account) & m->stp_mask;
	while (m->stp[i].used && m->stp[i].account != account)
		i = (i + 1) & m->stp_mask;
	if (!m->stp[i].used) {
		if (m->stp_used >= m->max_accounts)
			return -ENOSPC;
		m->stp[i].used = 1;
		m->stp[i].account = account;
		m->stp_used++;
	}
	m->stp[i].mode = mode;
	return 0;
}

uint8_t dp_match_get_stp(const struct dp_match *m, uint32_t account)
{
	if (likely(m->stp_used == 0))
		return m->stp_default;
	uint32_t i = acct_hash(account) & m->stp_mask;
	while (m->stp[i].used) {
		if (m->stp[i].account == account)
			return m->stp[i].mode;
		i = (i + 1) & m->stp_mask;
	}
	return m->stp_default;
}

/* ------------------------------------------------------------------ */
/* Side arrays                                                          */

static uint32_t chunk_get(struct dp_match *m, uint32_t cls)
{
	uint32_t off = m->chunk_free[cls];
	if (off != NIL) {
		m->chunk_free[cls] = m->arena[off].lvl;
		return off;
	}
	uint32_t size = 1u << cls;
	if (m->arena_size - m->arena_bump >= size) {
		off = m->arena_bump;
		m->arena_bump += size;
		return off;
	}
	/* Split a larger free chunk; the upper halves go to the lists. */
	for (uint32_t c = cls + 1; c <= MAX_CLS; c++) {
		off = m->chunk_free[c];
		if (off == NIL)
			continue;
		m->chunk_free[c] = m->arena[off].lvl;
		while (c > cls) {
			c--;
			uint32_t half = off + (1u << c);
			m->arena[half].lvl = m->chunk_free[c];
			m->chunk_free[c] = half;
		}
		return off;
	}
	return NIL;
}

static void chunk_put(struct dp_match *m, uint32_t off, uint32_t cls)
{
	m->arena[off].lvl = m->chunk_free[cls];
	m->chunk_free[cls] = off;
}

static inline uint32_t key_of(uint32_t price, unsigned side)
{
	return price ^ (0u - side); /* bid (0): price; ask (1): ~price */
}

/*
 * How many of the w <= NEAR_SCAN entries a[0..w) have a key below key
 * (they are a prefix: the array ascends). Reads a[0..NEAR_SCAN) whatever
 * w is: a chunk has at least 2^MIN_CLS = NEAR_SCAN entries and the arena
 * more, so the read stays inside the arena; entries past w are masked.
 * No branch: where a new order's level sits among the top levels is
 * random, and a scan that stopped there mispredicted once a call.
 */
static inline uint32_t near_below(const struct pent *a, uint32_t w, uint32_t key)
{
#if defined(__SSE2__)
	const __m128i *p = (const __m128i *)(const void *)a;
	__m128 e0 = _mm_castsi128_ps(_mm_loadu_si128(p)), e1 = _mm_castsi128_ps(_mm_loadu_si128(p + 1));
	__m128 e2 = _mm_castsi128_ps(_mm_loadu_si128(p + 2)), e3 = _mm_castsi128_ps(_mm_loadu_si128(p + 3));
	/* keys are the even 32-bit lanes; unsigned compare as signed with the sign flipped */
	const __m128i sign = _mm_set1_epi32(INT32_MIN);
	__m128i k03 = _mm_xor_si128(_mm_castps_si128(_mm_shuffle_ps(e0, e1, _MM_SHUFFLE(2, 0, 2, 0))), sign);
	__m128i k47 = _mm_xor_si128(_mm_castps_si128(_mm_shuffle_ps(e2, e3, _MM_SHUFFLE(2, 0, 2, 0))), sign);
	__m128i kk = _mm_xor_si128(_mm_set1_epi32((int32_t)key), sign);
	uint32_t below = (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(kk, k03))) |
			 (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(kk, k47))) << 4;
	below &= (1u << w) - 1;
	return (uint32_t)__builtin_ctz(~below); /* length of the run of ones from bit 0 */
#else
	uint32_t c = 0;
	for (uint32_t j = 0; j < NEAR_SCAN; j++)
		c += (j < w) & (a[j].key < key);
	return c;
#endif
}
_Static_assert(NEAR_SCAN == 8 && (1u << MIN_CLS) >= NEAR_SCAN, "near_below reads 8 entries");

/*
 * Index of key (*found = 1) or where it would be inserted (*found = 0):
 * the top NEAR_SCAN entries (the levels nearest the touch, where most
 * orders go) without a branch, a binary search below them.
 */
static inline uint32_t side_find(const struct pent *a, uint32_t n, uint32_t key, int *found)
{
	uint32_t base = n > NEAR_SCAN ? n - NEAR_SCAN : 0, w = n - base;
	uint32_t c = near_below(a + base, w, key);
	if (likely(c != 0 || base == 0)) {
		*found = (c < w) & (a[base + (c & (NEAR_SCAN - 1))].key == key);
		return base + c;
	}
	/* every top entry is >= key: the place is at or below a[base] */
	uint32_t lo = 0, hi = base;
	while (lo < hi) {
		uint32_t mid = lo + ((hi - lo) >> 1);
		if (a[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = a[lo].key == key;
	return lo;
}

/* Make room for need entries in s's chunk; false (nothing changed) if the arena cannot. */
static bool side_reserve(struct dp_match *m, struct side *s, uint32_t need)
{
	if (s->cls && need <= (1u << s->cls))
		return true;
	uint32_t cls = MIN_CLS;
	while (cls < MAX_CLS && (1u << cls) < need)
		cls++;
	if ((1u << cls) < need)
		return false;
	uint32_t off = chunk_get(m, cls);
	if (off == NIL)
		return false;
	if (s->cls) {
		memcpy(&m->arena[off], &m->arena[s->off], (size_t)s->n * sizeof(struct pent));
		chunk_put(m, s->off, s->cls);
	}
	s->off = off;
	s->cls = (uint8_t)cls;
	return true;
}

static bool side_insert(struct dp_match *m, struct side *s, uint32_t pos, uint32_t key,
			uint32_t li)
{
	if (!side_reserve(m, s, s->n + 1))
		return false;
	struct pent *a = &m->arena[s->off];
	if (pos < s->n)
		memmove(&a[pos + 1], &a[pos], (size_t)(s->n - pos) * sizeof(struct pent));
	a[pos].key = key;
	a[pos].lvl = li;
	s->n++;
	return true;
}

static void side_remove_at(struct dp_match *m, struct side *s, uint32_t pos)
{
	struct pent *a = &m->arena[s->off];
	s->n--;
	if (pos < s->n)
		memmove(&a[pos], &a[pos + 1], (size_t)(s->n - pos) * sizeof(struct pent));
	if (s->n == 0) {
		chunk_put(m, s->off, s->cls);
		s->cls = 0;
		s->off = 0;
	}
}

/* ------------------------------------------------------------------ */
/* Price ladders                                                        */

/*
 * Slot of key in the ladder of side sd, or
 * DP_LAD_SLOTS if it has none (lad 0) or the key is off its window or
 * grid. Keys below base wrap to a large d. No branch (the hints call it
 * too, on random prices).
 */
#define INV25 0xc28f5c29u /* 25 * INV25 == 1 mod 2^32 */

static inline uint32_t lad_tick(const struct side *sd)
{
	return sd->rot ? 100u : 1u;
}

/*
 * d / tick by an exact division: d = 100 q exactly when rotating d * inv25
 * right by 2 gives q, and any d that is not a multiple of 100 gives more
 * than (2^32 - 1) / 100 (Granlund and Montgomery's divisibility test), so
 * one compare tells "on the grid and in the window". Tick 1: inv 1, rot 0.
 */
static inline uint32_t lad_index(const struct side *sd, uint32_t key)
{
	uint32_t x = (key - sd->base) * sd->inv, r = sd->rot & 31;
	uint32_t i = (x >> r) | (x << ((32 - r) & 31));
	uint32_t bad = (uint32_t)(i >= DP_LAD_SLOTS) | (uint32_t)(sd->lad == 0);
	return (i & (bad - 1u)) | (DP_LAD_SLOTS & (0u - bad));
}

static inline uint32_t lad_key(const struct side *sd, uint32_t i)
{
	return sd->base + i * lad_tick(sd);
}

/* Slot values are level index + 1 (level 0 exists here). */
static inline void lad_set(struct dp_ladder *L, uint32_t i, uint32_t li)
{
	dp_lad_set(L, i, li + 1);
}

static inline uint32_t sym_orders_of(const struct sym *sy)
{
	return sy->side[0].orders + sy->side[1].orders;
}

/* Best level of a side, or NIL. */
static inline uint32_t side_best(const struct dp_match *m, const struct side *s)
{
	(void)m;
	return s->best;
}

/*
 * Find the side's best level again (the better of the ladder's top bit and
 * the array's last entry) after its best level emptied.
 */
static __attribute__((noinline)) void side_best_find(const struct dp_match *m, struct side *s)
{
	uint32_t li = NIL, bk = 0;
	if (s->n) {
		struct pent e = m->arena[s->off + s->n - 1];
		li = e.lvl;
		bk = e.key;
	}
	const struct dp_ladder *L = &m->lad[s->lad]; /* lad[0]: no bits */
	uint64_t hi = L->bits[1], lo = L->bits[0];
	if (hi | lo) {
		uint32_t t = hi ? 127u - (uint32_t)__builtin_clzll(hi) : 63u - (uint32_t)__builtin_clzll(lo);
		if (li == NIL || lad_key(s, t) > bk) {
			li = L->slot[t] - 1;
			bk = lad_key(s, t);
		}
	}
	s->best = li;
	s->bkey = bk;
}

/*
 * Best level of a side with a key below `below` (2^32: no bound), or NIL;
 * *key: its key. For walks over a whole side best first (FOK, queries,
 * checks): a binary search and a bitmap scan per step.
 */
static uint32_t side_next(const struct dp_match *m, const struct side *s, uint64_t below,
			  uint32_t *key)
{
	uint32_t li = NIL, bk = 0;
	uint32_t pos = s->n;
	if (below <= UINT32_MAX) {
		int found;
		pos = side_find(&m->arena[s->off], s->n, (uint32_t)below, &found);
	}
	if (pos) {
		struct pent e = m->arena[s->off + pos - 1];
		li = e.lvl;
		bk = e.key;
	}
	const struct dp_ladder *L = &m->lad[s->lad];
	if (s->lad && !dp_lad_empty(L) && below > s->base) {
		uint64_t from = (below - s->base - 1) / lad_tick(s);
		int t = dp_lad_top_from(L, from >= DP_LAD_SLOTS ? DP_LAD_SLOTS - 1 : (int)from);
		if (t >= 0 && (li == NIL || lad_key(s, (uint32_t)t) > bk)) {
			li = L->slot[t] - 1;
			bk = lad_key(s, (uint32_t)t);
		}
	}
	*key = bk;
	return li;
}

/*
 * Move a side's ladder window so that key `center` sits at slot DP_LAD_AT
 * (or as near as the ends of the key space allow), on the grid of tick 100
 * if the centre's price is a whole cent, else of tick 1. Every level stays
 * where a lookup will find it: the ladder's levels are merged into the
 * sorted array, then the array's levels on the new window's grid move into
 * the ladder. O(levels of the side); rare. Returns false (nothing changed)
 * if the array cannot grow to hold the ladder's levels.
 */
static bool lad_rebase(struct dp_match *m, struct side *sd, unsigned side, uint32_t center)
{
	struct dp_ladder *L = &m->lad[sd->lad];
	uint32_t nl = dp_lad_count(L);
	if (nl && !side_reserve(m, sd, sd->n + nl))
		return false;
	struct pent *a = &m->arena[sd->off];
	if (nl) {
		/* merge from the back: ladder slots high to low into a[] */
		int64_t r = (int64_t)sd->n - 1, w = (int64_t)sd->n + nl - 1;
		for (int i = dp_lad_top_from(L, DP_LAD_SLOTS - 1); i >= 0; i = dp_lad_top_from(L, i - 1)) {
			uint32_t key = lad_key(sd, (uint32_t)i), li = L->slot[i] - 1;
			while (r >= 0 && a[r].key > key)
				a[w--] = a[r--];
			a[w].key = key;
			a[w--].lvl = li;
			m->lvl[li].inl = 0;
			dp_lad_clear(L, (uint32_t)i);
		}
		sd->n += nl;
	}

	uint32_t t = key_of(center, side) % 100 == 0 ? 100 : 1; /* key_of is its own inverse */
	sd->base = dp_lad_base(center, t);
	sd->inv = t == 100 ? INV25 : 1;
	sd->rot = t == 100 ? 2 : 0;
	L->misses = 0;

	uint32_t w = 0;
	for (uint32_t r = 0; r < sd->n; r++) {
		uint32_t i = lad_index(sd, a[r].key);
		if (i < DP_LAD_SLOTS) {
			struct lvl *l = &m->lvl[a[r].lvl];
			l->inl = 1;
			l->idx = (uint8_t)i;
			lad_set(L, i, a[r].lvl);
		} else {
			a[w++] = a[r];
		}
	}
	sd->n = w;
	if (w == 0 && sd->cls) {
		chunk_put(m, sd->off, sd->cls);
		sd->cls = 0;
		sd->off = 0;
	}
	return true;
}

/*
 * A new level's key missed the side's ladder (or the side has none).
 * Decide whether the window moves first: a side with no ladder takes one
 * from the pool while they last; an empty ladder recentres on the key at
 * once; otherwise a miss near the best price (the touch left the window)
 * is counted, and after DP_LAD_MISS_MAX of them the window recentres on the
 * best. Returns true if the window moved (the caller looks again).
 */
static bool lad_miss(struct dp_match *m, struct side *sd, unsigned side, uint32_t key)
{
	if (sd->lad == 0) {
		if (m->lad_used == m->lad_n)
			return false;
		sd->lad = (uint16_t)++m->lad_used;
		return lad_rebase(m, sd, side, key);
	}
	struct dp_ladder *L = &m->lad[sd->lad];
	if (dp_lad_empty(L))
		return lad_rebase(m, sd, side, key);
	uint32_t best = sd->bkey; /* the side is not empty */
	if ((uint64_t)key + (uint64_t)DP_LAD_NEAR * lad_tick(sd) < best)
		return false; /* deep in the book: the array is the place */
	if (++L->misses < DP_LAD_MISS_MAX)
		return false;
	return lad_rebase(m, sd, side, key > best ? key : best);
}

/* A new, empty level (in neither ladder nor array yet); NIL if the pool is full. */
static inline uint32_t level_new(struct dp_match *m, const struct ord *o)
{
	uint32_t li = m->lvl_free;
	if (li != NIL)
		m->lvl_free = m->lvl[li].head;
	else if (m->lvl_bump < m->max_levels)
		li = m->lvl_bump++;
	else
		return NIL;
	m->lvl_live++;
	struct lvl *nl = &m->lvl[li];
	nl->qty = 0;
	nl->price = o->price;
	nl->count = 0;
	nl->head = NIL;
	nl->tail = NIL;
	nl->symbol = o->symbol;
	nl->side = o->side;
	nl->inl = 0;
	nl->idx = 0;
	return li;
}

static inline void level_free(struct dp_match *m, uint32_t li)
{
	m->lvl[li].head = m->lvl_free;
	m->lvl_free = li;
	m->lvl_live--;
}

/* A new level li of key `key` joined side sd: is it the best now? (random: no branch) */
static inline void best_join(struct side *sd, uint32_t li, uint32_t key)
{
	uint32_t nb = 0u - ((uint32_t)(sd->best == NIL) | (uint32_t)(key > sd->bkey));
	sd->best = (li & nb) | (sd->best & ~nb);
	sd->bkey = (key & nb) | (sd->bkey & ~nb);
}

/* The level at ladder slot i of sd, made if the slot is empty; NIL if the pool is full. */
static inline uint32_t lad_level(struct dp_match *m, struct side *sd, uint32_t i,
				 const struct ord *o, uint32_t key)
{
	struct dp_ladder *L = &m->lad[sd->lad];
	uint32_t li = L->slot[i] - 1;
	if (li == NIL) {
		li = level_new(m, o);
		if (unlikely(li == NIL))
			return NIL;
		m->lvl[li].inl = 1;
		m->lvl[li].idx = (uint8_t)i;
		lad_set(L, i, li);
		best_join(sd, li, key);
	}
	return li;
}

/*
 * The level of order o (key `key` on side sd) when the key missed the
 * ladder: after lad_miss() maybe moved the window, the ladder again, else
 * the sorted array (found or inserted). NIL if the level pool or the
 * arena is full.
 */
static __attribute__((noinline)) uint32_t far_level(struct dp_match *m, struct side *sd,
						    const struct ord *o, uint32_t key)
{
	if (lad_miss(m, sd, o->side, key)) {
		uint32_t i = lad_index(sd, key);
		if (i < DP_LAD_SLOTS)
			return lad_level(m, sd, i, o, key);
	}
	int found;
	uint32_t pos = side_find(&m->arena[sd->off], sd->n, key, &found);
	if (found)
		return m->arena[sd->off + pos].lvl;
	uint32_t li = level_new(m, o);
	if (li == NIL)
		return NIL;
	if (unlikely(!side_insert(m, sd, pos, key, li))) {
		level_free(m, li);
		return NIL;
	}
	best_join(sd, li, key);
	return li;
}

/* The level of `key` on side sd (ladder or array), or NIL. */
static uint32_t side_level(const struct dp_match *m, const struct side *sd, uint32_t key)
{
	uint32_t i = lad_index(sd, key);
	if (i < DP_LAD_SLOTS)
		return m->lad[sd->lad].slot[i] - 1;
	int found;
	uint32_t pos = side_find(&m->arena[sd->off], sd->n, key, &found);
	return found ? m->arena[sd->off + pos].lvl : NIL;
}

/* ------------------------------------------------------------------ */
/* Orders in levels                                                    */

static inline uint32_t ord_alloc(struct dp_match *m)
{
	uint32_t oi;
	if (m->ord_free != NIL) {
		oi = m->ord_free;
		m->ord_free = m->link[oi].next;
	} else if (m->ord_bump < m->max_orders) {
		oi = m->ord_bump++;
	} else {
		return NIL;
	}
	return oi;
}

static inline bool ord_avail(const struct dp_match *m)
{
	return m->ord_free != NIL || m->ord_bump < m->max_orders;
}

static inline void ord_release(struct dp_match *m, uint32_t oi)
{
	m->ord[oi].bits = 0;
	m->link[oi].next = m->ord_free;
	m->ord_free = oi;
}

/*
 * Emptied level li of sd's sorted array: out of the array, freed, and a new
 * best found if it was the best (out of line: levels off the ladder are few).
 */
static __attribute__((noinline)) void array_level_gone(struct dp_match *m, struct side *sd,
						       uint32_t li)
{
	const struct lvl *l = &m->lvl[li];
	uint32_t pos;
	if (likely(m->arena[sd->off + sd->n - 1].lvl == li)) {
		pos = sd->n - 1;
	} else {
		int found;
		pos = side_find(&m->arena[sd->off], sd->n, key_of(l->price, l->side), &found);
	}
	side_remove_at(m, sd, pos);
	level_free(m, li);
	if (sd->best == li)
		side_best_find(m, sd);
}

/*
 * Unlink a resting order from its level (freeing the level when it
 * empties) but keep the record; the table entry is the caller's job.
 */
static void unlink_order(struct dp_match *m, uint32_t oi)
{
	struct ord *o = &m->ord[oi];
	uint32_t li = o->lvl;
	struct lvl *l = &m->lvl[li];
	const struct link k = m->link[oi];
	if (k.prev != NIL)
		m->link[k.prev].next = k.next;
	else
		l->head = k.next;
	if (k.next != NIL)
		m->link[k.next].prev = k.prev;
	else
		l->tail = k.prev;
	l->qty -= o->qty - o->cum;
	l->count--;
	struct side *sd = &m->sym[o->symbol].side[o->side];
	sd->orders--;
	o->bits &= (uint8_t)~OB_RESTING;
	m->ord_live--;
	if (l->count != 0)
		return;
	/* the level emptied; what is out of line comes last, as tail calls,
	   so that the common path saves no registers */
	if (unlikely(!l->inl)) {
		array_level_gone(m, sd, li);
		return;
	}
	dp_lad_clear(&m->lad[sd->lad], l->idx);
	level_free(m, li);
	if (sd->best == li)
		side_best_find(m, sd);
}

/*
 * Put order oi (leaves > 0) at the tail of its price level, creating the
 * level if needed; the order table is the caller's (each knows whether
 * the key's slot is at hand). Returns false (nothing changed) if the
 * level pool or the side-array arena is exhausted.
 */
/* Link order oi (on side sd) at the tail of level li. */
static inline __attribute__((always_inline)) void rest_at(struct dp_match *m, uint32_t oi,
							 struct side *sd, uint32_t li)
{
	struct ord *o = &m->ord[oi];
	struct lvl *l = &m->lvl[li];
	o->lvl = li;
	m->link[oi] = (struct link){ l->tail, NIL };
	o->tseq = ++m->tseq;
	if (l->tail != NIL)
		m->link[l->tail].next = oi;
	else
		l->head = oi;
	l->tail = oi;
	l->qty += o->qty - o->cum;
	l->count++;
	sd->orders++;
	o->bits |= OB_RESTING;
	m->ord_live++;
}

/* rest_order for a key off the ladder (out of line, so the common path saves no registers). */
static __attribute__((noinline)) bool rest_far(struct dp_match *m, uint32_t oi, struct side *sd,
					       uint32_t key)
{
	uint32_t li = far_level(m, sd, &m->ord[oi], key);
	if (unlikely(li == NIL))
		return false;
	rest_at(m, oi, sd, li);
	return true;
}

static bool rest_order(struct dp_match *m, uint32_t oi)
{
	struct ord *o = &m->ord[oi];
	struct side *sd = &m->sym[o->symbol].side[o->side];
	uint32_t key = key_of(o->price, o->side);
	uint32_t i = lad_index(sd, key);
	if (unlikely(i >= DP_LAD_SLOTS))
		return rest_far(m, oi, sd, key);
	uint32_t li = lad_level(m, sd, i, o, key);
	if (unlikely(li == NIL))
		return false;
	rest_at(m, oi, sd, li);
	return true;
}

/* ------------------------------------------------------------------ */
/* Reports                                                              */

/* 'B' or 'S' of an engine side, without a branch. */
static inline char side_char(uint8_t side)
{
	return (char)('B' + side * ('S' - 'B'));
}

static inline uint32_t avg_px(const struct ord *o)
{
	/* notional <= (2^32-1)^2 and cum/2 < 2^31: the sum fits in u64. */
	return o->cum ? (uint32_t)((o->notional + o->cum / 2) / o->cum) : 0;
}

/*
 * The report's pairs of fields that the order record holds in the same
 * order are copied together: {account, session} (8 bytes) and {cl_ord_id,
 * order_id} (16), and the first 8 bytes are built in a register (x86 and
 * arm64 are little-endian; the assert keeps it so).
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rep_order builds fields in a u64");
_Static_assert(offsetof(struct ord, session) == offsetof(struct ord, account) + 4 &&
		       offsetof(struct dp_exec_report, session) ==
			       offsetof(struct dp_exec_report, account) + 4 &&
		       offsetof(struct ord, order_id) == offsetof(struct ord, cl_ord_id) + 8 &&
		       offsetof(struct dp_exec_report, order_id) ==
			       offsetof(struct dp_exec_report, cl_ord_id) + 8 &&
		       offsetof(struct dp_exec_report, reason) == 1 &&
		       offsetof(struct dp_exec_report, side) == 2 &&
		       offsetof(struct dp_exec_report, flags) == 3 &&
		       offsetof(struct dp_exec_report, symbol) == 4 &&
		       offsetof(struct dp_exec_report, pad) == 6 &&
		       offsetof(struct dp_exec_report, last_qty) ==
			       offsetof(struct dp_exec_report, last_px) + 4 &&
		       offsetof(struct dp_exec_report, cum_qty) ==
			       offsetof(struct dp_exec_report, leaves_qty) + 4 &&
		       offsetof(struct dp_exec_report, contra) ==
			       offsetof(struct dp_exec_report, avg_px) + 4,
	       "report and order fields copied in pairs");

static inline void put64(void *p, uint64_t v)
{
	memcpy(p, &v, sizeof v);
}

/* A report about order o; leaves as in the record unless `done`. */
static inline struct dp_exec_report *rep_order(struct dp_match *m, const struct ord *o,
					       uint8_t kind, uint8_t reason, bool done)
{
	if (m->idx_out)
		m->idx_out[m->n] = (uint32_t)(o - m->ord);
	struct dp_exec_report *r = &m->out[m->n++];
	/* kind, reason, side, flags 0, symbol, pad 0 */
	put64(r, (uint64_t)kind | (uint64_t)reason << 8 | (uint64_t)(uint8_t)side_char(o->side) << 16 |
			 (uint64_t)o->symbol << 32);
	memcpy(&r->account, &o->account, 8); /* account, session: one store in on_new */
	/* The ids as two 8-byte loads, like the stores that wrote them: the
	 * record of an order just accepted or replaced was written a moment
	 * ago, and one 16-byte load over two 8-byte stores cannot be forwarded
	 * from them (it waits until they reach the cache). The empty asm keeps
	 * the compiler from fusing the two loads again. */
	uint64_t cl = o->cl_ord_id, oid = o->order_id;
	__asm__("" : "+r"(cl), "+r"(oid));
	r->cl_ord_id = cl;
	r->order_id = oid;
	r->exec_id = (++m->exec_seq) << 1;
	put64(&r->last_px, 0);                      /* last_px, last_qty */
	uint32_t leaves = done ? 0 : o->qty - o->cum;
	put64(&r->leaves_qty, (uint64_t)leaves | (uint64_t)o->cum << 32);
	put64(&r->avg_px, avg_px(o));               /* avg_px, contra 0 */
	return r;
}

/* REJECTED / CANCEL_REJECTED about a message (no live order involved). */
static void rep_msg(struct dp_match *m, const struct dp_order_msg *msg, uint8_t kind,
		    uint8_t reason, const struct ord *target)
{
	if (m->idx_out)
		m->idx_out[m->n] = target ? (uint32_t)(target - m->ord) : DP_MATCH_NO_ORDER;
	struct dp_exec_report *r = &m->out[m->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->reason = reason;
	r->side = msg->side;
	r->symbol = msg->symbol;
	r->account = msg->account;
	r->session = msg->session;
	r->cl_ord_id = msg->cl_ord_id;
	r->exec_id = (++m->exec_seq) << 1;
	if (target) {
		r->side = side_char(target->side);
		r->order_id = target->order_id;
		r->leaves_qty = target->qty - target->cum;
		r->cum_qty = target->cum;
		r->avg_px = avg_px(target);
	}
	if (reason < 64)
		m->st.rejected[reason]++;
}

/* CANCELLED for o, which is then released (off book and table already). */
static void cancel_done(struct dp_match *m, uint32_t oi, uint8_t reason)
{
	rep_order(m, &m->ord[oi], DP_EXEC_CANCELLED, reason, true);
	m->st.cancelled++;
	ord_release(m, oi);
}

/* Cancel a resting order: off the book, out of the table, report. */
static void cancel_resting(struct dp_match *m, uint32_t oi, uint8_t reason)
{
	tab_remove(m, oi);
	unlink_order(m, oi);
	cancel_done(m, oi, reason);
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

/* Usable reference: valid, both sides, not crossed. */
static inline bool ref_ok(const struct dp_ref_px *r)
{
	return r && r->valid && r->bid && r->ask && r->bid <= r->ask;
}

/*
 * Would an order of side/limit (market: any) trade at price p? A buy at
 * p <= limit, a sell at p >= limit: both are key(p) <= key(limit) in the
 * side's key order, so no branch on the side.
 */
static inline bool within_limit(const struct ord *o, uint32_t p)
{
	return (o->bits & OB_MARKET) | (key_of(p, o->side) <= key_of(o->price, o->side));
}

/* Marketable against the client book on the other side. */
static inline bool marketable(const struct dp_match *m, const struct ord *o)
{
	const struct side *os = &m->sym[o->symbol].side[o->side ^ 1];
	uint32_t li = side_best(m, os);
	return li != NIL && within_limit(o, m->lvl[li].price);
}

static inline bool in_band(const struct dp_ref_px *r, uint32_t p)
{
	return p >= r->bid && p <= r->ask;
}

/*
 * FOK: could the order be filled completely right now? Walks the other
 * side exactly as matching would (limit, reference band, STP) without
 * changing anything.
 */
static bool fok_fillable(const struct dp_match *m, const struct ord *o, const struct dp_ref_px *r,
			 uint8_t stp)
{
	const struct side *os = &m->sym[o->symbol].side[o->side ^ 1];
	uint64_t need = o->qty - o->cum, got = 0;
	if (!ref_ok(r))
		return false;
	uint32_t key;
	for (uint32_t li = side_next(m, os, (uint64_t)1 << 32, &key); li != NIL;
	     li = side_next(m, os, key, &key)) {
		const struct lvl *l = &m->lvl[li];
		if (!within_limit(o, l->price) || !in_band(r, l->price))
			return false;
		for (uint32_t oi = l->head; oi != NIL; oi = m->link[oi].next) {
			const struct ord *ro = &m->ord[oi];
			if (ro->account == o->account && stp != DP_STP_NONE) {
				if (stp == DP_STP_CANCEL_OLDEST)
					continue;
				return false;
			}
			got += ro->qty - ro->cum;
			if (got >= need)
				return true;
		}
	}
	return false;
}

/*
 * Match the aggressor m->pend.oi against the other side, then rest or
 * cancel what is left. Returns true when done, false when paused (fewer
 * than 3 report slots left with more to do).
 */
static bool run_match(struct dp_match *m)
{
	uint32_t oi = m->pend.oi;
	struct ord *o = &m->ord[oi];
	const struct dp_ref_px *r = &m->pend.ref;
	struct side *os = &m->sym[o->symbol].side[o->side ^ 1];
	uint8_t stp = dp_match_get_stp(m, o->account);
	enum stop why = ST_EXHAUSTED;
	bool ref = ref_ok(r);

	while (o->cum < o->qty) {
		uint32_t li = side_best(m, os);
		if (li == NIL)
			break;
		struct lvl *l = &m->lvl[li];
		uint32_t p = l->price;
		if (!within_limit(o, p))
			break;
		if (!ref || !in_band(r, p)) {
			why = ST_REFERENCE;
			break;
		}
		if (unlikely(m->cap - m->n < 3)) {
			m->hdr.paused = PEND_MATCH;
			return false;
		}
		uint32_t ri = l->head;
		struct ord *ro = &m->ord[ri];
		if (unlikely(ro->account == o->account) && stp != DP_STP_NONE) {
			if (stp != DP_STP_CANCEL_NEWEST)
				cancel_resting(m, ri, DP_RJ_STP);
			if (stp != DP_STP_CANCEL_OLDEST) {
				why = ST_STP;
				break;
			}
			continue;
		}
		uint32_t lq = o->qty - o->cum, rq = ro->qty - ro->cum;
		uint32_t q = lq < rq ? lq : rq;
		o->cum += q;
		o->notional += (uint64_t)p * q;
		ro->cum += q;
		ro->notional += (uint64_t)p * q;
		l->qty -= q;
		uint64_t match = ++m->exec_seq;
		m->st.fills++;

		struct dp_exec_report *a = rep_order(m, o, DP_EXEC_FILL, DP_RJ_NONE, false);
		a->exec_id = match << 1;
		a->flags = DP_MATCH_RF_AGGRESSOR;
		a->last_px = p;
		a->last_qty = q;
		a->contra = ro->account;
		struct dp_exec_report *b = rep_order(m, ro, DP_EXEC_FILL, DP_RJ_NONE, false);
		b->exec_id = (match << 1) | 1;
		b->last_px = p;
		b->last_qty = q;
		b->contra = o->account;
		/* rep_order took event numbers for both; they share `match`. */
		m->exec_seq = match;
		if (ro->cum == ro->qty) {
			tab_defer(m, ri);
			unlink_order(m, ri);
			ord_release(m, ri);
		}
	}

	m->hdr.paused = PEND_NONE;
	if (o->cum == o->qty) {
		ord_release(m, oi);
		return true;
	}
	if (why == ST_STP) {
		cancel_done(m, oi, DP_RJ_STP);
	} else if (why == ST_REFERENCE) {
		cancel_done(m, oi, DP_RJ_TRADE_THROUGH);
	} else if ((o->bits & OB_TIF) != DP_TIF_DAY || (o->bits & OB_MARKET)) {
		cancel_done(m, oi, DP_RJ_IOC_REMAINDER);
	} else if (rest_order(m, oi)) {
		tab_insert(m, oi, m->pend.h);
	} else {
		cancel_done(m, oi, DP_RJ_BOOK_FULL);
	}
	return true;
}

/* DP_MATCH_BID for 'B', DP_MATCH_ASK for 'S', -1 for anything else; no branch. */
static inline int side_ix(char c)
{
	int sell = c == 'S';
	return sell | -(int)!((c == 'B') | sell);
}

/* h: key_hash(msg->session, msg->cl_ord_id). */
static inline __attribute__((always_inline)) void
on_new(struct dp_match *m, const struct dp_order_msg *msg, const struct dp_ref_px *ref, uint32_t h,
       uint32_t known_slot)
{
	uint8_t rj = DP_RJ_NONE;
	int side = side_ix(msg->side);
	bool market = msg->type == DP_ORD_MARKET;
	bool post = msg->flags & DP_ORD_F_POST_ONLY;
	uint32_t slot;

	if (msg->symbol >= m->max_symbols)
		rj = DP_RJ_UNKNOWN_SYMBOL;
	else if (msg->session >= m->max_sessions)
		rj = DP_RJ_RISK_UNKNOWN_ACCOUNT;
	else if (side < 0)
		rj = DP_RJ_BAD_SIDE;
	else if (msg->type != DP_ORD_LIMIT && !market)
		rj = DP_RJ_BAD_TYPE;
	else if (msg->tif < DP_TIF_DAY || msg->tif > DP_TIF_FOK)
		rj = DP_RJ_BAD_TIF;
	else if (msg->qty == 0)
		rj = DP_RJ_BAD_QTY;
	else if (!market && msg->price == 0)
		rj = DP_RJ_BAD_PRICE;
	else if (post && market)
		rj = DP_RJ_BAD_TYPE;
	else if (post && msg->tif != DP_TIF_DAY)
		rj = DP_RJ_BAD_TIF;
	else if (known_slot != DP_MATCH_NO_SLOT ? (slot = known_slot, false)
					       : tab_find_at(m, msg->session, msg->cl_ord_id, h, &slot) != NIL)
		rj = DP_RJ_DUPLICATE_ID;
	else if (!ord_avail(m))
		rj = DP_RJ_BOOK_FULL;
	if (rj) {
		rep_msg(m, msg, DP_EXEC_REJECTED, rj, NULL);
		return;
	}

	/* Fill the record before deciding: the checks below read it. */
	uint32_t oi = ord_alloc(m);
	struct ord *o = &m->ord[oi];
	/* order_id is given on acceptance; prev, next and lvl when it rests */
	o->cl_ord_id = msg->cl_ord_id;
	o->notional = 0;
	o->account = msg->account;
	o->session = msg->session;
	o->price = market ? 0 : msg->price;
	o->qty = msg->qty;
	o->cum = 0;
	o->symbol = msg->symbol;
	o->side = (uint8_t)side;
	o->bits = (uint8_t)(OB_USED | (msg->tif & OB_TIF) | (market ? OB_MARKET : 0) |
			    (post ? OB_POST : 0));

	bool mkt = marketable(m, o);
	if (post && mkt)
		rj = DP_RJ_POST_ONLY_WOULD_TAKE;
	else if ((market || mkt) && !ref_ok(ref))
		rj = DP_RJ_NO_REFERENCE;
	else if (msg->tif == DP_TIF_FOK && !fok_fillable(m, o, ref, dp_match_get_stp(m, o->account)))
		rj = DP_RJ_FOK_NOT_FILLABLE;
	if (rj) {
		ord_release(m, oi);
		rep_msg(m, msg, DP_EXEC_REJECTED, rj, NULL);
		return;
	}
	o->order_id = ++m->order_seq;
	m->st.accepted++;
	rep_order(m, o, DP_EXEC_ACCEPTED, DP_RJ_NONE, false);
	if (!mkt && !market && msg->tif == DP_TIF_DAY) {
		/* Fast path: a passive DAY order just rests. */
		/* the table is as the duplicate check left it: slot is still free */
		if (rest_order(m, oi))
			m->tab[slot] = slot_of(m, oi, h);
		else
			cancel_done(m, oi, DP_RJ_BOOK_FULL);
		return;
	}
	m->pend.oi = oi;
	m->pend.h = h;
	m->pend.ref = ref_ok(ref) ? *ref : (struct dp_ref_px){ 0, 0, 0 };
	run_match(m);
}

/*
 * The live target of a cancel/replace, or NIL (wrong symbol counts as
 * unknown); ho = key_hash(msg->session, msg->orig_cl_ord_id); *slot = its
 * table slot, valid until the table changes.
 */
static inline uint32_t target_of(const struct dp_match *m, const struct dp_order_msg *msg,
				 uint32_t ho, uint32_t *slot)
{
	uint32_t oi = tab_find_at(m, msg->session, msg->orig_cl_ord_id, ho, slot);
	if (oi != NIL && m->ord[oi].symbol != msg->symbol)
		return NIL;
	return oi;
}

static inline __attribute__((always_inline)) void
on_cancel(struct dp_match *m, const struct dp_order_msg *msg, uint32_t ho)
{
	uint32_t slot, oi = target_of(m, msg, ho, &slot);
	if (oi == NIL) {
		rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, NULL);
		return;
	}
	tab_erase(m, slot);
	unlink_order(m, oi);
	cancel_done(m, oi, DP_RJ_NONE);
}

/* h, ho: key_hash of the message's new and original ids. */
static inline __attribute__((always_inline)) void
on_replace(struct dp_match *m, const struct dp_order_msg *msg, const struct dp_ref_px *ref,
	   uint32_t h, uint32_t ho)
{
	uint32_t slot, oi = target_of(m, msg, ho, &slot);
	if (oi == NIL) {
		rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, NULL);
		return;
	}
	struct ord *o = &m->ord[oi];
	uint8_t rj = DP_RJ_NONE;
	/* hash of the id the order will be known by (the target's slot stays
	   valid: nothing below changes the table before it is erased) */
	uint32_t hn = h, dslot = NIL;
	bool same_id = msg->cl_ord_id == msg->orig_cl_ord_id;
	if (msg->type != DP_ORD_LIMIT)
		rj = DP_RJ_BAD_TYPE;
	else if (msg->qty == 0)
		rj = DP_RJ_BAD_QTY;
	else if (msg->price == 0)
		rj = DP_RJ_BAD_PRICE;
	else if (!same_id && tab_find_at(m, msg->session, msg->cl_ord_id, hn, &dslot) != NIL)
		rj = DP_RJ_DUPLICATE_ID;
	if (rj) {
		rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, rj, o);
		return;
	}

	/* Quantity down to what already executed: the rest is cancelled. */
	if (msg->qty <= o->cum) {
		tab_erase(m, slot);
		unlink_order(m, oi);
		o->cl_ord_id = msg->cl_ord_id;
		cancel_done(m, oi, DP_RJ_NONE);
		return;
	}

	/* Same price, quantity not up: in place, time priority kept. */
	if (msg->price == o->price && msg->qty <= o->qty) {
		tab_rekey(m, oi, slot, same_id, dslot, hn);
		m->lvl[o->lvl].qty -= o->qty - msg->qty;
		o->qty = msg->qty;
		o->cl_ord_id = msg->cl_ord_id;
		m->st.replaced++;
		struct dp_exec_report *r = rep_order(m, o, DP_EXEC_REPLACED, DP_RJ_NONE, false);
		r->last_px = o->price;
		return;
	}

	/* Price change or quantity up: priority lost; may take on arrival. */
	uint32_t li = side_best(m, &m->sym[o->symbol].side[o->side ^ 1]);
	bool mkt = li != NIL && key_of(m->lvl[li].price, o->side) <= key_of(msg->price, o->side);
	if (mkt && (o->bits & OB_POST))
		rj = DP_RJ_POST_ONLY_WOULD_TAKE;
	else if (mkt && !ref_ok(ref))
		rj = DP_RJ_NO_REFERENCE;
	if (rj) {
		rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, rj, o);
		return;
	}
	if (mkt)
		tab_erase(m, slot); /* back in the table if its remainder rests */
	else
		tab_rekey(m, oi, slot, same_id, dslot, hn);
	unlink_order(m, oi);
	o->price = msg->price;
	o->qty = msg->qty;
	o->cl_ord_id = msg->cl_ord_id;
	m->st.replaced++;
	struct dp_exec_report *r = rep_order(m, o, DP_EXEC_REPLACED, DP_RJ_NONE, false);
	r->last_px = o->price;
	if (!mkt) {
		if (!rest_order(m, oi)) {
			tab_erase_at(m, oi, hn);
			cancel_done(m, oi, DP_RJ_BOOK_FULL);
			return;
		}
		/* its level hint, where the erase of its old slot left its entry */
		uint32_t at = same_id ? slot : dslot;
		if (m->tab[at].idx1 == oi + 1)
			m->tab[at] = slot_of(m, oi, m->tab[at].h);
		return;
	}
	m->pend.oi = oi;
	m->pend.h = hn;
	m->pend.ref = *ref;
	run_match(m);
}

static inline bool mass_hit(const struct dp_match *m, const struct ord *o)
{
	if (!(o->bits & OB_RESTING))
		return false;
	switch (m->pend.scope) {
	case DP_MASS_ACCOUNT:
		return o->account == m->pend.key;
	case DP_MASS_SESSION:
		return o->session == m->pend.key;
	case DP_MASS_SYMBOL:
		return o->symbol == m->pend.key;
	default:
		return true;
	}
}

/*
 * Mass cancel: a scan of the used part of the order pool, in pool order
 * (rare: kill switches and logouts, not the hot path). Stops early once
 * the scope can hold no more orders (symbol count, or no order at all).
 */
static bool run_mass(struct dp_match *m)
{
	uint32_t i = m->pend.cursor;
	for (; i < m->ord_bump; i++) {
		if (m->ord_live == 0)
			break;
		if (m->pend.scope == DP_MASS_SYMBOL && sym_orders_of(&m->sym[m->pend.key]) == 0)
			break;
		if (!mass_hit(m, &m->ord[i]))
			continue;
		if (m->cap - m->n < 1) {
			m->hdr.paused = PEND_MASS;
			m->pend.cursor = i;
			return false;
		}
		cancel_resting(m, i, m->pend.reason);
	}
	m->hdr.paused = PEND_NONE;
	return true;
}

static void on_mass(struct dp_match *m, const struct dp_order_msg *msg)
{
	uint32_t key;
	switch (msg->mass) {
	case DP_MASS_ACCOUNT:
		key = msg->account;
		break;
	case DP_MASS_SESSION:
		key = msg->session;
		break;
	case DP_MASS_SYMBOL:
		if (msg->symbol >= m->max_symbols) {
			rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_SYMBOL, NULL);
			return;
		}
		key = msg->symbol;
		break;
	case DP_MASS_ALL:
		key = 0;
		break;
	default:
		rep_msg(m, msg, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_TYPE, NULL);
		return;
	}
	m->pend.scope = msg->mass;
	m->pend.key = key;
	m->pend.reason = (msg->flags & DP_ORD_F_KILL) ? DP_RJ_KILL_SWITCH : DP_RJ_NONE;
	m->pend.cursor = 0;
	run_mass(m);
}

/* Start a call: false (nothing done, stats.misuse) if cap is too small or a message is paused. */
static inline bool call_begin(struct dp_match *m, struct dp_exec_report *out, uint32_t *idx,
			      uint32_t cap)
{
	if (unlikely(cap < DP_MATCH_MIN_CAP || m->hdr.paused != PEND_NONE)) {
		m->st.misuse++;
		return false;
	}
	m->out = out;
	m->idx_out = idx;
	m->n = 0;
	m->cap = cap;
	return true;
}

static inline uint32_t call_end(struct dp_match *m)
{
	if (m->hdr.paused != PEND_NONE)
		m->st.pauses++;
	return m->n;
}

uint32_t dp_match_process(struct dp_match *m, const struct dp_order_msg *msg,
			  const struct dp_ref_px *ref, struct dp_exec_report *out, uint32_t cap)
{
	return dp_match_process_idx(m, msg, ref, out, NULL, cap);
}

uint32_t dp_match_process_idx(struct dp_match *m, const struct dp_order_msg *msg,
			      const struct dp_ref_px *ref, struct dp_exec_report *out, uint32_t *idx,
			      uint32_t cap)
{
	if (!call_begin(m, out, idx, cap))
		return 0;
	switch (msg->kind) {
	case DP_ORD_NEW:
		m->st.msgs[DP_ORD_NEW]++;
		on_new(m, msg, ref, key_hash(msg->session, msg->cl_ord_id), DP_MATCH_NO_SLOT);
		break;
	case DP_ORD_CANCEL:
		m->st.msgs[DP_ORD_CANCEL]++;
		on_cancel(m, msg, key_hash(msg->session, msg->orig_cl_ord_id));
		break;
	case DP_ORD_REPLACE:
		m->st.msgs[DP_ORD_REPLACE]++;
		on_replace(m, msg, ref, key_hash(msg->session, msg->cl_ord_id),
			   key_hash(msg->session, msg->orig_cl_ord_id));
		break;
	case DP_ORD_MASS_CANCEL:
		m->st.msgs[DP_ORD_MASS_CANCEL]++;
		on_mass(m, msg);
		break;
	default:
		m->st.msgs[0]++;
		rep_msg(m, msg, DP_EXEC_REJECTED, DP_RJ_BAD_TYPE, NULL);
		break;
	}
	return call_end(m);
}

uint32_t dp_match_new(struct dp_match *m, const struct dp_order_msg *msg,
		      const struct dp_ref_px *ref, uint32_t h, uint32_t slot,
		      struct dp_exec_report *out, uint32_t *idx, uint32_t cap)
{
	assert(msg->kind == DP_ORD_NEW && h == key_hash(msg->session, msg->cl_ord_id));
#ifndef NDEBUG
	uint32_t s_chk;
	assert(slot == DP_MATCH_NO_SLOT ||
	       (tab_find_at(m, msg->session, msg->cl_ord_id, h, &s_chk) == NIL && s_chk == slot));
#endif
	if (!call_begin(m, out, idx, cap))
		return 0;
	m->st.msgs[DP_ORD_NEW]++;
	on_new(m, msg, ref, h, slot);
	return call_end(m);
}

uint32_t dp_match_cancel(struct dp_match *m, const struct dp_order_msg *msg, uint32_t ho,
			 struct dp_exec_report *out, uint32_t *idx, uint32_t cap)
{
	assert(msg->kind == DP_ORD_CANCEL && ho == key_hash(msg->session, msg->orig_cl_ord_id));
	if (!call_begin(m, out, idx, cap))
		return 0;
	m->st.msgs[DP_ORD_CANCEL]++;
	on_cancel(m, msg, ho);
	return call_end(m);
}

uint32_t dp_match_replace(struct dp_match *m, const struct dp_order_msg *msg,
			  const struct dp_ref_px *ref, uint32_t h, uint32_t ho,
			  struct dp_exec_report *out, uint32_t *idx, uint32_t cap)
{
	assert(msg->kind == DP_ORD_REPLACE && h == key_hash(msg->session, msg->cl_ord_id) &&
	       ho == key_hash(msg->session, msg->orig_cl_ord_id));
	if (!call_begin(m, out, idx, cap))
		return 0;
	m->st.msgs[DP_ORD_REPLACE]++;
	on_replace(m, msg, ref, h, ho);
	return call_end(m);
}

/* The ladder slot of a price: lad_index without the range test (a key off
 * the window, or a side without a ladder, gives a harmless slot). */
static inline uint32_t lad_guess(const struct side *ss, uint32_t price, unsigned own)
{
	uint32_t x = (key_of(price, own) - ss->base) * ss->inv, r = ss->rot & 31;
	return ((x >> r) | (x << ((32 - r) & 31))) & (DP_LAD_SLOTS - 1);
}

/*
 * A new order looks at the best opposite level (marketable?) and rests
 * near the top of its own side: load that level, its own ladder slot and
 * the ladder's header (its bits change if the order makes a level). Reads
 * the symbol record, 64 bytes a symbol, mostly in L2. Inlined: out of
 * line, the call in every hint cost 7% of the benchmark's time.
 */
static inline __attribute__((always_inline)) void hint_levels(const struct dp_match *m,
							      const struct dp_order_msg *msg)
{
	if (msg->symbol >= m->max_symbols)
		return;
	const struct sym *sy = &m->sym[msg->symbol];
	unsigned own = msg->side == 'B' ? DP_MATCH_BID : DP_MATCH_ASK;
	const struct side *os = &sy->side[own ^ 1], *ss = &sy->side[own];
	uint32_t li = side_best(m, os);
	if (li != NIL)
		__builtin_prefetch(&m->lvl[li], 0);
	const struct dp_ladder *L = &m->lad[ss->lad];
	__builtin_prefetch(&L->slot[lad_guess(ss, msg->price, own)], 1);
	__builtin_prefetch(L, 1);
}

/*
 * Start the loads of a coming message. The order table (16 bytes a slot,
 * 2x max_orders) and the order pool are hit at random, the side arrays
 * and levels of 1000s of symbols too; issuing them a few messages early
 * hides most of their latency. The reads done here to find the addresses
 * (the slot of a cancel's target, a symbol's record with its sides' best
 * levels and ladder windows) are of small, mostly cached arrays. Pure
 * hint: changes nothing.
 *
 * early: the first stage of a two-stage hint was given for msg (the table
 * slots are on their way: not asked again; dp_match_prefetch_late handles
 * a new order itself). Returns the index the target of a cancel or
 * replace has if its slot is right (a guess: its first probe only), else
 * DP_MATCH_NO_ORDER.
 */
static inline __attribute__((always_inline)) uint32_t
prefetch_msg(const struct dp_match *m, const struct dp_order_msg *msg, const int early)
{
	const uint8_t kind = msg->kind;
	uint32_t oi = DP_MATCH_NO_ORDER;
	if (kind == DP_ORD_CANCEL || kind == DP_ORD_REPLACE) {
		uint32_t h = key_hash(msg->session, msg->orig_cl_ord_id);
		struct hslot s = m->tab[h & m->mask];
		if (s.idx1 && s.h == h) {
			oi = s.idx1 - 1;
			__builtin_prefetch(&m->ord[oi], 1);
			__builtin_prefetch(&m->link[oi], 1);
			if (s.lvl < m->max_levels)
				__builtin_prefetch(&m->lvl[s.lvl], 1);
			if ((s.at & 0x100) && msg->symbol < m->max_symbols) {
				/* the ladder slot and bits it clears if its level empties */
				const struct side *sd = &m->sym[msg->symbol].side[(s.at >> 9) & 1];
				const struct dp_ladder *L = &m->lad[sd->lad];
				__builtin_prefetch(&L->slot[s.at & (DP_LAD_SLOTS - 1)], 1);
				__builtin_prefetch(L, 1);
			}
		}
		if (kind == DP_ORD_CANCEL)
			return oi;
	} else if (kind != DP_ORD_NEW) {
		return oi;
	}
	/* the new id: its duplicate check, then the slot it takes if it rests */
	if (!early)
		__builtin_prefetch(&m->tab[key_hash(msg->session, msg->cl_ord_id) & m->mask], 1);
	if (kind == DP_ORD_NEW)
		hint_levels(m, msg);
	return oi;
}

void dp_match_prefetch(const struct dp_match *m, const struct dp_order_msg *msg)
{
	(void)prefetch_msg(m, msg, 0);
}

/*
 * First stage: the addresses made from the message itself (its ids'
 * table slots) and, for a new order, what its symbol record points to
 * (that record is small and mostly cached; the table is not and is not
 * read here), so the second stage's reads are cache hits instead of
 * misses that stall the hint.
 */
void dp_match_prefetch_early(const struct dp_match *m, const struct dp_order_msg *msg)
{
	const uint8_t kind = msg->kind;
	if (kind - 1u > DP_ORD_REPLACE - 1u) /* not NEW, CANCEL or REPLACE */
		return;
	if (kind != DP_ORD_NEW) {
		/* the target's slot, and the slot after it: erasing the target
		   shifts back from there (on the next line one time in four) */
		uint32_t ho = key_hash(msg->session, msg->orig_cl_ord_id);
		__builtin_prefetch(&m->tab[ho & m->mask], 0);
		__builtin_prefetch(&m->tab[(ho + 1) & m->mask], 0);
	}
	if (kind != DP_ORD_CANCEL)
		__builtin_prefetch(&m->tab[key_hash(msg->session, msg->cl_ord_id) & m->mask], 1);
	/* the symbol record read here, so the levels load a stage early and
	   the late stage can follow them */
	if (kind == DP_ORD_NEW)
		hint_levels(m, msg);
}

uint32_t dp_match_prefetch_late(const struct dp_match *m, const struct dp_order_msg *msg)
{
	if (msg->kind != DP_ORD_NEW || msg->symbol >= m->max_symbols)
		return prefetch_msg(m, msg, 1);
	const struct sym *sy = &m->sym[msg->symbol];
	unsigned own = msg->side == 'B' ? DP_MATCH_BID : DP_MATCH_ASK;
	const struct side *os = &sy->side[own ^ 1], *ss = &sy->side[own];
	/* the level it would join, if the ladder has it */
	uint32_t l1 = m->lad[ss->lad].slot[lad_guess(ss, msg->price, own)];
	if (l1 != 0)
		__builtin_prefetch(&m->lvl[l1 - 1], 1);
	/* marketable: the first order it would meet */
	uint32_t li = side_best(m, os);
	if (li == NIL)
		return DP_MATCH_NO_ORDER;
	uint32_t bp = os->bkey ^ (0u - (own ^ 1)); /* the best opposite price */
	if (msg->type != DP_ORD_MARKET && (own == DP_MATCH_BID ? msg->price < bp : msg->price > bp))
		return DP_MATCH_NO_ORDER;
	uint32_t head = m->lvl[li].head;
	if (head >= m->max_orders)
		return DP_MATCH_NO_ORDER;
	__builtin_prefetch(&m->ord[head], 1);
	__builtin_prefetch(&m->link[head], 1);
	return head;
}

uint32_t dp_match_resume(struct dp_match *m, struct dp_exec_report *out, uint32_t cap)
{
	return dp_match_resume_idx(m, out, NULL, cap);
}

uint32_t dp_match_resume_idx(struct dp_match *m, struct dp_exec_report *out, uint32_t *idx,
			     uint32_t cap)
{
	if (m->hdr.paused == PEND_NONE)
		return 0;
	if (cap < DP_MATCH_MIN_CAP) {
		m->st.misuse++;
		return 0;
	}
	m->out = out;
	m->idx_out = idx;
	m->n = 0;
	m->cap = cap;
	if (m->hdr.paused == PEND_MATCH)
		run_match(m);
	else
		run_mass(m);
	return m->n;
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */

const char *dp_match_reason_text(uint8_t reason)
{
	switch (reason) {
	case DP_RJ_NONE: return "none";
	case DP_RJ_BAD_SIDE: return "bad side";
	case DP_RJ_BAD_QTY: return "bad quantity";
	case DP_RJ_BAD_PRICE: return "bad price";
	case DP_RJ_BAD_TYPE: return "bad order type";
	case DP_RJ_BAD_TIF: return "bad time in force";
	case DP_RJ_UNKNOWN_SYMBOL: return "unknown symbol";
	case DP_RJ_UNKNOWN_ORDER: return "unknown order";
	case DP_RJ_DUPLICATE_ID: return "duplicate client order id";
	case DP_RJ_POST_ONLY_WOULD_TAKE: return "post-only order would take liquidity";
	case DP_RJ_FOK_NOT_FILLABLE: return "fill-or-kill order not fillable";
	case DP_RJ_IOC_REMAINDER: return "unfilled remainder of IOC or market order";
	case DP_RJ_NO_REFERENCE: return "no valid reference price";
	case DP_RJ_TRADE_THROUGH: return "would trade through the reference price";
	case DP_RJ_STP: return "self-trade prevention";
	case DP_RJ_BOOK_FULL: return "matching engine full";
	case DP_RJ_RISK_MAX_QTY: return "risk: max order quantity";
	case DP_RJ_RISK_MAX_NOTIONAL: return "risk: max order notional";
	case DP_RJ_RISK_PRICE_COLLAR: return "risk: price collar";
	case DP_RJ_RISK_CREDIT: return "risk: credit limit";
	case DP_RJ_RISK_MAX_POSITION: return "risk: max position";
	case DP_RJ_RISK_RESTRICTED: return "risk: restricted symbol";
	case DP_RJ_RISK_THROTTLE: return "risk: message rate throttle";
	case DP_RJ_RISK_UNKNOWN_ACCOUNT: return "risk: unknown account or session";
	case DP_RJ_KILL_SWITCH: return "kill switch";
	case DP_RJ_BACKPRESSURE: return "backpressure";
	default: return "unknown";
	}
}

int dp_match_depth(const struct dp_match *m, uint16_t symbol, int side,
		   struct dp_match_level *out, int max)
{
	if (symbol >= m->max_symbols || (side != DP_MATCH_BID && side != DP_MATCH_ASK) || max <= 0)
		return 0;
	const struct side *s = &m->sym[symbol].side[side];
	int k = 0;
	uint32_t key;
	for (uint32_t li = side_next(m, s, (uint64_t)1 << 32, &key); li != NIL && k < max;
	     li = side_next(m, s, key, &key)) {
		const struct lvl *l = &m->lvl[li];
		out[k].price = l->price;
		out[k].orders = l->count;
		out[k].qty = l->qty;
		k++;
	}
	return k;
}

static void info_of(const struct dp_match *m, uint32_t oi, struct dp_match_order_info *out)
{
	const struct ord *o = &m->ord[oi];
	out->cl_ord_id = o->cl_ord_id;
	out->order_id = o->order_id;
	out->account = o->account;
	out->session = o->session;
	out->symbol = o->symbol;
	out->side = o->side == DP_MATCH_BID ? 'B' : 'S';
	out->flags = (o->bits & OB_POST) ? DP_ORD_F_POST_ONLY : 0;
	out->price = o->price;
	out->qty = o->qty;
	out->leaves = o->qty - o->cum;
	out->cum = o->cum;
	out->avg_px = avg_px(o);
	uint32_t pos = 0;
	for (uint32_t p = m->link[oi].prev; p != NIL; p = m->link[p].prev)
		pos++;
	out->queue_pos = pos;
}

int dp_match_order(const struct dp_match *m, uint32_t session, uint64_t cl_ord_id,
		   struct dp_match_order_info *out)
{
	uint32_t oi = tab_find(m, session, cl_ord_id);
	if (oi == NIL)
		return -ENOENT;
	info_of(m, oi, out);
	return 0;
}

int dp_match_level_orders(const struct dp_match *m, uint16_t symbol, int side, uint32_t price,
			  struct dp_match_order_info *out, int max)
{
	if (symbol >= m->max_symbols || (side != DP_MATCH_BID && side != DP_MATCH_ASK))
		return 0;
	const struct side *s = &m->sym[symbol].side[side];
	uint32_t li = side_level(m, s, key_of(price, (unsigned)side));
	if (li == NIL)
		return 0;
	int k = 0;
	for (uint32_t oi = m->lvl[li].head; oi != NIL && k < max; oi = m->link[oi].next)
		info_of(m, oi, &out[k++]);
	return k;
}

const struct dp_match_stats *dp_match_stats(const struct dp_match *m)
{
	return &m->st;
}

uint32_t dp_match_find(const struct dp_match *m, uint32_t session, uint64_t cl_ord_id, uint32_t h,
		       uint32_t *slot)
{
	assert(h == key_hash(session, cl_ord_id));
	uint32_t sl, oi = tab_find_at(m, session, cl_ord_id, h, &sl);
	if (slot)
		*slot = sl;
	return oi == NIL ? DP_MATCH_NO_ORDER : oi;
}

uint32_t dp_match_max_orders(const struct dp_match *m)
{
	return m->max_orders;
}

uint32_t dp_match_live_orders(const struct dp_match *m)
{
	return m->ord_live;
}

uint32_t dp_match_live_levels(const struct dp_match *m)
{
	return m->lvl_live;
}

uint32_t dp_match_symbol_orders(const struct dp_match *m, uint16_t symbol)
{
	return symbol < m->max_symbols ? sym_orders_of(&m->sym[symbol]) : 0;
}

/*
 * Check the levels of one side: the FIFO of level li (key `key`), its
 * totals and orders. Returns 0 or the dp_match_check code; adds the
 * orders to *orders.
 */
static int check_level(const struct dp_match *m, uint32_t s, unsigned side, uint32_t li,
		       uint32_t key, uint32_t *orders)
{
	if (li >= m->lvl_bump)
		return -3;
	const struct lvl *l = &m->lvl[li];
	if (l->symbol != s || l->side != side || key_of(l->price, side) != key)
		return -4;
	uint64_t q = 0;
	uint32_t c = 0, prev = NIL;
	for (uint32_t oi = l->head; oi != NIL; oi = m->link[oi].next) {
		const struct ord *o = &m->ord[oi];
		if (++c > l->count || oi >= m->ord_bump)
			return -5;
		if (m->link[oi].prev != prev || o->lvl != li || o->price != l->price || o->symbol != s ||
		    o->side != side || !(o->bits & OB_RESTING))
			return -6;
		if (o->cum >= o->qty)
			return -7; /* resting with no leaves */
		if (prev != NIL && (int32_t)(o->tseq - m->ord[prev].tseq) <= 0)
			return -8; /* time priority broken */
		if (tab_find(m, o->session, o->cl_ord_id) != oi)
			return -9;
		q += o->qty - o->cum;
		prev = oi;
	}
	if (c != l->count || q != l->qty || l->tail != prev || c == 0)
		return -10;
	*orders += c;
	return 0;
}

int dp_match_check(const struct dp_match *m)
{
	uint64_t orders = 0, levels = 0;
	uint32_t lads = 0;
	for (uint32_t s = 0; s < m->max_symbols; s++) {
		const struct sym *sy = &m->sym[s];
		uint32_t sym_orders = 0;
		for (unsigned side = 0; side < 2; side++) {
			const struct side *sd = &sy->side[side];
			if (sd->n && (sd->cls == 0 || sd->n > (1u << sd->cls)))
				return -1;
			const struct pent *a = &m->arena[sd->off];
			for (uint32_t i = 0; i < sd->n; i++) {
				if (i && a[i - 1].key >= a[i].key)
					return -2; /* side array not strictly sorted */
				int rc = check_level(m, s, side, a[i].lvl, a[i].key, &sym_orders);
				if (rc)
					return rc;
				if (m->lvl[a[i].lvl].inl)
					return -15; /* array level marked as in the ladder */
				levels++;
			}
			if (sd->lad == 0)
				continue;
			if (sd->lad > m->lad_used)
				return -16;
			lads++;
			const struct dp_ladder *L = &m->lad[sd->lad];
			if ((sd->rot ? sd->inv != INV25 || sd->rot != 2 : sd->inv != 1) ||
			    sd->base % lad_tick(sd) != key_of(0, side) % lad_tick(sd) ||
			    (uint64_t)sd->base + (DP_LAD_SLOTS - 1) * (uint64_t)lad_tick(sd) > UINT32_MAX)
				return -17; /* window off the key space or its grid */
			for (uint32_t i = 0; i < DP_LAD_SLOTS; i++) {
				bool bit = (L->bits[i >> 6] >> (i & 63)) & 1;
				if (bit != (L->slot[i] != 0))
					return -18; /* bitmap and slots disagree */
				if (!bit)
					continue;
				uint32_t li = L->slot[i] - 1, key = lad_key(sd, i);
				int rc = check_level(m, s, side, li, key, &sym_orders);
				if (rc)
					return rc;
				if (!m->lvl[li].inl || m->lvl[li].idx != i)
					return -19; /* ladder level not marked with its slot */
				if (lad_index(sd, key) != i)
					return -20;
				int found;
				side_find(a, sd->n, key, &found);
				if (found)
					return -21; /* one key in both ladder and array */
				levels++;
			}
		}
		if (sym_orders != sym_orders_of(sy))
			return -11;
		orders += sym_orders;
		uint32_t bl = side_best(m, &sy->side[0]), al = side_best(m, &sy->side[1]);
		if (bl != NIL && al != NIL && m->lvl[bl].price >= m->lvl[al].price)
			return -12; /* crossed or locked */
		for (unsigned side = 0; side < 2; side++) {
			/* side_best is the best of ladder and array */
			const struct side *sd = &sy->side[side];
			uint32_t key, li = side_next(m, sd, (uint64_t)1 << 32, &key);
			if (li != sd->best || (li != NIL && key != sd->bkey))
				return -22;
		}
	}
	if (orders != m->ord_live || levels != m->lvl_live)
		return -13;
	if (lads != m->lad_used || m->lad_used > m->lad_n)
		return -16;
	const struct dp_ladder *L0 = &m->lad[0];
	if (L0->bits[0] | L0->bits[1])
		return -16; /* ladder 0 ("none") must stay empty */
	uint64_t slots = 0;
	for (uint32_t i = 0; i <= m->mask; i++)
		slots += m->tab[i].idx1 != 0;
	if (slots != m->ord_live + m->dfr_n)
		return -14;
	/* each entry of a filled order still waiting (tab_defer) is in its run */
	for (uint32_t k = 0; k < m->dfr_n; k++) {
		const uint32_t d = (m->dfr_next + TAB_DEFER - m->dfr_n + k) % TAB_DEFER;
		uint32_t i = m->dfr_h[d] & m->mask;
		while (m->tab[i].idx1 != 0 &&
		       (m->tab[i].idx1 != m->dfr_oi[d] + 1 || m->tab[i].h != m->dfr_h[d]))
			i = (i + 1) & m->mask;
		if (m->tab[i].idx1 == 0)
			return -23;
	}
	return 0;
}
