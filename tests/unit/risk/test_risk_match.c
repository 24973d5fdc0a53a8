/*
 * test_risk_match.c - dp_risk_match (risk check, engine and reports back to
 * risk in one call, with the kind told apart once and the ids hashed once)
 * against the same steps called one by one, as the match stage did them:
 * dp_risk_check for a NEW or REPLACE, dp_match_process (+ dp_match_resume
 * while paused) and dp_risk_on_report for every report. Two engine + risk
 * pairs are fed one seeded random stream (every kind, bad fields, risk
 * refusals of several reasons, replaces keeping or changing their id,
 * cancels of unknown orders, mass cancels, kill switches, small report
 * capacities so the engine pauses); after every message the reports, the
 * refusal reasons, risk's counters and every account's exposure must be
 * identical, and dp_risk_verify / dp_match_check hold on both.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dp_match.h"
#include "dp_risk.h"

#define NSYM 3
#define NACCT 4
#define NSESS 3
#define PX 100000u
#define MSGS 60000

struct pair {
	struct dp_match *m;
	struct dp_risk *r;
};

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)((rs >> 11) % n);
}

static void mk(struct pair *p)
{
	struct dp_match_cfg mc = { .max_orders = 512, .max_levels = 256, .max_symbols = NSYM,
				   .max_sessions = NSESS, .max_accounts = NACCT,
				   .stp_default = DP_STP_CANCEL_NEWEST };
	struct dp_risk_cfg rc = { .max_accounts = NACCT, .max_sessions = NSESS,
				  .max_symbols = NSYM, .max_positions = 64, .max_orders = 512,
				  .max_ids = 100000 };
	ck_assert_int_eq(dp_match_create(&p->m, &mc, NULL), 0);
	ck_assert_int_eq(dp_risk_create(&p->r, &rc, NULL), 0);
	for (uint32_t a = 0; a < NACCT; a++) {
		/* tight enough that each limit refuses some orders */
		struct dp_risk_limits l = { .enabled = DP_RISK_CHK_ALL, .max_order_qty = 450,
					    .max_order_notional = (uint64_t)PX * 400,
					    .collar_bps = 1, /* 10 ticks */
					    .credit_limit = (uint64_t)PX * 40000,
					    .max_position = 5000 };
		ck_assert_int_eq(dp_risk_set_limits(p->r, a, &l), 0);
		ck_assert_int_eq(dp_match_set_stp(p->m, a, (uint8_t)(a % 4)), 0);
	}
	ck_assert_int_eq(dp_risk_set_throttle(p->r, NSESS - 1, 3000), 0);
}

static void rm(struct pair *p)
{
	dp_match_destroy(p->m);
	dp_risk_destroy(p->r);
}

/* The steps one by one (the old match stage). */
static uint32_t steps(struct pair *p, const struct dp_order_msg *msg, const struct dp_ref_px *ref,
		      uint64_t now, struct dp_exec_report *out, uint32_t cap, uint8_t *refused)
{
	*refused = DP_RJ_NONE;
	if (msg->kind == DP_ORD_NEW || msg->kind == DP_ORD_REPLACE) {
		*refused = (uint8_t)dp_risk_check(p->r, msg, ref, now);
		if (*refused != DP_RJ_NONE)
			return 0;
	}
	uint32_t n = dp_match_process(p->m, msg, ref, out, cap);
	for (uint32_t i = 0; i < n; i++)
		dp_risk_on_report(p->r, &out[i]);
	return n;
}

static uint32_t steps_resume(struct pair *p, struct dp_exec_report *out, uint32_t cap)
{
	uint32_t n = dp_match_resume(p->m, out, cap);
	for (uint32_t i = 0; i < n; i++)
		dp_risk_on_report(p->r, &out[i]);
	return n;
}

