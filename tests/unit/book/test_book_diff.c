/*
 * test_book_diff.c - differential test of the L3 book.
 *
 * A deliberately naive reference model (a flat array of live orders,
 * searched linearly; levels computed by scanning) is fed the same long,
 * seeded random stream of book events as dp_book, and the two are compared
 * after every step: stats and live counts always, the BBO of the symbol the
 * event touched, and every CHECK_EVERY steps the full depth of every symbol,
 * every live order (with its queue position), the symbol facts, the busiest
 * list and dp_book_check(). The pools are small so that refusals for full
 * pools happen too, and the stream contains unknown and duplicate refs,
 * zero quantities, bad sides and bad locates.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"

#define NSYM 6          /* book max_symbols; generator also emits locate 6..7 (bad) */
#define MAX_ORD 700
#define MAX_LVL 330
#define STEPS 200000
#define CHECK_EVERY 997

/* ------------------------------------------------------------------ */
/* Reference model                                                     */

struct m_ord {
	uint64_t ref;
	uint64_t seq;   /* arrival order: time priority */
	uint32_t qty, price;
	uint16_t locate;
	char side;
};

struct m_sym {
	int seen, named;
	char stock[8];
	char state, category;
	uint32_t round_lot;
	uint64_t events;
};

static struct m_ord mo[MAX_ORD + 8];
static int mn;
static uint64_t mseq;
static struct m_sym msym[NSYM];
static struct dp_book_stats mst;

static int m_find(uint64_t ref)
{
	for (int i = 0; i < mn; i++)
		if (mo[i].ref == ref)
			return i;
	return -1;
}

static int m_level_exists(uint16_t loc, char side, uint32_t price)
{
	for (int i = 0; i < mn; i++)
		if (mo[i].locate == loc && mo[i].side == side && mo[i].price == price)
			return 1;
	return 0;
}

static uint32_t m_levels(void)
{
	uint32_t n = 0;
	for (int i = 0; i < mn; i++) {
		int first = 1;
		for (int j = 0; j < i; j++)
			if (mo[j].locate == mo[i].locate && mo[j].side == mo[i].side &&
			    mo[j].price == mo[i].price)
				first = 0;
		n += first;
	}
	return n;
}

static void m_applied(uint16_t loc, int kind)
{
	msym[loc].seen = 1;
	msym[loc].events++;
	mst.events[kind]++;
}

static void m_remove(int i)
{
	mo[i] = mo[--mn];
}

static int m_add(uint16_t loc, char side, uint32_t price, uint32_t qty, uint64_t ref, const char *stock)
{
	if (loc >= NSYM) {
		mst.bad_locate++;
		return 0;
	}
	if (side != 'B' && side != 'S') {
		mst.bad_side++;
		return 0;
	}
	if (qty == 0) {
		mst.zero_qty++;
		return 0;
	}
	if (m_find(ref) >= 0) {
		mst.duplicate_ref++;
		return 0;
	}
	if (mn == MAX_ORD) {
		mst.orders_full++;
		return 0;
	}
	if (!m_level_exists(loc, side, price) && m_levels() == MAX_LVL) {
		mst.levels_full++;
		return 0;
	}
	mo[mn++] = (struct m_ord){ ref, mseq++, qty, price, loc, side };
	if (!msym[loc].named && stock) {
		memcpy(msym[loc].stock, stock, 8);
		msym[loc].named = 1;
	}
	return 1;
}

