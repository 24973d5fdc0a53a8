/*
 * test_mold.c - unit tests for MoldUDP64 parsing, block iteration and the
 * per-session sequence tracker (dataplane/proto/dp_mold.c).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_mold.h"

/* Datagram under construction: header then blocks appended with add_block. */
struct dgram {
	uint8_t b[512];
	size_t len;
};

static void dg_start(struct dgram *d, const char *session, uint64_t seq, uint16_t count)
{
	struct dp_mold_hdr h;
	memset(h.session, ' ', sizeof h.session);
	memcpy(h.session, session, strlen(session));
	h.seq = seq;
	h.count = count;
	dp_mold_write_hdr(d->b, &h);
	d->len = DP_MOLD_HDR_LEN;
}

static void dg_block(struct dgram *d, uint16_t n, uint8_t fill)
{
	d->b[d->len++] = (uint8_t)(n >> 8);
	d->b[d->len++] = (uint8_t)n;
	memset(d->b + d->len, fill, n);
	d->len += n;
}

static struct dp_mold_hdr hdr(const char *session, uint64_t seq, uint16_t count)
{
	struct dp_mold_hdr h;
	memset(h.session, ' ', sizeof h.session);
	memcpy(h.session, session, strlen(session));
	h.seq = seq;
	h.count = count;
	return h;
}

START_TEST(test_hdr_parse)
{
	static const uint8_t pkt[20] = {
		'S', 'E', 'S', 'S', '0', '0', '0', '0', '0', '1',
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x03,
	};
	struct dp_mold_hdr h;
	ck_assert_int_eq(dp_mold_parse_hdr(pkt, sizeof pkt, &h), 0);
	ck_assert_mem_eq(h.session, "SESS000001", 10);
	ck_assert_uint_eq(h.seq, UINT64_C(0x0102030405060708));
	ck_assert_uint_eq(h.count, 3);

	uint8_t out[20];
	dp_mold_write_hdr(out, &h);
	ck_assert_mem_eq(out, pkt, 20);

	for (size_t n = 0; n < 20; n++)
		ck_assert_int_eq(dp_mold_parse_hdr(pkt, n, &h), -DP_MOLD_ERR_SHORT);
	ck_assert_str_eq(dp_mold_err_name(-DP_MOLD_ERR_SHORT), "short");
	ck_assert_str_eq(dp_mold_err_name(DP_MOLD_ERR_ZERO_LEN), "zero_len");
}
END_TEST

/* Parse d and iterate all blocks; returns the final iterator result, fills lens. */
static int iterate(const struct dgram *d, uint16_t *lens, int *nblocks)
{
	struct dp_mold_hdr h;
	struct dp_mold_iter it;
	ck_assert_int_eq(dp_mold_parse_hdr(d->b, d->len, &h), 0);
	dp_mold_iter_init(&it, d->b, d->len, &h);
	const uint8_t *msg;
	uint16_t len;
	int r;
	*nblocks = 0;
	while ((r = dp_mold_next(&it, &msg, &len)) == 1) {
		ck_assert(msg >= d->b + DP_MOLD_HDR_LEN && msg + len <= d->b + d->len);
		lens[(*nblocks)++] = len;
	}
	/* Finished iterators stay finished. */
	ck_assert_int_eq(dp_mold_next(&it, &msg, &len), 0);
	return r;
}

