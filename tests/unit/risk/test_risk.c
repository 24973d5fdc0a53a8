/*
 * test_risk.c - unit tests of the pre-trade risk library (dataplane/risk):
 * every check passes at its limit and rejects one past it, the fail-closed
 * cases, duplicate ids, throttle windows, kill switches at each level, and
 * the bookkeeping of exposure, positions and P&L from scripted reports.
 * dp_risk_verify() (a recomputation from the live orders) runs after every
 * report so a broken running sum is caught where it happens.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_risk.h"

#define A1 101u
#define A2 202u
#define S1 11u
#define S2 22u
#define PX 1000000u /* $100.0000 */
#define SEC 1000000000ull

static struct dp_risk *rk;
static const struct dp_ref_px REF = { PX - 100, PX + 100, 1 }; /* mid = PX */
static const struct dp_ref_px NOREF = { PX - 100, PX + 100, 0 };
static uint64_t now = 5 * SEC;

static struct dp_risk_cfg small_cfg(void)
{
	struct dp_risk_cfg c = { .max_accounts = 8, .max_sessions = 8, .max_symbols = 16,
				 .max_positions = 64, .max_orders = 64, .max_ids = 256 };
	return c;
}

/* Generous limits, all checks on; each test tightens the one it tests. */
static struct dp_risk_limits wide(void)
{
	struct dp_risk_limits l = { .enabled = DP_RISK_CHK_ALL,
				    .max_order_qty = 1000000,
				    .max_order_notional = 1000000000000ull,
				    .collar_bps = 1000,
				    .credit_limit = 100000000000000ull,
				    .max_position = 10000000 };
	return l;
}

static void setup(void)
{
	struct dp_risk_cfg c = small_cfg();
	ck_assert_int_eq(dp_risk_create(&rk, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	ck_assert_int_eq(dp_risk_set_limits(rk, A1, &l), 0);
	ck_assert_int_eq(dp_risk_set_limits(rk, A2, &l), 0);
}

static void teardown(void)
{
	dp_risk_destroy(rk);
	rk = NULL;
}

static void set_lim(uint32_t acct, void (*f)(struct dp_risk_limits *))
{
	struct dp_risk_limits l;
	ck_assert_int_eq(dp_risk_get_limits(rk, acct, &l), 0);
	f(&l);
	ck_assert_int_eq(dp_risk_set_limits(rk, acct, &l), 0);
}

static uint64_t next_id = 1000;

static struct dp_order_msg mnew(uint32_t acct, uint32_t sess, char side, uint16_t sym,
				uint32_t px, uint32_t qty)
{
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = px ? DP_ORD_LIMIT : DP_ORD_MARKET,
				  .tif = DP_TIF_DAY, .side = side, .symbol = sym, .account = acct,
				  .session = sess, .cl_ord_id = next_id++, .price = px, .qty = qty };
	return m;
}

static struct dp_order_msg mrepl(const struct dp_order_msg *o, uint32_t px, uint32_t qty)
{
	struct dp_order_msg m = *o;
	m.kind = DP_ORD_REPLACE;
	m.type = DP_ORD_LIMIT;
	m.orig_cl_ord_id = o->cl_ord_id;
	m.cl_ord_id = next_id++;
	m.price = px;
	m.qty = qty;
	return m;
}

static enum dp_reject_reason chk(const struct dp_order_msg *m)
{
	return dp_risk_check(rk, m, &REF, now);
}

/* Check a NEW and expect reason rc; returns the message. */
static struct dp_order_msg order(uint32_t acct, uint32_t sess, char side, uint16_t sym,
				 uint32_t px, uint32_t qty, enum dp_reject_reason rc)
{
	struct dp_order_msg m = mnew(acct, sess, side, sym, px, qty);
	ck_assert_int_eq(chk(&m), rc);
	return m;
}

static void report(uint8_t kind, const struct dp_order_msg *m, uint32_t px, uint32_t qty,
		   uint32_t leaves)
{
	struct dp_exec_report r = { .kind = kind, .side = m->side, .symbol = m->symbol,
				    .account = m->account, .session = m->session,
				    .cl_ord_id = m->cl_ord_id, .last_px = px, .last_qty = qty,
				    .leaves_qty = leaves };
	dp_risk_on_report(rk, &r);
	ck_assert_int_eq(dp_risk_verify(rk), 0);
}

static void accept(const struct dp_order_msg *m)
{
	report(DP_EXEC_ACCEPTED, m, 0, 0, m->qty);
}

static struct dp_risk_acct acct(uint32_t a)
{
	struct dp_risk_acct x;
	ck_assert_int_eq(dp_risk_account(rk, a, &x), 0);
	return x;
}

static struct dp_risk_pos pos(uint32_t a, uint16_t sym, uint32_t mid)
{
	struct dp_risk_pos p;
	ck_assert_int_eq(dp_risk_position(rk, a, sym, mid, &p), 0);
	return p;
}

static struct dp_risk_stats stats(void)
{
	struct dp_risk_stats s;
	dp_risk_stats(rk, &s);
	return s;
}

/* ------------------------------------------------------------------ */

static int n_alloc, n_free;
static void *t_zalloc(size_t size, void *arg)
{
	(void)arg;
	n_alloc++;
	void *p = NULL;
	if (posix_memalign(&p, 64, size))
		return NULL;
	memset(p, 0, size);
	return p;
}
static void t_free(void *p, void *arg)
{
	(void)arg;
	n_free++;
	free(p);
}

START_TEST(create_and_memory)
{
	struct dp_risk *r;
	struct dp_risk_cfg c = small_cfg();
	struct dp_mem mem = { t_zalloc, t_free, NULL };
	ck_assert_uint_gt(dp_risk_mem_size(&c), 0);
	n_alloc = n_free = 0;
	ck_assert_int_eq(dp_risk_create(&r, &c, &mem), 0);
	ck_assert_int_eq(n_alloc, 1);
	/* the whole day of work takes no more memory */
	struct dp_risk_limits l = wide();
	ck_assert_int_eq(dp_risk_set_limits(r, 1, &l), 0);
	struct dp_order_msg m = mnew(1, 1, 'B', 1, PX, 10);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_NONE);
	ck_assert_int_eq(n_alloc, 1);
	dp_risk_destroy(r);
	ck_assert_int_eq(n_free, 1);
	dp_risk_destroy(NULL);

	c.max_symbols = 65537;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), -EINVAL);
	ck_assert_uint_eq(dp_risk_mem_size(&c), 0);
	c = small_cfg();
	c.max_ids = 0;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), -EINVAL);
	c = small_cfg();
	c.max_orders = 1u << 30;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), -EINVAL);
}
END_TEST

START_TEST(limits_roundtrip_and_errors)
{
	struct dp_risk_limits l = wide(), g;
	l.max_order_qty = 77;
	ck_assert_int_eq(dp_risk_set_limits(rk, A1, &l), 0);
	ck_assert_int_eq(dp_risk_get_limits(rk, A1, &g), 0);
	ck_assert_uint_eq(g.max_order_qty, 77);
	ck_assert_int_eq(dp_risk_get_limits(rk, 999, &g), -ENOENT);
	ck_assert_int_eq(dp_risk_set_limits(rk, DP_RISK_ALL_ACCOUNTS, &l), -EINVAL);
	/* account table: 8 */
	for (uint32_t a = 1; a <= 6; a++)
		ck_assert_int_eq(dp_risk_set_limits(rk, a, &l), 0);
	ck_assert_int_eq(dp_risk_set_limits(rk, 7, &l), -ENOSPC);
	ck_assert_int_eq(dp_risk_set_limits(rk, A2, &l), 0); /* existing: fine */
	ck_assert_uint_eq(stats().limit_changes, 2 + 1 + 6 + 1);
}
END_TEST

START_TEST(unknown_account_fails_closed)
{
	order(999, S1, 'B', 1, PX, 10, DP_RJ_RISK_UNKNOWN_ACCOUNT);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_UNKNOWN_ACCOUNT], 1);
	/* but a cancel from it is never blocked */
	struct dp_order_msg c = { .kind = DP_ORD_CANCEL, .account = 999, .session = S1 };
	ck_assert_int_eq(chk(&c), DP_RJ_NONE);
	ck_assert_uint_eq(stats().cancels, 1);
}
END_TEST

static void qty100(struct dp_risk_limits *l) { l->max_order_qty = 100; }

