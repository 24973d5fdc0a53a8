/*
 * test_book_fused.c - dp_itch_decode_book_ev (the fused decoder) must agree
 * with dp_itch_decode + dp_book_ev_from_itch on every input: same return
 * code, same type byte, and a byte-identical 48-byte event. Both forms are
 * checked: the library's out-of-line function and the inline one from
 * dp_book_fused.h as compiled here; test_book_fused_portable builds this
 * file with DP_BOOK_FUSED_PORTABLE, so the inline one is then the plain C
 * shuffle instead of SSSE3. Inputs: every
 * type byte at every length, valid messages of all 23 types, the real sample
 * files (every .itch file in MGW_SHARED_DIR/data/itch, skipped if absent) and millions
 * of random and mutated messages. Each input sits at the very end of a
 * buffer, so a read past its end is caught under -DMGW_SANITIZE=ON.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"
#include "dp_book_fused.h"
#include "dp_itch.h"

#define SAMPLE_DIR MGW_SHARED_DIR "/data/itch"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t compared, book_events, errors;

/* Compare both decoders on buf[0..len). */
static void compare(const uint8_t *msg, size_t len)
{
	static uint8_t tail[64];
	/* Plain ifs, not ck_assert: check records every passing assertion (slow). */
	if (len > sizeof tail)
		ck_abort_msg("input of %zu bytes", len);
	uint8_t *buf = tail + sizeof tail - len;
	if (len)
		memmove(buf, msg, len);

	struct dp_itch_msg m;
	struct dp_book_ev ev1, ev2;
	int rc1 = dp_itch_decode(buf, len, &m);
	int want = rc1;
	if (rc1 == 0)
		want = dp_book_ev_from_itch(&m, &ev1);
	for (int inl = 0; inl < 2; inl++) {
		uint8_t t = 0;
		memset(&ev2, inl ? 0x5a : 0xa5, sizeof ev2);
		int rc2 = inl ? dp_itch_decode_book_ev_inl(buf, len, &ev2, &t)
			      : dp_itch_decode_book_ev(buf, len, &ev2, &t);
		if (rc2 != want)
			ck_abort_msg("type 0x%02x len %zu: fused%s %d, codec %d", len ? buf[0] : 0,
				     len, inl ? " inline" : "", rc2, want);
		if (rc1 < 0)
			continue;
		if (t != buf[0])
			ck_abort_msg("type %c len %zu: type_out 0x%02x", buf[0], len, t);
		if (memcmp(&ev1, &ev2, sizeof ev1) != 0)
			ck_abort_msg("type %c len %zu: events differ%s", buf[0], len,
				     inl ? " (inline)" : "");
	}
	compared++;
	if (rc1 < 0) {
		errors++;
		return;
	}
	book_events += (uint64_t)want;
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* A valid message of type t with random fields (sides valid unless bad_side). */
static size_t make_msg(uint8_t *p, uint8_t t, int bad_side)
{
	size_t n = dp_itch_msg_len(t);
	fill_random(p, n);
	p[0] = t;
	if (t == 'A' || t == 'F' || t == 'P')
		p[19] = bad_side ? (uint8_t)rnd() : (rnd() & 1 ? 'B' : 'S');
	return n;
}

/* The tables keep every read of the fast path inside the spec length. */
START_TEST(tables)
{
	const struct dp_bf_tab *tab = &dp_bf_tab;
	int book = 0;
	for (unsigned t = 0; t < 256; t++) {
		const struct dp_bf_type *ty = &tab->types[t];
		const uint64_t len = tab->len[t];
		ck_assert_uint_eq(len, dp_itch_msg_len((uint8_t)t));
		int side = t == 'A' || t == 'F' || t == 'P';
		uint8_t s = tab->side_bad[t];
		ck_assert_uint_eq(s, DP_BF_CHK_NONBOOK | (t == 'B' || t == 'S' ? 0 : DP_BF_CHK_SIDE));
		if (!len || (ty->chk & DP_BF_CHK_NONBOOK))
			continue;
		/* A book type: the inline path reads o_side and both windows. */
		book++;
		ck_assert_uint_eq(ty->chk, side ? DP_BF_CHK_SIDE : 0);
		ck_assert_uint_eq(ty->o_side, side ? 19 : 0);
		ck_assert_uint_lt(ty->o_side, len);
		ck_assert_uint_ge(len, 16);
		ck_assert_uint_le(ty->o_w1 + 16u, len);
		ck_assert_uint_le(ty->o_w2 + 16u, len);
		ck_assert_uint_ge(ty->row_off, offsetof(struct dp_bf_tab, rows[1]));
		ck_assert_uint_le(ty->row_off, offsetof(struct dp_bf_tab, rows[DP_BEV__COUNT - 1]));
		ck_assert_uint_eq((ty->row_off - offsetof(struct dp_bf_tab, rows[0])) % sizeof(struct dp_bf_row), 0);
	}
	ck_assert_int_eq(book, 9); /* A F E C X D U R H */
	/* Every non-book type, and every side check, is out of line. */
	ck_assert_uint_eq(tab->types['P'].chk, DP_BF_CHK_NONBOOK);
}
END_TEST

START_TEST(every_type_and_length)
{
	uint8_t b[64];
	for (unsigned t = 0; t < 256; t++) {
		for (size_t len = 0; len <= 60; len++) {
			for (int k = 0; k < 8; k++) {
				fill_random(b, sizeof b);
				b[0] = (uint8_t)t;
				if (k & 1)
					b[19] = k & 2 ? 'B' : 'S';
				compare(b, len);
			}
		}
	}
}
END_TEST

START_TEST(all_23_types)
{
	uint8_t b[64];
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		uint8_t t = (uint8_t)dp_itch_type_chars[i];
		ck_assert_uint_ne(dp_itch_msg_len(t), 0);
		uint64_t before = compared - errors;
		for (int k = 0; k < 20000; k++) {
			size_t n = make_msg(b, t, 0);
			compare(b, n);
			n = make_msg(b, t, 1);
			compare(b, n);
			/* Boundary values in every byte position. */
			n = make_msg(b, t, 0);
			b[1 + rnd() % (n - 1)] = rnd() & 1 ? 0xff : 0x00;
			if (t != 'A' && t != 'F' && t != 'P')
				compare(b, n);
		}
		ck_assert_uint_gt(compared - errors, before); /* the type decoded */
	}
	/* Known fields of an A, by hand. */
	static const uint8_t a[36] = {
		'A', 0x01, 0x02, 0, 0, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78,
		0, 0, 0, 0, 0, 0, 0x01, 0x00, 'S', 0, 0, 0x01, 0x2c,
		'A', 'B', 'C', ' ', ' ', ' ', ' ', ' ', 0, 0x16, 0xe3, 0x60,
	};
	struct dp_book_ev ev;
	uint8_t t;
	ck_assert_int_eq(dp_itch_decode_book_ev(a, sizeof a, &ev, &t), 1);
	ck_assert_int_eq(t, 'A');
	ck_assert_int_eq(ev.kind, DP_BEV_ADD);
	ck_assert_int_eq(ev.side, 'S');
	ck_assert_uint_eq(ev.locate, 0x0102);
	ck_assert_uint_eq(ev.ts, 0x12345678);
	ck_assert_uint_eq(ev.ref, 256);
	ck_assert_uint_eq(ev.qty, 300);
	ck_assert_uint_eq(ev.price, 1500000);
	ck_assert_int_eq(memcmp(ev.stock, "ABC     ", 8), 0);
	compare(a, sizeof a);
}
END_TEST