START_TEST(test_iter_blocks)
{
	struct dgram d;
	uint16_t lens[8];
	int n;
	dg_start(&d, "S1", 100, 3);
	dg_block(&d, 36, 'a');
	dg_block(&d, 19, 'b');
	dg_block(&d, 50, 'c');
	ck_assert_int_eq(iterate(&d, lens, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(lens[0], 36);
	ck_assert_uint_eq(lens[1], 19);
	ck_assert_uint_eq(lens[2], 50);

	/* Contents point at the right bytes. */
	struct dp_mold_hdr h;
	struct dp_mold_iter it;
	const uint8_t *msg;
	uint16_t len;
	dp_mold_parse_hdr(d.b, d.len, &h);
	dp_mold_iter_init(&it, d.b, d.len, &h);
	ck_assert_int_eq(dp_mold_next(&it, &msg, &len), 1);
	ck_assert_ptr_eq(msg, d.b + 22);
	ck_assert_int_eq(msg[0], 'a');
	ck_assert_int_eq(msg[35], 'a');
	ck_assert_int_eq(dp_mold_next(&it, &msg, &len), 1);
	ck_assert_int_eq(msg[0], 'b');
}
END_TEST

START_TEST(test_iter_truncated)
{
	struct dgram d;
	uint16_t lens[8];
	int n;
	/* Second block claims 40 bytes, 39 present. */
	dg_start(&d, "S1", 1, 2);
	dg_block(&d, 12, 'a');
	dg_block(&d, 40, 'b');
	d.len--;
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRUNCATED);
	ck_assert_int_eq(n, 1);

	/* Count says 2 but only one block and no room for a length prefix. */
	dg_start(&d, "S1", 1, 2);
	dg_block(&d, 12, 'a');
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRUNCATED);
	ck_assert_int_eq(n, 1);

	/* One stray byte where a 2-byte prefix should be. */
	d.b[d.len++] = 0;
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRUNCATED);

	/* Block length 0xFFFF in a small datagram. */
	dg_start(&d, "S1", 1, 1);
	d.b[d.len++] = 0xFF;
	d.b[d.len++] = 0xFF;
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRUNCATED);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(test_iter_zero_len_and_trailing)
{
	struct dgram d;
	uint16_t lens[8];
	int n;
	dg_start(&d, "S1", 1, 3);
	dg_block(&d, 12, 'a');
	dg_block(&d, 0, 0);
	dg_block(&d, 12, 'c');
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_ZERO_LEN);
	ck_assert_int_eq(n, 1);

	dg_start(&d, "S1", 1, 1);
	dg_block(&d, 12, 'a');
	d.b[d.len++] = 0;
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRAILING);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(dp_mold_err_name(-DP_MOLD_ERR_TRAILING), "trailing");
}
END_TEST

START_TEST(test_iter_heartbeat_and_eos)
{
	struct dgram d;
	uint16_t lens[8];
	int n;
	dg_start(&d, "S1", 500, DP_MOLD_HEARTBEAT);
	ck_assert_int_eq(iterate(&d, lens, &n), 0);
	ck_assert_int_eq(n, 0);
	d.b[d.len++] = 1; /* heartbeat with a body: trailing */
	ck_assert_int_eq(iterate(&d, lens, &n), -DP_MOLD_ERR_TRAILING);

	dg_start(&d, "S1", 500, DP_MOLD_END_OF_SESSION);
	ck_assert_int_eq(iterate(&d, lens, &n), 0);
	ck_assert_int_eq(n, 0);

	/* Iterator init on a too-short buffer yields nothing rather than reading. */
	struct dp_mold_iter it;
	struct dp_mold_hdr h = hdr("S1", 1, 5);
	const uint8_t *msg;
	uint16_t len;
	dp_mold_iter_init(&it, d.b, 10, &h);
	ck_assert_int_eq(dp_mold_next(&it, &msg, &len), 0);
}
END_TEST

START_TEST(test_track_in_order_and_gap)
{
	struct dp_mold_session s;
	struct dp_mold_verdict v;
	memset(&s, 0, sizeof s);
	struct dp_mold_hdr h = hdr("SESSA", 1000, 5);

	dp_mold_track(&s, &h, &v);
	ck_assert(v.new_session);
	ck_assert(s.active);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.next_seq, 1005);

	h = hdr("SESSA", 1005, 3);
	dp_mold_track(&s, &h, &v);
	ck_assert(!v.new_session);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.next_seq, 1008);

	/* 1008..1011 lost. */
	h = hdr("SESSA", 1012, 2);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.gap, 4);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(s.gaps, 1);
	ck_assert_uint_eq(s.gap_msgs, 4);
	ck_assert_uint_eq(s.next_seq, 1014);
	ck_assert_uint_eq(s.dup_msgs, 0);
}
END_TEST