START_TEST(max_qty)
{
	set_lim(A1, qty100);
	order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE);
	order(A1, S1, 'B', 1, PX, 101, DP_RJ_RISK_MAX_QTY);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_MAX_QTY], 1);
	ck_assert_uint_eq(stats().passed, 1);
	/* a replace checks its new quantity */
	struct dp_order_msg m = order(A1, S1, 'S', 1, PX, 50, DP_RJ_NONE);
	accept(&m);
	struct dp_order_msg r = mrepl(&m, PX, 101);
	ck_assert_int_eq(chk(&r), DP_RJ_RISK_MAX_QTY);
	r = mrepl(&m, PX, 100);
	ck_assert_int_eq(chk(&r), DP_RJ_NONE);
	/* off: not checked */
	struct dp_risk_limits l = wide();
	l.max_order_qty = 100;
	l.enabled &= ~DP_RISK_CHK_MAX_QTY;
	dp_risk_set_limits(rk, A1, &l);
	order(A1, S1, 'B', 1, PX, 5000, DP_RJ_NONE);
}
END_TEST

static void notional(struct dp_risk_limits *l) { l->max_order_notional = (uint64_t)PX * 100; }

START_TEST(max_notional)
{
	set_lim(A1, notional);
	order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE);
	order(A1, S1, 'B', 1, PX + 1, 100, DP_RJ_RISK_MAX_NOTIONAL);
	order(A1, S1, 'B', 1, PX, 101, DP_RJ_RISK_MAX_NOTIONAL);
	/* market order valued at the far touch: ask for a buy, bid for a sell */
	order(A1, S1, 'B', 1, 0, 99, DP_RJ_NONE);  /* 99 * (PX+100) < PX*100 */
	order(A1, S1, 'B', 1, 0, 100, DP_RJ_RISK_MAX_NOTIONAL);
	order(A1, S1, 'S', 1, 0, 100, DP_RJ_NONE); /* 100 * (PX-100) < PX*100 */
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_MAX_NOTIONAL], 3);
}
END_TEST

static void collar100(struct dp_risk_limits *l) { l->collar_bps = 100; }

START_TEST(price_collar)
{
	set_lim(A1, collar100);
	/* mid PX, 100 bp = PX/100 = 10000 ticks either way */
	order(A1, S1, 'B', 1, PX + 10000, 1, DP_RJ_NONE);
	order(A1, S1, 'B', 1, PX + 10001, 1, DP_RJ_RISK_PRICE_COLLAR);
	order(A1, S1, 'S', 1, PX - 10000, 1, DP_RJ_NONE);
	order(A1, S1, 'S', 1, PX - 10001, 1, DP_RJ_RISK_PRICE_COLLAR);
	/* the collar is around the mid both ways: a far passive price is refused too */
	order(A1, S1, 'B', 1, PX - 10001, 1, DP_RJ_RISK_PRICE_COLLAR);
	/* half-tick mid: bid 100, ask 101 -> mid 100.5; 10000 bp = +100% */
	struct dp_risk_limits l = wide();
	l.collar_bps = 10000;
	dp_risk_set_limits(rk, A1, &l);
	struct dp_ref_px odd = { 100, 101, 1 };
	struct dp_order_msg m = mnew(A1, S1, 'B', 1, 201, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &odd, now), DP_RJ_NONE);
	m = mnew(A1, S1, 'B', 1, 202, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &odd, now), DP_RJ_RISK_PRICE_COLLAR);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_PRICE_COLLAR], 4);
}
END_TEST

START_TEST(no_reference_fails_closed)
{
	struct dp_order_msg m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &NOREF, now), DP_RJ_NO_REFERENCE);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, NULL, now), DP_RJ_NO_REFERENCE);
	struct dp_ref_px onesided = { 0, PX, 1 };
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &onesided, now), DP_RJ_NO_REFERENCE);
	/* market orders need it for notional and credit */
	m = mnew(A1, S1, 'B', 1, 0, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &NOREF, now), DP_RJ_NO_REFERENCE);
	ck_assert_uint_eq(stats().rejected[DP_RJ_NO_REFERENCE], 4);

	/* a limit order without collar needs no reference */
	struct dp_risk_limits l = wide();
	l.enabled &= ~DP_RISK_CHK_COLLAR;
	dp_risk_set_limits(rk, A1, &l);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &NOREF, now), DP_RJ_NONE);
	/* a market order still does while notional or credit is on */
	m = mnew(A1, S1, 'B', 1, 0, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &NOREF, now), DP_RJ_NO_REFERENCE);
	l.enabled = DP_RISK_CHK_MAX_QTY;
	dp_risk_set_limits(rk, A1, &l);
	m = mnew(A1, S1, 'B', 1, 0, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &NOREF, now), DP_RJ_NONE);
}
END_TEST

static void credit3(struct dp_risk_limits *l)
{
	l->credit_limit = (uint64_t)PX * 300;
	l->enabled &= ~DP_RISK_CHK_COLLAR; /* room for far-off prices below */
}

START_TEST(credit_limit)
{
	set_lim(A1, credit3);
	struct dp_order_msg a = order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE);
	struct dp_order_msg b = order(A1, S1, 'S', 2, PX, 100, DP_RJ_NONE); /* gross: sells count too */
	order(A1, S1, 'B', 1, PX, 101, DP_RJ_RISK_CREDIT);
	struct dp_order_msg c = order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE); /* exactly at the limit */
	order(A1, S1, 'B', 1, PX, 1, DP_RJ_RISK_CREDIT);
	ck_assert_int_eq(acct(A1).exposure, (int64_t)PX * 300);
	/* the other account is not affected */
	order(A2, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	accept(&a);
	accept(&b);
	accept(&c);
	/* a cancel frees room */
	report(DP_EXEC_CANCELLED, &c, 0, 0, 0);
	struct dp_order_msg d = order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE);
	accept(&d);
	/* a fill moves exposure from open orders to the position's cost */
	report(DP_EXEC_FILL, &a, PX - 1000, 100, 0);
	struct dp_risk_acct x = acct(A1);
	ck_assert_int_eq(x.open_notional, (int64_t)PX * 200);
	ck_assert_int_eq(x.position_cost, (int64_t)(PX - 1000) * 100);
	ck_assert_int_eq(x.exposure, (int64_t)PX * 300 - 100000);
	order(A1, S1, 'B', 1, 1000, 100, DP_RJ_NONE);
	order(A1, S1, 'B', 1, 1000, 1, DP_RJ_RISK_CREDIT);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_CREDIT], 3);
}
END_TEST

static void pos300(struct dp_risk_limits *l) { l->max_position = 300; }

START_TEST(max_position)
{
	set_lim(A1, pos300);
	struct dp_order_msg b = order(A1, S1, 'B', 3, PX, 300, DP_RJ_NONE);
	order(A1, S1, 'B', 3, PX, 1, DP_RJ_RISK_MAX_POSITION);
	order(A1, S1, 'S', 3, PX, 301, DP_RJ_RISK_MAX_POSITION);
	struct dp_order_msg s = order(A1, S1, 'S', 3, PX, 300, DP_RJ_NONE);
	order(A1, S1, 'B', 4, PX, 300, DP_RJ_NONE); /* per symbol */
	accept(&b);
	accept(&s);
	report(DP_EXEC_FILL, &b, PX, 300, 0); /* long 300 */
	order(A1, S1, 'B', 3, PX, 1, DP_RJ_RISK_MAX_POSITION);
	/* selling: open sells 300 + 300 more - long 300 = 300: at the limit */
	order(A1, S1, 'S', 3, PX, 300, DP_RJ_NONE);
	order(A1, S1, 'S', 3, PX, 1, DP_RJ_RISK_MAX_POSITION);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_MAX_POSITION], 4);
}
END_TEST

