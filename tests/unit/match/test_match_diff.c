/*
 * test_match_diff.c - differential test of the matching engine: a
 * deliberately naive reference matcher (one flat array of resting orders,
 * the best order found by a full scan each time) and dp_match are fed the
 * same long seeded random stream (new orders of every type and TIF,
 * post-only, cancels, replaces, mass cancels, duplicates, invalid messages,
 * random references incl. invalid and crossed ones, random STP modes,
 * random report capacities so pausing is exercised). After every message
 * the reports must be identical and the books of the symbol must be equal
 * level by level and order by order (FIFO = time priority). Invariants
 * checked throughout: never crossed, quantity conserved per order
 * (qty = cum + leaves, cum only grows by fills), both sides of each match
 * agree; dp_match_check() every few hundred messages.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_match.h"

#define NSYM 4
#define NSESS 3
#define NACCT 6
#define MAXR 65536 /* reference model capacity: resting orders */
#define MAXREP 65536

/* ---------------- the reference matcher ---------------- */

struct rord {
	uint64_t cl, oid, notional;
	uint32_t acct, sess, price, qty, cum;
	uint64_t time;
	uint16_t sym;
	char side;
	bool market, post;
	uint8_t tif;
};

static struct rord rest[MAXR];
static int nrest;
static uint64_t r_oid, r_exec, r_time;
static uint8_t r_stp[NACCT];
static struct dp_exec_report rrep[MAXREP];
static uint32_t nr;

static bool better(const struct rord *a, const struct rord *b)
{
	if (a->price != b->price)
		return a->side == 'B' ? a->price > b->price : a->price < b->price;
	return a->time < b->time;
}

/* Best resting order on side `side` of sym, skipping index skip; -1 if none. */
static int best_of(uint16_t sym, char side)
{
	int b = -1;
	for (int i = 0; i < nrest; i++)
		if (rest[i].sym == sym && rest[i].side == side && (b < 0 || better(&rest[i], &rest[b])))
			b = i;
	return b;
}

static uint32_t r_avg(const struct rord *o)
{
	return o->cum ? (uint32_t)((o->notional + o->cum / 2) / o->cum) : 0;
}