START_TEST(test_track_duplicates)
{
	struct dp_mold_session s;
	struct dp_mold_verdict v;
	memset(&s, 0, sizeof s);
	struct dp_mold_hdr h = hdr("SESSA", 1, 10); /* 1..10 */
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(s.next_seq, 11);

	/* Full duplicate (the B line copy). */
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.skip, 10);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.dup_msgs, 10);
	ck_assert_uint_eq(s.next_seq, 11);

	/* Old packet entirely in the past. */
	h = hdr("SESSA", 3, 2);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.skip, 2);
	ck_assert_uint_eq(s.dup_msgs, 12);

	/* Partial overlap: 8..14, of which 8,9,10 seen, 11..14 new. */
	h = hdr("SESSA", 8, 7);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.skip, 3);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.dup_msgs, 15);
	ck_assert_uint_eq(s.next_seq, 15);
	ck_assert_uint_eq(s.gaps, 0);

	/* A stale heartbeat is neither a duplicate nor a gap. */
	h = hdr("SESSA", 9, DP_MOLD_HEARTBEAT);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.next_seq, 15);
	ck_assert_uint_eq(s.dup_msgs, 15);
}
END_TEST

START_TEST(test_track_heartbeat_gap_and_eos)
{
	struct dp_mold_session s;
	struct dp_mold_verdict v;
	memset(&s, 0, sizeof s);
	struct dp_mold_hdr h = hdr("SESSA", 50, 2); /* 50, 51 */
	dp_mold_track(&s, &h, &v);

	/* Heartbeat saying next is 52: nothing missing. */
	h = hdr("SESSA", 52, DP_MOLD_HEARTBEAT);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.next_seq, 52);

	/* Heartbeat saying next is 60: 52..59 were lost, and the heartbeat reveals it. */
	h = hdr("SESSA", 60, DP_MOLD_HEARTBEAT);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.gap, 8);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(s.gaps, 1);
	ck_assert_uint_eq(s.gap_msgs, 8);
	ck_assert_uint_eq(s.next_seq, 60);

	/* The next live packet continues from 60: the hole already reported is not counted again. */
	h = hdr("SESSA", 60, 1);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_uint_eq(s.next_seq, 61);

	/* End of session, with one more message missing before it. */
	h = hdr("SESSA", 62, DP_MOLD_END_OF_SESSION);
	dp_mold_track(&s, &h, &v);
	ck_assert(s.ended);
	ck_assert_uint_eq(v.gap, 1);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(s.gaps, 2);
	ck_assert_uint_eq(s.next_seq, 62);
}
END_TEST

START_TEST(test_track_new_session)
{
	struct dp_mold_session s;
	struct dp_mold_verdict v;
	memset(&s, 0, sizeof s);
	struct dp_mold_hdr h = hdr("DAY1", 1, 3);
	dp_mold_track(&s, &h, &v);
	h = hdr("DAY1", 10, 1);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(s.gaps, 1);
	h = hdr("DAY1", 11, DP_MOLD_END_OF_SESSION);
	dp_mold_track(&s, &h, &v);
	ck_assert(s.ended);

	/* A new session name restarts numbering: no gap, no duplicate against the old one. */
	h = hdr("DAY2", 1, 4);
	dp_mold_track(&s, &h, &v);
	ck_assert(v.new_session);
	ck_assert_uint_eq(v.skip, 0);
	ck_assert_uint_eq(v.gap, 0);
	ck_assert_mem_eq(s.session, "DAY2      ", 10);
	ck_assert(!s.ended);
	ck_assert_uint_eq(s.next_seq, 5);
	ck_assert_uint_eq(s.gaps, 0);

	/* Hostile sequence near 2^64 saturates instead of wrapping. */
	h = hdr("DAY2", UINT64_MAX - 1, 100);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(s.next_seq, UINT64_MAX);
	h = hdr("DAY2", 5, 1);
	dp_mold_track(&s, &h, &v);
	ck_assert_uint_eq(v.skip, 1);
}
END_TEST

static Suite *mold_suite(void)
{
	Suite *s = suite_create("mold");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_hdr_parse);
	tcase_add_test(tc, test_iter_blocks);
	tcase_add_test(tc, test_iter_truncated);
	tcase_add_test(tc, test_iter_zero_len_and_trailing);
	tcase_add_test(tc, test_iter_heartbeat_and_eos);
	tcase_add_test(tc, test_track_in_order_and_gap);
	tcase_add_test(tc, test_track_duplicates);
	tcase_add_test(tc, test_track_heartbeat_gap_and_eos);
	tcase_add_test(tc, test_track_new_session);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mold_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
