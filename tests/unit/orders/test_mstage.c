/*
 * test_mstage.c - the match stage glue (dataplane/core/dp_mstage.c) over
 * plain arrays: the reference from the table, risk before the engine, every
 * engine report back to risk, counters per outcome, backpressure refusals,
 * restricted names resolved from the feed's names (fail closed before),
 * an injected mass cancel, and paused engine output drained with resume.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "dp_mstage.h"
#include "mgw_shm.h"

struct fx {
	struct dp_match *m;
	struct dp_risk *r;
	struct dp_ref_table *t;
	struct dp_mstage *s;
	uint64_t ctr[MGW_CTR__COUNT];
	struct dp_exec_report out[64];
};

static void setup(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	struct dp_match_cfg mc = {.max_orders = 1024, .max_levels = 256, .max_symbols = 16,
				  .max_sessions = 8, .max_accounts = 8, .stp_default = DP_STP_NONE};
	ck_assert_int_eq(dp_match_create(&f->m, &mc, NULL), 0);
	struct dp_risk_cfg rc = {.max_accounts = 8, .max_sessions = 8, .max_symbols = 16,
				 .max_positions = 64, .max_orders = 1024, .max_ids = 4096};
	ck_assert_int_eq(dp_risk_create(&f->r, &rc, NULL), 0);
	f->t = calloc(1, dp_ref_table_size(16));
	f->t->n = 16;
	f->s = calloc(1, sizeof(*f->s));
	dp_mstage_init(f->s, f->m, f->r, f->t, f->ctr, 16);
	struct dp_risk_limits l = {.enabled = DP_RISK_CHK_MAX_QTY, .max_order_qty = 1000};
	ck_assert_int_eq(dp_risk_set_limits(f->r, 1, &l), 0);
	ck_assert_int_eq(dp_risk_set_limits(f->r, 2, &l), 0);
	dp_ref_publish(f->t, 3, 1000000, 1000100, 1, "SYM3");
}

static void teardown(struct fx *f)
{
	dp_match_destroy(f->m);
	dp_risk_destroy(f->r);
	free(f->t);
	free(f->s);
}

static struct dp_order_msg new_order(uint32_t acct, uint64_t id, char side, uint32_t px, uint32_t qty)
{
	struct dp_order_msg m = {.kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_DAY, .side = side,
				 .symbol = 3, .account = acct, .session = acct, .cl_ord_id = id,
				 .price = px, .qty = qty};
	return m;
}

START_TEST(test_accept_fill_counters)
{
	struct fx f;
	setup(&f);
	struct dp_order_msg m = new_order(1, 1, 'B', 1000000, 100);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 1, 0, f.out, 64), 1);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_ACCEPTED);
	m = new_order(2, 1, 'S', 1000000, 40);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 2, 0, f.out, 64), 3);
	ck_assert_uint_eq(f.out[1].kind, DP_EXEC_FILL);
	ck_assert_uint_eq(f.out[2].leaves_qty, 60);
	ck_assert_uint_eq(f.ctr[MGW_CTR_ORD_NEW], 2);
	ck_assert_uint_eq(f.ctr[MGW_CTR_REP_ACCEPTED], 2);
	ck_assert_uint_eq(f.ctr[MGW_CTR_REP_FILL], 2);
	/* the fills reached risk: positions and open quantity follow */
	struct dp_risk_pos p;
	ck_assert_int_eq(dp_risk_position(f.r, 1, 3, 0, &p), 0);
	ck_assert_int_eq(p.qty, 40);
	ck_assert_uint_eq(p.open_buy_qty, 60);
	ck_assert(f.s->traded[0] & (1u << 3));
	ck_assert_int_eq(dp_risk_verify(f.r), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_risk_and_backpressure)
{
	struct fx f;
	setup(&f);
	struct dp_order_msg m = new_order(1, 1, 'B', 1000000, 5000);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 1, 0, f.out, 64), 1);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_REJECTED);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_RISK_MAX_QTY);
	ck_assert_uint_eq(f.ctr[MGW_CTR_RJ_RISK_MAX_QTY], 1);
	m = new_order(9, 2, 'B', 1000000, 1);
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_RISK_UNKNOWN_ACCOUNT);
	/* above the high-water mark: refused before risk, counted */
	m = new_order(1, 3, 'B', 1000000, 1);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 1, 1, f.out, 64), 1);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_BACKPRESSURE);
	ck_assert_uint_eq(f.ctr[MGW_CTR_MATCH_BACKPRESSURE], 1);
	ck_assert_uint_eq(f.ctr[MGW_CTR_RJ_BACKPRESSURE], 1);
	/* a replace is refused as CANCEL_REJECTED under the same rule */
	struct dp_order_msg rp = m;
	rp.kind = DP_ORD_REPLACE;
	rp.orig_cl_ord_id = 1;
	dp_mstage_msg(f.s, &rp, 1, 1, f.out, 64);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_CANCEL_REJECTED);
	/* cancels still run under backpressure */
	m = new_order(1, 4, 'B', 999000, 10);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 1, 0, f.out, 64), 1);
	struct dp_order_msg c = {.kind = DP_ORD_CANCEL, .symbol = 3, .account = 1, .session = 1,
				 .cl_ord_id = 5, .orig_cl_ord_id = 4};
	ck_assert_uint_eq(dp_mstage_msg(f.s, &c, 1, 1, f.out, 64), 1);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_CANCELLED);
	ck_assert_int_eq(dp_risk_verify(f.r), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_restricted_names)
{
	struct fx f;
	setup(&f);
	ck_assert_int_eq(dp_mstage_restrict(f.s, 1, "SYM5", 1), 0);
	/* locate 5 not named by the feed yet: account 1 fails closed, account 2 is free */
	struct dp_order_msg m = new_order(1, 1, 'B', 1000, 1);
	m.symbol = 5;
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_RISK_RESTRICTED);
	m.account = m.session = 2;
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_ACCEPTED);
	/* the feed names locate 5: still restricted for 1; locate 3 is not */
	dp_ref_publish(f.t, 5, 900, 1100, 1, "SYM5");
	m = new_order(1, 2, 'B', 1000, 1);
	m.symbol = 5;
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_RISK_RESTRICTED);
	m = new_order(1, 3, 'B', 999000, 1);
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_ACCEPTED);
	/* released */
	ck_assert_int_eq(dp_mstage_restrict(f.s, 1, "SYM5", 0), 0);
	m = new_order(1, 4, 'B', 1000, 1);
	m.symbol = 5;
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].kind, DP_EXEC_ACCEPTED);
	teardown(&f);
}
END_TEST

