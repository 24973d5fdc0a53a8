/*
 * test_ref_stale.c - when the reference table goes stale and comes back
 * (dataplane/core/dp_ref.h: dp_ref_stale_decide, dp_ref_watch_step): a gap
 * is sticky, an ended session and a silent feed clear when packets resume,
 * the silence threshold is exclusive and 0 turns it off, precedence
 * gap > end of session > silence, and a stale table makes every read invalid.
 */
#include <check.h>
#include <stdlib.h>

#include "dp_ref.h"

START_TEST(test_decide)
{
	/* gaps, ended, last packet, now, threshold */
	ck_assert_uint_eq(dp_ref_stale_decide(0, 0, 100, 150, 100), DP_REF_VALID);
	ck_assert_uint_eq(dp_ref_stale_decide(0, 0, 100, 200, 100), DP_REF_VALID);  /* exactly at: not yet */
	ck_assert_uint_eq(dp_ref_stale_decide(0, 0, 100, 201, 100), DP_REF_STALE_SILENT);
	ck_assert_uint_eq(dp_ref_stale_decide(0, 0, 100, 1000000, 0), DP_REF_VALID); /* 0 = off */
	ck_assert_uint_eq(dp_ref_stale_decide(0, 0, 500, 100, 10), DP_REF_VALID);    /* clock behind: not silent */
	ck_assert_uint_eq(dp_ref_stale_decide(0, 1, 100, 101, 100), DP_REF_STALE_ENDED);
	ck_assert_uint_eq(dp_ref_stale_decide(0, 1, 100, 999, 100), DP_REF_STALE_ENDED); /* ended beats silent */
	ck_assert_uint_eq(dp_ref_stale_decide(3, 1, 100, 999, 100), DP_REF_STALE_GAP);   /* gap beats all */
	ck_assert_uint_eq(dp_ref_stale_decide(1, 0, 100, 101, 0), DP_REF_STALE_GAP);
	ck_assert_str_eq(dp_ref_stale_name(DP_REF_STALE_SILENT), "silent");
	ck_assert_str_eq(dp_ref_stale_name(DP_REF_STALE_ENDED), "end_of_session");
	ck_assert_str_eq(dp_ref_stale_name(DP_REF_STALE_GAP), "gap");
	ck_assert_str_eq(dp_ref_stale_name(DP_REF_VALID), "valid");
}
END_TEST

/* The watch as the book lcore drives it: packet counts and ticks. */
START_TEST(test_watch_transitions)
{
	struct dp_ref_watch w;
	int ch;
	dp_ref_watch_init(&w, 1000, 50);
	ck_assert_uint_eq(dp_ref_watch_step(&w, 0, 0, 0, 1040, &ch), DP_REF_VALID);
	ck_assert_int_eq(ch, 0);
	/* nothing came since start: silent after the threshold */
	ck_assert_uint_eq(dp_ref_watch_step(&w, 0, 0, 0, 1051, &ch), DP_REF_STALE_SILENT);
	ck_assert_int_eq(ch, 1);
	ck_assert_uint_eq(dp_ref_watch_step(&w, 0, 0, 0, 1060, &ch), DP_REF_STALE_SILENT);
	ck_assert_int_eq(ch, 0); /* one transition, not one per tick */
	/* packets resume: valid at once */
	ck_assert_uint_eq(dp_ref_watch_step(&w, 7, 0, 0, 1070, &ch), DP_REF_VALID);
	ck_assert_int_eq(ch, 1);
	ck_assert_uint_eq(w.last_pkt_tsc, 1070);
	/* heartbeats only: the count still moves, so never silent */
	for (uint64_t t = 1080, n = 8; t < 2000; t += 40, n++)
		ck_assert_uint_eq(dp_ref_watch_step(&w, n, 0, 0, t, &ch), DP_REF_VALID);
	uint64_t n = w.pkts;
	/* end of session (its packet moved the count too) */
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 1, 0, 1, 2000, &ch), DP_REF_STALE_ENDED);
	ck_assert_int_eq(ch, 1);
	/* late copies of the ended session: still ended */
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 5, 0, 1, 2010, &ch), DP_REF_STALE_ENDED);
	ck_assert_int_eq(ch, 0);
	/* then silence: ended stays the reason */
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 5, 0, 1, 9000, &ch), DP_REF_STALE_ENDED);
	/* a new session starts (rx clears the gauge): valid */
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 6, 0, 0, 9010, &ch), DP_REF_VALID);
	ck_assert_int_eq(ch, 1);
	/* a gap: stale, and it stays so whatever comes next */
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 7, 1, 0, 9020, &ch), DP_REF_STALE_GAP);
	ck_assert_int_eq(ch, 1);
	for (uint64_t t = 9030; t < 9500; t += 10)
		ck_assert_uint_eq(dp_ref_watch_step(&w, n + t, 1, 0, t, &ch), DP_REF_STALE_GAP);
	ck_assert_uint_eq(dp_ref_watch_step(&w, n + 9999, 1, 1, 99999, &ch), DP_REF_STALE_GAP);
}
END_TEST

START_TEST(test_watch_off)
{
	struct dp_ref_watch w;
	int ch;
	dp_ref_watch_init(&w, 0, 0); /* reference.stale_after_ms: 0 */
	ck_assert_uint_eq(dp_ref_watch_step(&w, 0, 0, 0, UINT64_MAX / 2, &ch), DP_REF_VALID);
	ck_assert_int_eq(ch, 0);
	ck_assert_uint_eq(dp_ref_watch_step(&w, 1, 0, 1, UINT64_MAX / 2 + 1, &ch), DP_REF_STALE_ENDED);
}
END_TEST

/* Every reason makes every reference invalid; 0 makes them usable again. */
START_TEST(test_table_reasons)
{
	size_t sz = (dp_ref_table_size(4) + 63) / 64 * 64;
	struct dp_ref_table *t = aligned_alloc(64, sz);
	ck_assert_ptr_nonnull(t);
	memset(t, 0, sz);
	t->n = 4;
	ck_assert_int_eq(dp_ref_publish(t, 1, 100, 101, 1, "A"), 1);
	ck_assert_int_eq(dp_ref_publish(t, 1, 100, 101, 1, "A"), 0); /* unchanged: no write */
	ck_assert(dp_ref_read(t, 1).valid);
	for (uint32_t r = DP_REF_STALE_GAP; r < DP_REF_STALE__COUNT; r++) {
		dp_ref_set_stale(t, r);
		struct dp_ref_px p = dp_ref_read(t, 1);
		ck_assert(!p.valid);
		ck_assert_uint_eq(p.bid, 100); /* prices still readable, just not usable */
		dp_ref_set_stale(t, DP_REF_VALID);
		ck_assert(dp_ref_read(t, 1).valid);
	}
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ref_stale");
	TCase *tc = tcase_create("stale");
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_watch_transitions);
	tcase_add_test(tc, test_watch_off);
	tcase_add_test(tc, test_table_reasons);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