START_TEST(restricted_symbols)
{
	ck_assert_int_eq(dp_risk_set_restricted(rk, DP_RISK_ALL_ACCOUNTS, 5, true), 0);
	order(A1, S1, 'B', 5, PX, 1, DP_RJ_RISK_RESTRICTED);
	order(A2, S1, 'S', 5, PX, 1, DP_RJ_RISK_RESTRICTED);
	order(A1, S1, 'B', 6, PX, 1, DP_RJ_NONE);
	ck_assert_int_eq(dp_risk_set_restricted(rk, DP_RISK_ALL_ACCOUNTS, 5, false), 0);
	order(A1, S1, 'B', 5, PX, 1, DP_RJ_NONE);

	ck_assert_int_eq(dp_risk_set_restricted(rk, A1, 7, true), 0);
	order(A1, S1, 'B', 7, PX, 1, DP_RJ_RISK_RESTRICTED);
	order(A2, S1, 'B', 7, PX, 1, DP_RJ_NONE);
	ck_assert(pos(A1, 7, 0).restricted);
	ck_assert_int_eq(dp_risk_set_restricted(rk, A1, 7, false), 0);
	order(A1, S1, 'B', 7, PX, 1, DP_RJ_NONE);

	ck_assert_int_eq(dp_risk_set_restricted(rk, A1, 16, true), -EINVAL);
	ck_assert_int_eq(dp_risk_set_restricted(rk, 999, 1, true), -ENOENT);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_RESTRICTED], 3);
}
END_TEST

START_TEST(message_validity)
{
	order(A1, S1, 'X', 1, PX, 1, DP_RJ_BAD_SIDE);
	order(A1, S1, 'B', 1, PX, 0, DP_RJ_BAD_QTY);
	order(A1, S1, 'B', 16, PX, 1, DP_RJ_UNKNOWN_SYMBOL);
	struct dp_order_msg m = mnew(A1, S1, 'B', 1, PX, 1);
	m.type = 9;
	ck_assert_int_eq(chk(&m), DP_RJ_BAD_TYPE);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	m.kind = 77;
	ck_assert_int_eq(chk(&m), DP_RJ_BAD_TYPE);
	/* a replace of an order risk does not know */
	struct dp_order_msg o = mnew(A1, S1, 'B', 1, PX, 1);
	struct dp_order_msg r = mrepl(&o, PX, 2);
	ck_assert_int_eq(chk(&r), DP_RJ_UNKNOWN_ORDER);
	/* or of another account's order */
	o = order(A1, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	r = mrepl(&o, PX, 2);
	r.account = A2;
	ck_assert_int_eq(chk(&r), DP_RJ_UNKNOWN_ORDER);
}
END_TEST

START_TEST(throttle_windows)
{
	ck_assert_int_eq(dp_risk_set_throttle(rk, S1, 3), 0);
	uint64_t t0 = now;
	struct dp_order_msg m;
	for (int i = 0; i < 3; i++) {
		m = mnew(A1, S1, 'B', 1, PX, 1);
		ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + (uint64_t)i), DP_RJ_NONE);
	}
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + 10), DP_RJ_RISK_THROTTLE);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + SEC - 1), DP_RJ_RISK_THROTTLE);
	/* another session has its own budget (default: unlimited) */
	for (int i = 0; i < 10; i++) {
		m = mnew(A1, S2, 'B', 1, PX, 1);
		ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0), DP_RJ_NONE);
	}
	/* cancels are never throttled */
	struct dp_order_msg c = { .kind = DP_ORD_CANCEL, .account = A1, .session = S1 };
	ck_assert_int_eq(dp_risk_check(rk, &c, &REF, t0 + 11), DP_RJ_NONE);
	/* a clock that steps back stays in the window */
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 - SEC), DP_RJ_RISK_THROTTLE);
	/* one second after the window opened: a new window */
	for (int i = 0; i < 3; i++) {
		m = mnew(A1, S1, 'B', 1, PX, 1);
		ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + SEC), DP_RJ_NONE);
	}
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + 2 * SEC - 1), DP_RJ_RISK_THROTTLE);
	/* live change of the rate */
	ck_assert_int_eq(dp_risk_set_throttle(rk, S1, 0), 0);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(rk, &m, &REF, t0 + 2 * SEC - 1), DP_RJ_NONE);
	ck_assert_uint_eq(stats().rejected[DP_RJ_RISK_THROTTLE], 4);
}
END_TEST

START_TEST(throttle_default_from_cfg)
{
	struct dp_risk *r;
	struct dp_risk_cfg c = small_cfg();
	c.default_orders_per_sec = 1;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	dp_risk_set_limits(r, A1, &l);
	struct dp_order_msg m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_NONE);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_RISK_THROTTLE);
	dp_risk_destroy(r);
}
END_TEST

START_TEST(duplicate_ids)
{
	struct dp_order_msg m = order(A1, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	ck_assert_int_eq(chk(&m), DP_RJ_DUPLICATE_ID);
	/* the same id in another session is another id */
	m.session = S2;
	ck_assert_int_eq(chk(&m), DP_RJ_NONE);
	/* an id stays used for the day: after the order ended, after a reject */
	report(DP_EXEC_CANCELLED, &m, 0, 0, 0);
	ck_assert_int_eq(chk(&m), DP_RJ_DUPLICATE_ID);
	struct dp_order_msg q = order(A1, S1, 'B', 1, PX, 0, DP_RJ_BAD_QTY);
	q.qty = 1;
	ck_assert_int_eq(chk(&q), DP_RJ_DUPLICATE_ID);
	/* a replace's new id is checked too */
	struct dp_order_msg o = order(A1, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	accept(&o);
	struct dp_order_msg r = mrepl(&o, PX, 2);
	r.cl_ord_id = m.cl_ord_id;
	ck_assert_int_eq(chk(&r), DP_RJ_DUPLICATE_ID);
	ck_assert_uint_eq(stats().rejected[DP_RJ_DUPLICATE_ID], 4);
	/* a new day forgets */
	dp_risk_new_day(rk);
	m.session = S2;
	ck_assert_int_eq(chk(&m), DP_RJ_NONE);
}
END_TEST

START_TEST(id_table_full_fails_closed)
{
	struct dp_risk *r;
	struct dp_risk_cfg c = small_cfg();
	c.max_ids = 4;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	dp_risk_set_limits(r, A1, &l);
	struct dp_order_msg m;
	for (int i = 0; i < 4; i++) {
		m = mnew(A1, S1, 'B', 1, PX, 1);
		ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_NONE);
	}
	/* a known id is still a duplicate, a new one cannot be proven new */
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_DUPLICATE_ID);
	m = mnew(A1, S1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_BOOK_FULL);
	struct dp_risk_stats s;
	dp_risk_stats(r, &s);
	ck_assert_uint_eq(s.ids_full, 1);
	ck_assert_uint_eq(s.rejected[DP_RJ_BOOK_FULL], 1);
	dp_risk_new_day(r);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_NONE);
	dp_risk_destroy(r);
}
END_TEST

/* Check id in session sess (a NEW that passes every other check), then
   close it with a REJECTED report so no order is left pending. */
static enum dp_reject_reason id_chk(struct dp_risk *r, uint32_t sess, uint64_t id)
{
	struct dp_order_msg m = mnew(A1, sess, 'B', 1, PX, 1);
	m.cl_ord_id = id;
	enum dp_reject_reason rc = dp_risk_check(r, &m, &REF, now);
	if (rc == DP_RJ_NONE) {
		struct dp_exec_report rep = { .kind = DP_EXEC_REJECTED, .side = 'B', .symbol = 1,
					      .account = A1, .session = sess, .cl_ord_id = id };
		dp_risk_on_report(r, &rep);
	}
	return rc;
}

/*
 * Ids are kept in a per-session bitmap window (opened at the session's
 * first id of the day) or, outside it, in the hash table: duplicates, the
 * table-full refusal and the new day must behave the same on both paths.
 */