static struct dp_exec_report *r_emit(const struct rord *o, uint8_t kind, uint8_t reason, bool done)
{
	struct dp_exec_report *r = &rrep[nr++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->reason = reason;
	r->side = o->side;
	r->symbol = o->sym;
	r->account = o->acct;
	r->session = o->sess;
	r->cl_ord_id = o->cl;
	r->order_id = o->oid;
	r->exec_id = (++r_exec) << 1;
	r->leaves_qty = done ? 0 : o->qty - o->cum;
	r->cum_qty = o->cum;
	r->avg_px = r_avg(o);
	return r;
}

static void r_reject(const struct dp_order_msg *m, uint8_t kind, uint8_t reason,
		     const struct rord *t)
{
	struct dp_exec_report *r = &rrep[nr++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->reason = reason;
	r->side = t ? t->side : m->side;
	r->symbol = m->symbol;
	r->account = m->account;
	r->session = m->session;
	r->cl_ord_id = m->cl_ord_id;
	r->exec_id = (++r_exec) << 1;
	if (t) {
		r->order_id = t->oid;
		r->leaves_qty = t->qty - t->cum;
		r->cum_qty = t->cum;
		r->avg_px = r_avg(t);
	}
}

static int r_find(uint32_t sess, uint64_t cl)
{
	for (int i = 0; i < nrest; i++)
		if (rest[i].sess == sess && rest[i].cl == cl)
			return i;
	return -1;
}

static void r_del(int i)
{
	rest[i] = rest[--nrest];
}

static bool r_refok(const struct dp_ref_px *r)
{
	return r && r->valid && r->bid && r->ask && r->bid <= r->ask;
}

static bool r_willing(const struct rord *o, uint32_t p)
{
	return o->market || (o->side == 'B' ? p <= o->price : p >= o->price);
}

static char opp(char s)
{
	return s == 'B' ? 'S' : 'B';
}

static uint8_t stp_of(uint32_t acct)
{
	return acct < NACCT ? r_stp[acct] : DP_STP_CANCEL_NEWEST;
}

/* FOK: simulate on a copy of the opposite side, sorted by priority. */
static bool r_fok(const struct rord *o, const struct dp_ref_px *ref)
{
	static int idx[MAXR];
	int n = 0;
	for (int i = 0; i < nrest; i++)
		if (rest[i].sym == o->sym && rest[i].side == opp(o->side))
			idx[n++] = i;
	/* selection sort: obviously correct */
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (better(&rest[idx[b]], &rest[idx[a]])) {
				int t = idx[a];
				idx[a] = idx[b];
				idx[b] = t;
			}
	uint64_t got = 0;
	for (int k = 0; k < n; k++) {
		const struct rord *ro = &rest[idx[k]];
		if (!r_willing(o, ro->price) || !r_refok(ref) || ro->price < ref->bid ||
		    ro->price > ref->ask)
			return false;
		if (ro->acct == o->acct && stp_of(o->acct) != DP_STP_NONE) {
			if (stp_of(o->acct) == DP_STP_CANCEL_OLDEST)
				continue;
			return false;
		}
		got += ro->qty - ro->cum;
		if (got >= o->qty - o->cum)
			return true;
	}
	return false;
}

/* The aggressor o (not in rest[]) takes; then rests or is cancelled. */
static void r_match(struct rord *o, const struct dp_ref_px *ref)
{
	uint8_t stop = DP_RJ_IOC_REMAINDER;
	while (o->cum < o->qty) {
		int b = best_of(o->sym, opp(o->side));
		if (b < 0 || !r_willing(o, rest[b].price))
			break;
		struct rord *ro = &rest[b];
		if (!r_refok(ref) || ro->price < ref->bid || ro->price > ref->ask) {
			stop = DP_RJ_TRADE_THROUGH;
			break;
		}
		uint8_t mode = stp_of(o->acct);
		if (ro->acct == o->acct && mode != DP_STP_NONE) {
			if (mode == DP_STP_CANCEL_OLDEST || mode == DP_STP_CANCEL_BOTH) {
				r_emit(ro, DP_EXEC_CANCELLED, DP_RJ_STP, true);
				r_del(b);
			}
			if (mode != DP_STP_CANCEL_OLDEST) {
				stop = DP_RJ_STP;
				break;
			}
			continue;
		}
		uint32_t q = o->qty - o->cum;
		if (ro->qty - ro->cum < q)
			q = ro->qty - ro->cum;
		uint32_t p = ro->price;
		o->cum += q;
		o->notional += (uint64_t)p * q;
		ro->cum += q;
		ro->notional += (uint64_t)p * q;
		uint64_t match = ++r_exec;
		struct dp_exec_report *a = r_emit(o, DP_EXEC_FILL, 0, false);
		struct dp_exec_report *c = r_emit(ro, DP_EXEC_FILL, 0, false);
		r_exec = match;
		a->exec_id = match << 1;
		c->exec_id = match << 1 | 1;
		a->flags = DP_MATCH_RF_AGGRESSOR;
		a->last_px = c->last_px = p;
		a->last_qty = c->last_qty = q;
		a->contra = ro->acct;
		c->contra = o->acct;
		if (ro->cum == ro->qty)
			r_del(b);
	}
	if (o->cum == o->qty)
		return;
	if (stop == DP_RJ_IOC_REMAINDER && !o->market && o->tif == DP_TIF_DAY) {
		o->time = ++r_time;
		rest[nrest++] = *o;
		return;
	}
	r_emit(o, DP_EXEC_CANCELLED, stop, true);
}

static void r_process(const struct dp_order_msg *m, const struct dp_ref_px *ref)
{
	nr = 0;
	if (m->kind == DP_ORD_NEW) {
		uint8_t rj = 0;
		bool market = m->type == DP_ORD_MARKET, post = m->flags & DP_ORD_F_POST_ONLY;
		if (m->symbol >= NSYM)
			rj = DP_RJ_UNKNOWN_SYMBOL;
		else if (m->session >= NSESS)
			rj = DP_RJ_RISK_UNKNOWN_ACCOUNT;
		else if (m->side != 'B' && m->side != 'S')
			rj = DP_RJ_BAD_SIDE;
		else if (m->type != DP_ORD_LIMIT && !market)
			rj = DP_RJ_BAD_TYPE;
		else if (m->tif < 1 || m->tif > 3)
			rj = DP_RJ_BAD_TIF;
		else if (!m->qty)
			rj = DP_RJ_BAD_QTY;
		else if (!market && !m->price)
			rj = DP_RJ_BAD_PRICE;
		else if (post && market)
			rj = DP_RJ_BAD_TYPE;
		else if (post && m->tif != DP_TIF_DAY)
			rj = DP_RJ_BAD_TIF;
		else if (r_find(m->session, m->cl_ord_id) >= 0)
			rj = DP_RJ_DUPLICATE_ID;
		if (rj) {
			r_reject(m, DP_EXEC_REJECTED, rj, NULL);
			return;
		}
		struct rord o = { .cl = m->cl_ord_id, .acct = m->account, .sess = m->session,
				  .price = market ? 0 : m->price, .qty = m->qty, .sym = m->symbol,
				  .side = m->side, .market = market, .post = post, .tif = m->tif };
		int b = best_of(o.sym, opp(o.side));
		bool mkt = b >= 0 && r_willing(&o, rest[b].price);
		if (post && mkt)
			rj = DP_RJ_POST_ONLY_WOULD_TAKE;
		else if ((market || mkt) && !r_refok(ref))
			rj = DP_RJ_NO_REFERENCE;
		else if (o.tif == DP_TIF_FOK && !r_fok(&o, ref))
			rj = DP_RJ_FOK_NOT_FILLABLE;
		if (rj) {
			r_reject(m, DP_EXEC_REJECTED, rj, NULL);
			return;
		}
		o.oid = ++r_oid;
		r_emit(&o, DP_EXEC_ACCEPTED, 0, false);
		r_match(&o, ref);
	} else if (m->kind == DP_ORD_CANCEL || m->kind == DP_ORD_REPLACE) {
		int i = r_find(m->session, m->orig_cl_ord_id);
		if (i >= 0 && rest[i].sym != m->symbol)
			i = -1;
		if (i < 0) {
			r_reject(m, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, NULL);
			return;
		}
		struct rord *o = &rest[i];
		if (m->kind == DP_ORD_CANCEL) {
			r_emit(o, DP_EXEC_CANCELLED, 0, true);
			r_del(i);
			return;
		}
		uint8_t rj = 0;
		if (m->type != DP_ORD_LIMIT)
			rj = DP_RJ_BAD_TYPE;
		else if (!m->qty)
			rj = DP_RJ_BAD_QTY;
		else if (!m->price)
			rj = DP_RJ_BAD_PRICE;
		else if (m->cl_ord_id != m->orig_cl_ord_id && r_find(m->session, m->cl_ord_id) >= 0)
			rj = DP_RJ_DUPLICATE_ID;
		if (rj) {
			r_reject(m, DP_EXEC_CANCEL_REJECTED, rj, o);
			return;
		}
		if (m->qty <= o->cum) {
			o->cl = m->cl_ord_id;
			r_emit(o, DP_EXEC_CANCELLED, 0, true);
			r_del(i);
			return;
		}
		if (m->price == o->price && m->qty <= o->qty) {
			o->qty = m->qty;
			o->cl = m->cl_ord_id;
			r_emit(o, DP_EXEC_REPLACED, 0, false)->last_px = o->price;
			return;
		}
		struct rord n = *o;
		n.price = m->price;
		int b = best_of(n.sym, opp(n.side));
		bool mkt = b >= 0 && r_willing(&n, rest[b].price);
		if (mkt && n.post)
			rj = DP_RJ_POST_ONLY_WOULD_TAKE;
		else if (mkt && !r_refok(ref))
			rj = DP_RJ_NO_REFERENCE;
		if (rj) {
			r_reject(m, DP_EXEC_CANCEL_REJECTED, rj, o);
			return;
		}
		r_del(i);
		n.qty = m->qty;
		n.cl = m->cl_ord_id;
		r_emit(&n, DP_EXEC_REPLACED, 0, false)->last_px = n.price;
		r_match(&n, ref);
	} else if (m->kind == DP_ORD_MASS_CANCEL) {
		if (m->mass < 1 || m->mass > 4) {
			r_reject(m, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_TYPE, NULL);
			return;
		}
		if (m->mass == DP_MASS_SYMBOL && m->symbol >= NSYM) {
			r_reject(m, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_SYMBOL, NULL);
			return;
		}
		for (int i = 0; i < nrest;) {
			const struct rord *o = &rest[i];
			bool hit = m->mass == DP_MASS_ALL || (m->mass == DP_MASS_ACCOUNT && o->acct == m->account) ||
				   (m->mass == DP_MASS_SESSION && o->sess == m->session) ||
				   (m->mass == DP_MASS_SYMBOL && o->sym == m->symbol);
			if (hit) {
				r_emit(o, DP_EXEC_CANCELLED, 0, true);
				r_del(i);
			} else {
				i++;
			}
		}
	} else {
		r_reject(m, DP_EXEC_REJECTED, DP_RJ_BAD_TYPE, NULL);
	}
}

/* ---------------- comparison ---------------- */

static struct dp_exec_report erep[MAXREP];

static int cmp_oid(const void *a, const void *b)
{
	const struct dp_exec_report *x = a, *y = b;
	return x->order_id < y->order_id ? -1 : x->order_id > y->order_id;
}

static void compare_reports(uint32_t ne, bool mass, long step)
{
	if (ne != nr)
		ck_abort_msg("step %ld: %u reports, reference %u", step, ne, nr);
	if (mass && nr) {
		/* Mass cancel order is the engine's pool order: compare as sets
		 * (exec ids are consecutive either way). */
		uint64_t e0 = erep[0].exec_id, r0 = rrep[0].exec_id;
		ck_assert_uint_eq(e0, r0);
		qsort(erep, ne, sizeof erep[0], cmp_oid);
		qsort(rrep, nr, sizeof rrep[0], cmp_oid);
		for (uint32_t i = 0; i < nr; i++)
			erep[i].exec_id = rrep[i].exec_id = 0;
	}
	for (uint32_t i = 0; i < nr; i++)
		if (memcmp(&erep[i], &rrep[i], sizeof erep[i])) {
			const struct dp_exec_report *e = &erep[i], *r = &rrep[i];
			ck_abort_msg("step %ld report %u differs: kind %u/%u reason %u/%u cl %llu/%llu "
				     "oid %llu/%llu leaves %u/%u cum %u/%u px %u/%u qty %u/%u exec %llu/%llu",
				     step, i, e->kind, r->kind, e->reason, r->reason,
				     (unsigned long long)e->cl_ord_id, (unsigned long long)r->cl_ord_id,
				     (unsigned long long)e->order_id, (unsigned long long)r->order_id,
				     e->leaves_qty, r->leaves_qty, e->cum_qty, r->cum_qty, e->last_px,
				     r->last_px, e->last_qty, r->last_qty, (unsigned long long)e->exec_id,
				     (unsigned long long)r->exec_id);
		}
}

static void compare_book(const struct dp_match *me, uint16_t sym, long step)
{
	static int idx[MAXR];
	static struct dp_match_level lv[4096];
	static struct dp_match_order_info oi[4096];
	int bid_best = -1, ask_best = -1;
	for (int side = 0; side < 2; side++) {
		char sc = side == DP_MATCH_BID ? 'B' : 'S';
		int n = 0;
		for (int i = 0; i < nrest; i++)
			if (rest[i].sym == sym && rest[i].side == sc)
				idx[n++] = i;
		for (int a = 1; a < n; a++) /* insertion sort by priority */
			for (int b = a; b > 0 && better(&rest[idx[b]], &rest[idx[b - 1]]); b--) {
				int t = idx[b];
				idx[b] = idx[b - 1];
				idx[b - 1] = t;
			}
		int nl = dp_match_depth(me, sym, side, lv, 4096);
		int k = 0;
		for (int l = 0; l < nl; l++) {
			int no = dp_match_level_orders(me, sym, side, lv[l].price, oi, 4096);
			ck_assert_int_eq(no, (int)lv[l].orders);
			uint64_t q = 0;
			for (int j = 0; j < no; j++, k++) {
				if (k >= n)
					ck_abort_msg("step %ld sym %u side %d: engine has extra orders", step, sym, side);
				const struct rord *r = &rest[idx[k]];
				if (r->price != lv[l].price || r->cl != oi[j].cl_ord_id || r->sess != oi[j].session ||
				    r->oid != oi[j].order_id || r->qty != oi[j].qty || r->cum != oi[j].cum ||
				    oi[j].queue_pos != (uint32_t)j)
					ck_abort_msg("step %ld sym %u side %d level %d order %d differs", step, sym,
						     side, l, j);
				q += oi[j].leaves;
				/* time priority in the model: strictly increasing inside a level */
				if (j && rest[idx[k - 1]].time >= r->time)
					ck_abort_msg("step %ld: time priority", step);
			}
			ck_assert_uint_eq(q, lv[l].qty);
		}
		if (k != n)
			ck_abort_msg("step %ld sym %u side %d: %d orders, reference %d", step, sym, side, k, n);
		if (n) {
			if (side == DP_MATCH_BID)
				bid_best = (int)rest[idx[0]].price;
			else
				ask_best = (int)rest[idx[0]].price;
		}
	}
	if (bid_best >= 0 && ask_best >= 0 && bid_best >= ask_best)
		ck_abort_msg("step %ld: symbol %u crossed %d/%d", step, sym, bid_best, ask_best);
}

/* Per-order conservation over the report stream, by order_id. */
#define MAXOID (1u << 20)
static uint32_t oqty[MAXOID], ocum[MAXOID];
static uint8_t odone[MAXOID];

static void conservation(uint32_t n, long step)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct dp_exec_report *r = &erep[i];
		uint64_t id = r->order_id;
		if (r->kind == DP_EXEC_REJECTED) {
			ck_assert_uint_eq(id, 0);
			continue;
		}
		if (!id)
			continue; /* CANCEL_REJECTED of an unknown order */
		ck_assert_uint_lt(id, MAXOID);
		if (r->kind == DP_EXEC_ACCEPTED) {
			ck_assert_uint_eq(oqty[id], 0);
			oqty[id] = r->leaves_qty;
			continue;
		}
		if (odone[id])
			ck_abort_msg("step %ld: report for finished order %llu", step, (unsigned long long)id);
		if (r->kind == DP_EXEC_FILL) {
			ck_assert_uint_eq(r->cum_qty, ocum[id] + r->last_qty);
			ck_assert_uint_gt(r->last_qty, 0);
			ocum[id] = r->cum_qty;
			ck_assert_uint_eq(r->leaves_qty + r->cum_qty, oqty[id]);
			if (r->leaves_qty == 0)
				odone[id] = 1;
			/* the two sides of a match sit next to each other */
			if (r->flags & DP_MATCH_RF_AGGRESSOR) {
				const struct dp_exec_report *c = &erep[i + 1];
				ck_assert_uint_eq(c->kind, DP_EXEC_FILL);
				ck_assert_uint_eq(c->exec_id >> 1, r->exec_id >> 1);
				ck_assert_uint_eq(c->last_qty, r->last_qty);
				ck_assert_uint_eq(c->last_px, r->last_px);
				ck_assert_int_ne(c->side, r->side);
			}
		} else if (r->kind == DP_EXEC_REPLACED) {
			ck_assert_uint_eq(r->cum_qty, ocum[id]);
			oqty[id] = r->leaves_qty + r->cum_qty;
		} else if (r->kind == DP_EXEC_CANCELLED) {
			ck_assert_uint_eq(r->cum_qty, ocum[id]);
			ck_assert_uint_eq(r->leaves_qty, 0);
			odone[id] = 1;
		} else if (r->kind == DP_EXEC_CANCEL_REJECTED) {
			ck_assert_uint_eq(r->cum_qty, ocum[id]);
		}
	}
}

