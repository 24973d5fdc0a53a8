/*
 * test_ref.c - the reference price table (dataplane/core/dp_ref.h): the
 * validity rule, the stale flag, names, and the seqlock under a writer and
 * a reader on two threads (a reader never sees a torn entry).
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "dp_ref.h"

static struct dp_ref_table *table(uint32_t n)
{
	struct dp_ref_table *t = aligned_alloc(64, (dp_ref_table_size(n) + 63) / 64 * 64);
	ck_assert_ptr_nonnull(t);
	memset(t, 0, dp_ref_table_size(n));
	t->n = n;
	return t;
}

START_TEST(test_validity)
{
	struct dp_ref_table *t = table(16);
	struct dp_ref_px r = dp_ref_read(t, 3);
	ck_assert(!r.valid && r.bid == 0 && r.ask == 0); /* never published */
	dp_ref_publish(t, 3, 100, 101, 0, "ABC");
	r = dp_ref_read(t, 3);
	ck_assert(!r.valid); /* not trading */
	ck_assert_uint_eq(r.bid, 100);
	dp_ref_publish(t, 3, 100, 101, 1, "ABC");
	r = dp_ref_read(t, 3);
	ck_assert(r.valid && r.bid == 100 && r.ask == 101);
	dp_ref_set_stale(t, 1); /* a feed gap: every reference stale */
	ck_assert(!dp_ref_read(t, 3).valid);
	dp_ref_set_stale(t, 0);
	ck_assert(dp_ref_read(t, 3).valid);
	dp_ref_publish(t, 3, 0, 0, 1, "ABC"); /* no quote at all */
	ck_assert(!dp_ref_read(t, 3).valid);
	ck_assert(!dp_ref_read(t, 16).valid); /* out of range */
	dp_ref_publish(t, 16, 1, 2, 1, "X");  /* ignored */
	free(t);
}
END_TEST

START_TEST(test_names)
{
	struct dp_ref_table *t = table(4);
	char s[8];
	ck_assert_int_eq(dp_ref_stock(t, 1, s), 0);
	dp_ref_publish(t, 1, 5, 6, 1, "AAPL    ");
	ck_assert_int_eq(dp_ref_stock(t, 1, s), 1);
	ck_assert(dp_ref_stock_eq(s, "AAPL"));
	ck_assert(!dp_ref_stock_eq(s, "AAP"));
	ck_assert(!dp_ref_stock_eq(s, "AAPLX"));
	dp_ref_publish(t, 1, 5, 6, 1, "OTHER"); /* the name is written once */
	ck_assert_int_eq(dp_ref_stock(t, 1, s), 1);
	ck_assert(dp_ref_stock_eq(s, "AAPL"));
	char z[8] = {'M', 'S', 'F', 'T', 0, 0, 0, 0};
	ck_assert(dp_ref_stock_eq(z, "MSFT"));
	free(t);
}
END_TEST

#define ITER 2000000u
static struct dp_ref_table *shared;
static atomic_int done;

static void *writer(void *arg)
{
	(void)arg;
	for (uint32_t k = 1; k <= ITER; k++)
		dp_ref_publish(shared, (uint16_t)(k & 3), k, k + 7, 1, "W");
	atomic_store(&done, 1);
	return NULL;
}

START_TEST(test_two_threads)
{
	shared = table(4);
	atomic_store(&done, 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, writer, NULL), 0);
	uint32_t last[4] = {0}, reads = 0;
	while (!atomic_load(&done) || reads < 1000) {
		for (uint16_t l = 0; l < 4; l++) {
			struct dp_ref_px r = dp_ref_read(shared, l);
			reads++;
			if (!r.bid)
				continue;
			/* one update, never a bid of one and an ask of another */
			ck_assert_uint_eq(r.ask, r.bid + 7);
			ck_assert_uint_eq(r.bid & 3, l);
			ck_assert_uint_ge(r.bid, last[l]); /* never back in time */
			last[l] = r.bid;
		}
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(dp_ref_read(shared, ITER & 3).bid, ITER);
	free(shared);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ref");
	TCase *tc = tcase_create("ref");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_validity);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_two_threads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