START_TEST(random_bytes)
{
	uint8_t b[64];
	for (int k = 0; k < 5000000; k++) {
		size_t len = rnd() % 56;
		fill_random(b, sizeof b);
		if (k & 1) /* mostly valid types, often the right length */
			b[0] = (uint8_t)dp_itch_type_chars[rnd() % DP_ITCH_NTYPES];
		if ((k & 3) == 1 && len)
			len = dp_itch_msg_len(b[0]) ? dp_itch_msg_len(b[0]) : len;
		compare(b, len);
	}
}
END_TEST

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

START_TEST(sample_files_and_mutations)
{
	DIR *d = opendir(SAMPLE_DIR);
	if (!d) {
		printf("test_book_fused: %s absent, sample files skipped\n", SAMPLE_DIR);
		return;
	}
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 5, ".itch") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", SAMPLE_DIR, de->d_name);
		size_t len = 0;
		uint8_t *buf = load(path, &len);
		ck_assert_msg(buf != NULL, "%s unreadable", path);
		files++;
		size_t off = 0, mlen, nmsg = 0;
		const uint8_t *msg;
		while (dp_itch_file_next(buf, len, &off, &msg, &mlen) == 1) {
			uint8_t b[64];
			if (mlen > 60)
				continue;
			compare(msg, mlen);
			nmsg++;
			/* Mutations: one byte, the type, the length, the side. */
			for (int k = 0; k < 40; k++) {
				size_t n = mlen;
				memcpy(b, msg, n);
				switch (k & 3) {
				case 0:
					if (n)
						b[rnd() % n] = (uint8_t)rnd();
					break;
				case 1:
					b[0] = (uint8_t)dp_itch_type_chars[rnd() % DP_ITCH_NTYPES];
					break;
				case 2:
					n = rnd() % 2 ? n - (n > 0) : (n < 60 ? n + 1 : n);
					break;
				default:
					if (n > 19)
						b[19] = (uint8_t)rnd();
					break;
				}
				compare(b, n);
			}
		}
		printf("test_book_fused: %s: %zu messages compared (+40 mutations each)\n",
		       de->d_name, nmsg);
		free(buf);
	}
	closedir(d);
	printf("test_book_fused: %d sample files\n", files);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("book_fused");
	TCase *tc = tcase_create("fused");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, tables);
	tcase_add_test(tc, every_type_and_length);
	tcase_add_test(tc, all_23_types);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, sample_files_and_mutations);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("test_book_fused: %llu inputs compared, %llu book events, %llu errors\n",
	       (unsigned long long)compared, (unsigned long long)book_events,
	       (unsigned long long)errors);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
