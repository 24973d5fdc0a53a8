/*
 * itchgen.c - the synthetic ITCH 5.0 stream generator (see itchgen.h).
 *
 * Model. Each symbol has a mid price that random-walks on a penny grid
 * inside a fixed window of ticks around its starting price. Orders are
 * placed a few ticks away from the mid on their side, and then clamped so
 * that a bid is always below the symbol's best live ask and an ask above the
 * best live bid: the book is never crossed or locked even though the mid
 * moves under resting orders. To know the best live prices exactly, the
 * generator keeps per-symbol, per-side order counts for every tick of the
 * window (a few KB per symbol).
 *
 * Live orders sit in one dense array (swap-remove on delete), which makes
 * "uniformly among all live orders" an O(1) pick. The "recent" mode keeps a
 * 64-entry ring of dense positions of the latest adds; an order records its
 * ring slot so that removing or moving it keeps the ring exact.
 */
#include "itchgen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_mold.h"
#include "dp_pkt.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n), n > 0; multiply-shift, bias negligible for our n. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform double in [0, 1). */
static inline double rng_unit(struct rng *r)
{
	return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- price grid --------------------------------------------------------- */

#define TICK      100u          /* one cent in Price(4) units */
#define WALK      100           /* mid stays within +-WALK ticks of its start */
#define DEPTH     32            /* orders rest at most DEPTH ticks from the mid */
#define NTICKS    (2 * (WALK + DEPTH) + 1)
#define MID_LO    DEPTH
#define MID_HI    (2 * WALK + DEPTH)
#define NO_POS    0xFFFFFFFFu
#define NO_RPOS   0xFF

/* Session clock, ns since midnight. */
#define NS_PER_S  1000000000ull
#define T_0300    (3ull * 3600 * NS_PER_S)
#define T_0400    (4ull * 3600 * NS_PER_S)
#define T_0930    (9ull * 3600 * NS_PER_S + 30ull * 60 * NS_PER_S)
#define T_1600    (16ull * 3600 * NS_PER_S)
#define T_2000    (20ull * 3600 * NS_PER_S)

struct sym {
	char stock[8];
	uint32_t anchor;   /* price of tick 0 of the window */
	int32_t mid;       /* tick index of the mid, MID_LO..MID_HI */
	int32_t best[2];   /* best live tick per side: bid -1 / ask NTICKS = none */
};

struct ord {
	uint64_t ref;
	uint32_t shares;
	uint16_t locate;
	uint16_t px;       /* tick index in the symbol's window */
	uint8_t side;      /* 0 bid, 1 ask */
	uint8_t rpos;      /* slot in the recent ring, NO_RPOS if none */
};

enum phase { PH_PRE, PH_BODY, PH_END, PH_DONE };

struct itg {
	struct itg_cfg cfg;
	struct rng rng;
	struct itg_stats st;

	struct sym *syms;     /* [symbols], index = locate - 1 */
	uint32_t *cnt;        /* [symbols][2][NTICKS] live orders per tick */
	double *zipf_cdf;     /* [symbols] cumulative activity, by rank */
	uint32_t *zipf_sym;   /* [symbols] symbol index of each rank */

	struct ord *ords;     /* [max_live] dense live orders */
	uint32_t live;
	uint32_t ring[ITG_RECENT_WINDOW];
	uint32_t ring_head, ring_valid;

	uint64_t next_ref;
	uint64_t next_match;
	uint64_t ts;

	uint64_t emitted;     /* messages so far */
	uint64_t pre_len;     /* preamble messages */
	uint64_t body_len;    /* order messages to emit */
};

/* ---- symbols ------------------------------------------------------------ */

void itg_symbol_name(uint32_t i, char out[8])
{
	/*
	 * Even i get 4 letters, odd i 5. Within each group, k = i/2 is mapped
	 * through an affine bijection modulo 26^len (the multiplier is prime
	 * and not 2 or 13, so it is invertible), which keeps names unique and
	 * scattered over the alphabet rather than AAAA, AAAB, ...
	 */
	uint32_t k = i / 2;
	int len = (i & 1) ? 5 : 4;
	uint64_t mod = (len == 4) ? 456976ull : 11881376ull;
	uint64_t x = (len == 4) ? (k * 7919ull + 123457ull) % mod
				: (k * 104729ull + 4567891ull) % mod;
	for (int p = len - 1; p >= 0; p--) {
		out[p] = (char)('A' + x % 26);
		x /= 26;
	}
	out[len] = '\0';
}

void itg_cfg_default(struct itg_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->messages = 1000000;
	c->symbols = 5000;
	c->seed = 1;
	c->target = ITG_TARGET_UNIFORM;
	c->max_live = 0;
}

static uint32_t *tick_cnt(struct itg *g, uint32_t s, int side)
{
	return g->cnt + ((size_t)s * 2 + (size_t)side) * NTICKS;
}

int itg_create(struct itg **out, const struct itg_cfg *cfg)
{
	*out = NULL;
	if (cfg->symbols < 1 || cfg->symbols > ITG_MAX_SYMBOLS)
		return -EINVAL;
	if (cfg->target != ITG_TARGET_UNIFORM && cfg->target != ITG_TARGET_RECENT)
		return -EINVAL;

	struct itg *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->cfg = *cfg;
	if (g->cfg.max_live == 0)
		g->cfg.max_live = 1000000;
	uint32_t n = cfg->symbols;
	g->syms = calloc(n, sizeof(*g->syms));
	g->cnt = calloc((size_t)n * 2 * NTICKS, sizeof(*g->cnt));
	g->zipf_cdf = calloc(n, sizeof(*g->zipf_cdf));
	g->zipf_sym = calloc(n, sizeof(*g->zipf_sym));
	g->ords = calloc(g->cfg.max_live, sizeof(*g->ords));
	if (!g->syms || !g->cnt || !g->zipf_cdf || !g->zipf_sym || !g->ords) {
		itg_destroy(g);
		return -ENOMEM;
	}
	rng_seed(&g->rng, cfg->seed);

	for (uint32_t i = 0; i < n; i++) {
		struct sym *s = &g->syms[i];
		char name[8];
		itg_symbol_name(i, name);
		dp_itch_stock_set(s->stock, name);
		/* Start prices log-uniform in $5..$500, on a penny. */
		double dollars = 5.0 * exp(rng_unit(&g->rng) * log(100.0));
		uint32_t start = (uint32_t)(dollars * 100.0) * TICK;
		s->mid = (MID_LO + MID_HI) / 2;
		s->anchor = start - (uint32_t)s->mid * TICK;
		s->best[0] = -1;
		s->best[1] = NTICKS;
	}

	/*
	 * Zipf activity (exponent 1): rank r gets weight 1/(r+1). Ranks go to
	 * symbols in a seed-dependent random order, so the busiest names vary
	 * with the seed and are not simply the lowest locates.
	 */
	for (uint32_t i = 0; i < n; i++)
		g->zipf_sym[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = rng_below(&g->rng, i + 1);
		uint32_t t = g->zipf_sym[i];
		g->zipf_sym[i] = g->zipf_sym[j];
		g->zipf_sym[j] = t;
	}
	double acc = 0;
	for (uint32_t i = 0; i < n; i++) {
		acc += 1.0 / (double)(i + 1);
		g->zipf_cdf[i] = acc;
	}
	for (uint32_t i = 0; i < n; i++)
		g->zipf_cdf[i] /= acc;

	for (int i = 0; i < ITG_RECENT_WINDOW; i++)
		g->ring[i] = NO_POS;

	/* Refs and match numbers start at arbitrary, seed-independent bases. */
	g->next_ref = 1000;
	g->next_match = 5000;
	g->pre_len = 3 + 2ull * n;
	uint64_t fixed = g->pre_len + 3;
	g->body_len = cfg->messages > fixed ? cfg->messages - fixed : 0;
	*out = g;
	return 0;
}

void itg_destroy(struct itg *g)
{
	if (!g)
		return;
	free(g->syms);
	free(g->cnt);
	free(g->zipf_cdf);
	free(g->zipf_sym);
	free(g->ords);
	free(g);
}

const struct itg_stats *itg_get_stats(const struct itg *g)
{
	return &g->st;
}

/* ---- live order bookkeeping ------------------------------------------- */

static void level_add(struct itg *g, uint32_t s, int side, int px)
{
	uint32_t *c = tick_cnt(g, s, side);
	if (c[px]++ == 0) {
		if (++g->st.live_levels > g->st.peak_live_levels)
			g->st.peak_live_levels = g->st.live_levels;
	}
	struct sym *sy = &g->syms[s];
	if (side == 0 ? px > sy->best[0] : px < sy->best[1])
		sy->best[side] = px;
}

static void level_remove(struct itg *g, uint32_t s, int side, int px)
{
	uint32_t *c = tick_cnt(g, s, side);
	if (--c[px] != 0)
		return;
	g->st.live_levels--;
	struct sym *sy = &g->syms[s];
	if (sy->best[side] != px)
		return;
	/* The best level emptied: walk away from the spread to the next one. */
	int p = px;
	if (side == 0) {
		while (p >= 0 && c[p] == 0)
			p--;
	} else {
		while (p < NTICKS && c[p] == 0)
			p++;
	}
	sy->best[side] = p;
}

static void ring_push(struct itg *g, uint32_t pos)
{
	uint32_t h = g->ring_head;
	if (g->ring[h] != NO_POS) {
		g->ords[g->ring[h]].rpos = NO_RPOS;
		g->ring_valid--;
	}
	g->ring[h] = pos;
	g->ords[pos].rpos = (uint8_t)h;
	g->ring_valid++;
	g->ring_head = (h + 1) % ITG_RECENT_WINDOW;
}

static void ring_drop(struct itg *g, uint32_t pos)
{
	struct ord *o = &g->ords[pos];
	if (o->rpos != NO_RPOS) {
		g->ring[o->rpos] = NO_POS;
		g->ring_valid--;
		o->rpos = NO_RPOS;
	}
}

/* Remove the order at dense position pos (book counts included). */
static void order_remove(struct itg *g, uint32_t pos)
{
	struct ord *o = &g->ords[pos];
	level_remove(g, o->locate - 1u, o->side, o->px);
	ring_drop(g, pos);
	uint32_t last = --g->live;
	if (pos != last) {
		g->ords[pos] = g->ords[last];
		if (g->ords[pos].rpos != NO_RPOS)
			g->ring[g->ords[pos].rpos] = pos;
	}
	g->st.live_orders = g->live;
}

static uint32_t pick_uniform(struct itg *g)
{
	return rng_below(&g->rng, g->live);
}

/* Choose the dense position of the order an E/C/X/D/U acts on (live > 0). */
static uint32_t pick_target(struct itg *g)
{
	if (g->cfg.target == ITG_TARGET_UNIFORM)
		return pick_uniform(g);
	if (g->ring_valid == 0) {
		g->st.recent_fallbacks++;
		return pick_uniform(g);
	}
	uint32_t k = 0;
	for (int tries = 0; tries < 8; tries++) {
		k = rng_below(&g->rng, ITG_RECENT_WINDOW);
		if (g->ring[k] != NO_POS)
			return g->ring[k];
	}
	/* Sparse ring: take the next valid entry after the last random probe. */
	for (uint32_t i = 0; i < ITG_RECENT_WINDOW; i++) {
		uint32_t j = (k + i) % ITG_RECENT_WINDOW;
		if (g->ring[j] != NO_POS)
			return g->ring[j];
	}
	return pick_uniform(g); /* not reached: ring_valid > 0 */
}

/* ---- value distributions ------------------------------------------------ */

static uint32_t pick_symbol(struct itg *g)
{
	double u = rng_unit(&g->rng);
	uint32_t lo = 0, hi = g->cfg.symbols - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (g->zipf_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return g->zipf_sym[lo];
}

/* Order size: mostly round lots of 100..1000, some odd lots, a few blocks. */
static uint32_t pick_shares(struct itg *g)
{
	uint32_t r = rng_below(&g->rng, 100);
	if (r < 80)
		return 100 * (1 + rng_below(&g->rng, rng_below(&g->rng, 10) + 1));
	if (r < 92)
		return 1 + rng_below(&g->rng, 99);
	if (r < 99)
		return 100 * (10 + rng_below(&g->rng, 41));
	return 100 * (50 + rng_below(&g->rng, 451));
}

/* Distance from the mid in ticks: mostly near the touch, a tail deeper. */
static int pick_offset(struct itg *g)
{
	uint32_t r = rng_below(&g->rng, 100);
	if (r < 70)
		return (int)rng_below(&g->rng, 4);
	if (r < 92)
		return (int)rng_below(&g->rng, 12);
	return (int)rng_below(&g->rng, DEPTH);
}

/* Tick for a new order on side of symbol s, never crossing the other side. */
static int place_price(struct itg *g, uint32_t s, int side)
{
	struct sym *sy = &g->syms[s];
	int d = pick_offset(g);
	if (side == 0) {
		int px = sy->mid - 1 - d;
		if (px > sy->best[1] - 1)
			px = sy->best[1] - 1;
		return px; /* >= 0: see the window arithmetic in the header */
	}
	int px = sy->mid + 1 + d;
	if (px < sy->best[0] + 1)
		px = sy->best[0] + 1;
	return px;
}

static void walk_mid(struct itg *g, uint32_t s)
{
	uint32_t r = rng_below(&g->rng, 16);
	struct sym *sy = &g->syms[s];
	if (r == 0)
		sy->mid = sy->mid > MID_LO ? sy->mid - 1 : sy->mid + 1;
	else if (r == 1)
		sy->mid = sy->mid < MID_HI ? sy->mid + 1 : sy->mid - 1;
}

/*
 * Time to the next order message: bursts of closely spaced messages with
 * occasional quiet stretches (mean about 6 us).
 */
static uint64_t pick_gap(struct itg *g)
{
	if (rng_below(&g->rng, 10) != 0)
		return 50 + rng_below(&g->rng, 1950);
	return 5000 + rng_below(&g->rng, 95000);
}

static const char *const mpids[] = { "MGWX", "QRTZ", "FLNT", "ZEPH", "KRMA", "VLTA", "OBRN", "TYDE" };

/* ---- message production -------------------------------------------------- */

static void msg_hdr(struct dp_itch_msg *m, char type, uint16_t locate, uint64_t ts)
{
	m->hdr.type = type;
	m->hdr.stock_locate = locate;
	m->hdr.tracking = 0;
	m->hdr.timestamp = ts;
}

static void gen_preamble(struct itg *g, struct dp_itch_msg *m)
{
	uint64_t k = g->emitted;
	uint32_t n = g->cfg.symbols;
	if (k == 0) {
		msg_hdr(m, 'S', 0, T_0300);
		m->u.system_event.event_code = 'O';
	} else if (k <= n) {
		uint32_t i = (uint32_t)(k - 1);
		msg_hdr(m, 'R', (uint16_t)(i + 1), T_0300 + (uint64_t)(i + 1) * 1000);
		memcpy(m->u.stock_directory.stock, g->syms[i].stock, 8);
		m->u.stock_directory.market_category = "QGS"[i % 3];
		m->u.stock_directory.financial_status = 'N';
		m->u.stock_directory.round_lot_size = 100;
		m->u.stock_directory.round_lots_only = 'N';
		m->u.stock_directory.issue_classification = 'C';
		memcpy(m->u.stock_directory.issue_subtype, "Z ", 2);
		m->u.stock_directory.authenticity = 'P';
		m->u.stock_directory.short_sale_threshold = 'N';
		m->u.stock_directory.ipo_flag = 'N';
		m->u.stock_directory.luld_ref_price_tier = (i % 4 == 0) ? '1' : '2';
		m->u.stock_directory.etp_flag = 'N';
		m->u.stock_directory.etp_leverage_factor = 0;
		m->u.stock_directory.inverse_indicator = 'N';
	} else if (k == n + 1ull) {
		msg_hdr(m, 'S', 0, T_0400);
		m->u.system_event.event_code = 'S';
	} else if (k <= 2ull * n + 1) {
		uint32_t i = (uint32_t)(k - n - 2);
		msg_hdr(m, 'H', (uint16_t)(i + 1), T_0400 + (uint64_t)(i + 1) * 1000);
		memcpy(m->u.trading_action.stock, g->syms[i].stock, 8);
		m->u.trading_action.trading_state = 'T';
		m->u.trading_action.reserved = ' ';
		memcpy(m->u.trading_action.reason, "    ", 4);
	} else {
		msg_hdr(m, 'S', 0, T_0930);
		m->u.system_event.event_code = 'Q';
		g->ts = T_0930;
	}
}

static void gen_closing(struct itg *g, struct dp_itch_msg *m, uint64_t k)
{
	/* Closing events at their usual times, or just after a long body. */
	static const char codes[3] = { 'M', 'E', 'C' };
	static const uint64_t at[3] = { T_1600, T_2000, T_2000 + 300 * NS_PER_S };
	uint64_t ts = g->ts + 1000;
	if (ts < at[k])
		ts = at[k];
	g->ts = ts;
	msg_hdr(m, 'S', 0, ts);
	m->u.system_event.event_code = codes[k];
}

/* Put a new order on symbol s (used by A/F); returns its dense position. */
static uint32_t add_order(struct itg *g, uint32_t s, int side, int px, uint32_t shares)
{
	uint32_t pos = g->live++;
	if (g->live > g->st.peak_live_orders)
		g->st.peak_live_orders = g->live;
	g->st.live_orders = g->live;
	struct ord *o = &g->ords[pos];
	g->next_ref += 1 + rng_below(&g->rng, 4); /* strictly increasing, sparse */
	o->ref = g->next_ref;
	o->shares = shares;
	o->locate = (uint16_t)(s + 1);
	o->px = (uint16_t)px;
	o->side = (uint8_t)side;
	o->rpos = NO_RPOS;
	level_add(g, s, side, px);
	ring_push(g, pos);
	return pos;
}

static uint32_t px_of(const struct itg *g, uint32_t s, int px)
{
	return g->syms[s].anchor + (uint32_t)px * TICK;
}

/* Shares for a partial fill/cancel of an order with rem >= 2 shares. */
static uint32_t partial(struct itg *g, uint32_t rem)
{
	uint32_t c = rem - 1;
	if (c >= 100)
		return 100 * (1 + rng_below(&g->rng, c / 100));
	return 1 + rng_below(&g->rng, c);
}

enum op { OP_ADD, OP_DEL, OP_REPL, OP_EXEC, OP_CANCEL, OP_EXEC_PX, OP_TRADE };

static void gen_body(struct itg *g, struct dp_itch_msg *m)
{
	g->ts += pick_gap(g);
	uint64_t ts = g->ts;

	/* Target mix per 1000: A+F 450, D 400, U 80, E 30, X 10, C 15, P 15. */
	uint32_t r = rng_below(&g->rng, 1000);
	enum op op = r < 450 ? OP_ADD : r < 850 ? OP_DEL : r < 930 ? OP_REPL
		   : r < 960 ? OP_EXEC : r < 970 ? OP_CANCEL : r < 985 ? OP_EXEC_PX
		   : OP_TRADE;
	bool force_uniform = false;
	if (op == OP_ADD && g->live >= g->cfg.max_live) {
		op = OP_DEL; /* over the cap: age out an order instead */
		force_uniform = true;
		g->st.cap_deletes++;
	}
	if (op != OP_ADD && op != OP_TRADE && g->live == 0)
		op = OP_ADD; /* nothing to act on yet (start of the day) */

	if (op == OP_ADD) {
		uint32_t s = pick_symbol(g);
		walk_mid(g, s);
		int side = (int)rng_below(&g->rng, 2);
		int px = place_price(g, s, side);
		uint32_t shares = pick_shares(g);
		uint32_t pos = add_order(g, s, side, px, shares);
		bool mpid = rng_below(&g->rng, 100) < 5;
		msg_hdr(m, mpid ? 'F' : 'A', (uint16_t)(s + 1), ts);
		m->u.add.ref = g->ords[pos].ref;
		m->u.add.side = side ? 'S' : 'B';
		m->u.add.shares = shares;
		memcpy(m->u.add.stock, g->syms[s].stock, 8);
		m->u.add.price = px_of(g, s, px);
		if (mpid)
			memcpy(m->u.add.attribution,
			       mpids[rng_below(&g->rng, sizeof(mpids) / sizeof(mpids[0]))], 4);
		return;
	}
	if (op == OP_TRADE) {
		/* Non-displayed execution, priced inside the spread when possible. */
		uint32_t s = pick_symbol(g);
		struct sym *sy = &g->syms[s];
		int px = sy->mid;
		if (px <= sy->best[0])
			px = sy->best[0] + 1;
		if (px >= sy->best[1])
			px = sy->best[1] - 1;
		if (px < 0)
			px = 0;
		msg_hdr(m, 'P', (uint16_t)(s + 1), ts);
		m->u.trade.ref = 0; /* NASDAQ sends 0 for non-displayed orders */
		m->u.trade.side = rng_below(&g->rng, 2) ? 'S' : 'B';
		m->u.trade.shares = pick_shares(g);
		memcpy(m->u.trade.stock, sy->stock, 8);
		m->u.trade.price = px_of(g, s, px);
		m->u.trade.match = ++g->next_match;
		return;
	}

	uint32_t pos = force_uniform ? pick_uniform(g) : pick_target(g);
	struct ord *o = &g->ords[pos];
	uint32_t s = o->locate - 1u;
	if (op == OP_CANCEL && o->shares < 2)
		op = OP_DEL; /* a cancel must leave something; delete instead */

	switch (op) {
	case OP_DEL:
		msg_hdr(m, 'D', o->locate, ts);
		m->u.del.ref = o->ref;
		order_remove(g, pos);
		break;
	case OP_CANCEL: {
		uint32_t q = partial(g, o->shares);
		msg_hdr(m, 'X', o->locate, ts);
		m->u.cancel.ref = o->ref;
		m->u.cancel.shares = q;
		o->shares -= q;
		break;
	}
	case OP_EXEC:
	case OP_EXEC_PX: {
		/* Executions take the whole order about 60% of the time. */
		uint32_t q = (o->shares < 2 || rng_below(&g->rng, 10) < 6)
			     ? o->shares : partial(g, o->shares);
		if (op == OP_EXEC) {
			msg_hdr(m, 'E', o->locate, ts);
			m->u.executed.ref = o->ref;
			m->u.executed.shares = q;
			m->u.executed.match = ++g->next_match;
		} else {
			msg_hdr(m, 'C', o->locate, ts);
			m->u.executed_px.ref = o->ref;
			m->u.executed_px.shares = q;
			m->u.executed_px.match = ++g->next_match;
			m->u.executed_px.printable = rng_below(&g->rng, 10) ? 'Y' : 'N';
			m->u.executed_px.price = px_of(g, s, o->px);
		}
		if (q == o->shares)
			order_remove(g, pos);
		else
			o->shares -= q;
		break;
	}
	case OP_REPL: {
		/* New ref, same side, re-priced from the current mid. */
		msg_hdr(m, 'U', o->locate, ts);
		m->u.replace.orig_ref = o->ref;
		level_remove(g, s, o->side, o->px);
		ring_drop(g, pos);
		walk_mid(g, s);
		int px = place_price(g, s, o->side);
		uint32_t shares = rng_below(&g->rng, 3) == 0 ? o->shares : pick_shares(g);
		g->next_ref += 1 + rng_below(&g->rng, 4);
		o->ref = g->next_ref;
		o->px = (uint16_t)px;
		o->shares = shares;
		level_add(g, s, o->side, px);
		ring_push(g, pos);
		m->u.replace.new_ref = o->ref;
		m->u.replace.shares = shares;
		m->u.replace.price = px_of(g, s, px);
		break;
	}
	default:
		break;
	}
}

int itg_next(struct itg *g, struct dp_itch_msg *m, uint8_t *buf, size_t cap)
{
	struct dp_itch_msg local;
	if (!m)
		m = &local;
	memset(m, 0, sizeof(*m));

	uint64_t k = g->emitted;
	if (k < g->pre_len) {
		gen_preamble(g, m);
	} else if (k < g->pre_len + g->body_len) {
		gen_body(g, m);
		g->st.body++;
	} else if (k < g->pre_len + g->body_len + 3) {
		gen_closing(g, m, k - g->pre_len - g->body_len);
	} else {
		return 0;
	}

	int len = dp_itch_encode(m, buf, cap);
	if (len < 0)
		return len;
	g->emitted++;
	g->st.total++;
	int ti = dp_itch_type_index((uint8_t)m->hdr.type);
	if (ti >= 0)
		g->st.by_type[ti]++;
	g->st.last_ts = m->hdr.timestamp;
	return len;
}

/* ---- writers ------------------------------------------------------------- */

struct itg_out {
	struct itg_out_cfg cfg;
	struct itg_out_stats st;
	FILE *bin;
	FILE *pcap;
	int err;              /* first errno seen */

	uint8_t payload[ITG_MAX_PAYLOAD];
	size_t plen;          /* bytes in payload, header included */
	uint16_t pcount;      /* messages in the pending packet */
	uint64_t pfirst_ts;   /* timestamp of its first message */
	uint64_t plast_ts;    /* of its last message: the packet's send time */
	uint64_t next_seq;    /* sequence number of the next message */
	uint64_t last_sent;   /* send time of the previous packet */
	bool sent_any;
	uint16_t ip_id;
};

void itg_out_cfg_default(struct itg_out_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->group = ITG_DEFAULT_GROUP;
	c->port = ITG_DEFAULT_PORT;
	memcpy(c->session, ITG_DEFAULT_SESSION, 10);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	/* pcap headers are written little-endian explicitly, whatever the host. */
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void note_err(struct itg_out *o, int e)
{
	if (!o->err)
		o->err = e ? e : EIO;
}

static void write_frame(struct itg_out *o, uint32_t src_ip, uint64_t ts,
			const uint8_t *payload, size_t plen)
{
	uint8_t frame[16 + 2048];
	int flen = dp_pkt_build_udp(frame + 16, sizeof(frame) - 16, src_ip, o->cfg.group,
				    ITG_SRC_PORT, o->cfg.port, o->ip_id, payload, plen);
	if (flen < 0) {
		note_err(o, EMSGSIZE);
		return;
	}
	/* Record header: seconds, microseconds, captured length, wire length. */
	put_le32(frame + 0, ITG_PCAP_EPOCH + (uint32_t)(ts / NS_PER_S));
	put_le32(frame + 4, (uint32_t)((ts % NS_PER_S) / 1000));
	put_le32(frame + 8, (uint32_t)flen);
	put_le32(frame + 12, (uint32_t)flen);
	if (fwrite(frame, 1, 16 + (size_t)flen, o->pcap) != 16 + (size_t)flen)
		note_err(o, errno);
	o->st.frames++;
	o->st.pcap_bytes += 16 + (uint64_t)flen;
}

/* Send one MoldUDP64 packet (on both lines with --ab) with the given header. */
static void send_packet(struct itg_out *o, uint64_t seq, uint16_t count, uint64_t ts,
			size_t plen)
{
	struct dp_mold_hdr h;
	memcpy(h.session, o->cfg.session, DP_MOLD_SESSION_LEN);
	h.seq = seq;
	h.count = count;
	dp_mold_write_hdr(o->payload, &h);
	write_frame(o, ITG_SRC_IP_A, ts, o->payload, plen);
	if (o->cfg.ab)
		write_frame(o, ITG_SRC_IP_B, ts, o->payload, plen);
	o->ip_id++;
	o->st.packets++;
	o->last_sent = ts;
	o->sent_any = true;
}

static void flush_packet(struct itg_out *o)
{
	if (o->pcount == 0)
		return;
	send_packet(o, o->next_seq, o->pcount, o->plast_ts, o->plen);
	o->next_seq += o->pcount;
	o->pcount = 0;
	o->plen = DP_MOLD_HDR_LEN;
}

int itg_out_open(struct itg_out **out, const struct itg_out_cfg *cfg,
		 char *err, size_t errlen)
{
	*out = NULL;
	struct itg_out *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->cfg = *cfg;
	o->plen = DP_MOLD_HDR_LEN;
	o->next_seq = 1;
	if (cfg->binfile) {
		o->bin = fopen(cfg->binfile, "wb");
		if (!o->bin) {
			int e = errno;
			snprintf(err, errlen, "%s: %s", cfg->binfile, strerror(e));
			free(o);
			return -e;
		}
		setvbuf(o->bin, NULL, _IOFBF, 1 << 20);
	}
	if (cfg->pcap) {
		o->pcap = fopen(cfg->pcap, "wb");
		if (!o->pcap) {
			int e = errno;
			snprintf(err, errlen, "%s: %s", cfg->pcap, strerror(e));
			if (o->bin)
				fclose(o->bin);
			free(o);
			return -e;
		}
		setvbuf(o->pcap, NULL, _IOFBF, 1 << 20);
		/* Global header: classic microsecond pcap, v2.4, Ethernet. */
		uint8_t gh[24];
		put_le32(gh + 0, 0xa1b2c3d4u);
		gh[4] = 2; gh[5] = 0;   /* version major 2 */
		gh[6] = 4; gh[7] = 0;   /* version minor 4 */
		put_le32(gh + 8, 0);    /* thiszone */
		put_le32(gh + 12, 0);   /* sigfigs */
		put_le32(gh + 16, 65535); /* snaplen */
		put_le32(gh + 20, 1);   /* LINKTYPE_ETHERNET */
		if (fwrite(gh, 1, sizeof(gh), o->pcap) != sizeof(gh))
			note_err(o, errno);
		o->st.pcap_bytes += sizeof(gh);
	}
	*out = o;
	return 0;
}

int itg_out_put(struct itg_out *o, const uint8_t *msg, size_t len, uint64_t ts)
{
	o->st.messages++;
	if (o->bin) {
		uint8_t l[2] = { (uint8_t)(len >> 8), (uint8_t)len };
		if (fwrite(l, 1, 2, o->bin) != 2 || fwrite(msg, 1, len, o->bin) != len)
			note_err(o, errno);
		o->st.bin_bytes += 2 + len;
	}
	if (o->pcap) {
		if (o->pcount > 0 &&
		    (o->plen + 2 + len > ITG_MAX_PAYLOAD || ts - o->pfirst_ts > ITG_FLUSH_NS))
			flush_packet(o);
		if (o->pcount == 0) {
			/* After a long quiet stretch, one heartbeat, as a server would. */
			if (o->sent_any && ts >= o->last_sent + ITG_HEARTBEAT_NS) {
				send_packet(o, o->next_seq, DP_MOLD_HEARTBEAT,
					    o->last_sent + ITG_HEARTBEAT_NS, DP_MOLD_HDR_LEN);
				o->st.heartbeats++;
			}
			o->pfirst_ts = ts;
		}
		o->payload[o->plen] = (uint8_t)(len >> 8);
		o->payload[o->plen + 1] = (uint8_t)len;
		memcpy(o->payload + o->plen + 2, msg, len);
		o->plen += 2 + len;
		o->pcount++;
		o->plast_ts = ts;
	}
	return o->err ? -o->err : 0;
}

int itg_out_close(struct itg_out *o, struct itg_out_stats *st)
{
	if (o->pcap) {
		flush_packet(o);
		send_packet(o, o->next_seq, DP_MOLD_END_OF_SESSION,
			    o->sent_any ? o->last_sent : 0, DP_MOLD_HDR_LEN);
		if (fclose(o->pcap) != 0)
			note_err(o, errno);
	}
	if (o->bin && fclose(o->bin) != 0)
		note_err(o, errno);
	if (st)
		*st = o->st;
	int e = o->err;
	free(o);
	return e ? -e : 0;
}