static void m_apply(const struct dp_book_ev *ev)
{
	int i;
	switch (ev->kind) {
	case DP_BEV_ADD:
		if (m_add(ev->locate, ev->side, ev->price, ev->qty, ev->ref, ev->stock))
			m_applied(ev->locate, DP_BEV_ADD);
		break;
	case DP_BEV_EXEC:
	case DP_BEV_EXEC_PX:
	case DP_BEV_CANCEL:
		i = m_find(ev->ref);
		if (i < 0) {
			mst.unknown_ref++;
			break;
		}
		{
			uint16_t loc = mo[i].locate;
			if (ev->qty >= mo[i].qty) {
				if (ev->qty > mo[i].qty)
					mst.overfill++;
				m_remove(i);
			} else {
				mo[i].qty -= ev->qty;
			}
			m_applied(loc, ev->kind);
		}
		break;
	case DP_BEV_DELETE:
		i = m_find(ev->ref);
		if (i < 0) {
			mst.unknown_ref++;
			break;
		}
		{
			uint16_t loc = mo[i].locate;
			m_remove(i);
			m_applied(loc, DP_BEV_DELETE);
		}
		break;
	case DP_BEV_REPLACE:
		i = m_find(ev->ref);
		if (i < 0) {
			mst.unknown_ref++;
			break;
		}
		{
			uint16_t loc = mo[i].locate;
			char side = mo[i].side;
			m_remove(i);
			if (m_add(loc, side, ev->price, ev->qty, ev->ref2, NULL))
				m_applied(loc, DP_BEV_REPLACE);
		}
		break;
	case DP_BEV_DIRECTORY:
		if (ev->locate >= NSYM) {
			mst.bad_locate++;
			break;
		}
		memcpy(msym[ev->locate].stock, ev->stock, 8);
		msym[ev->locate].named = 1;
		msym[ev->locate].round_lot = ev->qty;
		msym[ev->locate].category = ev->flag;
		m_applied(ev->locate, DP_BEV_DIRECTORY);
		break;
	case DP_BEV_TRADING_STATE:
		if (ev->locate >= NSYM) {
			mst.bad_locate++;
			break;
		}
		msym[ev->locate].state = ev->flag;
		if (!msym[ev->locate].named) {
			memcpy(msym[ev->locate].stock, ev->stock, 8);
			msym[ev->locate].named = 1;
		}
		m_applied(ev->locate, DP_BEV_TRADING_STATE);
		break;
	default:
		break;
	}
}