START_TEST(id_window_and_hash)
{
	struct dp_risk *saved = rk;
	struct dp_risk_cfg c = small_cfg();
	c.max_ids = 12; /* 8 sessions: a window of 512 ids each (the smallest) */
	ck_assert_int_eq(dp_risk_create(&rk, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	dp_risk_set_limits(rk, A1, &l);
	const uint64_t in1 = 1000, in2 = 1000 + 400, below = 5, above = 1000 + 600,
		       far = 0xfedcba9876543210ull;
	const uint64_t ids[] = { in1, in2, below, above, far };
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(id_chk(rk, S1, ids[i]), DP_RJ_NONE);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(id_chk(rk, S1, ids[i]), DP_RJ_DUPLICATE_ID);
		/* another session: another id, whichever path it takes there */
		ck_assert_int_eq(id_chk(rk, S2, ids[i]), DP_RJ_NONE);
	}
	ck_assert_int_eq(id_chk(rk, S2, ids[4]), DP_RJ_DUPLICATE_ID);
	/* 10 ids used of 12: one more in the window, one outside, then full on both */
	ck_assert_int_eq(id_chk(rk, S1, in1 + 1), DP_RJ_NONE);
	ck_assert_int_eq(id_chk(rk, S1, far + 1), DP_RJ_NONE);
	ck_assert_int_eq(id_chk(rk, S1, in1 + 2), DP_RJ_BOOK_FULL);
	ck_assert_int_eq(id_chk(rk, S1, far + 2), DP_RJ_BOOK_FULL);
	ck_assert_int_eq(id_chk(rk, S1, in2), DP_RJ_DUPLICATE_ID); /* known ids still known */
	ck_assert_int_eq(id_chk(rk, S1, above), DP_RJ_DUPLICATE_ID);
	struct dp_risk_stats st;
	dp_risk_stats(rk, &st);
	ck_assert_uint_eq(st.ids_full, 2);
	/* a new day forgets both, and opens the window at the day's first id */
	dp_risk_new_day(rk);
	ck_assert_int_eq(id_chk(rk, S1, 1u << 20), DP_RJ_NONE);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(id_chk(rk, S1, ids[i]), DP_RJ_NONE);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(id_chk(rk, S1, ids[i]), DP_RJ_DUPLICATE_ID);
	ck_assert_int_eq(id_chk(rk, S1, 1u << 20), DP_RJ_DUPLICATE_ID);
	ck_assert_int_eq(dp_risk_verify(rk), 0);
	dp_risk_destroy(rk);

	/* Random ids around the window edges against a list of used ids. */
	c.max_ids = 4000;
	ck_assert_int_eq(dp_risk_create(&rk, &c, NULL), 0);
	dp_risk_set_limits(rk, A1, &l);
	static uint64_t used[3][4000];
	uint32_t nused[3] = { 0 };
	uint64_t x = 88172645463325252ull;
	for (int step = 0; step < 6000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t sess = (uint32_t)(x % 3);
		/* around the first id (the window is [base, base + 2048): 4 *
		   4000 / 8 rounded up), below it, past it, anywhere */
		uint64_t id = (x >> 8) % 4 == 0 ? x : 5000 + (x >> 12) % 9000;
		int seen = 0;
		for (uint32_t i = 0; i < nused[sess]; i++)
			seen |= used[sess][i] == id;
		uint32_t total = nused[0] + nused[1] + nused[2];
		enum dp_reject_reason want = seen ? DP_RJ_DUPLICATE_ID
					   : total >= 4000 ? DP_RJ_BOOK_FULL : DP_RJ_NONE;
		ck_assert_int_eq(id_chk(rk, sess + 1, id), want);
		if (want == DP_RJ_NONE)
			used[sess][nused[sess]++] = id;
	}
	ck_assert_int_eq(dp_risk_verify(rk), 0);
	dp_risk_destroy(rk);
	rk = saved;
}
END_TEST

/*
 * Small account and session ids are found through a direct index, large
 * ones through the hash tables: both kinds side by side, up to the table
 * sizes.
 */
START_TEST(small_and_large_ids)
{
	struct dp_risk_limits l = wide();
	const uint32_t accts[] = { 7, 5000000, 4095, 4096, 0xfffffffeu, 3 }; /* + A1, A2: 8 */
	const uint32_t sess[] = { 1, 4095, 4096, 70000, 0xffffffffu, 2, 3, 4 }; /* 8 */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(dp_risk_set_limits(rk, accts[i], &l), 0);
	ck_assert_int_eq(dp_risk_set_limits(rk, 12345678, &l), -ENOSPC); /* 9th account */
	ck_assert_int_eq(dp_risk_set_limits(rk, 9, &l), -ENOSPC);
	for (int i = 0; i < 8; i++) {
		struct dp_order_msg m = mnew(accts[i % 6], sess[i], 'B', 1, PX, 1);
		ck_assert_int_eq(chk(&m), DP_RJ_NONE);
		accept(&m);
		ck_assert_uint_eq(acct(accts[i % 6]).live_orders, i < 6 ? 1 : 2);
	}
	/* the 9th session, small or large, cannot be tracked */
	struct dp_order_msg m = mnew(A1, 5, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_BOOK_FULL);
	m = mnew(A1, 80000, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_BOOK_FULL);
	ck_assert_uint_eq(stats().sessions_full, 2);
	/* unknown accounts on both sides of the index are refused */
	m = mnew(8, 1, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_RISK_UNKNOWN_ACCOUNT);
	m = mnew(5000001, 1, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_RISK_UNKNOWN_ACCOUNT);
	/* kill switches find both kinds */
	ck_assert_int_eq(dp_risk_kill(rk, DP_RISK_ACCOUNT, 5000000, true, NULL), 1);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_ACCOUNT, 5000000), 1);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_ACCOUNT, 7), 0);
	m = mnew(5000000, 1, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_KILL_SWITCH);
	ck_assert_int_eq(dp_risk_kill(rk, DP_RISK_SESSION, 70000, true, NULL), 1);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_SESSION, 70000), 1);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_SESSION, 4095), 0);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_SESSION, 4097), -ENOENT);
	m = mnew(7, 70000, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_KILL_SWITCH);
	m = mnew(7, 4096, 'B', 1, PX, 1);
	ck_assert_int_eq(chk(&m), DP_RJ_NONE);
	ck_assert_int_eq(dp_risk_verify(rk), 0);
}
END_TEST

/*
 * Steps 1-2 in their documented order, for every combination of global
 * kill, session kill, unknown account, account kill and an exhausted
 * throttle, with ids in the direct index and above it: check() tests the
 * common case at once and walks the steps one by one otherwise, so each
 * combination must give the first reason of the list, and a session first
 * seen under a global kill switch must not be created.
 */
START_TEST(who_asks_precedence)
{
	int cases = 0;
	for (unsigned bits = 0; bits < 64; bits++) {
		const int g = bits & 1, skill = bits >> 1 & 1, known = bits >> 2 & 1,
			  akill = bits >> 3 & 1, thr = bits >> 4 & 1, large = bits >> 5 & 1;
		if ((akill && !known) || (thr && !known))
			continue; /* an account killed or a session throttled must exist */
		const uint32_t a = large ? 5000000 : 7, sid = large ? 70000 : 3;
		struct dp_risk_cfg c = small_cfg();
		struct dp_risk *r;
		ck_assert_int_eq(dp_risk_create(&r, &c, NULL), 0);
		struct dp_risk_limits l = wide();
		ck_assert_int_eq(dp_risk_set_limits(r, A1, &l), 0);
		if (known) /* here: the account has limits and the session has a rate */
			ck_assert_int_eq(dp_risk_set_limits(r, a, &l), 0);
		if (thr) {
			ck_assert_int_eq(dp_risk_set_throttle(r, sid, 1), 0);
			struct dp_order_msg p = mnew(A1, sid, 'B', 1, PX, 1);
			ck_assert_int_eq(dp_risk_check(r, &p, &REF, now), DP_RJ_NONE);
		}
		if (skill)
			ck_assert_int_eq(dp_risk_kill(r, DP_RISK_SESSION, sid, true, NULL), 1);
		if (akill)
			ck_assert_int_eq(dp_risk_kill(r, DP_RISK_ACCOUNT, a, true, NULL), 1);
		if (g)
			ck_assert_int_eq(dp_risk_kill(r, DP_RISK_GLOBAL, 0, true, NULL), 1);
		enum dp_reject_reason want = g ? DP_RJ_KILL_SWITCH
					   : skill ? DP_RJ_KILL_SWITCH
					   : !known ? DP_RJ_RISK_UNKNOWN_ACCOUNT
					   : akill ? DP_RJ_KILL_SWITCH
					   : thr ? DP_RJ_RISK_THROTTLE : DP_RJ_NONE;
		struct dp_order_msg m = mnew(a, sid, 'B', 1, PX, 1);
		ck_assert_int_eq(dp_risk_check(r, &m, &REF, now + 1), want);
		struct dp_risk_stats st;
		dp_risk_stats(r, &st);
		if (want != DP_RJ_NONE)
			ck_assert_uint_eq(st.rejected[want], 1);
		/* the session exists unless only this order could have made it
		 * and the global kill switch refused it first */
		const int exists = skill || thr || !g;
		ck_assert_int_eq(dp_risk_killed(r, DP_RISK_SESSION, sid), exists ? skill : -ENOENT);
		ck_assert_int_eq(dp_risk_verify(r), 0);
		dp_risk_destroy(r);
		cases++;
	}
	ck_assert_int_eq(cases, 40);
}
END_TEST

