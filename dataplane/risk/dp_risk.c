/*
 * dp_risk.c - pre-trade risk: the checks, the bookkeeping of open exposure,
 * positions and P&L from execution reports, kill switches and counters.
 *
 * Tables (all open addressing, linear probing, power-of-two capacity at
 * least twice the configured maximum so probes stay short):
 *
 *   acct[]  account id          -> limits, exposure sums, kill flag
 *   sess[]  session id          -> throttle window, kill flag
 *   pos[]   (account, symbol)   -> position, open qty, restricted, cost and
 *                                  realized P&L (one 64-byte line)
 *   ids[]   (session, cl_ord_id) -> used today (duplicate detection), for ids
 *                                  outside their session's bitmap window
 *   otab[]  (session, cl_ord_id) -> live order: 8-byte slots {pool index + 1,
 *                                  hash} in front of ord[], the order pool
 *   eord[]  engine order index     -> live order of dp_risk_match (no key:
 *                                  reports carry the engine's index)
 *
 * acct, sess, pos and ids only ever grow during a day (no deletion), so an
 * entry's slot number is stable and other records refer to it by slot.
 * Live orders come and go: their 64-byte records live in a pool with a
 * LIFO free list (a new order mostly takes the line an order just left,
 * still in cache; with a day's churn over a table sized for the peak, a
 * record stored in its hash slot was a cold line for every new order and
 * every removal). The slot table is small (8 bytes an order slot) and
 * mostly stays in the last-level cache; its deletion shifts later slots
 * of the cluster back (no tombstones, so probe lengths do not degrade over
 * a day). Pool indices never move, so a record can be held across a
 * removal of another one.
 *
 * Ids first go to a per-session bitmap: a window of id_wbits ids opened at
 * the session's first id of the day (a session numbering its orders
 * upwards, the common case, uses one bit per id and touches one hot word
 * in 64, instead of a random line of a table sized for a day). Ids outside
 * the window use the hash table. The window never moves during a day, so
 * an id is always looked up where it was recorded; n_ids counts both.
 *
 * The id table places the ids of one session in runs: ids that differ
 * only in their two low bits share a home line (four 16-byte entries), so
 * a session numbering its orders upwards touches a new line every fourth
 * id instead of at every id. Any id pattern stays correct (full keys,
 * linear probing); only the locality differs.
 *
 * Sums of money are __int128: price * qty alone can reach 2^64, and a sum
 * of them more; 128 bits make overflow impossible for any day of trading
 * while costing next to nothing on x86-64. An account keeps its exposure
 * (open notional + position cost) as one sum, the number the credit check
 * compares.
 *
 * The limit checks of a NEW or REPLACE are compares or'ed together with
 * no branch per check (a check that is off has a bound no order reaches);
 * only an order that fails one walks them in their documented order
 * (ordered_reason) to find which reason to give.
 */
#include "dp_risk.h"

#include "dp_match.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

#define NS_PER_SEC 1000000000ull

enum ord_state { O_FREE = 0, O_PENDING_NEW = 1, O_PENDING_REPLACE = 2, O_LIVE = 3 };

/*
 * An account. The first line is what a check reads: the limits as the
 * check compares them (a check that is off gets a bound no order can
 * pass, so the fast path tests no enable bits) and the exposure. The
 * limits as set (lim) serve queries and the ordered walk that names the
 * reason of a failed check.
 */
struct acct {
	uint32_t max_qty;     /* max_order_qty, or UINT32_MAX when off */
	uint8_t killed;
	uint8_t need_ref[2];  /* [market]: an enabled check needs a usable reference */
	uint8_t collar_on;
	uint64_t max_notional; /* or UINT64_MAX when off */
	uint64_t max_position; /* or UINT64_MAX when off (a worst case is < 2^64) */
	uint32_t collar_bps;
	uint32_t live_orders;
	i128 credit;          /* credit_limit, or CREDIT_OFF */
	i128 exposure;        /* open notional (sum leaves * price of live orders) + pos_cost */
	/* second line */
	i128 pos_cost;        /* sum of pos.cost of this account */
	i128 realized;        /* sum of pos.realized of this account */
	uint32_t id;
	uint8_t used;
	struct dp_risk_limits lim;
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct acct, pos_cost) == 64, "what a check reads is one line");

/* Credit bound of an account whose credit check is off: above any exposure
 * (at most 2^30 orders of 2^64 each plus position cost). */
#define CREDIT_OFF ((i128)1 << 120)

struct sess {
	uint32_t id;
	uint8_t used;
	uint8_t killed;
	uint8_t win_open;  /* a throttle window has started */
	uint8_t id_win;    /* id_base is set (its first id of the day was seen) */
	uint32_t rate;     /* orders per second, 0 = unlimited */
	uint32_t count;    /* orders counted in the current window */
	uint64_t win_start;
	uint64_t id_base;  /* first id of its bitmap window (a multiple of 64) */
	uint64_t id_w0;    /* its bitmap window: first word in idbits (windows in order of creation) */
};

struct pmoney {
	i128 cost;          /* >= 0: |qty| * average cost, exact */
	i128 realized;
};

/*
 * A position: one 64-byte line. The first half is what a check and an
 * order report read; the money, touched by fills and queries, is in the
 * same line, so the hint that loads a position for the check also loads
 * what the order's fills will update (kept in a table of their own they
 * were a second cold line for every fill).
 *
 *   0      4     6    7    8        16         24          32              48              64
 *   | acct |sym  |rst |pad | qty    | open[0]  | open[1]   | m.cost (i128) | m.realized    |
 */
struct pos {
	uint32_t acct;      /* account slot + 1; 0 = empty entry */
	uint16_t symbol;
	uint8_t restricted;
	uint8_t pad;
	int64_t qty;
	uint64_t open[2];   /* leaves of live buys [0] and sells [1] */
	struct pmoney m;
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct pos) == 64, "a position is one cache line");

struct idkey {
	uint64_t id;
	uint32_t session;
	uint32_t used;
};

/*
 * A live order: one cache line in the order pool (32-bit indices, a LIFO
 * free list, so a new order mostly reuses a line just freed and still in
 * cache); state O_FREE = free record, its free-list link in next_free.
 */
struct ord {
	uint64_t cl_ord_id;
	uint64_t orig_id;   /* O_PENDING_REPLACE: cl_ord_id of the order replaced */
	uint32_t session;
	uint32_t acct;      /* account slot */
	uint32_t pos;       /* position slot */
	uint32_t price;     /* Price(4) exposure is valued at */
	uint32_t leaves;
	uint32_t hash;      /* hash_sid(session, cl_ord_id): its home slot without rehashing */
	uint16_t symbol;
	uint8_t sx;         /* side: 0 buy, 1 sell */
	uint8_t state;      /* ord_state */
	uint32_t next_free; /* O_FREE: next free record, or NIL */
	uint8_t pad[16];
} __attribute__((aligned(64)));

/*
 * A live order of an engine driven through dp_risk_match: 16 bytes beside
 * the engine's order record, at the engine's order index, so a report is
 * matched to it by the index the engine gives (no key, no hash, no table).
 * The account and the symbol are those of the position slot.
 */
struct eord {
	uint32_t pos;       /* position slot */
	uint32_t price;     /* Price(4) exposure is valued at */
	uint32_t leaves;
	uint8_t sx;         /* side: 0 buy, 1 sell */
	uint8_t live;
	uint8_t old;        /* live since before the last dp_risk_new_day */
	uint8_t pad;
};
_Static_assert(sizeof(struct eord) == 16, "engine-side risk record is 16 bytes");

/*
 * The order of the message dp_risk_match is handling, between its check
 * and its first report (its ACCEPTED or REPLACED moves it to its eord; a
 * refusal by the engine drops it): nothing is pending between messages.
 */
struct fly {
	struct eord e;      /* its record as it will land (live = 1, old = 0) */
	uint8_t active;
	uint8_t repl;       /* a REPLACE: target is the engine index of the order replaced */
	uint32_t target;
	uint32_t slot;      /* engine table slot of its id (dp_match_find), for dp_match_new */
};

/* Report capacity dp_risk_match passes to the engine (its index scratch). */
#define FUSED_CAP 1024

/* Order table slot: idx1 = pool index + 1 (0 = empty), h = its hash. */
struct oslot {
	uint32_t idx1;
	uint32_t h;
};

#define NIL UINT32_MAX
#define DIR_IDS 4096 /* account and session ids looked up without hashing */
_Static_assert(sizeof(struct ord) == 64, "order record is one cache line");

struct dp_risk {
	struct dp_risk_cfg cfg;
	struct dp_mem mem;
	void *block;
	struct dp_risk_stats st;
	uint8_t killed;         /* global kill switch */

	struct acct *acct;
	struct sess *sess;
	struct pos *pos;
	struct idkey *ids;
	uint64_t *idbits;       /* per session (in order of creation): a window of id_wbits used-id bits */
	struct ord *ord;        /* order pool, max_orders records */
	struct oslot *otab;     /* (session, cl_ord_id) -> pool index, open addressing */
	uint64_t *restricted;   /* all-accounts restricted symbols, one bit each */

	uint32_t amask, smask, pmask, imask, omask;
	uint32_t pshift;        /* 64 - log2(pmask + 1): pos_home */
	uint32_t id_wbits;      /* bits per session window, a power of two */
	uint32_t n_acct, n_sess, n_pos, n_ids, n_ord;
	uint32_t ord_free, ord_bump; /* free list head (NIL: none), records never used */
	uint32_t hint;          /* pool index of the order last recorded or reported about */
	/* Slot + 1 of accounts and sessions with ids below DIR_IDS (0: none),
	 * so the common small ids skip hashing and probing; larger ids are
	 * only in the hash tables (every id is in its hash table too). */
	uint32_t adir[DIR_IDS];
	uint32_t sdir[DIR_IDS];
	/* dp_risk_match: the engine it drives (bound at the first call), its
	 * live orders beside the engine's records, the order in flight and
	 * the engine's order index of each report of a call */
	const struct dp_match *em;
	struct eord *eord;       /* max_orders records, by engine order index */
	uint32_t n_eord;         /* engine indices covered (max_orders) */
	uint32_t n_eold;         /* live eord from before the last dp_risk_new_day */
	struct fly fly;
	/* dp_risk_match_prefetch_late: the first resting order a marketable
	 * new order would meet, as guessed by the last call [0] and the one
	 * before [1] (NIL: none) */
	uint32_t pf_first[2];
	uint32_t fidx[FUSED_CAP];
};