START_TEST(test_kill_inject_and_resume)
{
	struct fx f;
	setup(&f);
	/* 20 resting asks, then one buy sweeps them with a small cap: paused output */
	for (uint32_t i = 0; i < 20; i++) {
		struct dp_order_msg m = new_order(2, 100 + i, 'S', 1000100, 10);
		ck_assert_uint_eq(dp_mstage_msg(f.s, &m, 1, 0, f.out, 64), 1);
	}
	struct dp_order_msg b = new_order(1, 1, 'B', 1000100, 200);
	uint32_t total = dp_mstage_msg(f.s, &b, 1, 0, f.out, DP_MATCH_MIN_CAP);
	ck_assert(dp_mstage_pending(f.s));
	ck_assert_uint_eq(dp_mstage_msg(f.s, &b, 1, 0, f.out, 64), 0); /* refused while paused */
	while (dp_mstage_pending(f.s))
		total += dp_mstage_resume(f.s, f.out, DP_MATCH_MIN_CAP);
	ck_assert_uint_eq(total, 1 + 40);
	ck_assert_uint_eq(f.ctr[MGW_CTR_REP_FILL], 40);
	ck_assert_uint_ge(f.ctr[MGW_CTR_MATCH_PAUSES], 1);
	/* kill account 2's new resting orders through an injected mass cancel */
	for (uint32_t i = 0; i < 3; i++) {
		struct dp_order_msg m = new_order(2, 200 + i, 'S', 1000100, 10);
		dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	}
	struct dp_order_msg cancel;
	ck_assert_int_eq(dp_risk_kill(f.r, DP_RISK_ACCOUNT, 2, true, &cancel), 1);
	ck_assert_int_eq(dp_mstage_inject(f.s, &cancel), 0);
	ck_assert_int_eq(dp_mstage_inject(f.s, &cancel), -EBUSY);
	ck_assert_uint_eq(dp_mstage_msg(f.s, &f.s->inject, 1, 0, f.out, 64), 3);
	ck_assert_uint_eq(f.out[2].kind, DP_EXEC_CANCELLED);
	ck_assert_uint_eq(dp_match_live_orders(f.m), 0);
	struct dp_order_msg m = new_order(2, 300, 'S', 1000100, 10);
	dp_mstage_msg(f.s, &m, 1, 0, f.out, 64);
	ck_assert_uint_eq(f.out[0].reason, DP_RJ_KILL_SWITCH);
	ck_assert_int_eq(dp_risk_verify(f.r), 0);
	teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mstage");
	TCase *tc = tcase_create("mstage");
	tcase_add_test(tc, test_accept_fill_counters);
	tcase_add_test(tc, test_risk_and_backpressure);
	tcase_add_test(tc, test_restricted_names);
	tcase_add_test(tc, test_kill_inject_and_resume);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