static void same_state(const struct pair *a, const struct pair *b)
{
	struct dp_risk_stats sa, sb;
	dp_risk_stats(a->r, &sa);
	dp_risk_stats(b->r, &sb);
	ck_assert(memcmp(&sa, &sb, sizeof sa) == 0);
	for (uint32_t ac = 0; ac < NACCT; ac++) {
		struct dp_risk_acct xa, xb;
		ck_assert_int_eq(dp_risk_account(a->r, ac, &xa), 0);
		ck_assert_int_eq(dp_risk_account(b->r, ac, &xb), 0);
		ck_assert(memcmp(&xa, &xb, sizeof xa) == 0);
		for (uint16_t s = 0; s < NSYM; s++) {
			struct dp_risk_pos pa, pb;
			int ra = dp_risk_position(a->r, ac, s, PX, &pa);
			ck_assert_int_eq(ra, dp_risk_position(b->r, ac, s, PX, &pb));
			if (ra == 0)
				ck_assert(memcmp(&pa, &pb, sizeof pa) == 0);
		}
	}
	ck_assert_uint_eq(dp_match_live_orders(a->m), dp_match_live_orders(b->m));
}

/* Both pairs take msg (b with the lcore's hints); reports, refusals and
 * risk's state must agree and both must verify. Returns the report count. */
static uint32_t both(struct pair *a, struct pair *b, const struct dp_order_msg *m, uint8_t *refused)
{
	static struct dp_exec_report oa[64], ob[64];
	const struct dp_ref_px ref = { PX - 5, PX + 5, 1 };
	uint8_t fa, fb;
	uint32_t na = steps(a, m, &ref, 1000, oa, 64, &fa);
	dp_risk_match_prefetch_early(b->r, b->m, m);
	dp_risk_match_prefetch_late(b->r, b->m, m);
	uint32_t nb = dp_risk_match(b->r, b->m, m, &ref, 1000, ob, 64, &fb);
	ck_assert_uint_eq(fa, fb);
	ck_assert_uint_eq(na, nb);
	ck_assert(memcmp(oa, ob, na * sizeof oa[0]) == 0);
	same_state(a, b);
	ck_assert_int_eq(dp_risk_verify(a->r), 0);
	ck_assert_int_eq(dp_risk_verify(b->r), 0);
	*refused = fb;
	return nb;
}

/*
 * A replace that keeps its order's id (cl_ord_id == orig_cl_ord_id),
 * quantity up and down, price moved, through dp_risk_match: risk's entry
 * must follow (found by fuzz_match: the fused path used to skip putting
 * it in flight, so its REPLACED landed a stale record and the account
 * lost the order from its exposure and live count).
 */
START_TEST(replace_keeping_its_id)
{
	struct pair a, b;
	mk(&a);
	mk(&b);
	uint8_t rf;
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_DAY,
				  .side = 'S', .symbol = 1, .account = 2, .session = 1,
				  .cl_ord_id = 1, .price = PX + 3, .qty = 100 };
	ck_assert_uint_eq(both(&a, &b, &m, &rf), 1);
	/* another order in flight before, so a stale flight record would show */
	m.account = 3, m.cl_ord_id = 2, m.side = 'B', m.price = PX - 3, m.qty = 200;
	ck_assert_uint_eq(both(&a, &b, &m, &rf), 1);
	const uint32_t qty[3] = { 300, 100, 350 }, px[3] = { PX + 4, PX + 2, PX + 2 };
	for (int i = 0; i < 3; i++) {
		struct dp_order_msg r = { .kind = DP_ORD_REPLACE, .type = DP_ORD_LIMIT, .side = 'S',
					  .symbol = 1, .account = 2, .session = 1, .cl_ord_id = 1,
					  .orig_cl_ord_id = 1, .price = px[i], .qty = qty[i] };
		uint32_t nr = both(&a, &b, &r, &rf);
		ck_assert_msg(nr == 1 && rf == DP_RJ_NONE, "replace %d: %u reports, refused %u", i, nr, rf);
		struct dp_risk_acct x;
		ck_assert_int_eq(dp_risk_account(b.r, 2, &x), 0);
		ck_assert_uint_eq(x.live_orders, 1);
		ck_assert_int_eq(x.open_notional, (int64_t)px[i] * qty[i]);
	}
	/* and it still cancels */
	struct dp_order_msg c = { .kind = DP_ORD_CANCEL, .symbol = 1, .account = 2, .session = 1,
				  .cl_ord_id = 9, .orig_cl_ord_id = 1 };
	ck_assert_uint_eq(both(&a, &b, &c, &rf), 1);
	struct dp_risk_acct x;
	ck_assert_int_eq(dp_risk_account(b.r, 2, &x), 0);
	ck_assert_uint_eq(x.live_orders, 0);
	ck_assert_int_eq(x.open_notional, 0);
	rm(&a);
	rm(&b);
}
END_TEST