/* ------------------------------------------------------------------ */
/* Memory                                                              */

static uint32_t cap_for(uint32_t n)
{
	uint32_t c = 16;
	while (c < 2 * (uint64_t)n)
		c <<= 1;
	return c;
}

static size_t al64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

struct layout {
	size_t o_acct, o_sess, o_pos, o_ids, o_idbits, o_ord, o_otab, o_restr, o_eord,
		total;
};

static int cfg_ok(const struct dp_risk_cfg *c)
{
	const uint32_t big = 1u << 30;
	if (!c || !c->max_accounts || !c->max_sessions || !c->max_symbols || !c->max_positions ||
	    !c->max_orders || !c->max_ids)
		return 0;
	if (c->max_symbols > 65536 || c->max_accounts >= big || c->max_sessions >= big ||
	    c->max_positions >= big || c->max_orders >= big || c->max_ids >= big)
		return 0;
	return 1;
}

/*
 * Bytes between one session's window and the next, past its bits: one
 * cache line. Windows a power of two long would start at the same cache
 * set, and sessions that number their orders alike would have their
 * current lines in the same few sets (the bench's 16 sessions lost one in
 * six of them from the L2 that way); each window one line further on
 * spreads them.
 */
#define IDWIN_PAD 64

/*
 * Bits of a session's id window: about 4 x max_ids / max_sessions rounded
 * up to a power of two, between 512 (one cache line) and 2^24, so all
 * windows together take about max_ids bytes (the id hash takes 32 per id),
 * and at most 64 bytes a session when sessions outnumber ids (each
 * window then IDWIN_PAD further on).
 */
static uint32_t id_wbits_for(const struct dp_risk_cfg *c)
{
	uint64_t want = 4 * (uint64_t)c->max_ids / c->max_sessions;
	uint32_t w = 512;
	while (w < want && w < (1u << 24))
		w <<= 1;
	return w;
}

static void layout_of(const struct dp_risk_cfg *c, struct layout *l)
{
	size_t off = al64(sizeof(struct dp_risk));
	l->o_acct = off;
	off += al64((size_t)cap_for(c->max_accounts) * sizeof(struct acct));
	l->o_sess = off;
	off += al64((size_t)cap_for(c->max_sessions) * sizeof(struct sess));
	l->o_pos = off;
	off += al64((size_t)cap_for(c->max_positions) * sizeof(struct pos));
	l->o_ids = off;
	off += al64((size_t)cap_for(c->max_ids) * sizeof(struct idkey));
	l->o_idbits = off;
	off += al64((size_t)c->max_sessions * (id_wbits_for(c) / 8 + IDWIN_PAD));
	l->o_ord = off;
	off += al64((size_t)c->max_orders * sizeof(struct ord));
	l->o_otab = off;
	off += al64((size_t)cap_for(c->max_orders) * sizeof(struct oslot));
	l->o_restr = off;
	off += al64(((size_t)c->max_symbols + 63) / 64 * sizeof(uint64_t));
	l->o_eord = off;
	off += al64((size_t)c->max_orders * sizeof(struct eord));
	l->total = off;
}

size_t dp_risk_mem_size(const struct dp_risk_cfg *cfg)
{
	struct layout l;
	if (!cfg_ok(cfg))
		return 0;
	layout_of(cfg, &l);
	return l.total;
}

int dp_risk_create(struct dp_risk **out, const struct dp_risk_cfg *cfg,
		   const struct dp_mem *mem)
{
	struct dp_mem m = dp_mem_pick(mem);
	struct layout l;

	if (!out || !cfg_ok(cfg))
		return -EINVAL;
	layout_of(cfg, &l);
	uint8_t *blk = m.zalloc(l.total, m.arg);
	if (!blk)
		return -ENOMEM;
	struct dp_risk *r = (struct dp_risk *)blk;
	r->cfg = *cfg;
	r->mem = m;
	r->block = blk;
	r->acct = (struct acct *)(blk + l.o_acct);
	r->sess = (struct sess *)(blk + l.o_sess);
	r->pos = (struct pos *)(blk + l.o_pos);
	r->ids = (struct idkey *)(blk + l.o_ids);
	r->idbits = (uint64_t *)(blk + l.o_idbits);
	r->id_wbits = id_wbits_for(cfg);
	r->ord = (struct ord *)(blk + l.o_ord);
	r->otab = (struct oslot *)(blk + l.o_otab);
	r->ord_free = NIL;
	r->pf_first[0] = r->pf_first[1] = NIL;
	r->restricted = (uint64_t *)(blk + l.o_restr);
	r->eord = (struct eord *)(blk + l.o_eord);
	r->n_eord = cfg->max_orders;
	r->amask = cap_for(cfg->max_accounts) - 1;
	r->smask = cap_for(cfg->max_sessions) - 1;
	r->pmask = cap_for(cfg->max_positions) - 1;
	r->pshift = 64 - (uint32_t)__builtin_popcount(r->pmask);
	r->imask = cap_for(cfg->max_ids) - 1;
	r->omask = cap_for(cfg->max_orders) - 1;
	*out = r;
	return 0;
}

void dp_risk_destroy(struct dp_risk *r)
{
	if (!r)
		return;
	struct dp_mem m = r->mem;
	m.free(r->block, m.arg);
}

/* ------------------------------------------------------------------ */
/* Hashing and lookups                                                 */

/*
 * Multiplicative (Fibonacci) hash, bits 32..63 of the product: one multiply,
 * for the keys risk chooses or configures itself (account, session,
 * position), which are not client-chosen like order ids.
 */
static inline uint32_t fib(uint64_t x)
{
	return (uint32_t)((x * 0x9e3779b97f4a7c15ULL) >> 32);
}

/*
 * Home slot of (account slot, symbol): Fibonacci hashing proper, the top
 * bits of the product (pshift = 64 - log2 of the capacity). The keys are
 * runs of consecutive symbols per account, which the top bits spread
 * evenly over the table; bits from the middle of the product clustered
 * them (at the benchmark's 1 in 10 load, 13.6% of positions were off
 * their home slot, each a second cold line for its check; now none).
 */
static inline uint32_t pos_home(const struct dp_risk *r, uint32_t aslot, uint16_t sym)
{
	return (uint32_t)(((((uint64_t)(aslot + 1) << 16) | sym) * 0x9e3779b97f4a7c15ULL) >>
			  r->pshift);
}

/* The order key's hash: dp_order_key_hash of dp_order.h, the engine's too. */
static inline uint32_t hash_sid(uint32_t session, uint64_t id)
{
	return dp_order_key_hash(session, id);
}

/* Home slot in the id table: ids differing only in their 2 low bits share a line. */
static inline uint32_t ids_home(const struct dp_risk *r, uint32_t session, uint64_t id)
{
	return ((hash_sid(session, id >> 2) << 2) | (uint32_t)(id & 3)) & r->imask;
}

/* Slot of account id >= DIR_IDS, or -1. */
static __attribute__((noinline)) int64_t acct_find_hash(const struct dp_risk *r, uint32_t id)
{
	for (uint32_t i = fib(id) & r->amask;; i = (i + 1) & r->amask) {
		const struct acct *a = &r->acct[i];
		if (!a->used)
			return -1;
		if (a->id == id)
			return i;
	}
}

/* Slot of account id, or -1. */
static inline int64_t acct_find(const struct dp_risk *r, uint32_t id)
{
	if (id < DIR_IDS)
		return (int64_t)r->adir[id] - 1;
	return acct_find_hash(r, id);
}

static int64_t acct_get(struct dp_risk *r, uint32_t id)
{
	uint32_t i = fib(id) & r->amask;
	for (;; i = (i + 1) & r->amask) {
		if (!r->acct[i].used)
			break;
		if (r->acct[i].id == id)
			return i;
	}
	if (r->n_acct >= r->cfg.max_accounts)
		return -1;
	r->acct[i].used = 1;
	r->acct[i].id = id;
	r->n_acct++;
	if (id < DIR_IDS)
		r->adir[id] = i + 1;
	return i;
}

static inline int64_t sess_find(const struct dp_risk *r, uint32_t id)
{
	if (id < DIR_IDS)
		return (int64_t)r->sdir[id] - 1;
	for (uint32_t i = fib(id) & r->smask;; i = (i + 1) & r->smask) {
		const struct sess *s = &r->sess[i];
		if (!s->used)
			return -1;
		if (s->id == id)
			return i;
	}
}

/* Find or make a session through the hash (a new one, or an id >= DIR_IDS). */
static __attribute__((noinline)) struct sess *sess_get_slow(struct dp_risk *r, uint32_t id)
{
	uint32_t i = fib(id) & r->smask;
	for (;; i = (i + 1) & r->smask) {
		if (!r->sess[i].used)
			break;
		if (r->sess[i].id == id)
			return &r->sess[i];
	}
	if (r->n_sess >= r->cfg.max_sessions)
		return NULL;
	struct sess *s = &r->sess[i];
	s->used = 1;
	s->id = id;
	s->rate = r->cfg.default_orders_per_sec;
	s->id_w0 = (uint64_t)r->n_sess++ * (r->id_wbits / 64 + IDWIN_PAD / 8);
	if (id < DIR_IDS)
		r->sdir[id] = i + 1;
	return s;
}

/* Find or make a session (sessions are met on their first order). */
static inline struct sess *sess_get(struct dp_risk *r, uint32_t id)
{
	if (id < DIR_IDS && r->sdir[id])
		return &r->sess[r->sdir[id] - 1];
	return sess_get_slow(r, id);
}

/*
 * Position slot of (account slot, symbol): returns the slot; *found says
 * whether it holds the pair or is the empty slot where it would go.
 */