START_TEST(other_tables_full_fail_closed)
{
	struct dp_risk *r;
	struct dp_risk_cfg c = small_cfg();
	c.max_orders = 2;
	c.max_positions = 2;
	c.max_sessions = 2;
	ck_assert_int_eq(dp_risk_create(&r, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	dp_risk_set_limits(r, A1, &l);
	struct dp_order_msg m1 = mnew(A1, 1, 'B', 1, PX, 1), m2 = mnew(A1, 1, 'B', 2, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m1, &REF, now), DP_RJ_NONE);
	ck_assert_int_eq(dp_risk_check(r, &m2, &REF, now), DP_RJ_NONE);
	struct dp_order_msg m = mnew(A1, 1, 'B', 3, PX, 1); /* third symbol: no position slot */
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_BOOK_FULL);
	m = mnew(A1, 1, 'B', 1, PX, 1); /* known symbol, but no order slot */
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_BOOK_FULL);
	m = mnew(A1, 2, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_BOOK_FULL); /* orders */
	m = mnew(A1, 3, 'B', 1, PX, 1); /* third session */
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_BOOK_FULL);
	struct dp_risk_stats s;
	dp_risk_stats(r, &s);
	ck_assert_uint_eq(s.positions_full, 1);
	ck_assert_uint_eq(s.orders_full, 2);
	ck_assert_uint_eq(s.sessions_full, 1);
	/* an order ending frees its slot */
	struct dp_exec_report rep = { .kind = DP_EXEC_REJECTED, .session = 1,
				      .cl_ord_id = m1.cl_ord_id, .account = A1 };
	dp_risk_on_report(r, &rep);
	m = mnew(A1, 1, 'B', 1, PX, 1);
	ck_assert_int_eq(dp_risk_check(r, &m, &REF, now), DP_RJ_NONE);
	ck_assert_int_eq(dp_risk_verify(r), 0);
	dp_risk_destroy(r);
}
END_TEST