/* ---------------- the random stream ---------------- */

static uint64_t rs;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 16);
}
static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

static uint64_t next_cl[NSESS + 1];
/* Ids given to new orders lately, per session: taken again now and then,
 * live (a duplicate) or done (free again: in the engine, maybe while a
 * filled order's table entry still waits to be erased). */
static uint64_t seen[NSESS][32];
static uint32_t mid[NSYM];
/*
 * diff_wide: the even symbols priced in whole cents (Price(4) multiples of
 * 100) with a tenth of their prices sub-penny, and every mid jumping by up
 * to 3000 ticks now and then, so the engine's price ladders move, miss and
 * hold keys off their grid. Off (0) the stream is the original one.
 */
static int wide;

static void gen(struct dp_order_msg *m, struct dp_ref_px *ref)
{
	memset(m, 0, sizeof *m);
	uint16_t sym = (uint16_t)below(NSYM);
	uint32_t unit = wide && sym % 2 == 0 ? 100 : 1;
	if (below(50) == 0)
		mid[sym] = mid[sym] + (below(5) - 2) * unit;
	if (wide && below(300) == 0)
		mid[sym] = mid[sym] + (below(2) ? 1 : -1) * (1 + below(3000)) * unit;
	uint32_t md = mid[sym];
	/* Reference: usually around mid, sometimes narrow, off, invalid, crossed. */
	uint32_t k = below(100);
	ref->valid = k >= 8;
	ref->bid = md - (1 + below(4)) * unit;
	ref->ask = md + (1 + below(4)) * unit;
	if (k >= 8 && k < 12) {
		uint32_t t = ref->bid;
		ref->bid = ref->ask;
		ref->ask = t;
	} else if (k >= 12 && k < 14) {
		ref->bid = 0;
	}
	uint32_t w = below(10000);
	uint32_t sess = below(NSESS);
	m->session = sess;
	m->symbol = sym;
	m->account = below(NACCT);
	if (w < 7000 || nrest == 0) {
		m->kind = DP_ORD_NEW;
		m->cl_ord_id = ++next_cl[sess];
		if (below(25) == 0 && seen[sess][m->cl_ord_id % 32])
			m->cl_ord_id = seen[sess][below(32)]; /* an id of lately, again */
		if (m->cl_ord_id)
			seen[sess][next_cl[sess] % 32] = m->cl_ord_id;
		else
			m->cl_ord_id = ++next_cl[sess];
		m->side = below(2) ? 'B' : 'S';
		m->type = below(10) < 8 ? DP_ORD_LIMIT : DP_ORD_MARKET;
		uint32_t t = below(20);
		m->tif = t < 12 ? DP_TIF_DAY : t < 17 ? DP_TIF_IOC : DP_TIF_FOK;
		if (below(10) == 0)
			m->flags = DP_ORD_F_POST_ONLY;
		int off = (int)below(16) - 4;
		m->price = (uint32_t)((int)md + ((m->side == 'B' ? -off : off) - (below(5) == 0 ? 3 : 0)) *
						    (int)unit);
		if (unit > 1 && below(10) == 0)
			m->price += below(100); /* sub-penny */
		m->qty = 1 + below(below(8) == 0 ? 500 : 50);
		if (below(100) == 0) { /* invalid fields */
			switch (below(7)) {
			case 0: m->side = 'x'; break;
			case 1: m->qty = 0; break;
			case 2: m->price = 0; m->type = DP_ORD_LIMIT; break;
			case 3: m->type = 7; break;
			case 4: m->tif = 9; break;
			case 5: m->symbol = NSYM; break;
			default: m->session = NSESS; break;
			}
		}
		if (below(200) == 0 && nrest) { /* duplicate of a live id */
			const struct rord *o = &rest[below((uint32_t)nrest)];
			m->session = o->sess;
			m->cl_ord_id = o->cl;
		}
		if (below(500) == 0)
			m->kind = 8;
	} else if (w < 9990) {
		bool repl = w >= 8300;
		m->kind = repl ? DP_ORD_REPLACE : DP_ORD_CANCEL;
		const struct rord *o = &rest[below((uint32_t)nrest)];
		m->session = o->sess;
		m->symbol = o->sym;
		m->side = o->side;
		m->orig_cl_ord_id = o->cl;
		m->cl_ord_id = ++next_cl[o->sess];
		if (below(30) == 0)
			m->orig_cl_ord_id = 999999999; /* unknown */
		if (below(60) == 0)
			m->symbol = (uint16_t)((o->sym + 1) % NSYM);
		if (repl) {
			m->type = DP_ORD_LIMIT;
			uint32_t c = below(6);
			m->price = o->price;
			m->qty = o->qty;
			if (c == 0)
				m->qty = o->qty > 1 ? 1 + below(o->qty - 1) : 1; /* down, maybe <= cum */
			else if (c == 1)
				m->qty = o->qty + 1 + below(20);
			else if (c <= 3) /* in the target symbol's unit */
				m->price = (uint32_t)((int)o->price + ((int)below(9) - 4) *
								  (wide && o->sym % 2 == 0 ? 100 : 1));
			else if (c == 4)
				m->cl_ord_id = o->cl; /* same id */
			if (below(40) == 0)
				m->qty = 0;
			if (below(60) == 0 && nrest > 1) /* duplicate new id */
				m->cl_ord_id = rest[below((uint32_t)nrest)].cl;
			else if (below(40) == 0 && seen[o->sess][m->cl_ord_id % 32]) /* an id of lately */
				m->cl_ord_id = seen[o->sess][m->cl_ord_id % 32];
		}
	} else {
		m->kind = DP_ORD_MASS_CANCEL;
		m->mass = (uint8_t)(1 + below(4));
		if (m->mass == DP_MASS_ALL && below(4))
			m->mass = DP_MASS_SYMBOL;
		if (below(50) == 0)
			m->mass = 7;
	}
}

