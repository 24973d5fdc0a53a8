/*
 * test_samples.c - conformance of the ITCH codec against real ITCH 5.0 data.
 *
 * Reads the BinaryFILE samples kept in ../shared/data/itch (never copied into
 * the repository), decodes every message, checks the per-type counts stated
 * in that folder's README and re-encodes each message byte-identically. When
 * the samples are absent the test says so and exits 77 (skipped).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_itch.h"

#define SAMPLE_DIR MGW_SHARED_DIR "/data/itch/"
#define BX_FILE SAMPLE_DIR "bx-sample-12k.itch"
#define NASDAQ_FILE SAMPLE_DIR "nasdaq-open-1k.itch"

struct sample {
	uint8_t *data;
	size_t len;
};

static int load(const char *path, struct sample *s)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	s->data = NULL;
	s->len = 0;
	size_t cap = 0;
	for (;;) {
		if (s->len == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			uint8_t *p = realloc(s->data, cap);
			if (!p) {
				fclose(f);
				return -1;
			}
			s->data = p;
		}
		size_t got = fread(s->data + s->len, 1, cap - s->len, f);
		if (got == 0)
			break;
		s->len += got;
	}
	fclose(f);
	return 0;
}

/* Expected count per type byte; unlisted types must not occur. */
struct expect {
	char type;
	long count;
};

static void check_file(const char *path, const struct expect *want, size_t nwant, long total)
{
	struct sample s;
	ck_assert_msg(load(path, &s) == 0, "cannot read %s", path);
	long counts[DP_ITCH_NTYPES] = {0};
	long errors[DP_ITCH_ERR__COUNT] = {0};
	long n = 0;
	size_t off = 0;
	const uint8_t *msg;
	size_t len;
	int r;
	while ((r = dp_itch_file_next(s.data, s.len, &off, &msg, &len)) == 1) {
		struct dp_itch_msg m;
		int d = dp_itch_decode(msg, len, &m);
		n++;
		if (d < 0) {
			errors[-d]++;
			if (errors[-d] <= 3)
				fprintf(stderr, "%s: message %ld at offset %zu: %s\n", path, n,
					off - len - 2, dp_itch_err_name(d));
			continue;
		}
		counts[dp_itch_type_index((uint8_t)m.hdr.type)]++;
		uint8_t re[DP_ITCH_MAX_LEN];
		int e = dp_itch_encode(&m, re, sizeof re);
		if (e != (int)len || memcmp(re, msg, len) != 0)
			ck_abort_msg("%s: message %ld (type %c) does not re-encode identically",
				     path, n, m.hdr.type);
	}
	ck_assert_msg(r == 0, "%s: framing error %s at offset %zu", path, dp_itch_err_name(r), off);
	for (int e = 1; e < DP_ITCH_ERR__COUNT; e++)
		ck_assert_msg(errors[e] == 0, "%s: %ld %s errors", path, errors[e],
			      dp_itch_err_name(e));
	ck_assert_int_eq(n, total);
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		long w = 0;
		for (size_t j = 0; j < nwant; j++)
			if (want[j].type == dp_itch_type_chars[i])
				w = want[j].count;
		ck_assert_msg(counts[i] == w, "%s: type %c: %ld messages, expected %ld", path,
			      dp_itch_type_chars[i], counts[i], w);
	}
	free(s.data);
}

START_TEST(test_bx_sample)
{
	static const struct expect want[] = {
		{'S', 6}, {'R', 3}, {'H', 3}, {'A', 4997}, {'F', 3},
		{'E', 198}, {'D', 1745}, {'P', 5000}, {'U', 12}, {'X', 45},
	};
	check_file(BX_FILE, want, sizeof want / sizeof want[0], 12012);
}
END_TEST

START_TEST(test_nasdaq_open_sample)
{
	static const struct expect want[] = {{'S', 1}, {'R', 993}, {'H', 3}, {'Y', 3}};
	check_file(NASDAQ_FILE, want, sizeof want / sizeof want[0], 1000);
}
END_TEST

/* Every message also formats to one bounded line (exercises the formatter on real data). */
START_TEST(test_format_real)
{
	struct sample s;
	ck_assert_int_eq(load(BX_FILE, &s), 0);
	size_t off = 0;
	const uint8_t *msg;
	size_t len;
	while (dp_itch_file_next(s.data, s.len, &off, &msg, &len) == 1) {
		struct dp_itch_msg m;
		char line[512];
		if (dp_itch_decode(msg, len, &m) != 0)
			ck_abort_msg("decode");
		int n = dp_itch_format(&m, line, sizeof line);
		if (n <= 0 || n >= (int)sizeof line || strchr(line, '\n'))
			ck_abort_msg("bad format line for type %c", m.hdr.type);
	}
	free(s.data);
}
END_TEST

/*
 * Decode throughput on the BX sample, printed for the record (not asserted:
 * shared CI machines and sanitizer builds make timing assertions flaky).
 */
START_TEST(test_decode_speed)
{
	struct sample s;
	ck_assert_int_eq(load(BX_FILE, &s), 0);
	/* Pre-split the frames so only decode is timed. */
	const uint8_t *msgs[12100];
	size_t lens[12100];
	size_t nm = 0, off = 0;
	while (nm < 12100 && dp_itch_file_next(s.data, s.len, &off, &msgs[nm], &lens[nm]) == 1)
		nm++;
	const int rounds = 200;
	struct timespec t0, t1;
	uint64_t sink = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < nm; i++) {
			struct dp_itch_msg m;
			if (dp_itch_decode(msgs[i], lens[i], &m) == 0)
				sink += m.hdr.timestamp;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
		      (uint64_t)(t1.tv_nsec - t0.tv_nsec);
	uint64_t total = (uint64_t)rounds * nm;
	printf("decode: %llu messages in %llu us, %llu.%02llu ns/message (sink %llu)\n",
	       (unsigned long long)total, (unsigned long long)(ns / 1000),
	       (unsigned long long)(ns / total), (unsigned long long)(ns * 100 / total % 100),
	       (unsigned long long)(sink & 1));
	free(s.data);
}
END_TEST

int main(void)
{
	FILE *f1 = fopen(BX_FILE, "rb");
	FILE *f2 = fopen(NASDAQ_FILE, "rb");
	if (!f1 || !f2) {
		printf("SKIP: ITCH samples not found (%s, %s): the shared data folder "
		       "../shared/data/itch is absent\n", BX_FILE, NASDAQ_FILE);
		if (f1)
			fclose(f1);
		if (f2)
			fclose(f2);
		return 77;
	}
	fclose(f1);
	fclose(f2);

	Suite *s = suite_create("samples");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bx_sample);
	tcase_add_test(tc, test_nasdaq_open_sample);
	tcase_add_test(tc, test_format_real);
	tcase_add_test(tc, test_decode_speed);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