static inline uint32_t pos_probe(const struct dp_risk *r, uint32_t aslot, uint16_t sym,
				 int *found)
{
	uint32_t key = aslot + 1;
	uint32_t i = pos_home(r, aslot, sym);
	for (;; i = (i + 1) & r->pmask) {
		const struct pos *p = &r->pos[i];
		if (!p->acct) {
			*found = 0;
			return i;
		}
		if (p->acct == key && p->symbol == sym) {
			*found = 1;
			return i;
		}
	}
}

/* Claim the empty slot pos_probe returned. Caller checked capacity. */
static inline void pos_claim(struct dp_risk *r, uint32_t slot, uint32_t aslot, uint16_t sym)
{
	r->pos[slot].acct = aslot + 1;
	r->pos[slot].symbol = sym;
	r->n_pos++;
}

/* pos_claim unless the slot holds the pair already (found): then the same
 * values are written again, so whether it was found is not a branch. */
static inline void pos_take(struct dp_risk *r, uint32_t slot, uint32_t aslot, uint16_t sym,
			    int found)
{
	r->pos[slot].acct = aslot + 1;
	r->pos[slot].symbol = sym;
	r->n_pos += !found;
}

/* Find or make (account, symbol): slot, or -1 if the table is full. */
static int64_t pos_get(struct dp_risk *r, uint32_t aslot, uint16_t sym)
{
	int found;
	uint32_t i = pos_probe(r, aslot, sym, &found);
	if (found)
		return i;
	if (r->n_pos >= r->cfg.max_positions)
		return -1;
	pos_claim(r, i, aslot, sym);
	return i;
}

/*
 * Slot of the live order (session, cl_ord_id), or -1; *hslot = that slot,
 * or the empty slot where it would go.
 */
static inline int64_t ord_find_h(const struct dp_risk *r, uint32_t session, uint64_t id,
				 uint32_t h, uint32_t *hslot)
{
	for (uint32_t i = h & r->omask;; i = (i + 1) & r->omask) {
		const struct oslot sl = r->otab[i];
		if (sl.idx1 == 0) {
			if (hslot)
				*hslot = i;
			return -1;
		}
		if (sl.h == h) {
			const struct ord *o = &r->ord[sl.idx1 - 1];
			if (o->cl_ord_id == id && o->session == session) {
				if (hslot)
					*hslot = i;
				return sl.idx1 - 1;
			}
		}
	}
}

static inline int64_t ord_find(const struct dp_risk *r, uint32_t session, uint64_t id,
			       uint32_t *hslot)
{
	return ord_find_h(r, session, id, hash_sid(session, id), hslot);
}

/* Take pool record idx out of the table: find its slot by its stored hash
   (unless the caller knows it: slot != NIL) and empty it, shifting back
   later slots of its cluster (no tombstones). */