START_TEST(fused_equals_steps)
{
	struct pair a, b;
	mk(&a);
	mk(&b);
	static struct dp_exec_report oa[1024], ob[1024];
	uint64_t next_cl[NSESS] = { 0 }, now = 1000000000ull;
	uint64_t kinds[5] = { 0 }, refused_seen = 0, pauses = 0, same_id_replaced = 0;
	/* ids of recently accepted orders, and a copy taken at a new day */
	struct { uint32_t sess, acct; uint64_t cl; } acc[64], prev[64];
	uint32_t n_acc = 0, n_prev = 0;
	int day_start = -1;
	for (int i = 0; i < MSGS; i++) {
		struct dp_order_msg m;
		memset(&m, 0, sizeof m);
		if (i == MSGS / 3 || i == 2 * MSGS / 3) {
			/* a new day with orders still live: their ids are no longer
			 * recorded, so a NEW reusing one is refused by the live check */
			ck_assert_uint_gt(dp_match_live_orders(b.m), 0);
			dp_risk_new_day(a.r);
			dp_risk_new_day(b.r);
			memcpy(prev, acc, sizeof acc);
			n_prev = n_acc < 64 ? n_acc : 64;
			day_start = i;
		}
		uint32_t k = rnd(100);
		m.session = rnd(NSESS);
		m.account = rnd(NACCT);
		m.symbol = (uint16_t)rnd(NSYM + (rnd(50) == 0)); /* now and then a bad symbol */
		m.cl_ord_id = ++next_cl[m.session];
		m.side = rnd(40) ? (rnd(2) ? 'B' : 'S') : 'X';
		m.type = rnd(10) ? DP_ORD_LIMIT : DP_ORD_MARKET;
		m.tif = (uint8_t)(1 + rnd(3));
		m.flags = rnd(10) == 0 ? DP_ORD_F_POST_ONLY : 0;
		m.qty = rnd(60) ? 100 * (1 + rnd(5)) : rnd(2) * 1000;
		m.price = PX - 12 + rnd(25);
		if (k < 55) {
			m.kind = DP_ORD_NEW;
			if (day_start >= 0 && i - day_start < 3000 && n_prev && rnd(3) == 0) {
				/* an id of yesterday: still live (refused), or done (new again) */
				uint32_t j = rnd(n_prev);
				m.session = prev[j].sess;
				m.cl_ord_id = prev[j].cl;
			}
		} else if (k < 98) {
			m.kind = k < 85 ? DP_ORD_CANCEL : DP_ORD_REPLACE;
			/* a recent id of the session, sometimes one never used */
			uint64_t back = 1 + rnd(30);
			m.orig_cl_ord_id = next_cl[m.session] > back ? next_cl[m.session] - back : 7777;
			if (m.kind == DP_ORD_REPLACE && n_acc && rnd(2)) {
				/* an order accepted lately, by its own session and
				 * account (a replace from another account is refused) */
				uint32_t j = rnd(n_acc < 64 ? n_acc : 64);
				m.session = acc[j].sess;
				m.account = acc[j].acct;
				m.orig_cl_ord_id = acc[j].cl;
				m.cl_ord_id = ++next_cl[m.session];
			}
			if (m.kind == DP_ORD_REPLACE && rnd(4) == 0)
				m.cl_ord_id = m.orig_cl_ord_id; /* keeps its id */
		} else if (k < 99) {
			m.kind = rnd(4) ? DP_ORD_MASS_CANCEL : (uint8_t)(5 + rnd(3)); /* or a bad kind */
			m.mass = (uint8_t)(1 + rnd(5)); /* paused when more orders go than fit */
		} else {
			/* a kill switch on or off, the same on both */
			enum dp_risk_level lvl = (enum dp_risk_level)rnd(3);
			uint32_t key = lvl == DP_RISK_SESSION ? m.session : m.account;
			bool on = rnd(5) == 0;
			struct dp_order_msg ca, cb;
			int ra = dp_risk_kill(a.r, lvl, key, on, &ca);
			ck_assert_int_eq(ra, dp_risk_kill(b.r, lvl, key, on, &cb));
			if (ra != 1)
				continue;
			ck_assert(memcmp(&ca, &cb, sizeof ca) == 0);
			m = ca;
		}
		struct dp_ref_px ref = { PX - 5 - rnd(3), PX + 5 + rnd(3), (uint8_t)(rnd(30) != 0) };
		uint32_t cap = rnd(2) ? 1024 : DP_MATCH_MIN_CAP + rnd(2);
		now += rnd(3) ? 1000 : 400000000ull;
		kinds[m.kind < 5 ? m.kind : 0]++;

		uint8_t fa, fb;
		uint32_t na = steps(&a, &m, &ref, now, oa, cap, &fa);
		/* b gets the match lcore's hints (a none): pure hints change nothing */
		dp_risk_match_prefetch_early(b.r, b.m, &m);
		dp_risk_match_prefetch_late(b.r, b.m, &m);
		uint32_t nb = dp_risk_match(b.r, b.m, &m, &ref, now, ob, cap, &fb);
		for (;;) {
			ck_assert_uint_eq(fa, fb);
			ck_assert_uint_eq(na, nb);
			ck_assert(memcmp(oa, ob, na * sizeof oa[0]) == 0);
			ck_assert_int_eq(dp_match_pending(a.m), dp_match_pending(b.m));
			if (!dp_match_pending(b.m))
				break;
			pauses++;
			/* paused: a new message is refused before risk records anything */
			ck_assert_uint_eq(dp_risk_match(b.r, b.m, &m, &ref, now, ob, cap, &fb), 0);
			ck_assert_uint_eq(fb, DP_RJ_NONE);
			ck_assert_uint_eq(dp_match_process(a.m, &m, &ref, oa, cap), 0); /* same misuse count */
			na = steps_resume(&a, oa, cap);
			nb = dp_risk_match_resume(b.r, b.m, ob, cap);
			fa = fb = DP_RJ_NONE;
		}
		refused_seen += fa != DP_RJ_NONE;
		same_id_replaced += m.kind == DP_ORD_REPLACE && m.cl_ord_id == m.orig_cl_ord_id &&
				    nb && ob[0].kind == DP_EXEC_REPLACED;
		for (uint32_t q = 0; q < nb; q++)
			if (ob[q].kind == DP_EXEC_ACCEPTED) {
				acc[n_acc % 64].sess = ob[q].session;
				acc[n_acc % 64].acct = ob[q].account;
				acc[n_acc % 64].cl = ob[q].cl_ord_id;
				n_acc++;
			}
		same_state(&a, &b);
		if (i % 1000 == 0) {
			ck_assert_int_eq(dp_risk_verify(b.r), 0);
			ck_assert_int_eq(dp_match_check(b.m), 0);
		}
	}
	/* cap too small: refused by the engine, nothing recorded by risk */
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_DAY,
				  .side = 'B', .symbol = 0, .account = 0, .session = 0,
				  .cl_ord_id = 1u << 30, .price = PX, .qty = 100 };
	struct dp_ref_px ref = { PX - 5, PX + 5, 1 };
	struct dp_risk_stats before, after;
	dp_risk_stats(b.r, &before);
	uint8_t fb;
	ck_assert_uint_eq(dp_risk_match(b.r, b.m, &m, &ref, now, ob, DP_MATCH_MIN_CAP - 1, &fb), 0);
	ck_assert_uint_eq(fb, DP_RJ_NONE);
	dp_risk_stats(b.r, &after);
	ck_assert(memcmp(&before, &after, sizeof before) == 0);
	ck_assert_uint_eq(dp_match_stats(b.m)->misuse, dp_match_stats(a.m)->misuse + 1);

	/* the stream met every path */
	for (int k = 0; k < 5; k++)
		ck_assert_uint_gt(kinds[k], 50);
	ck_assert_uint_gt(refused_seen, 500);
	ck_assert_uint_gt(same_id_replaced, 5); /* replaces keeping their id went through (9) */
	{
		struct dp_risk_stats st;
		dp_risk_stats(b.r, &st);
		ck_assert_uint_gt(st.rejected[DP_RJ_DUPLICATE_ID], 50); /* ids reused: both checks met */
	}
	ck_assert_uint_gt(pauses, 50);
	ck_assert_uint_gt(dp_match_stats(b.m)->fills, 500);
	rm(&a);
	rm(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("risk_match");
	TCase *t = tcase_create("fused");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, fused_equals_steps);
	tcase_add_test(t, replace_keeping_its_id);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