/* Kill switch at one level: blocks new and replaces, lets cancels through, release. */
static void kill_case(enum dp_risk_level lvl, uint32_t key, uint8_t scope)
{
	struct dp_order_msg live = order(A1, S1, 'B', 1, PX, 10, DP_RJ_NONE);
	accept(&live);
	struct dp_order_msg mc;
	ck_assert_int_eq(dp_risk_kill(rk, lvl, key, true, &mc), 1);
	ck_assert_int_eq(mc.kind, DP_ORD_MASS_CANCEL);
	ck_assert_int_eq(mc.mass, scope);
	/* marked as the kill switch's: the matcher's CANCELLED reports say so */
	ck_assert_uint_eq(mc.flags, DP_ORD_F_KILL);
	if (lvl == DP_RISK_ACCOUNT)
		ck_assert_uint_eq(mc.account, key);
	if (lvl == DP_RISK_SESSION)
		ck_assert_uint_eq(mc.session, key);
	ck_assert_int_eq(dp_risk_killed(rk, lvl, key), 1);

	order(A1, S1, 'B', 1, PX, 1, DP_RJ_KILL_SWITCH);
	struct dp_order_msg r = mrepl(&live, PX, 5);
	ck_assert_int_eq(chk(&r), DP_RJ_KILL_SWITCH);
	struct dp_order_msg c = { .kind = DP_ORD_CANCEL, .account = A1, .session = S1,
				  .cl_ord_id = next_id++, .orig_cl_ord_id = live.cl_ord_id };
	ck_assert_int_eq(chk(&c), DP_RJ_NONE);
	ck_assert_int_eq(chk(&mc), DP_RJ_NONE); /* the mass cancel itself passes */
	/* outside the scope: unaffected */
	if (lvl == DP_RISK_ACCOUNT)
		order(A2, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	if (lvl == DP_RISK_SESSION)
		order(A1, S2, 'B', 1, PX, 1, DP_RJ_NONE);
	if (lvl == DP_RISK_GLOBAL)
		order(A2, S2, 'B', 1, PX, 1, DP_RJ_KILL_SWITCH);
	/* the matcher's cancels come back: exposure goes */
	report(DP_EXEC_CANCELLED, &live, 0, 0, 0);

	ck_assert_int_eq(dp_risk_kill(rk, lvl, key, false, NULL), 0);
	ck_assert_int_eq(dp_risk_killed(rk, lvl, key), 0);
	order(A1, S1, 'B', 1, PX, 1, DP_RJ_NONE);
	struct dp_risk_stats s = stats();
	ck_assert_uint_eq(s.kill_on[lvl], 1);
	ck_assert_uint_eq(s.kill_off[lvl], 1);
	ck_assert_uint_ge(s.rejected[DP_RJ_KILL_SWITCH], 2);
}

START_TEST(kill_global) { kill_case(DP_RISK_GLOBAL, 0, DP_MASS_ALL); }
END_TEST
START_TEST(kill_account) { kill_case(DP_RISK_ACCOUNT, A1, DP_MASS_ACCOUNT); }
END_TEST
START_TEST(kill_session) { kill_case(DP_RISK_SESSION, S1, DP_MASS_SESSION); }
END_TEST

START_TEST(kill_errors)
{
	ck_assert_int_eq(dp_risk_kill(rk, DP_RISK_ACCOUNT, 999, true, NULL), -ENOENT);
	ck_assert_int_eq(dp_risk_kill(rk, (enum dp_risk_level)7, 1, true, NULL), -EINVAL);
	ck_assert_int_eq(dp_risk_killed(rk, DP_RISK_SESSION, 4242), -ENOENT);
	/* a session can be killed before it sends anything */
	ck_assert_int_eq(dp_risk_kill(rk, DP_RISK_SESSION, 4242, true, NULL), 1);
	order(A1, 4242, 'B', 1, PX, 1, DP_RJ_KILL_SWITCH);
}
END_TEST

/* Partial fills, replace, cancel, both sides, on two symbols. */
START_TEST(bookkeeping_script)
{
	struct dp_risk_limits l = wide();
	l.enabled = 0; /* bookkeeping only */
	dp_risk_set_limits(rk, A1, &l);
	struct dp_order_msg b = order(A1, S1, 'B', 1, 500000, 100, DP_RJ_NONE);
	struct dp_order_msg s = order(A1, S1, 'S', 2, 600000, 50, DP_RJ_NONE);
	ck_assert_int_eq(acct(A1).open_notional, 500000LL * 100 + 600000LL * 50);
	ck_assert_uint_eq(acct(A1).live_orders, 2);
	accept(&b);
	accept(&s);
	report(DP_EXEC_FILL, &b, 499000, 40, 60); /* buy 40 @ 49.90 */
	struct dp_risk_pos p = pos(A1, 1, 0);
	ck_assert_int_eq(p.qty, 40);
	ck_assert_uint_eq(p.avg_px, 499000);
	ck_assert_uint_eq(p.open_buy_qty, 60);
	ck_assert_int_eq(acct(A1).open_notional, 500000LL * 60 + 600000LL * 50);
	ck_assert_int_eq(acct(A1).position_cost, 499000LL * 40);

	/* replace the buy: 60 left -> new qty 80 at 50.10 (risk counts both while pending) */
	struct dp_order_msg r = mrepl(&b, 501000, 80);
	ck_assert_int_eq(chk(&r), DP_RJ_NONE);
	ck_assert_int_eq(acct(A1).open_notional, 500000LL * 60 + 501000LL * 80 + 600000LL * 50);
	report(DP_EXEC_REPLACED, &r, 501000, 0, 40); /* new qty 80 - cum 40 */
	ck_assert_int_eq(acct(A1).open_notional, 501000LL * 40 + 600000LL * 50);
	ck_assert_uint_eq(pos(A1, 1, 0).open_buy_qty, 40);
	ck_assert_uint_eq(acct(A1).live_orders, 2);
	/* fills after the replace come under the new id */
	report(DP_EXEC_FILL, &r, 501000, 40, 0);
	p = pos(A1, 1, 0);
	ck_assert_int_eq(p.qty, 80);
	ck_assert_int_eq(p.cost, 499000LL * 40 + 501000LL * 40);
	ck_assert_uint_eq(p.avg_px, 500000);
	ck_assert_uint_eq(acct(A1).live_orders, 1);

	/* the sell: partial fill then cancel -> short 20 on symbol 2 */
	report(DP_EXEC_FILL, &s, 600000, 20, 30);
	report(DP_EXEC_CANCELLED, &s, 0, 0, 0);
	p = pos(A1, 2, 590000);
	ck_assert_int_eq(p.qty, -20);
	ck_assert_uint_eq(p.open_sell_qty, 0);
	ck_assert_int_eq(p.unrealized, 20LL * 10000);
	struct dp_risk_acct x = acct(A1);
	ck_assert_int_eq(x.open_notional, 0);
	ck_assert_uint_eq(x.live_orders, 0);
	ck_assert_int_eq(x.position_cost, 499000LL * 40 + 501000LL * 40 + 600000LL * 20);
	ck_assert_int_eq(x.exposure, x.position_cost);
	ck_assert_int_eq(x.realized, 0);
	/* a rejected order leaves nothing behind */
	struct dp_order_msg j = order(A1, S1, 'B', 1, PX, 10, DP_RJ_NONE);
	report(DP_EXEC_REJECTED, &j, 0, 0, 0);
	ck_assert_int_eq(acct(A1).open_notional, 0);
	ck_assert_int_eq(dp_risk_position(rk, A1, 9, 0, &p), -ENOENT);
	ck_assert_int_eq(dp_risk_position(rk, 999, 1, 0, &p), -ENOENT);
}
END_TEST

static void fill_at(uint32_t a, char side, uint32_t px, uint32_t qty)
{
	struct dp_order_msg m = order(a, S1, side, 3, px, qty, DP_RJ_NONE);
	accept(&m);
	report(DP_EXEC_FILL, &m, px, qty, 0);
}

START_TEST(realized_round_trip)
{
	struct dp_risk_limits l = wide();
	l.enabled = 0; /* P&L only */
	dp_risk_set_limits(rk, A1, &l);
	fill_at(A1, 'B', 100000, 100);
	fill_at(A1, 'B', 110000, 100);
	struct dp_risk_pos p = pos(A1, 3, 120000);
	ck_assert_int_eq(p.qty, 200);
	ck_assert_uint_eq(p.avg_px, 105000);
	ck_assert_int_eq(p.unrealized, 200LL * 15000);
	/* sell 150 @ 12.00: 150 * (12.00 - 10.50) realized */
	fill_at(A1, 'S', 120000, 150);
	p = pos(A1, 3, 0);
	ck_assert_int_eq(p.qty, 50);
	ck_assert_int_eq(p.realized, 150LL * 15000);
	ck_assert_int_eq(p.cost, 50LL * 105000);
	ck_assert_int_eq(p.unrealized, 0); /* no mid given */
	/* sell 100 @ 10.00: closes 50 at a loss, opens short 50 @ 10.00 */
	fill_at(A1, 'S', 100000, 100);
	p = pos(A1, 3, 90000);
	ck_assert_int_eq(p.qty, -50);
	ck_assert_int_eq(p.realized, 150LL * 15000 - 50LL * 5000);
	ck_assert_uint_eq(p.avg_px, 100000);
	ck_assert_int_eq(p.unrealized, 50LL * 10000);
	/* buy back 50 @ 9.50: flat, +50 * 0.50 */
	fill_at(A1, 'B', 95000, 50);
	p = pos(A1, 3, 90000);
	ck_assert_int_eq(p.qty, 0);
	ck_assert_int_eq(p.cost, 0);
	ck_assert_uint_eq(p.avg_px, 0);
	ck_assert_int_eq(p.unrealized, 0);
	ck_assert_int_eq(p.realized, 150LL * 15000 - 50LL * 5000 + 50LL * 5000);
	ck_assert_int_eq(acct(A1).realized, p.realized);
	ck_assert_int_eq(acct(A1).position_cost, 0);
}
END_TEST

START_TEST(average_cost_rounding)
{
	struct dp_risk_limits l = wide();
	l.enabled = 0; /* P&L only */
	dp_risk_set_limits(rk, A1, &l);
	/* 3 shares for 10 ticks: avg 3.33 -> 3; cost kept exact */
	fill_at(A1, 'B', 3, 1);
	fill_at(A1, 'B', 3, 1);
	fill_at(A1, 'B', 4, 1);
	struct dp_risk_pos p = pos(A1, 3, 0);
	ck_assert_int_eq(p.cost, 10);
	ck_assert_uint_eq(p.avg_px, 3);
	/* closing one share takes floor(10/3) = 3 of the cost; the rest closes exact */
	fill_at(A1, 'S', 5, 1);
	p = pos(A1, 3, 0);
	ck_assert_int_eq(p.realized, 2);
	ck_assert_int_eq(p.cost, 7);
	ck_assert_uint_eq(p.avg_px, 4); /* 3.5 rounds half up */
	fill_at(A1, 'S', 5, 2);
	p = pos(A1, 3, 0);
	ck_assert_int_eq(p.realized, 15 - 10); /* proceeds - cost over the round trip */
	ck_assert_int_eq(p.cost, 0);
}
END_TEST

START_TEST(replace_exposure_deltas)
{
	struct dp_risk_limits l = wide();
	l.credit_limit = (uint64_t)PX * 100;
	l.max_position = 100;
	dp_risk_set_limits(rk, A1, &l);
	struct dp_order_msg o = order(A1, S1, 'B', 1, PX, 100, DP_RJ_NONE);
	accept(&o);
	/* up: refused by credit and position even though each order alone fits */
	struct dp_order_msg r = mrepl(&o, PX, 101);
	ck_assert_int_eq(chk(&r), DP_RJ_RISK_MAX_POSITION);
	r = mrepl(&o, PX + 1, 100);
	ck_assert_int_eq(chk(&r), DP_RJ_RISK_CREDIT);
	/* down in quantity, at a higher price: delta negative overall -> passes */
	r = mrepl(&o, PX + 1000, 90);
	ck_assert_int_eq(chk(&r), DP_RJ_NONE);
	/* refused by the matcher: the original is untouched */
	report(DP_EXEC_CANCEL_REJECTED, &r, 0, 0, 100);
	ck_assert_int_eq(acct(A1).open_notional, (int64_t)PX * 100);
	ck_assert_uint_eq(acct(A1).live_orders, 1);
	/* same again, applied */
	r = mrepl(&o, PX + 1000, 90);
	ck_assert_int_eq(chk(&r), DP_RJ_NONE);
	report(DP_EXEC_REPLACED, &r, PX + 1000, 0, 90);
	ck_assert_int_eq(acct(A1).open_notional, (int64_t)(PX + 1000) * 90);
	/* a replace keeping its own id (allowed by the matcher) */
	struct dp_order_msg same = mrepl(&r, PX, 95);
	same.cl_ord_id = r.cl_ord_id;
	ck_assert_int_eq(chk(&same), DP_RJ_NONE);
	report(DP_EXEC_REPLACED, &same, PX, 0, 95);
	ck_assert_int_eq(acct(A1).open_notional, (int64_t)PX * 95);
	ck_assert_uint_eq(acct(A1).live_orders, 1);
	/* fill 30, then replace down to 30: the matcher cancels under the new id */
	report(DP_EXEC_FILL, &same, PX, 30, 65);
	struct dp_order_msg d = mrepl(&same, PX, 30);
	ck_assert_int_eq(chk(&d), DP_RJ_NONE);
	report(DP_EXEC_CANCELLED, &d, 0, 0, 0);
	struct dp_risk_acct x = acct(A1);
	ck_assert_int_eq(x.open_notional, 0);
	ck_assert_uint_eq(x.live_orders, 0);
	ck_assert_int_eq(x.position_cost, (int64_t)PX * 30);
	/* a REJECTED naming a live order's id does not drop it (fail safe) */
	struct dp_order_msg k = order(A1, S1, 'B', 1, PX, 10, DP_RJ_NONE);
	accept(&k);
	report(DP_EXEC_REJECTED, &k, 0, 0, 0);
	ck_assert_uint_eq(acct(A1).live_orders, 1);
	ck_assert_uint_eq(stats().reports_untracked, 1);
}
END_TEST

START_TEST(untracked_fill_still_counts)
{
	struct dp_exec_report f = { .kind = DP_EXEC_FILL, .side = 'S', .symbol = 4, .account = A2,
				    .session = S2, .cl_ord_id = 1, .last_px = 1000, .last_qty = 7 };
	dp_risk_on_report(rk, &f);
	ck_assert_int_eq(pos(A2, 4, 0).qty, -7);
	f.account = 999;
	dp_risk_on_report(rk, &f);
	struct dp_risk_stats s = stats();
	ck_assert_uint_eq(s.reports_untracked, 2);
	ck_assert_uint_eq(s.fills_untracked, 1);
	ck_assert_int_eq(dp_risk_verify(rk), 0);
}
END_TEST

/*
 * Randomized: orders through risk, reports from a toy venue that accepts,
 * fills, cancels, replaces and rejects at random; after every step the
 * running sums equal a recomputation (dp_risk_verify) and the test's own
 * model of live leaves * price per account; exposure is never negative.
 */
struct live {
	struct dp_order_msg m; /* current id / side / symbol / account */
	uint32_t px, leaves;
	int accepted;
};

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

START_TEST(randomized_exposure)
{
	struct dp_risk *saved = rk;
	struct dp_risk_cfg c = { .max_accounts = 4, .max_sessions = 4, .max_symbols = 8,
				 .max_positions = 32, .max_orders = 48, .max_ids = 1 << 16 };
	ck_assert_int_eq(dp_risk_create(&rk, &c, NULL), 0);
	struct dp_risk_limits l = wide();
	l.credit_limit = 40000ull * 1000 * 20;
	l.max_position = 3000;
	for (uint32_t a = 1; a <= 3; a++)
		dp_risk_set_limits(rk, a, &l);
	struct live lv[64];
	int n = 0;
	int64_t pos_model[4][8] = { { 0 } };
	struct dp_ref_px ref = { 39000, 41000, 1 };

	for (int step = 0; step < 20000; step++) {
		uint32_t op = rnd(10);
		if (op < 4 || n == 0) {
			struct dp_order_msg m = mnew(1 + rnd(3), 1 + rnd(3), rnd(2) ? 'B' : 'S',
						     (uint16_t)rnd(8), 36500 + rnd(7000), 1 + rnd(400));
			dp_risk_prefetch(rk, &m); /* a pure hint: must change nothing */
			if (dp_risk_check(rk, &m, &ref, now) == DP_RJ_NONE) {
				ck_assert_int_lt(n, 64);
				if (rnd(8) == 0) {
					report(DP_EXEC_REJECTED, &m, 0, 0, 0);
				} else {
					lv[n].m = m;
					lv[n].px = m.price;
					lv[n].leaves = m.qty;
					lv[n].accepted = 0;
					n++;
				}
			}
		} else {
			int i = (int)rnd((uint32_t)n);
			struct live *o = &lv[i];
			int gone = 0;
			if (!o->accepted) {
				accept(&o->m);
				o->accepted = 1;
			} else if (op < 7) {
				uint32_t q = 1 + rnd(o->leaves);
				o->leaves -= q;
				report(DP_EXEC_FILL, &o->m, o->px, q, o->leaves);
				pos_model[o->m.account][o->m.symbol] += o->m.side == 'B' ? q : -(int64_t)q;
				gone = o->leaves == 0;
			} else if (op < 8) {
				report(DP_EXEC_CANCELLED, &o->m, 0, 0, 0);
				gone = 1;
			} else {
				struct dp_order_msg r = mrepl(&o->m, 36500 + rnd(7000), 1 + rnd(400));
				if (dp_risk_check(rk, &r, &ref, now) == DP_RJ_NONE) {
					if (rnd(3) == 0) {
						report(DP_EXEC_CANCEL_REJECTED, &r, 0, 0, o->leaves);
					} else {
						/* the venue's new leaves: new qty minus a pretend cum */
						uint32_t lv2 = r.qty > 5 ? r.qty - rnd(5) : r.qty;
						report(DP_EXEC_REPLACED, &r, r.price, 0, lv2);
						o->m = r;
						o->px = r.price;
						o->leaves = lv2;
					}
				}
			}
			if (gone)
				lv[i] = lv[--n];
		}
		ck_assert_int_eq(dp_risk_verify(rk), 0);
		for (uint32_t a = 1; a <= 3; a++) {
			int64_t want = 0;
			for (int k = 0; k < n; k++)
				if (lv[k].m.account == a)
					want += (int64_t)lv[k].px * lv[k].leaves;
			struct dp_risk_acct x = acct(a);
			ck_assert_int_ge(x.open_notional, 0);
			ck_assert_int_ge(x.exposure, 0);
			ck_assert_int_eq(x.open_notional, want);
		}
	}
	for (uint32_t a = 1; a <= 3; a++)
		for (uint16_t s = 0; s < 8; s++) {
			struct dp_risk_pos p;
			if (dp_risk_position(rk, a, s, 0, &p) == 0)
				ck_assert_int_eq(p.qty, pos_model[a][s]);
			else
				ck_assert_int_eq(pos_model[a][s], 0);
		}
	struct dp_risk_stats s = stats();
	ck_assert_uint_gt(s.passed, 1000);
	ck_assert_uint_gt(s.rejected[DP_RJ_RISK_CREDIT] + s.rejected[DP_RJ_RISK_MAX_POSITION], 0);
	dp_risk_destroy(rk);
	rk = saved;
}
END_TEST

/*
 * Reason precedence against a model: random accounts with random limits
 * (each check on or off, tight values), random restrictions, references
 * (usable or not), NEW limit / market orders with bad fields now and then,
 * and replaces of live orders, so that several checks often fail at once.
 * The model recomputes steps 4-11 of docs/RISK.md from the public queries
 * (position, account exposure) taken just before each check and expects
 * the first failing one; whatever passes is accepted, filled, replaced or
 * cancelled at random so positions and exposure move.
 */
struct mlive {
	struct dp_order_msg m; /* current id, side, symbol, account */
	uint32_t px, leaves;
};

static enum dp_reject_reason model_reason(const struct dp_order_msg *m,
					  const struct dp_ref_px *ref,
					  const struct dp_risk_limits *l, const struct mlive *old,
					  int restricted, uint32_t max_symbols)
{
	const int repl = m->kind == DP_ORD_REPLACE;
	uint16_t sym = repl ? old->m.symbol : m->symbol;
	char side = repl ? old->m.side : m->side;
	if (!repl && side != 'B' && side != 'S')
		return DP_RJ_BAD_SIDE;
	if (m->type != DP_ORD_LIMIT && m->type != DP_ORD_MARKET)
		return DP_RJ_BAD_TYPE;
	if (m->qty == 0)
		return DP_RJ_BAD_QTY;
	const int market = m->type == DP_ORD_MARKET;
	if (!market && m->price == 0)
		return DP_RJ_BAD_PRICE;
	if (sym >= max_symbols)
		return DP_RJ_UNKNOWN_SYMBOL;
	if (restricted)
		return DP_RJ_RISK_RESTRICTED;
	const uint32_t en = l->enabled;
	if ((en & DP_RISK_CHK_MAX_QTY) && m->qty > l->max_order_qty)
		return DP_RJ_RISK_MAX_QTY;
	const int have = ref->valid && ref->bid && ref->ask;
	const int need = market ? (en & (DP_RISK_CHK_MAX_NOTIONAL | DP_RISK_CHK_CREDIT)) != 0
				: (en & DP_RISK_CHK_COLLAR) != 0;
	if (need && !have)
		return DP_RJ_NO_REFERENCE;
	uint64_t px = market ? (have ? (side == 'B' ? ref->ask : ref->bid) : 0) : m->price;
	if (!market && (en & DP_RISK_CHK_COLLAR)) {
		/* |px - mid| <= mid * bps / 10000, all times 2 * 10000 */
		__int128 d = (__int128)2 * px - ((__int128)ref->bid + ref->ask);
		if (d < 0)
			d = -d;
		if (d * 10000 > ((__int128)ref->bid + ref->ask) * l->collar_bps)
			return DP_RJ_RISK_PRICE_COLLAR;
	}
	__int128 notional = (__int128)px * m->qty;
	if ((en & DP_RISK_CHK_MAX_NOTIONAL) && notional > (__int128)l->max_order_notional)
		return DP_RJ_RISK_MAX_NOTIONAL;
	struct dp_risk_pos p = { 0 };
	(void)dp_risk_position(rk, m->account, sym, 0, &p);
	__int128 dq = (__int128)m->qty - (repl ? old->leaves : 0);
	if ((en & DP_RISK_CHK_MAX_POSITION) && dq > 0) {
		__int128 worst = side == 'B' ? (__int128)p.qty + p.open_buy_qty + dq
					     : (__int128)p.open_sell_qty + dq - p.qty;
		if (worst > (__int128)l->max_position)
			return DP_RJ_RISK_MAX_POSITION;
	}
	struct dp_risk_acct a = acct(m->account);
	__int128 add = notional - (repl ? (__int128)old->px * old->leaves : 0);
	if ((en & DP_RISK_CHK_CREDIT) && add > 0 &&
	    (__int128)a.open_notional + a.position_cost + add > (__int128)l->credit_limit)
		return DP_RJ_RISK_CREDIT;
	return DP_RJ_NONE;
}

START_TEST(limit_precedence_model)
{
	struct dp_risk *saved = rk;
	struct dp_risk_cfg c = { .max_accounts = 8, .max_sessions = 4, .max_symbols = 8,
				 .max_positions = 64, .max_orders = 80, .max_ids = 1 << 17 };
	ck_assert_int_eq(dp_risk_create(&rk, &c, NULL), 0);
	struct dp_risk_limits lim[4];
	uint8_t restr[4][9] = { { 0 } }; /* [account][symbol], [.][8] = all accounts */
	struct mlive lv[64];
	int n = 0;
	uint64_t seen[64] = { 0 };
	for (int step = 0; step < 60000; step++) {
		if (step % 500 == 0) {
			/* new limits: each check on or off, values near what orders need */
			for (uint32_t a = 1; a <= 3; a++) {
				struct dp_risk_limits *l = &lim[a];
				memset(l, 0, sizeof(*l));
				l->enabled = rnd(4) ? rnd(32) : DP_RISK_CHK_ALL;
				l->max_order_qty = 100 + rnd(400);
				l->max_order_notional = (uint64_t)40000 * (100 + rnd(400));
				l->collar_bps = rnd(4) ? 100 + rnd(600) : rnd(3);
				l->credit_limit = (uint64_t)40000 * (500 + rnd(4000));
				l->max_position = 200 + rnd(2000);
				ck_assert_int_eq(dp_risk_set_limits(rk, a, l), 0);
			}
			for (uint16_t s = 0; s < 8; s++) {
				uint32_t a = 1 + rnd(3);
				int on = rnd(8) == 0;
				restr[a][s] = (uint8_t)on;
				ck_assert_int_eq(dp_risk_set_restricted(rk, a, s, on), 0);
				on = rnd(16) == 0;
				restr[0][s] = (uint8_t)on;
				ck_assert_int_eq(dp_risk_set_restricted(rk, DP_RISK_ALL_ACCOUNTS, s, on), 0);
			}
		}
		struct dp_ref_px ref = { 39000 + rnd(200), 40800 + rnd(400), 1 };
		if (rnd(10) == 0)
			ref.valid = 0;
		else if (rnd(20) == 0)
			*(rnd(2) ? &ref.bid : &ref.ask) = 0;
		uint32_t op = rnd(10);
		struct dp_order_msg m;
		struct mlive *old = NULL;
		int oi = -1;
		if (op < 6 || n == 0) {
			m = mnew(1 + rnd(3), 1 + rnd(3), rnd(2) ? 'B' : 'S', (uint16_t)rnd(8),
				 36000 + rnd(8000), 1 + rnd(600));
			if (rnd(4) == 0) {
				m.type = DP_ORD_MARKET;
				m.price = rnd(2) ? 0 : m.price;
			}
			switch (rnd(40)) {
			case 0: m.side = 'X'; break;
			case 1: m.qty = 0; break;
			case 2: m.price = 0; break;
			case 3: m.type = 7; break;
			case 4: m.symbol = 9; break;
			default: break;
			}
		} else if (op < 8) {
			oi = (int)rnd((uint32_t)n);
			old = &lv[oi];
			m = mrepl(&old->m, 36000 + rnd(8000), 1 + rnd(600));
			if (rnd(30) == 0)
				m.qty = 0;
			if (rnd(30) == 0)
				m.price = 0;
		} else {
			/* move positions and exposure: a fill or a cancel of a live order */
			int i = (int)rnd((uint32_t)n);
			struct mlive *o = &lv[i];
			if (op == 8) {
				uint32_t q = 1 + rnd(o->leaves);
				o->leaves -= q;
				report(DP_EXEC_FILL, &o->m, o->px, q, o->leaves);
			} else {
				report(DP_EXEC_CANCELLED, &o->m, 0, 0, 0);
				o->leaves = 0;
			}
			if (o->leaves == 0)
				lv[i] = lv[--n];
			continue;
		}
		uint16_t sym = old ? old->m.symbol : m.symbol;
		int restricted = sym < 8 && (restr[0][sym] || restr[m.account][sym]);
		enum dp_reject_reason want = model_reason(&m, &ref, &lim[m.account], old, restricted,
							  c.max_symbols);
		if (want == DP_RJ_NONE && !old && n == 64)
			continue; /* the model does not track a full order table */
		dp_risk_prefetch(rk, &m);
		enum dp_reject_reason got = dp_risk_check(rk, &m, &ref, now);
		ck_assert_msg(got == want, "step %d: got %d, model %d", step, got, want);
		seen[got & 63]++;
		if (got != DP_RJ_NONE)
			continue;
		uint64_t px = m.type == DP_ORD_MARKET ? (m.side == 'B' ? ref.ask : ref.bid) : m.price;
		if (old) {
			if (rnd(4) == 0) {
				report(DP_EXEC_CANCEL_REJECTED, &m, 0, 0, old->leaves);
			} else {
				report(DP_EXEC_REPLACED, &m, m.price, 0, m.qty);
				old->m = m;
				old->px = m.price;
				old->leaves = m.qty;
			}
		} else if (rnd(8) == 0) {
			report(DP_EXEC_REJECTED, &m, 0, 0, 0);
		} else {
			accept(&m);
			lv[n].m = m;
			lv[n].px = (uint32_t)px;
			lv[n].leaves = m.qty;
			n++;
		}
	}
	/* every reason of steps 4-11 and a fair number of passes were met */
	static const int reasons[] = { DP_RJ_BAD_SIDE, DP_RJ_BAD_TYPE, DP_RJ_BAD_QTY,
				       DP_RJ_BAD_PRICE, DP_RJ_UNKNOWN_SYMBOL, DP_RJ_RISK_RESTRICTED,
				       DP_RJ_RISK_MAX_QTY, DP_RJ_NO_REFERENCE,
				       DP_RJ_RISK_PRICE_COLLAR, DP_RJ_RISK_MAX_NOTIONAL,
				       DP_RJ_RISK_MAX_POSITION, DP_RJ_RISK_CREDIT };
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		ck_assert_msg(seen[reasons[i]] > 20, "reason %d met %llu times", reasons[i],
			      (unsigned long long)seen[reasons[i]]);
	ck_assert_uint_gt(seen[DP_RJ_NONE], 2000);
	dp_risk_destroy(rk);
	rk = saved;
}
END_TEST

static Suite *risk_suite(void)
{
	Suite *s = suite_create("risk");
	TCase *t = tcase_create("checks");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, create_and_memory);
	tcase_add_test(t, limits_roundtrip_and_errors);
	tcase_add_test(t, unknown_account_fails_closed);
	tcase_add_test(t, max_qty);
	tcase_add_test(t, max_notional);
	tcase_add_test(t, price_collar);
	tcase_add_test(t, no_reference_fails_closed);
	tcase_add_test(t, credit_limit);
	tcase_add_test(t, max_position);
	tcase_add_test(t, restricted_symbols);
	tcase_add_test(t, message_validity);
	tcase_add_test(t, throttle_windows);
	tcase_add_test(t, throttle_default_from_cfg);
	tcase_add_test(t, duplicate_ids);
	tcase_add_test(t, id_table_full_fails_closed);
	tcase_add_test(t, id_window_and_hash);
	tcase_add_test(t, small_and_large_ids);
	tcase_add_test(t, who_asks_precedence);
	tcase_add_test(t, other_tables_full_fail_closed);
	tcase_add_test(t, kill_global);
	tcase_add_test(t, kill_account);
	tcase_add_test(t, kill_session);
	tcase_add_test(t, kill_errors);
	tcase_add_test(t, limit_precedence_model);
	suite_add_tcase(s, t);

	TCase *b = tcase_create("bookkeeping");
	tcase_add_checked_fixture(b, setup, teardown);
	tcase_add_test(b, bookkeeping_script);
	tcase_add_test(b, realized_round_trip);
	tcase_add_test(b, average_cost_rounding);
	tcase_add_test(b, replace_exposure_deltas);
	tcase_add_test(b, untracked_fill_still_counts);
	tcase_add_test(b, randomized_exposure);
	suite_add_tcase(s, b);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(risk_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
