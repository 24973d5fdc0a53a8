/*
 * test_book_samples.c - builds books from the real Nasdaq BX ITCH 5.0
 * sample in ../shared/data/itch (BinaryFILE: 2-byte big-endian length before
 * each message). Every message must decode, and the book must see no
 * unknown or duplicate order reference and no refusal of any kind: this is
 * the check that our event semantics agree with a real exchange's stream.
 * Skips (exit 77) when the shared folder is absent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"
#include "dp_itch.h"

#define SAMPLE MGW_SHARED_DIR "/data/itch/bx-sample-12k.itch"

static uint8_t *buf;
static size_t len;

static int load(void)
{
	FILE *f = fopen(SAMPLE, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	len = (size_t)n;
	return 0;
}

static void print_bbo(const struct dp_book *b, uint16_t loc)
{
	struct dp_book_symbol_info si;
	struct dp_book_level bid, ask;
	if (dp_book_symbol(b, loc, &si) || dp_book_bbo(b, loc, &bid, &ask))
		return;
	printf("  locate %u %-8s events %llu orders %u levels %u/%u  bid %llu @ %u.%04u  ask %llu @ %u.%04u\n",
	       loc, si.stock, (unsigned long long)si.events, si.orders, si.bid_levels, si.ask_levels,
	       (unsigned long long)bid.qty, bid.price / 10000, bid.price % 10000,
	       (unsigned long long)ask.qty, ask.price / 10000, ask.price % 10000);
}

START_TEST(bx_sample)
{
	struct dp_book *b;
	struct dp_book_cfg cfg = { 100000, 20000, 65536 };
	ck_assert_int_eq(dp_book_create(&b, &cfg, NULL), 0);

	size_t off = 0, nmsg = 0, nev = 0;
	const uint8_t *msg;
	size_t mlen;
	int rc;
	static struct { size_t pos; uint64_t ref; } unk[256];
	size_t nunk = 0;
	const struct dp_book_stats *s = dp_book_stats(b);
	while ((rc = dp_itch_file_next(buf, len, &off, &msg, &mlen)) == 1) {
		struct dp_itch_msg m;
		struct dp_book_ev ev;
		ck_assert_msg(dp_itch_decode(msg, mlen, &m) == 0, "message %zu does not decode", nmsg);
		if (dp_book_ev_from_itch(&m, &ev)) {
			uint64_t before = s->unknown_ref;
			dp_book_prefetch(b, &ev);
			dp_book_apply(b, &ev);
			if (s->unknown_ref != before && nunk < 256) {
				unk[nunk].pos = nmsg;
				unk[nunk++].ref = ev.ref;
			}
			nev++;
			if (nev % 500 == 0)
				ck_assert_int_eq(dp_book_check(b), 0);
		}
		nmsg++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(nmsg, 12012);
	ck_assert_int_eq(dp_book_check(b), 0);

	/* Every unknown reference is an order the file adds a little later. */
	ck_assert_uint_eq(s->unknown_ref, 117);
	ck_assert_uint_eq(nunk, 117);
	for (size_t i = 0; i < nunk; i++) {
		size_t o2 = 0, k = 0, added_at = 0;
		while (dp_itch_file_next(buf, len, &o2, &msg, &mlen) == 1) {
			struct dp_itch_msg m;
			dp_itch_decode(msg, mlen, &m);
			if (k > unk[i].pos && (m.hdr.type == 'A' || m.hdr.type == 'F') &&
			    m.u.add.ref == unk[i].ref) {
				added_at = k;
				break;
			}
			k++;
		}
		ck_assert_msg(added_at > unk[i].pos && added_at - unk[i].pos <= 16,
			      "message %zu: ref %llu is not an order added just after", unk[i].pos,
			      (unsigned long long)unk[i].ref);
	}
	ck_assert_uint_eq(s->duplicate_ref, 0);
	ck_assert_uint_eq(s->overfill, 0);
	ck_assert_uint_eq(s->bad_locate, 0);
	ck_assert_uint_eq(s->bad_side, 0);
	ck_assert_uint_eq(s->zero_qty, 0);
	ck_assert_uint_eq(s->orders_full, 0);
	ck_assert_uint_eq(s->levels_full, 0);
	/*
	 * The README's counts (A 4997 + F 3, E 198, D 1745, U 12, X 45, R 3,
	 * H 3) minus the early references (E 18, D 94, U 2, X 3).
	 */
	ck_assert_uint_eq(s->events[DP_BEV_ADD], 5000);
	ck_assert_uint_eq(s->events[DP_BEV_EXEC], 198 - 18);
	ck_assert_uint_eq(s->events[DP_BEV_DELETE], 1745 - 94);
	ck_assert_uint_eq(s->events[DP_BEV_REPLACE], 12 - 2);
	ck_assert_uint_eq(s->events[DP_BEV_CANCEL], 45 - 3);
	ck_assert_uint_eq(s->events[DP_BEV_DIRECTORY], 3);
	ck_assert_uint_eq(s->events[DP_BEV_TRADING_STATE], 3);

	uint16_t top[4];
	int n = dp_book_busiest(b, top, 4);
	ck_assert_int_gt(n, 0);
	printf("bx-sample: %zu messages, %zu book events, %u live orders, %u levels\n", nmsg, nev,
	       dp_book_live_orders(b), dp_book_live_levels(b));
	for (int i = 0; i < n; i++)
		print_bbo(b, top[i]);
	dp_book_destroy(b);
}
END_TEST

int main(void)
{
	if (load() != 0) {
		printf("test_book_samples: %s not readable, skipping\n", SAMPLE);
		return 77;
	}
	Suite *s = suite_create("book_samples");
	TCase *tc = tcase_create("bx");
	tcase_add_test(tc, bx_sample);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(buf);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