/* Depth of one side computed by scanning: distinct prices, best first. */
static int m_depth(uint16_t loc, int side, struct dp_book_level *out, int max)
{
	char sc = side == DP_BOOK_BID ? 'B' : 'S';
	int n = 0;
	for (int i = 0; i < mn; i++) {
		if (mo[i].locate != loc || mo[i].side != sc)
			continue;
		int j;
		for (j = 0; j < n; j++)
			if (out[j].price == mo[i].price)
				break;
		if (j == n) {
			if (n == max)
				abort(); /* caller passes room for every level */
			out[n++] = (struct dp_book_level){ mo[i].price, 0, 0 };
		}
		out[j].orders++;
		out[j].qty += mo[i].qty;
	}
	/* Insertion sort, best first. */
	for (int a = 1; a < n; a++) {
		struct dp_book_level t = out[a];
		int b = a;
		while (b > 0 && (side == DP_BOOK_BID ? out[b - 1].price < t.price
						     : out[b - 1].price > t.price)) {
			out[b] = out[b - 1];
			b--;
		}
		out[b] = t;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Random stream                                                       */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint32_t mid[8];
static uint64_t next_ref = 1000;

/*
 * Price model, set per variant (see `variants`): how far each mid wanders
 * from its start (walk, in price units), the start of symbol 0, and 1 in
 * subpenny adds off the cent grid (0 = never). A wide walk moves the touch
 * out of the ladder windows (rebases, levels in the sorted arrays); a start
 * near zero puts bids near key 0 and asks near key 2^32 - 1.
 */
static uint32_t walk = 1500, start0 = 1000000, subpenny;

static uint32_t start_of(uint16_t loc)
{
	return loc == 0 ? start0 : 1000000 + (uint32_t)loc * 50000;
}
static const char *names[8] = { "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH" };

static uint64_t pick_live_or_unknown(void)
{
	if (mn == 0 || below(100) < 3)
		return next_ref + 1000000 + below(1000);
	return mo[below((uint32_t)mn)].ref;
}

static void gen(struct dp_book_ev *ev)
{
	memset(ev, 0, sizeof *ev);
	uint32_t r = below(1000);
	/*
	 * Keep the live population between ~300 and the pool size; one phase
	 * in four pushes against the cap so pools fill and adds are refused.
	 */
	static long calls;
	int pressure = (calls++ / 10000) % 4 == 3;
	uint32_t add_pct = mn < 300 ? 700 : pressure ? 650 : mn > 650 ? 300 : 430;

	if (r < 4) {
		ev->kind = below(2) ? DP_BEV_DIRECTORY : DP_BEV_TRADING_STATE;
		ev->locate = (uint16_t)below(8);
		char nm[9];
		snprintf(nm, sizeof nm, "%sX%u", names[ev->locate], below(3));
		memset(ev->stock, ' ', 8);
		memcpy(ev->stock, nm, strlen(nm));
		ev->qty = 100 * (1 + below(3));
		ev->flag = "HPQTNG"[below(6)];
		return;
	}
	if (r < 4 + add_pct) {
		uint16_t loc = (uint16_t)below(NSYM);
		if (below(100) == 0)
			loc = (uint16_t)(NSYM + below(2));
		/* Random walk of the mid, pulled back towards its start. */
		uint32_t base = start_of(loc);
		mid[loc] += below(3) * 100;
		mid[loc] -= below(3) * 100;
		if (mid[loc] > base + walk)
			mid[loc] -= 100;
		if (mid[loc] < base - walk || mid[loc] < 1500)
			mid[loc] += 100;
		ev->kind = DP_BEV_ADD;
		ev->locate = loc;
		ev->side = below(2) ? 'B' : 'S';
		if (below(200) == 0)
			ev->side = 'Z';
		uint32_t off = below(12) * 100;
		ev->price = ev->side == 'B' ? mid[loc] - off : mid[loc] + off;
		if (subpenny && below(subpenny) == 0)
			ev->price += below(100);
		ev->qty = 1 + below(500);
		if (below(100) == 0)
			ev->qty = 0;
		ev->ref = next_ref++;
		if (mn && below(50) == 0)
			ev->ref = mo[below((uint32_t)mn)].ref; /* duplicate */
		memset(ev->stock, ' ', 8);
		memcpy(ev->stock, names[loc], 3);
		return;
	}
	r = below(100);
	ev->locate = (uint16_t)below(NSYM);
	ev->ref = pick_live_or_unknown();
	int i = m_find(ev->ref);
	uint32_t have = i >= 0 ? mo[i].qty : 100;
	if (r < 15) {
		ev->kind = DP_BEV_EXEC;
	} else if (r < 25) {
		ev->kind = DP_BEV_EXEC_PX;
		ev->price = 12345;
	} else if (r < 45) {
		ev->kind = DP_BEV_CANCEL;
	} else if (r < 80) {
		ev->kind = DP_BEV_DELETE;
		return;
	} else {
		ev->kind = DP_BEV_REPLACE;
		ev->ref2 = next_ref++;
		uint32_t q = below(100);
		if (q < 3 && mn)
			ev->ref2 = mo[below((uint32_t)mn)].ref; /* duplicate new ref */
		else if (q < 4)
			ev->ref2 = ev->ref; /* new ref = original */
		ev->qty = q == 5 ? 0 : 1 + below(500);
		uint16_t loc = i >= 0 ? mo[i].locate : 0;
		ev->price = i >= 0 ? mo[i].price + (below(3) - 1) * 100 : mid[loc];
		if (below(4) == 0 && i >= 0)
			ev->price = mo[i].price; /* same price, loses priority */
		return;
	}
	/* Execution/cancel quantity: partial mostly, exact or over sometimes. */
	uint32_t q = below(10);
	ev->qty = q < 6 ? 1 + below(have) : q < 9 ? have : have + 1 + below(50);
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */

static void cmp_level(const struct dp_book_level *a, const struct dp_book_level *e, long step)
{
	ck_assert_msg(a->price == e->price && a->orders == e->orders && a->qty == e->qty,
		      "step %ld: level %u/%u/%llu, model %u/%u/%llu", step, a->price, a->orders,
		      (unsigned long long)a->qty, e->price, e->orders, (unsigned long long)e->qty);
}

static void cmp_bbo(struct dp_book *b, uint16_t loc, long step)
{
	struct dp_book_level bid, ask, mb[1 + MAX_LVL], ma[1 + MAX_LVL];
	ck_assert_int_eq(dp_book_bbo(b, loc, &bid, &ask), 0);
	int nb = m_depth(loc, DP_BOOK_BID, mb, MAX_LVL + 1);
	int na = m_depth(loc, DP_BOOK_ASK, ma, MAX_LVL + 1);
	if (nb)
		cmp_level(&bid, &mb[0], step);
	else
		ck_assert_msg(bid.qty == 0, "step %ld: bid on empty side", step);
	if (na)
		cmp_level(&ask, &ma[0], step);
	else
		ck_assert_msg(ask.qty == 0, "step %ld: ask on empty side", step);
}

static void cmp_stats(struct dp_book *b, long step)
{
	const struct dp_book_stats *s = dp_book_stats(b);
	for (int k = 0; k < DP_BEV__COUNT; k++)
		ck_assert_msg(s->events[k] == mst.events[k], "step %ld: events[%d] %llu vs %llu",
			      step, k, (unsigned long long)s->events[k],
			      (unsigned long long)mst.events[k]);
	ck_assert_msg(memcmp(s, &mst, sizeof mst) == 0, "step %ld: stats differ", step);
	ck_assert_msg(dp_book_live_orders(b) == (uint32_t)mn, "step %ld: live orders %u vs %d",
		      step, dp_book_live_orders(b), mn);
}

static void cmp_full(struct dp_book *b, long step)
{
	struct dp_book_level d[MAX_LVL + 1], e[MAX_LVL + 1];
	ck_assert_int_eq(dp_book_check(b), 0);
	ck_assert_uint_eq(dp_book_live_levels(b), m_levels());
	for (uint16_t loc = 0; loc < NSYM; loc++) {
		for (int side = 0; side < 2; side++) {
			int n = dp_book_depth(b, loc, side, d, MAX_LVL + 1);
			int m = m_depth(loc, side, e, MAX_LVL + 1);
			ck_assert_msg(n == m, "step %ld: depth %d vs %d", step, n, m);
			for (int i = 0; i < n; i++)
				cmp_level(&d[i], &e[i], step);
			/* A truncated depth is a prefix. */
			if (n > 2)
				ck_assert_int_eq(dp_book_depth(b, loc, side, d, 2), 2);
		}
		struct dp_book_symbol_info si;
		int rc = dp_book_symbol(b, loc, &si);
		ck_assert_int_eq(rc, msym[loc].seen ? 0 : -ENOENT);
		if (rc == 0) {
			ck_assert_uint_eq(si.events, msym[loc].events);
			ck_assert_uint_eq(si.round_lot, msym[loc].round_lot);
			ck_assert_int_eq(si.trading_state, msym[loc].state ? msym[loc].state : ' ');
			ck_assert_int_eq(si.market_category,
					 msym[loc].category ? msym[loc].category : ' ');
			char nm[9];
			memcpy(nm, msym[loc].stock, 8);
			int k = 8;
			while (k > 0 && (nm[k - 1] == ' ' || nm[k - 1] == 0))
				k--;
			nm[k] = 0;
			ck_assert_str_eq(si.stock, msym[loc].named ? nm : "");
			uint32_t cnt = 0;
			for (int i = 0; i < mn; i++)
				cnt += mo[i].locate == loc;
			ck_assert_uint_eq(si.orders, cnt);
			ck_assert_uint_eq(si.bid_levels, (uint32_t)m_depth(loc, 0, e, MAX_LVL + 1));
			ck_assert_uint_eq(si.ask_levels, (uint32_t)m_depth(loc, 1, e, MAX_LVL + 1));
		}
	}
	for (int i = 0; i < mn; i++) {
		struct dp_book_order_info oi;
		ck_assert_int_eq(dp_book_order(b, mo[i].ref, &oi), 0);
		ck_assert_uint_eq(oi.qty, mo[i].qty);
		ck_assert_uint_eq(oi.price, mo[i].price);
		ck_assert_uint_eq(oi.locate, mo[i].locate);
		ck_assert_int_eq(oi.side, mo[i].side);
		uint32_t pos = 0;
		for (int j = 0; j < mn; j++)
			pos += mo[j].locate == mo[i].locate && mo[j].side == mo[i].side &&
			       mo[j].price == mo[i].price && mo[j].seq < mo[i].seq;
		ck_assert_msg(oi.queue_pos == pos, "step %ld: queue_pos %u vs %u", step, oi.queue_pos, pos);
	}
	/* Busiest: the model's ranking by (events desc, locate asc). */
	uint16_t bo[NSYM];
	int nb = dp_book_busiest(b, bo, NSYM);
	int seen = 0;
	for (int l = 0; l < NSYM; l++)
		seen += msym[l].seen;
	ck_assert_int_eq(nb, seen);
	for (int i = 1; i < nb; i++) {
		uint64_t e0 = msym[bo[i - 1]].events, e1 = msym[bo[i]].events;
		ck_assert(e0 > e1 || (e0 == e1 && bo[i - 1] < bo[i]));
	}
}

/*
 * Loop 0: the default reference window. Loop 1: a window of 16 slots, so
 * that nearly every order is found through the overflow hash and adds keep
 * moving older orders there.
 */
/* b2 got the same events through dp_book_apply_burst: it must equal b. */
static void cmp_books(struct dp_book *b, struct dp_book *b2, long step)
{
	struct dp_book_level d[MAX_LVL + 1], e[MAX_LVL + 1];
	ck_assert_int_eq(dp_book_check(b2), 0);
	ck_assert_msg(memcmp(dp_book_stats(b), dp_book_stats(b2), sizeof(struct dp_book_stats)) == 0,
		      "step %ld: burst book stats differ", step);
	ck_assert_uint_eq(dp_book_live_orders(b), dp_book_live_orders(b2));
	ck_assert_uint_eq(dp_book_live_levels(b), dp_book_live_levels(b2));
	for (uint16_t loc = 0; loc < NSYM; loc++)
		for (int side = 0; side < 2; side++) {
			int n = dp_book_depth(b, loc, side, d, MAX_LVL + 1);
			ck_assert_int_eq(dp_book_depth(b2, loc, side, e, MAX_LVL + 1), n);
			for (int i = 0; i < n; i++)
				cmp_level(&e[i], &d[i], step);
		}
}

/*
 * Book configurations and price models the stream runs against: the
 * defaults; a 16-slot reference window (orders overflow to the hash); one
 * ladder for all 12 sides (the rest keep every level in the sorted array)
 * under a wide walk with sub-penny prices; and a wide walk near price zero
 * with every side on a ladder (rebases, windows at both ends of the key
 * space).
 */
static const struct variant {
	const char *name;
	uint32_t window, ladders, walk, start0, subpenny;
} variants[] = {
	{ "default", 0, 0, 1500, 1000000, 0 },
	{ "window 16", 16, 0, 1500, 1000000, 0 },
	{ "1 ladder, wide walk, sub-penny", 0, 1, 40000, 1000000, 8 },
	{ "wide walk from near zero", 0, 0, 60000, 3000, 20 },
};
#define NVARIANTS ((int)(sizeof variants / sizeof variants[0]))

START_TEST(differential)
{
	struct dp_book *b, *b2;
	static struct dp_book_ev burst[300];
	uint32_t nburst = 0, want = 1, brng = 7; /* burst sizes: own generator, not the stream's */
	const struct variant *v = &variants[_i];
	struct dp_book_cfg cfg = { MAX_ORD, MAX_LVL, NSYM, v->window, v->ladders };
	walk = v->walk;
	start0 = v->start0;
	subpenny = v->subpenny;
	ck_assert_int_eq(dp_book_create(&b, &cfg, NULL), 0);
	ck_assert_int_eq(dp_book_create(&b2, &cfg, NULL), 0);
	for (uint16_t l = 0; l < 8; l++)
		mid[l] = start_of(l);

	for (long step = 0; step < STEPS; step++) {
		struct dp_book_ev ev;
		gen(&ev);
		/* The symbol the event touches, as known before it is applied. */
		int i = (ev.kind >= DP_BEV_EXEC && ev.kind <= DP_BEV_REPLACE) ? m_find(ev.ref) : -1;
		uint16_t loc = i >= 0 ? mo[i].locate : ev.locate < NSYM ? ev.locate : 0;

		/* Both ways of hinting: separate calls, and the combined call. */
		if (step & 1) {
			dp_book_prefetch(b, &ev);
			dp_book_apply(b, &ev);
		} else {
			dp_book_prefetch_apply(b, &ev, &ev);
		}
		m_apply(&ev);

		/* The same stream into b2 in bursts of 1 to 300 events. */
		burst[nburst++] = ev;
		if (nburst == want || step == STEPS - 1) {
			dp_book_apply_burst(b2, burst, nburst);
			cmp_books(b, b2, step);
			nburst = 0;
			brng = brng * 1103515245u + 12345u;
			want = 1 + (brng >> 8) % 300;
		}

		cmp_stats(b, step);
		cmp_bbo(b, loc, step);
		if (step % CHECK_EVERY == 0 || step == STEPS - 1)
			cmp_full(b, step);
	}
	const struct dp_book_stats *s = dp_book_stats(b);
	printf("diff: %d steps, live %u orders %u levels; add %llu exec %llu exec_px %llu cancel %llu "
	       "delete %llu replace %llu; unknown %llu dup %llu overfill %llu zero %llu bad_side %llu "
	       "bad_locate %llu orders_full %llu levels_full %llu\n",
	       STEPS, dp_book_live_orders(b), dp_book_live_levels(b),
	       (unsigned long long)s->events[DP_BEV_ADD], (unsigned long long)s->events[DP_BEV_EXEC],
	       (unsigned long long)s->events[DP_BEV_EXEC_PX], (unsigned long long)s->events[DP_BEV_CANCEL],
	       (unsigned long long)s->events[DP_BEV_DELETE], (unsigned long long)s->events[DP_BEV_REPLACE],
	       (unsigned long long)s->unknown_ref, (unsigned long long)s->duplicate_ref,
	       (unsigned long long)s->overfill, (unsigned long long)s->zero_qty,
	       (unsigned long long)s->bad_side, (unsigned long long)s->bad_locate,
	       (unsigned long long)s->orders_full, (unsigned long long)s->levels_full);
	/* The stream must actually exercise the refusal paths. */
	ck_assert_uint_gt(s->unknown_ref, 0);
	ck_assert_uint_gt(s->duplicate_ref, 0);
	ck_assert_uint_gt(s->overfill, 0);
	ck_assert_uint_gt(s->zero_qty, 0);
	ck_assert_uint_gt(s->bad_side, 0);
	ck_assert_uint_gt(s->bad_locate, 0);
	ck_assert_uint_gt(s->orders_full, 0);
	ck_assert_uint_gt(s->levels_full, 0);
	uint32_t ovf_live;
	uint64_t ovf_moved;
	dp_book_ref_overflow(b, &ovf_live, &ovf_moved);
	uint32_t lad_used, lad_n;
	uint64_t rebases;
	dp_book_ladders(b, &lad_used, &lad_n, &rebases);
	printf("diff: %s: overflow %u live, %llu moved; ladders %u of %u, %llu rebases\n", v->name,
	       ovf_live, (unsigned long long)ovf_moved, lad_used, lad_n, (unsigned long long)rebases);
	if (v->window)
		ck_assert_uint_gt(ovf_moved, 1000);
	ck_assert_uint_eq(lad_used, v->ladders ? v->ladders : 2 * NSYM);
	if (v->walk > 1500)
		ck_assert_uint_gt(rebases, 50);
	dp_book_destroy(b);
	dp_book_destroy(b2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("book_diff");
	TCase *tc = tcase_create("diff");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, differential, 0, NVARIANTS);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