static void ord_unindex(struct dp_risk *r, uint32_t idx, uint32_t slot)
{
	const uint32_t mask = r->omask;
	uint32_t i = slot;
	if (i == NIL) {
		i = r->ord[idx].hash & mask;
		while (r->otab[i].idx1 != idx + 1)
			i = (i + 1) & mask;
	}
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		const struct oslot sl = r->otab[j];
		if (sl.idx1 == 0)
			break;
		uint32_t home = sl.h & mask;
		/* The slot at j may move to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			r->otab[i] = sl;
			i = j;
		}
	}
	r->otab[i].idx1 = 0;
	r->otab[i].h = 0;
}

/* ------------------------------------------------------------------ */
/* Order bookkeeping                                                   */

/* Move an order to new price and leaves, keeping every running sum exact. */
static inline void ord_set(struct dp_risk *r, struct ord *o, uint32_t price, uint32_t leaves)
{
	struct acct *a = &r->acct[o->acct];
	struct pos *p = &r->pos[o->pos];
	/* Both products are < 2^64: their difference is exact in 128 bits. */
	a->exposure += (i128)((uint64_t)price * leaves) - (i128)((uint64_t)o->price * o->leaves);
	p->open[o->sx] = p->open[o->sx] - o->leaves + leaves;
	o->price = price;
	o->leaves = leaves;
}

/*
 * Remove the live order at pool index idx (no other record moves). slot:
 * its order table slot when the caller just found it, NIL to look it up.
 */
static void ord_remove(struct dp_risk *r, uint32_t idx, uint32_t slot)
{
	struct ord *o = &r->ord[idx];
	struct acct *a = &r->acct[o->acct];
	a->exposure -= (i128)((uint64_t)o->price * o->leaves);
	r->pos[o->pos].open[o->sx] -= o->leaves;
	o->leaves = 0;
	a->live_orders--;
	ord_unindex(r, idx, slot);
	o->state = O_FREE;
	o->next_free = r->ord_free;
	r->ord_free = idx;
	r->n_ord--;
}

/*
 * Apply a fill of q shares at px to a position, average cost method: a fill
 * that adds to the position (or opens it) adds px * q to the cost; a fill
 * that reduces it takes the closed shares' share of the cost out
 * (cost * closed / held, rounded down, exact when the position closes) and
 * realizes the difference with the fill's proceeds; what is left of the fill
 * after crossing zero opens the other side at px.
 */
static inline __attribute__((always_inline)) void
pos_fill(struct acct *a, struct pos *p, struct pmoney *pm, char side, uint32_t px, uint32_t q)
{
	int64_t dir = side == 'B' ? 1 : -1;
	if (p->qty == 0 || (p->qty > 0) == (dir > 0)) {
		i128 add = (i128)px * q;
		pm->cost += add;
		a->pos_cost += add;
		a->exposure += add;
		p->qty += dir * (int64_t)q;
		return;
	}
	uint64_t held = p->qty > 0 ? (uint64_t)p->qty : (uint64_t)-p->qty;
	uint64_t c = q < held ? q : held;
	i128 removed = pm->cost * (i128)c / (i128)held;
	i128 proceeds = (i128)px * c;
	i128 pnl = p->qty > 0 ? proceeds - removed : removed - proceeds;
	pm->realized += pnl;
	a->realized += pnl;
	pm->cost -= removed;
	a->pos_cost -= removed;
	a->exposure -= removed;
	p->qty += dir * (int64_t)c;
	if (q > c) {
		uint64_t rest = q - c;
		i128 add = (i128)px * rest;
		p->qty = dir * (int64_t)rest;
		pm->cost = add;
		a->pos_cost += add;
		a->exposure += add;
	}
}

/* ------------------------------------------------------------------ */
/* Check                                                               */

/*
 * Whether id falls in the session's bitmap window (opening the window at
 * the first id the session uses today). Ids outside it use the hash table;
 * either way an id is found exactly where it was recorded, because the
 * window of a session never moves during a day.
 */
static inline int id_in_window(const struct dp_risk *r, struct sess *s, uint64_t id)
{
	if (!s->id_win) {
		s->id_win = 1;
		s->id_base = id & ~(uint64_t)63;
	}
	return id - s->id_base < r->id_wbits;
}

static inline int ref_usable(const struct dp_ref_px *ref)
{
	return ref && ref->valid && ref->bid && ref->ask;
}

/* Throttle (a session with a rate): fixed one-second windows opened by the
 * first order after the last. Returns 1 and counts the order, or 0 (over). */
static __attribute__((noinline)) int throttle_take(struct sess *s, uint64_t now_ns)
{
	/* A clock that steps back stays in the current window (never frees budget). */
	if (!s->win_open || (now_ns >= s->win_start && now_ns - s->win_start >= NS_PER_SEC)) {
		s->win_open = 1;
		s->win_start = now_ns;
		s->count = 0;
	}
	if (s->count >= s->rate)
		return 0;
	s->count++;
	return 1;
}

/* An id outside its session's window: the hash table. DP_RJ_NONE = new, now used. */
static __attribute__((noinline)) enum dp_reject_reason id_use_hash(struct dp_risk *r,
								   const struct dp_order_msg *m)
{
	uint32_t i = ids_home(r, m->session, m->cl_ord_id);
	for (;; i = (i + 1) & r->imask) {
		struct idkey *k = &r->ids[i];
		if (!k->used)
			break;
		if (k->id == m->cl_ord_id && k->session == m->session)
			return DP_RJ_DUPLICATE_ID;
	}
	if (r->n_ids >= r->cfg.max_ids) {
		r->st.ids_full++;
		return DP_RJ_BOOK_FULL;
	}
	r->ids[i].used = 1;
	r->ids[i].id = m->cl_ord_id;
	r->ids[i].session = m->session;
	r->n_ids++;
	return DP_RJ_NONE;
}

/*
 * Steps 4-11 of docs/RISK.md one after the other, as documented: the
 * reason of the first check that fails, DP_RJ_NONE if all pass. check()
 * runs it only when its unordered test found a failure, so this order,
 * not that test, decides which reason a client sees. old: the target of a
 * replace (NULL for a NEW).
 */
static __attribute__((noinline, cold)) enum dp_reject_reason
ordered_reason(const struct dp_risk *r, const struct dp_order_msg *m, const struct dp_ref_px *ref,
	       uint32_t as, const struct ord *old)
{
	const struct acct *a = &r->acct[as];
	uint16_t sym;
	char side;
	if (old) {
		sym = old->symbol;
		side = old->sx ? 'S' : 'B';
	} else {
		sym = m->symbol;
		side = m->side;
		if (side != 'B' && side != 'S')
			return DP_RJ_BAD_SIDE;
	}
	if (m->type != DP_ORD_LIMIT && m->type != DP_ORD_MARKET)
		return DP_RJ_BAD_TYPE;
	if (m->qty == 0)
		return DP_RJ_BAD_QTY;
	const int market = m->type == DP_ORD_MARKET;
	if (!market && m->price == 0)
		return DP_RJ_BAD_PRICE;
	if (sym >= r->cfg.max_symbols)
		return DP_RJ_UNKNOWN_SYMBOL;

	/* 5. restricted, for everyone or for this account */
	if (r->restricted[sym >> 6] >> (sym & 63) & 1)
		return DP_RJ_RISK_RESTRICTED;
	int pfound;
	uint32_t ps = pos_probe(r, as, sym, &pfound);
	const struct pos *p = pfound ? &r->pos[ps] : NULL;
	if (p && p->restricted)
		return DP_RJ_RISK_RESTRICTED;

	const struct dp_risk_limits *lim = &a->lim;
	const uint32_t en = lim->enabled;

	/* 6. max order quantity */
	if ((en & DP_RISK_CHK_MAX_QTY) && m->qty > lim->max_order_qty)
		return DP_RJ_RISK_MAX_QTY;

	/* 7. reference price, for the checks that need one: fail closed without it */
	const int have_ref = ref_usable(ref);
	const int need_ref = market ? (en & (DP_RISK_CHK_MAX_NOTIONAL | DP_RISK_CHK_CREDIT)) != 0
				    : (en & DP_RISK_CHK_COLLAR) != 0;
	if (need_ref && !have_ref)
		return DP_RJ_NO_REFERENCE;
	/* A market order is valued at the far touch: what it pays first. */
	uint32_t px = market ? (have_ref ? (side == 'B' ? ref->ask : ref->bid) : 0) : m->price;

	/* 8. price collar around the mid: |px - mid| <= mid * bps / 10000, in half ticks */
	if (!market && (en & DP_RISK_CHK_COLLAR)) {
		uint64_t mid2 = (uint64_t)ref->bid + ref->ask;
		uint64_t px2 = (uint64_t)px * 2;
		uint64_t diff = px2 > mid2 ? px2 - mid2 : mid2 - px2;
		if (diff * 10000u > mid2 * lim->collar_bps)
			return DP_RJ_RISK_PRICE_COLLAR;
	}

	/* 9. max order notional (the whole new order, for a replace too) */
	uint64_t notional = (uint64_t)px * m->qty; /* < 2^64: both factors < 2^32 */
	if ((en & DP_RISK_CHK_MAX_NOTIONAL) && notional > lim->max_order_notional)
		return DP_RJ_RISK_MAX_NOTIONAL;

	/* 10. max position: worst case if every same-side order fills. A replace
	 * counts only its increase; one that does not increase always passes. */
	int64_t dq = (int64_t)m->qty - (old ? (int64_t)old->leaves : 0);
	if ((en & DP_RISK_CHK_MAX_POSITION) && dq > 0) {
		i128 worst;
		int64_t pq = p ? p->qty : 0;
		if (side == 'B')
			worst = (i128)pq + (p ? p->open[0] : 0) + dq;
		else
			worst = (i128)(p ? p->open[1] : 0) + dq - pq;
		if (worst > (i128)lim->max_position)
			return DP_RJ_RISK_MAX_POSITION;
	}

	/* 11. credit: gross open exposure after the order. Same rule for replaces. */
	i128 add = (i128)notional - (old ? (i128)old->price * old->leaves : 0);
	if ((en & DP_RISK_CHK_CREDIT) && add > 0 && a->exposure + add > (i128)lim->credit_limit)
		return DP_RJ_RISK_CREDIT;
	return DP_RJ_NONE;
}

/*
 * Steps 1 and 2 of docs/RISK.md one after the other, as documented (the
 * kill switches, the session and the account, the throttle): the reason
 * of the first that fails, or DP_RJ_NONE with *s and *as set. check()
 * runs it when its one test of the common case did not pass.
 */
static __attribute__((noinline)) enum dp_reject_reason
who_asks(struct dp_risk *r, const struct dp_order_msg *m, uint64_t now_ns, struct sess **sp,
	 int64_t *asp)
{
	if (r->killed)
		return DP_RJ_KILL_SWITCH;
	struct sess *s = sess_get(r, m->session);
	if (!s) {
		r->st.sessions_full++;
		return DP_RJ_BOOK_FULL;
	}
	if (s->killed)
		return DP_RJ_KILL_SWITCH;
	int64_t as = acct_find(r, m->account);
	if (as < 0)
		return DP_RJ_RISK_UNKNOWN_ACCOUNT;
	if (r->acct[as].killed)
		return DP_RJ_KILL_SWITCH;
	if (s->rate && !throttle_take(s, now_ns))
		return DP_RJ_RISK_THROTTLE;
	*sp = s;
	*asp = as;
	return DP_RJ_NONE;
}

/* The position of a pair never traded nor restricted: what a check reads. */
static const struct pos pos_none;

/*
 * Check a NEW (repl = 0) or a REPLACE (repl = 1): inlined once for each,
 * so the NEW path carries nothing of a replace's target. em: NULL for a
 * check of dp_risk_check (live orders in risk's own table, a pending order
 * recorded there); the engine for dp_risk_match (live orders are the
 * engine's resting orders, found through its table, with risk's fields in
 * eord[] at their engine index; a passing order waits in r->fly for its
 * first report). The same checks, reasons and sums either way.
 */
static inline __attribute__((always_inline)) enum dp_reject_reason
check(struct dp_risk *r, const struct dp_order_msg *m, const struct dp_ref_px *ref,
      uint64_t now_ns, const int repl, const uint32_t h, const uint32_t ho,
      const struct dp_match *em)
{
	/* 1-2. kill switches, who is asking, throttle: for a known session
	 * and account (ids in the direct index) with no kill switch on and no
	 * rate, one test; anything else takes the steps one by one. */
	struct sess *s;
	int64_t as;
	const uint32_t sid = m->session, aid = m->account;
	const uint32_t s1 = sid < DIR_IDS ? r->sdir[sid] : 0;
	const uint32_t a1 = aid < DIR_IDS ? r->adir[aid] : 0;
	if (__builtin_expect(s1 && a1, 1)) {
		s = &r->sess[s1 - 1];
		as = a1 - 1;
		if (__builtin_expect(r->killed | s->killed | r->acct[as].killed | (s->rate != 0), 0)) {
			enum dp_reject_reason rc = who_asks(r, m, now_ns, &s, &as);
			if (rc != DP_RJ_NONE)
				return rc;
		}
	} else {
		enum dp_reject_reason rc = who_asks(r, m, now_ns, &s, &as);
		if (rc != DP_RJ_NONE)
			return rc;
	}
	struct acct *a = &r->acct[as];

	/* 3. duplicate client order id: the id is used from here on, whatever
	 * follows. A replace may keep its order's id (the matcher allows it). */
	const int same_id = repl && m->cl_ord_id == m->orig_cl_ord_id;
	if (!same_id && id_in_window(r, s, m->cl_ord_id)) {
		uint64_t off = m->cl_ord_id - s->id_base;
		uint64_t *w = &r->idbits[s->id_w0 + (off >> 6)];
		uint64_t bit = 1ull << (off & 63);
		if (*w & bit)
			return DP_RJ_DUPLICATE_ID;
		if (r->n_ids >= r->cfg.max_ids) {
			r->st.ids_full++;
			return DP_RJ_BOOK_FULL;
		}
		*w |= bit;
		r->n_ids++;
	} else if (!same_id) {
		enum dp_reject_reason rc = id_use_hash(r, m);
		if (rc != DP_RJ_NONE)
			return rc;
	}

	/*
	 * 4-11: every check at once, as compares or'ed into `bad` with the
	 * limits of a check that is off at a bound no order reaches; only
	 * when something failed does ordered_reason() walk them in their
	 * documented order for the reason. First the message itself (the
	 * symbol must be known before its tables are read).
	 */
	const struct ord *old = NULL;
	struct ord eold; /* dp_risk_match: what a check reads of the target, from eord[] */
	uint32_t target = NIL;
	uint16_t sym;
	unsigned sx;
	uint32_t bad = 0;
	if (repl && em) {
		target = dp_match_find(em, m->session, m->orig_cl_ord_id, ho, NULL);
		const struct eord *e = target < r->n_eord ? &r->eord[target] : NULL;
		if (!e || !e->live || r->pos[e->pos].acct != (uint32_t)as + 1)
			return DP_RJ_UNKNOWN_ORDER;
		eold.symbol = r->pos[e->pos].symbol;
		eold.sx = e->sx;
		eold.price = e->price;
		eold.leaves = e->leaves;
		old = &eold;
		sym = eold.symbol;
		sx = eold.sx;
	} else if (repl) {
		int64_t oi = ord_find_h(r, m->session, m->orig_cl_ord_id, ho, NULL);
		if (oi < 0 || r->ord[oi].acct != (uint32_t)as)
			return DP_RJ_UNKNOWN_ORDER;
		old = &r->ord[oi];
		sym = old->symbol;
		sx = old->sx;
	} else {
		sym = m->symbol;
		sx = m->side == 'S';
		bad = !sx & (m->side != 'B');
	}
	const uint32_t qty = m->qty;
	const unsigned market = m->type == DP_ORD_MARKET;
	bad |= (uint8_t)(m->type - DP_ORD_LIMIT) > DP_ORD_MARKET - DP_ORD_LIMIT;
	bad |= !market & (m->price == 0);
	bad |= sym >= r->cfg.max_symbols;
	bad |= qty - 1u >= a->max_qty; /* qty 0, or over the maximum (6) */
	if (__builtin_expect(bad, 0))
		return ordered_reason(r, m, ref, (uint32_t)as, old);

	int pfound;
	const uint32_t ps = pos_probe(r, (uint32_t)as, sym, &pfound);
	const struct pos *p = pfound ? &r->pos[ps] : &pos_none;
	bad = (r->restricted[sym >> 6] >> (sym & 63) & 1) | p->restricted;
	const unsigned have_ref = ref_usable(ref);
	bad |= a->need_ref[market] & !have_ref;
	uint32_t px = m->price;
	if (market)
		px = have_ref ? (sx ? ref->bid : ref->ask) : 0;
	else if (a->collar_on && have_ref) {
		uint64_t mid2 = (uint64_t)ref->bid + ref->ask;
		uint64_t px2 = (uint64_t)px * 2;
		uint64_t diff = px2 > mid2 ? px2 - mid2 : mid2 - px2;
		bad |= diff * 10000u > mid2 * a->collar_bps;
	}
	const uint64_t notional = (uint64_t)px * qty; /* < 2^64: both factors < 2^32 */
	bad |= notional > a->max_notional;
	/* Position: same-side open < 2^62 (2^30 orders of < 2^32), so with the
	 * position and the increase the worst case fits in 128 bits easily. */
	const uint64_t old_value = old ? (uint64_t)old->price * old->leaves : 0;
	const int64_t dq = (int64_t)qty - (old ? (int64_t)old->leaves : 0);
	/* the position signed for this side (a sell counts it negated), no branch */
	const i128 pq = (i128)p->qty * (1 - 2 * (int64_t)sx);
	bad |= (dq > 0) & ((i128)p->open[sx] + dq + pq > (i128)a->max_position);
	/*
	 * Credit: an increase of the notional (below 2^64) over the room left,
	 * credit - exposure (128 bits: negative once over, 2^64 or more when
	 * the check is off), exactly as exposure + increase > credit.
	 */
	const i128 room = a->credit - a->exposure;
	const int64_t room_hi = (int64_t)(room >> 64);
	bad |= (notional > old_value) &
	       ((room_hi < 0) | ((room_hi == 0) & (notional - old_value > (uint64_t)room)));
	if (__builtin_expect(bad, 0)) {
		enum dp_reject_reason rc = ordered_reason(r, m, ref, (uint32_t)as, old);
		if (rc != DP_RJ_NONE)
			return rc;
	}

	/* 12. room to track it */
	if (__builtin_expect(!pfound & (r->n_pos >= r->cfg.max_positions), 0)) {
		r->st.positions_full++;
		return DP_RJ_BOOK_FULL;
	}
	if (same_id && !em) {
		/* Nothing to add: the live entry (one record per key in risk's
		 * own table) takes the new price and leaves from the REPLACED
		 * report. Under dp_risk_match a replace keeping its id goes in
		 * flight like any other (its REPLACED removes the old entry and
		 * lands the new one at the same engine index). */
		pos_take(r, ps, (uint32_t)as, sym, pfound);
		return DP_RJ_NONE;
	}
	/*
	 * Still live from before dp_risk_new_day. Every live order's id was
	 * recorded by step 3 on the day it got it, so an id passing step 3
	 * can only be live if an order outlived a new day. dp_risk_match asks
	 * the engine only then (n_eold), and the engine takes the slot its
	 * lookup ended on for a NEW instead of probing again; otherwise the
	 * engine's own duplicate probe is the one probe.
	 */
	uint32_t hs = 0;
	if (em) {
		r->fly.slot = DP_MATCH_NO_SLOT;
		if (__builtin_expect(r->n_eold != 0, 0) && !same_id &&
		    dp_match_find(em, m->session, m->cl_ord_id, hash_sid(m->session, m->cl_ord_id),
				  &r->fly.slot) != DP_MATCH_NO_ORDER)
			return DP_RJ_DUPLICATE_ID;
	} else if (ord_find_h(r, m->session, m->cl_ord_id, h, &hs) >= 0) {
		return DP_RJ_DUPLICATE_ID;
	}
	if (r->n_ord >= r->cfg.max_orders) {
		r->st.orders_full++;
		return DP_RJ_BOOK_FULL;
	}

	/* Passed: record it as pending; its exposure counts from now on. */
	pos_take(r, ps, (uint32_t)as, sym, pfound);
	a->exposure += notional;
	r->pos[ps].open[sx] += qty;
	a->live_orders++;
	r->n_ord++;
	if (em) {
		/* in flight until its ACCEPTED / REPLACED (or its refusal) */
		r->fly.e = (struct eord){ ps, px, qty, (uint8_t)sx, 1, 0, 0 };
		r->fly.active = 1;
		r->fly.repl = (uint8_t)repl;
		r->fly.target = target;
		return DP_RJ_NONE;
	}
	/* n_ord was below max_orders: a free record exists */
	uint32_t oi;
	if (r->ord_free != NIL) {
		oi = r->ord_free;
		r->ord_free = r->ord[oi].next_free;
	} else {
		oi = r->ord_bump++;
	}
	r->otab[hs].idx1 = oi + 1;
	r->otab[hs].h = h;
	struct ord *o = &r->ord[oi];
	o->cl_ord_id = m->cl_ord_id;
	o->orig_id = repl ? m->orig_cl_ord_id : 0;
	o->session = m->session;
	o->acct = (uint32_t)as;
	o->pos = ps;
	o->price = px;
	o->leaves = qty;
	o->hash = h;
	o->symbol = sym;
	o->sx = (uint8_t)sx;
	o->state = repl ? O_PENDING_REPLACE : O_PENDING_NEW;
	r->hint = oi; /* its ACCEPTED / REPLACED report comes next */
	return DP_RJ_NONE;
}

/*
 * Start fetching the home slots a check of m will probe: the id table and
 * the live-order hash are too big for the caches and are hit at random, so
 * issuing these loads a few messages early hides most of their latency.
 * Pure hint: reads nothing, changes nothing.
 */
static __attribute__((noinline)) void prefetch_all(const struct dp_risk *r,
						   const struct dp_order_msg *m)
{
	/* A cancel's report and a replace's check read the target's record
	 * (in risk's table; for dp_risk_match, beside the engine's record: the
	 * engine's hint finds that one, and eord[] is small). */
	const uint8_t kind = m->kind;
	const int own = r->em == NULL;
	if (kind - 1u > DP_ORD_REPLACE - 1u) /* not NEW, CANCEL or REPLACE */
		return;
	if (own && kind != DP_ORD_NEW) {
		/* The target's slot, and through it its record: the slot table
		 * (8 bytes a slot) mostly stays in the last-level cache, so the
		 * read below is short, and the record load starts early. */
		uint32_t h = hash_sid(m->session, m->orig_cl_ord_id);
		const struct oslot sl = r->otab[h & r->omask];
		if (sl.idx1 && sl.h == h)
			__builtin_prefetch(&r->ord[sl.idx1 - 1], 1);
	}
	/* The position: a cancel's report moves its open quantity, a check
	 * reads it. Its slot needs the account slot (a small, cached table):
	 * a guess on its home from the message's account and symbol (a
	 * replace's or cancel's symbol is its target's, which the message
	 * repeats; a wrong guess only costs the load). */
	int64_t as = acct_find(r, m->account);
	if (as >= 0)
		__builtin_prefetch(&r->pos[pos_home(r, (uint32_t)as, m->symbol)], 1);
	if (kind == DP_ORD_CANCEL)
		return;
	if (own) {
		__builtin_prefetch(&r->otab[hash_sid(m->session, m->cl_ord_id) & r->omask], 1);
		if (r->ord_free != NIL)
			__builtin_prefetch(&r->ord[r->ord_free], 1);
	}
	/* The id: its session's bitmap word is in cache (a session's ids are
	 * mostly near each other); the hash slot only outside the window. */
	int64_t si = sess_find(r, m->session);
	const struct sess *s = si >= 0 ? &r->sess[si] : NULL;
	if (!s || !s->id_win || m->cl_ord_id - s->id_base >= r->id_wbits)
		__builtin_prefetch(&r->ids[ids_home(r, m->session, m->cl_ord_id)], 1);
}

/*
 * The common case in a few instructions and no frame: an engine bound
 * (dp_risk_match: no order slots of risk's own to load) and account and
 * session ids in the direct index; the rest in prefetch_all().
 */
static inline __attribute__((always_inline)) void risk_hint(const struct dp_risk *r,
							      const struct dp_order_msg *m)
{
	const uint8_t kind = m->kind;
	if (kind - 1u > DP_ORD_REPLACE - 1u) /* not NEW, CANCEL or REPLACE */
		return;
	const uint32_t account = m->account, session = m->session;
	if (__builtin_expect((r->em == NULL) | (account >= DIR_IDS) | (session >= DIR_IDS), 0)) {
		prefetch_all(r, m);
		return;
	}
	const uint32_t a1 = r->adir[account];
	if (a1)
		__builtin_prefetch(&r->pos[pos_home(r, a1 - 1, m->symbol)], 1);
	if (kind == DP_ORD_CANCEL)
		return;
	const uint32_t s1 = r->sdir[session];
	const struct sess *s = s1 ? &r->sess[s1 - 1] : NULL;
	if (__builtin_expect(!s || !s->id_win || m->cl_ord_id - s->id_base >= r->id_wbits, 0))
		__builtin_prefetch(&r->ids[ids_home(r, session, m->cl_ord_id)], 1);
}

void dp_risk_prefetch(const struct dp_risk *r, const struct dp_order_msg *m)
{
	risk_hint(r, m);
}

/*
 * The two-stage hint of dp_risk_match: first what the message's own
 * fields address (risk's position, the engine's table slots and symbol
 * record), then, some messages later, what those point to, read from
 * cache: the engine's target order and levels, and risk's record of the
 * target beside the engine's (a cancel's CANCELLED and a replace's check
 * read it).
 */
void dp_risk_match_prefetch_early(const struct dp_risk *r, const struct dp_match *m,
				  const struct dp_order_msg *msg)
{
	risk_hint(r, msg);
	dp_match_prefetch_early(m, msg); /* a tail call */
}

void dp_risk_match_prefetch_late(struct dp_risk *r, const struct dp_match *m,
				 const struct dp_order_msg *msg)
{
	uint32_t oi = dp_match_prefetch_late(m, msg);
	const int ok = oi < r->n_eord && r->em == m;
	if (ok)
		__builtin_prefetch(&r->eord[oi], 1);
	/*
	 * The position of the first resting order a marketable order meets:
	 * its fill updates it (the passive side's cold line, most of
	 * e_report's time), and only risk's record of that order, loaded
	 * just above, says which it is. So it is read two calls later, by
	 * then from cache, and the position asked for then, a message ahead
	 * of the fill. A guess: the order may be gone by then; any record
	 * names a position slot.
	 */
	const uint32_t first = r->pf_first[1];
	r->pf_first[1] = r->pf_first[0];
	r->pf_first[0] = ok && msg->kind == DP_ORD_NEW ? oi : NIL;
	if (__builtin_expect(first != NIL, 0))
		__builtin_prefetch(&r->pos[r->eord[first].pos], 1);
}

enum dp_reject_reason dp_risk_check(struct dp_risk *r, const struct dp_order_msg *m,
				    const struct dp_ref_px *ref, uint64_t now_ns)
{
	/* Cancels reduce risk: never blocked, not throttled, not even by a kill switch. */
	if (m->kind == DP_ORD_CANCEL || m->kind == DP_ORD_MASS_CANCEL) {
		r->st.cancels++;
		return DP_RJ_NONE;
	}
	r->st.checked++;
	enum dp_reject_reason rc;
	if (m->kind == DP_ORD_NEW)
		rc = check(r, m, ref, now_ns, 0, hash_sid(m->session, m->cl_ord_id), 0, NULL);
	else if (m->kind == DP_ORD_REPLACE)
		rc = check(r, m, ref, now_ns, 1, hash_sid(m->session, m->cl_ord_id),
			   hash_sid(m->session, m->orig_cl_ord_id), NULL);
	else
		rc = DP_RJ_BAD_TYPE;
	if (rc == DP_RJ_NONE)
		r->st.passed++;
	else
		r->st.rejected[rc & 63]++;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

/* slot: the order table slot of order oi if known, else NIL. */
static void on_fill(struct dp_risk *r, const struct dp_exec_report *rep, int64_t oi, uint32_t slot)
{
	struct acct *a;
	uint32_t ps;
	if (oi >= 0) {
		struct ord *o = &r->ord[oi];
		a = &r->acct[o->acct];
		ps = o->pos;
	} else {
		/* Not an order risk saw: keep the position anyway, it is real. */
		r->st.reports_untracked++;
		int64_t as = acct_find(r, rep->account);
		int64_t pg = as >= 0 && rep->symbol < r->cfg.max_symbols
				     ? pos_get(r, (uint32_t)as, rep->symbol) : -1;
		if (pg < 0 || (rep->side != 'B' && rep->side != 'S')) {
			r->st.fills_untracked++;
			return;
		}
		a = &r->acct[as];
		ps = (uint32_t)pg;
	}
	if (rep->last_qty)
		pos_fill(a, &r->pos[ps], &r->pos[ps].m, rep->side, rep->last_px, rep->last_qty);
	if (oi >= 0) {
		struct ord *o = &r->ord[oi];
		if (rep->leaves_qty == 0)
			ord_remove(r, (uint32_t)oi, slot);
		else
			ord_set(r, o, o->price, rep->leaves_qty);
	}
}

/* Any report (dp_risk_on_report takes the commonest itself). */
static __attribute__((noinline)) void on_report(struct dp_risk *r, const struct dp_exec_report *rep)
{
	/* Most reports are about the order checked or reported about just
	 * before: try that record first (a key is in one live record at most,
	 * so a match there is the order; hint always names a pool record,
	 * never used ones are zero, i.e. O_FREE). */
	int64_t oi;
	uint32_t slot = NIL; /* oi's table slot when the lookup found it */
	const struct ord *h = &r->ord[r->hint];
	if (h->cl_ord_id == rep->cl_ord_id && h->session == rep->session && h->state != O_FREE)
		oi = r->hint;
	else if ((oi = ord_find(r, rep->session, rep->cl_ord_id, &slot)) >= 0)
		r->hint = (uint32_t)oi;
	struct ord *o = oi >= 0 ? &r->ord[oi] : NULL;

	r->st.reports++;
	switch (rep->kind) {
	case DP_EXEC_ACCEPTED:
		/* Leaves change only through fills and cancels, which report them. */
		if (!o)
			r->st.reports_untracked++;
		else if (o->state == O_PENDING_NEW)
			o->state = O_LIVE;
		break;
	case DP_EXEC_FILL:
		on_fill(r, rep, oi, slot);
		break;
	case DP_EXEC_CANCELLED:
		if (!o) {
			r->st.reports_untracked++;
			break;
		}
		/* A replace down to the executed quantity cancels the order under
		 * the replace's id: the replaced entry goes too (which may move
		 * the slot of this one). */
		if (o->state == O_PENDING_REPLACE) {
			uint32_t os;
			int64_t old = ord_find(r, o->session, o->orig_id, &os);
			if (old >= 0)
				ord_remove(r, (uint32_t)old, os);
			slot = NIL;
		}
		ord_remove(r, (uint32_t)oi, slot);
		break;
	case DP_EXEC_REJECTED:
		/* Only a pending request can be rejected; a live order named by
		 * mistake keeps counting (fail safe: exposure over-, never under-stated). */
		if (o && o->state != O_LIVE)
			ord_remove(r, (uint32_t)oi, slot);
		else
			r->st.reports_untracked++;
		break;
	case DP_EXEC_CANCEL_REJECTED:
		/* A refused replace leaves the original as it was. A refused cancel
		 * names no pending request: nothing to do. */
		if (o && o->state == O_PENDING_REPLACE)
			ord_remove(r, (uint32_t)oi, slot);
		break;
	case DP_EXEC_REPLACED:
		if (!o) {
			r->st.reports_untracked++;
			break;
		}
		if (o->state == O_PENDING_REPLACE) {
			uint32_t os;
			int64_t old = ord_find(r, o->session, o->orig_id, &os);
			if (old >= 0)
				ord_remove(r, (uint32_t)old, os);
			o->state = O_LIVE;
			slot = NIL;
		}
		if (rep->leaves_qty == 0)
			ord_remove(r, (uint32_t)oi, slot);
		else
			ord_set(r, o, rep->last_px ? rep->last_px : o->price, rep->leaves_qty);
		break;
	default:
		r->st.reports_untracked++;
		break;
	}
}

/* The commonest report, the ACCEPTED of the order just checked, in a few
 * instructions (no registers to save); the rest in on_report(). */
static inline void report_one(struct dp_risk *r, const struct dp_exec_report *rep)
{
	struct ord *h = &r->ord[r->hint];
	if (rep->kind == DP_EXEC_ACCEPTED && h->cl_ord_id == rep->cl_ord_id &&
	    h->session == rep->session && h->state == O_PENDING_NEW) {
		r->st.reports++;
		h->state = O_LIVE;
		return;
	}
	on_report(r, rep);
}

void dp_risk_on_report(struct dp_risk *r, const struct dp_exec_report *rep)
{
	report_one(r, rep);
}

void dp_risk_on_reports(struct dp_risk *r, const struct dp_exec_report *rep, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		report_one(r, &rep[i]);
}

/* ------------------------------------------------------------------ */
/* Risk and the engine in one call                                     */

/* The live order e leaves (no other record moves). */
static inline void e_remove(struct dp_risk *r, struct eord *e)
{
	struct pos *p = &r->pos[e->pos];
	struct acct *a = &r->acct[p->acct - 1];
	a->exposure -= (i128)((uint64_t)e->price * e->leaves);
	p->open[e->sx] -= e->leaves;
	e->leaves = 0;
	e->live = 0;
	a->live_orders--;
	r->n_ord--;
	r->n_eold -= e->old;
	e->old = 0;
}

/* ord_set for e. */
static inline void e_set(struct dp_risk *r, struct eord *e, uint32_t price, uint32_t leaves)
{
	struct pos *p = &r->pos[e->pos];
	struct acct *a = &r->acct[p->acct - 1];
	a->exposure += (i128)((uint64_t)price * leaves) - (i128)((uint64_t)e->price * e->leaves);
	p->open[e->sx] = p->open[e->sx] - e->leaves + leaves;
	e->price = price;
	e->leaves = leaves;
}

/* The order in flight goes live at engine index e (its ACCEPTED, REPLACED). */
static inline void fly_land(struct dp_risk *r, struct eord *e)
{
	assert(!e->live); /* a new order, or the replaced one just removed */
	*e = r->fly.e; /* one 16-byte copy */
	r->fly.active = 0;
}

/* The order in flight is refused by the engine: its exposure goes. */
static inline void fly_drop(struct dp_risk *r)
{
	struct eord t = r->fly.e;
	e_remove(r, &t);
	r->fly.active = 0;
}

/* The REPLACED of the replace in flight, at engine index e (the order
 * replaced, if still live there, goes; the new one lands with the
 * report's leaves and price). */
static inline void fly_replaced(struct dp_risk *r, const struct dp_exec_report *rep,
				struct eord *e)
{
	if (e->live)
		e_remove(r, e); /* the order replaced */
	fly_land(r, e);
	if (rep->leaves_qty == 0)
		e_remove(r, e);
	else
		e_set(r, e, rep->last_px ? rep->last_px : e->price, rep->leaves_qty);
}

/*
 * One report of dp_risk_match, about the engine's order oi
 * (DP_MATCH_NO_ORDER: about the message only). The effects are those
 * on_report has on risk's own table for the same report (docs/RISK.md,
 * "Bookkeeping from reports"); only the way to the order differs: its
 * engine index, or the order in flight for the first report of a NEW or
 * REPLACE.
 */
static __attribute__((noinline)) void e_report(struct dp_risk *r, const struct dp_exec_report *rep,
					       uint32_t oi)
{
	struct eord *e = oi < r->n_eord ? &r->eord[oi] : NULL;
	const int live = e && e->live;
	const int fly_new = r->fly.active && !r->fly.repl, fly_repl = r->fly.active && r->fly.repl;
	r->st.reports++;
	switch (rep->kind) {
	case DP_EXEC_ACCEPTED:
		if (fly_new && e)
			fly_land(r, e);
		else if (!live)
			r->st.reports_untracked++;
		break;
	case DP_EXEC_FILL: {
		if (!live) {
			on_fill(r, rep, -1, NIL); /* counted; the position moves anyway */
			break;
		}
		struct pos *p = &r->pos[e->pos];
		if (rep->last_qty)
			pos_fill(&r->acct[p->acct - 1], p, &r->pos[e->pos].m, rep->side, rep->last_px,
				 rep->last_qty);
		if (rep->leaves_qty == 0)
			e_remove(r, e);
		else
			e_set(r, e, e->price, rep->leaves_qty);
		break;
	}
	case DP_EXEC_CANCELLED:
		/* a replace down to what executed: the order and the replace go */
		if (fly_repl) {
			if (live)
				e_remove(r, e);
			fly_drop(r);
		} else if (live) {
			e_remove(r, e);
		} else {
			r->st.reports_untracked++;
		}
		break;
	case DP_EXEC_REJECTED:
		if (fly_new)
			fly_drop(r);
		else
			r->st.reports_untracked++;
		break;
	case DP_EXEC_CANCEL_REJECTED:
		if (fly_repl)
			fly_drop(r);
		break;
	case DP_EXEC_REPLACED:
		if (fly_repl && e) {
			fly_replaced(r, rep, e);
			break;
		} else if (!live) {
			r->st.reports_untracked++;
			break;
		}
		if (rep->leaves_qty == 0)
			e_remove(r, e);
		else
			e_set(r, e, rep->last_px ? rep->last_px : e->price, rep->leaves_qty);
		break;
	default:
		r->st.reports_untracked++;
		break;
	}
}

/* The commonest reports, the ACCEPTED of the NEW in flight and a live
 * order's CANCELLED, in a few instructions; the rest in e_report(). */
static inline void e_report_one(struct dp_risk *r, const struct dp_exec_report *rep, uint32_t oi)
{
	if (oi < r->n_eord) {
		if (rep->kind == DP_EXEC_ACCEPTED && r->fly.active && !r->fly.repl) {
			r->st.reports++;
			fly_land(r, &r->eord[oi]);
			return;
		}
		/* a live order cancelled, with nothing in flight (a cancel request) */
		if (rep->kind == DP_EXEC_CANCELLED && !r->fly.active && r->eord[oi].live) {
			r->st.reports++;
			e_remove(r, &r->eord[oi]);
			return;
		}
	}
	e_report(r, rep, oi);
}

/* The steps one by one, for an engine dp_risk_match is not bound to. */
static __attribute__((noinline)) uint32_t
match_steps(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	    const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	    uint8_t *refused)
{
	if (msg->kind == DP_ORD_NEW || msg->kind == DP_ORD_REPLACE) {
		*refused = (uint8_t)dp_risk_check(r, msg, ref, now_ns);
		if (*refused != DP_RJ_NONE)
			return 0;
	}
	uint32_t n = dp_match_process(m, msg, ref, out, cap);
	for (uint32_t i = 0; i < n; i++)
		report_one(r, &out[i]);
	return n;
}

/* Whether dp_risk_match keeps m's live orders beside m's records: the
 * first engine whose indices fit eord[] is bound for good. */
static inline int bound_to(struct dp_risk *r, const struct dp_match *m)
{
	if (__builtin_expect(r->em != m, 0) && !r->em && dp_match_max_orders(m) <= r->n_eord)
		r->em = m;
	return r->em == m;
}

/*
 * A NEW (repl = 0) or REPLACE of dp_risk_match: checked and, if it
 * passes, given to the engine; the reports back to risk. One function
 * each (one inlined check each), apart from the cancels' short path.
 */
static inline __attribute__((always_inline)) uint32_t
fused_order(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	    const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	    uint8_t *refused, const int repl)
{
	/* The new id's hash is for the engine (check() hashes it itself in
	 * its rare still-live lookup): made after the check, not kept across. */
	const uint32_t ho = repl ? hash_sid(msg->session, msg->orig_cl_ord_id) : 0;
	r->st.checked++;
	enum dp_reject_reason rc = check(r, msg, ref, now_ns, repl, 0, ho, m);
	*refused = (uint8_t)rc;
	if (rc != DP_RJ_NONE) {
		r->st.rejected[rc & 63]++;
		return 0;
	}
	r->st.passed++;
	const uint32_t h = hash_sid(msg->session, msg->cl_ord_id);
	uint32_t n = repl ? dp_match_replace(m, msg, ref, h, ho, out, r->fidx, cap)
			  : dp_match_new(m, msg, ref, h, r->fly.slot, out, r->fidx, cap);
	/* More than one report: fills. Start the loads of each report's
	 * order record and position together, the position found from the
	 * report's account and symbol rather than through the record, so that
	 * a resting order's two cold lines overlap instead of following one
	 * another (a guess: a wrong slot only costs the load). */
	for (uint32_t k = 1; k < n; k++) {
		const uint32_t oi = r->fidx[k], account = out[k].account;
		__builtin_prefetch(&r->eord[oi < r->n_eord ? oi : 0], 1);
		const uint32_t a1 = account < DIR_IDS ? r->adir[account] : 0;
		if (a1)
			__builtin_prefetch(&r->pos[pos_home(r, a1 - 1, out[k].symbol)], 1);
	}
	uint32_t i = 0;
	/* The first report settles the order in flight: a NEW's ACCEPTED, a
	 * REPLACE's REPLACED, here without e_report's tests of the flight. */
	if (!repl && n && out[0].kind == DP_EXEC_ACCEPTED && r->fidx[0] < r->n_eord) {
		assert(r->fly.active && !r->fly.repl);
		r->st.reports++;
		fly_land(r, &r->eord[r->fidx[0]]);
		i = 1;
	} else if (repl && n && out[0].kind == DP_EXEC_REPLACED && r->fidx[0] < r->n_eord) {
		assert(r->fly.active && r->fly.repl);
		r->st.reports++;
		fly_replaced(r, &out[0], &r->eord[r->fidx[0]]);
		i = 1;
	}
	for (; i < n; i++)
		e_report_one(r, &out[i], r->fidx[i]);
	assert(!r->fly.active); /* the first report of an order settles it */
	return n;
}

static __attribute__((noinline)) uint32_t
fused_new(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	  const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	  uint8_t *refused)
{
	return fused_order(r, m, msg, ref, now_ns, out, cap, refused, 0);
}

static __attribute__((noinline)) uint32_t
fused_replace(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	      const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	      uint8_t *refused)
{
	return fused_order(r, m, msg, ref, now_ns, out, cap, refused, 1);
}

/* A CANCEL (never checked: cancels only reduce risk), a MASS_CANCEL or a
 * bad kind (the engine's business) of dp_risk_match; the reports back to
 * risk. */
static __attribute__((noinline)) uint32_t
fused_cancel(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	     const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	     uint8_t *refused)
{
	(void)now_ns;
	*refused = DP_RJ_NONE;
	uint32_t n, i = 0;
	if (msg->kind == DP_ORD_CANCEL) {
		n = dp_match_cancel(m, msg, hash_sid(msg->session, msg->orig_cl_ord_id), out, r->fidx,
				    cap);
		/* its CANCELLED, of a live order (nothing is in flight between
		 * messages): e_report_one's second case without its other tests */
		assert(!r->fly.active);
		if (n && out[0].kind == DP_EXEC_CANCELLED && r->fidx[0] < r->n_eord &&
		    r->eord[r->fidx[0]].live) {
			r->st.reports++;
			e_remove(r, &r->eord[r->fidx[0]]);
			i = 1;
		}
	} else {
		n = dp_match_process_idx(m, msg, ref, out, r->fidx, cap);
	}
	for (; i < n; i++)
		e_report_one(r, &out[i], r->fidx[i]);
	return n;
}

/* dp_risk_match off its fast path: a call the engine refuses, an engine
 * not bound (yet). */
static __attribute__((noinline)) uint32_t
match_slow(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
	   const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out, uint32_t cap,
	   uint8_t *refused)
{
	*refused = DP_RJ_NONE;
	/* Refused by the engine before risk records anything (stats.misuse). */
	if (cap < DP_MATCH_MIN_CAP || dp_match_pending(m))
		return dp_match_process(m, msg, ref, out, cap);
	if (!bound_to(r, m))
		return match_steps(r, m, msg, ref, now_ns, out, cap, refused);
	return dp_risk_match(r, m, msg, ref, now_ns, out, cap, refused);
}

/*
 * Only the tests and the dispatch on the kind here, each path a tail call
 * (no frame of its own: the common path is as short as a call can be).
 * cap above FUSED_CAP is used as FUSED_CAP: the engine pauses instead,
 * the same reports.
 */
uint32_t dp_risk_match(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
		       const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out,
		       uint32_t cap, uint8_t *refused)
{
	if (__builtin_expect((cap < DP_MATCH_MIN_CAP) | (r->em != m) | dp_match_pending(m), 0))
		return match_slow(r, m, msg, ref, now_ns, out, cap, refused);
	cap = cap > FUSED_CAP ? FUSED_CAP : cap;
	const uint8_t kind = msg->kind;
	if (kind == DP_ORD_NEW)
		return fused_new(r, m, msg, ref, now_ns, out, cap, refused);
	if (kind == DP_ORD_REPLACE)
		return fused_replace(r, m, msg, ref, now_ns, out, cap, refused);
	return fused_cancel(r, m, msg, ref, now_ns, out, cap, refused);
}

uint32_t dp_risk_match_resume(struct dp_risk *r, struct dp_match *m, struct dp_exec_report *out,
			      uint32_t cap)
{
	if (r->em != m) {
		uint32_t n = dp_match_resume(m, out, cap);
		for (uint32_t i = 0; i < n; i++)
			report_one(r, &out[i]);
		return n;
	}
	uint32_t n = dp_match_resume_idx(m, out, r->fidx, cap > FUSED_CAP ? FUSED_CAP : cap);
	for (uint32_t i = 0; i < n; i++)
		e_report_one(r, &out[i], r->fidx[i]);
	return n;
}

/* ------------------------------------------------------------------ */
/* Limits, restrictions, throttles                                     */

int dp_risk_set_limits(struct dp_risk *r, uint32_t account, const struct dp_risk_limits *l)
{
	if (!r || !l || account == DP_RISK_ALL_ACCOUNTS)
		return -EINVAL;
	int64_t as = acct_get(r, account);
	if (as < 0)
		return -ENOSPC;
	struct acct *a = &r->acct[as];
	const uint32_t en = l->enabled;
	a->lim = *l;
	a->max_qty = (en & DP_RISK_CHK_MAX_QTY) ? l->max_order_qty : UINT32_MAX;
	a->max_notional = (en & DP_RISK_CHK_MAX_NOTIONAL) ? l->max_order_notional : UINT64_MAX;
	a->max_position = (en & DP_RISK_CHK_MAX_POSITION) ? l->max_position : UINT64_MAX;
	a->credit = (en & DP_RISK_CHK_CREDIT) ? (i128)l->credit_limit : CREDIT_OFF;
	a->collar_on = (en & DP_RISK_CHK_COLLAR) != 0;
	a->collar_bps = l->collar_bps;
	a->need_ref[0] = a->collar_on;
	a->need_ref[1] = (en & (DP_RISK_CHK_MAX_NOTIONAL | DP_RISK_CHK_CREDIT)) != 0;
	r->st.limit_changes++;
	return 0;
}

int dp_risk_get_limits(const struct dp_risk *r, uint32_t account, struct dp_risk_limits *l)
{
	int64_t as = acct_find(r, account);
	if (as < 0)
		return -ENOENT;
	*l = r->acct[as].lim;
	return 0;
}

int dp_risk_set_restricted(struct dp_risk *r, uint32_t account, uint16_t symbol, bool on)
{
	if (symbol >= r->cfg.max_symbols)
		return -EINVAL;
	if (account == DP_RISK_ALL_ACCOUNTS) {
		uint64_t bit = 1ull << (symbol & 63);
		if (on)
			r->restricted[symbol >> 6] |= bit;
		else
			r->restricted[symbol >> 6] &= ~bit;
		r->st.limit_changes++;
		return 0;
	}
	int64_t as = acct_find(r, account);
	if (as < 0)
		return -ENOENT;
	int64_t ps = pos_get(r, (uint32_t)as, symbol);
	if (ps < 0)
		return -ENOSPC;
	r->pos[ps].restricted = on;
	r->st.limit_changes++;
	return 0;
}

int dp_risk_set_throttle(struct dp_risk *r, uint32_t session, uint32_t orders_per_sec)
{
	struct sess *s = sess_get(r, session);
	if (!s)
		return -ENOSPC;
	s->rate = orders_per_sec;
	r->st.limit_changes++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Kill switches                                                       */

int dp_risk_kill(struct dp_risk *r, enum dp_risk_level level, uint32_t key, bool on,
		 struct dp_order_msg *cancel)
{
	uint8_t scope;
	switch (level) {
	case DP_RISK_GLOBAL:
		r->killed = on;
		scope = DP_MASS_ALL;
		break;
	case DP_RISK_ACCOUNT: {
		int64_t as = acct_find(r, key);
		if (as < 0)
			return -ENOENT;
		r->acct[as].killed = on;
		scope = DP_MASS_ACCOUNT;
		break;
	}
	case DP_RISK_SESSION: {
		struct sess *s = sess_get(r, key);
		if (!s)
			return -ENOSPC;
		s->killed = on;
		scope = DP_MASS_SESSION;
		break;
	}
	default:
		return -EINVAL;
	}
	if (!on) {
		r->st.kill_off[level]++;
		return 0;
	}
	r->st.kill_on[level]++;
	if (cancel) {
		memset(cancel, 0, sizeof(*cancel));
		cancel->kind = DP_ORD_MASS_CANCEL;
		cancel->flags = DP_ORD_F_KILL; /* its CANCELLED reports say "kill switch" */
		cancel->mass = scope;
		if (level == DP_RISK_ACCOUNT)
			cancel->account = key;
		else if (level == DP_RISK_SESSION)
			cancel->session = key;
	}
	return 1;
}

int dp_risk_killed(const struct dp_risk *r, enum dp_risk_level level, uint32_t key)
{
	int64_t i;
	switch (level) {
	case DP_RISK_GLOBAL:
		return r->killed;
	case DP_RISK_ACCOUNT:
		i = acct_find(r, key);
		return i < 0 ? -ENOENT : r->acct[i].killed;
	case DP_RISK_SESSION:
		i = sess_find(r, key);
		return i < 0 ? -ENOENT : r->sess[i].killed;
	}
	return -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

static int64_t clamp64(i128 v)
{
	if (v > (i128)INT64_MAX)
		return INT64_MAX;
	if (v < (i128)INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

uint32_t dp_risk_mid(const struct dp_ref_px *ref)
{
	if (!ref_usable(ref))
		return 0;
	return (uint32_t)(((uint64_t)ref->bid + ref->ask + 1) / 2);
}

int dp_risk_position(const struct dp_risk *r, uint32_t account, uint16_t symbol,
		     uint32_t mid_px, struct dp_risk_pos *out)
{
	int64_t as = acct_find(r, account);
	if (as < 0 || symbol >= r->cfg.max_symbols)
		return -ENOENT;
	int found;
	uint32_t ps = pos_probe(r, (uint32_t)as, symbol, &found);
	if (!found)
		return -ENOENT;
	const struct pos *p = &r->pos[ps];
	const struct pmoney *pm = &r->pos[ps].m;
	memset(out, 0, sizeof(*out));
	out->qty = p->qty;
	out->cost = clamp64(pm->cost);
	out->realized = clamp64(pm->realized);
	out->open_buy_qty = p->open[0];
	out->open_sell_qty = p->open[1];
	out->restricted = p->restricted;
	if (p->qty) {
		i128 held = p->qty > 0 ? (i128)p->qty : -(i128)p->qty;
		i128 avg = (2 * pm->cost + held) / (2 * held); /* half up */
		out->avg_px = avg > UINT32_MAX ? UINT32_MAX : (uint32_t)avg;
		if (mid_px) {
			i128 value = held * mid_px;
			out->unrealized = clamp64(p->qty > 0 ? value - pm->cost : pm->cost - value);
		}
	}
	return 0;
}

int dp_risk_account(const struct dp_risk *r, uint32_t account, struct dp_risk_acct *out)
{
	int64_t as = acct_find(r, account);
	if (as < 0)
		return -ENOENT;
	const struct acct *a = &r->acct[as];
	memset(out, 0, sizeof(*out));
	out->open_notional = clamp64(a->exposure - a->pos_cost);
	out->position_cost = clamp64(a->pos_cost);
	out->exposure = clamp64(a->exposure);
	out->realized = clamp64(a->realized);
	out->live_orders = a->live_orders;
	out->killed = a->killed;
	return 0;
}

void dp_risk_new_day(struct dp_risk *r)
{
	memset(r->ids, 0, ((size_t)r->imask + 1) * sizeof(*r->ids));
	memset(r->idbits, 0, (size_t)r->cfg.max_sessions * (r->id_wbits / 8 + IDWIN_PAD));
	r->n_ids = 0;
	for (uint32_t i = 0; i <= r->smask; i++) {
		r->sess[i].win_open = 0;
		r->sess[i].count = 0;
		r->sess[i].id_win = 0;
	}
	/* orders of dp_risk_match that stay live keep ids no longer recorded */
	r->n_eold = 0;
	for (uint32_t i = 0; i < r->n_eord; i++) {
		r->eord[i].old = r->eord[i].live;
		r->n_eold += r->eord[i].live;
	}
}

void dp_risk_stats(const struct dp_risk *r, struct dp_risk_stats *out)
{
	*out = r->st;
}

int dp_risk_verify(const struct dp_risk *r)
{
	uint32_t live = 0, slots = 0, nfree = 0;
	for (uint32_t i = 0; i < r->ord_bump; i++) {
		const struct ord *o = &r->ord[i];
		if (o->state == O_FREE)
			continue;
		live++;
		uint32_t hs;
		if (ord_find(r, o->session, o->cl_ord_id, &hs) != (int64_t)i)
			return -1; /* not reachable through the hash */
		if (o->leaves == 0)
			return -2; /* a finished order still counted */
	}
	for (uint32_t i = 0; i <= r->omask; i++)
		slots += r->otab[i].idx1 != 0;
	for (uint32_t i = r->ord_free; i != NIL && nfree <= r->ord_bump; i = r->ord[i].next_free)
		nfree++;
	uint32_t elive = 0, eold = 0;
	for (uint32_t i = 0; i < r->n_eord; i++) {
		const struct eord *e = &r->eord[i];
		if (e->old && !e->live)
			return -2; /* a finished order still counted as old */
		if (!e->live)
			continue;
		elive++;
		eold += e->old;
		if (e->leaves == 0 || e->pos > r->pmask || !r->pos[e->pos].acct)
			return -2; /* a finished order still counted, or no position */
		if (!r->em || dp_match_max_orders(r->em) <= i)
			return -1; /* beside no engine record */
	}
	if (live + elive + r->fly.active != r->n_ord || slots != live || live + nfree != r->ord_bump ||
	    eold != r->n_eold)
		return -3; /* a record neither live nor free, or a stale slot or count */
	for (uint32_t ai = 0; ai <= r->amask; ai++) {
		const struct acct *a = &r->acct[ai];
		if (!a->used)
			continue;
		i128 open = 0, cost = 0, realized = 0;
		uint32_t n = 0;
		for (uint32_t i = 0; i < r->ord_bump; i++) {
			const struct ord *o = &r->ord[i];
			if (o->state != O_FREE && o->acct == ai) {
				open += (i128)o->price * o->leaves;
				n++;
			}
		}
		for (uint32_t i = 0; i < r->n_eord; i++) {
			const struct eord *e = &r->eord[i];
			if (e->live && r->pos[e->pos].acct == ai + 1) {
				open += (i128)e->price * e->leaves;
				n++;
			}
		}
		if (r->fly.active && r->pos[r->fly.e.pos].acct == ai + 1) {
			open += (i128)r->fly.e.price * r->fly.e.leaves;
			n++;
		}
		for (uint32_t pi = 0; pi <= r->pmask; pi++) {
			const struct pos *p = &r->pos[pi];
			if (p->acct == ai + 1) {
				cost += r->pos[pi].m.cost;
				realized += r->pos[pi].m.realized;
			}
		}
		if (a->exposure - a->pos_cost < 0 || open != a->exposure - a->pos_cost)
			return -4;
		if (n != a->live_orders)
			return -5;
		if (cost != a->pos_cost || realized != a->realized)
			return -6;
	}
	for (uint32_t pi = 0; pi <= r->pmask; pi++) {
		const struct pos *p = &r->pos[pi];
		if (!p->acct)
			continue;
		uint64_t b = 0, s = 0;
		for (uint32_t i = 0; i < r->ord_bump; i++) {
			const struct ord *o = &r->ord[i];
			if (o->state != O_FREE && o->pos == pi)
				*(o->sx ? &s : &b) += o->leaves;
		}
		for (uint32_t i = 0; i < r->n_eord; i++) {
			const struct eord *e = &r->eord[i];
			if (e->live && e->pos == pi)
				*(e->sx ? &s : &b) += e->leaves;
		}
		if (r->fly.active && r->fly.e.pos == pi)
			*(r->fly.e.sx ? &s : &b) += r->fly.e.leaves;
		if (b != p->open[0] || s != p->open[1])
			return -7;
		const struct pmoney *pm = &r->pos[pi].m;
		if (pm->cost < 0 || (p->qty == 0 && pm->cost != 0))
			return -8;
	}
	return 0;
}