static void run(uint64_t seed, long steps)
{
	struct dp_match *me;
	struct dp_match_cfg cfg = { .max_orders = 60000, .max_levels = 30000, .max_symbols = NSYM,
				    .max_sessions = NSESS, .max_accounts = NACCT,
				    .stp_default = DP_STP_CANCEL_NEWEST };
	ck_assert_int_eq(dp_match_create(&me, &cfg, NULL), 0);
	rs = seed;
	nrest = 0;
	r_oid = r_exec = r_time = 0;
	memset(next_cl, 0, sizeof next_cl);
	memset(seen, 0, sizeof seen);
	memset(oqty, 0, sizeof oqty);
	memset(ocum, 0, sizeof ocum);
	memset(odone, 0, sizeof odone);
	for (int s = 0; s < NSYM; s++)
		mid[s] = wide ? 5000000 + 500000 * (uint32_t)s : 1000 + 50 * (uint32_t)s;
	for (uint32_t a = 0; a < NACCT; a++) {
		r_stp[a] = (uint8_t)(a % 4);
		if (a != 1) /* account 1 keeps the default (cancel newest) */
			ck_assert_int_eq(dp_match_set_stp(me, a, r_stp[a]), 0);
	}
	static const uint32_t caps[] = { 4, 5, 6, 9, 16, 64, MAXREP };
	uint64_t fills = 0, paused = 0, depth = 0, guesses_live = 0, guesses_right = 0;
	uint64_t meets = 0, meets_right = 0;
	for (long step = 0; step < steps; step++) {
		struct dp_order_msg m;
		struct dp_ref_px ref;
		gen(&m, &ref);
		/* keep the book a reasonable size: bias towards cancels */
		if (nrest > 3000 && m.kind == DP_ORD_NEW)
			m = (struct dp_order_msg){ .kind = DP_ORD_MASS_CANCEL, .mass = DP_MASS_SYMBOL,
						   .symbol = m.symbol };
		uint32_t cap = caps[below(7)];
		dp_match_prefetch(me, &m); /* a pure hint: must change nothing */
		dp_match_prefetch_early(me, &m);
		uint32_t guess = dp_match_prefetch_late(me, &m);
		ck_assert(guess == DP_MATCH_NO_ORDER || guess < dp_match_max_orders(me));
		if (m.kind == DP_ORD_CANCEL || m.kind == DP_ORD_REPLACE) {
			uint32_t at = dp_match_find(me, m.session, m.orig_cl_ord_id,
						    dp_order_key_hash(m.session, m.orig_cl_ord_id), NULL);
			guesses_live += at != DP_MATCH_NO_ORDER;
			guesses_right += at != DP_MATCH_NO_ORDER && guess == at;
			/* a target that is not live is never guessed live: its slot is
			 * empty or holds another hash (or, rarely, a colliding key) */
		}
		if (m.kind == DP_ORD_NEW && m.symbol < NSYM && (m.side == 'B' || m.side == 'S')) {
			/* a marketable new order: the guess is the first order it meets
			 * (the head of the best opposite level); else none */
			int opp = m.side == 'B' ? DP_MATCH_ASK : DP_MATCH_BID;
			struct dp_match_level best;
			struct dp_match_order_info head;
			bool mkt = dp_match_depth(me, m.symbol, opp, &best, 1) == 1 &&
				   (m.type == DP_ORD_MARKET ||
				    (m.side == 'B' ? m.price >= best.price : m.price <= best.price));
			if (!mkt) {
				ck_assert_uint_eq(guess, DP_MATCH_NO_ORDER);
			} else {
				ck_assert_int_eq(dp_match_level_orders(me, m.symbol, opp, best.price,
									&head, 1), 1);
				meets++;
				meets_right += guess == dp_match_find(me, head.session, head.cl_ord_id,
								      dp_order_key_hash(head.session,
											head.cl_ord_id),
								      NULL);
			}
		}
		uint32_t ne = dp_match_process(me, &m, &ref, erep, cap);
		if (dp_match_pending(me))
			paused++;
		while (dp_match_pending(me)) {
			dp_match_prefetch(me, &m); /* also while paused */
			uint32_t c2 = caps[below(7)];
			if (ne + c2 > MAXREP)
				c2 = MAXREP - ne;
			ne += dp_match_resume(me, erep + ne, c2);
		}
		r_process(&m, &ref);
		depth += (uint64_t)nrest;
		conservation(ne, step);
		compare_reports(ne, m.kind == DP_ORD_MASS_CANCEL, step);
		for (uint32_t i = 0; i < ne; i++)
			fills += erep[i].kind == DP_EXEC_FILL;
		if (m.kind == DP_ORD_MASS_CANCEL || m.symbol >= NSYM) {
			for (uint16_t s = 0; s < NSYM; s++)
				compare_book(me, s, step);
		} else {
			compare_book(me, m.symbol, step);
		}
		if (step % 500 == 0 || step == steps - 1) {
			int rc = dp_match_check(me);
			if (rc)
				ck_abort_msg("step %ld: dp_match_check %d", step, rc);
			ck_assert_uint_eq(dp_match_live_orders(me), (uint32_t)nrest);
		}
	}
	const struct dp_match_stats *st = dp_match_stats(me);
	fflush(stdout);
	printf("seed %llu: %ld messages, %llu fill reports, %llu paused, accepted %llu, "
	       "rejects: fok %llu noref %llu post %llu dup %llu unknown %llu; mean resting %llu; live %u\n",
	       (unsigned long long)seed, steps, (unsigned long long)fills, (unsigned long long)paused,
	       (unsigned long long)st->accepted,
	       (unsigned long long)st->rejected[DP_RJ_FOK_NOT_FILLABLE],
	       (unsigned long long)st->rejected[DP_RJ_NO_REFERENCE],
	       (unsigned long long)st->rejected[DP_RJ_POST_ONLY_WOULD_TAKE],
	       (unsigned long long)st->rejected[DP_RJ_DUPLICATE_ID],
	       (unsigned long long)st->rejected[DP_RJ_UNKNOWN_ORDER],
	       (unsigned long long)(depth / (uint64_t)steps), dp_match_live_orders(me));
	fflush(stdout);
	ck_assert_uint_gt(fills, (uint64_t)steps / 50);
	ck_assert_uint_gt(paused, 0);
	/* the late hint names most live targets (first-probe hits; the table
	 * is sized at twice the orders, so most probes are first-probe) */
	ck_assert_uint_gt(guesses_live, 0);
	ck_assert_uint_gt(meets, 0);
	ck_assert_msg(meets_right == meets, "late hint met %llu of %llu first resting orders",
		      (unsigned long long)meets_right, (unsigned long long)meets);
	ck_assert_msg(guesses_right * 10 >= guesses_live * 7, "late hint guessed %llu of %llu",
		      (unsigned long long)guesses_right, (unsigned long long)guesses_live);
	dp_match_destroy(me);
}

START_TEST(diff_long)
{
	const char *e = getenv("MGW_MATCH_DIFF_STEPS");
	long steps = e ? atol(e) : 300000;
	run(0x5eed1234abcdULL, steps);
}
END_TEST

START_TEST(diff_seeds)
{
	for (uint64_t s = 1; s <= 8; s++)
		run(s * 0x9e3779b97f4a7c15ULL, 20000);
}
END_TEST

START_TEST(diff_wide)
{
	wide = 1;
	for (uint64_t s = 1; s <= 4; s++)
		run(s * 0x2545f4914f6cdd1dULL, 50000);
	wide = 0;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("match_diff");
	TCase *tc = tcase_create("diff");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, diff_long);
	tcase_add_test(tc, diff_seeds);
	tcase_add_test(tc, diff_wide);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
