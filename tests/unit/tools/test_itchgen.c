/*
 * test_itchgen.c - unit tests for the synthetic ITCH generator (tools/itchgen):
 * determinism, message mix, that every message decodes and obeys the
 * stream's invariants, book consistency against the real L3 book (both
 * cancel-target modes, and under the live-order cap), and the BinaryFILE and
 * pcap/MoldUDP64 writers read back with the project's own parsers.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_book.h"
#include "dp_itch.h"
#include "dp_mold.h"
#include "dp_pkt.h"
#include "itchgen.h"

/* Generate a whole stream into memory as BinaryFILE bytes. */
struct blob {
	uint8_t *p;
	size_t len, cap;
};

static void blob_put(struct blob *b, const uint8_t *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->cap + n) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static struct itg *make(uint64_t n, uint32_t syms, uint64_t seed, enum itg_target t,
			uint32_t max_live)
{
	struct itg_cfg c;
	itg_cfg_default(&c);
	c.messages = n;
	c.symbols = syms;
	c.seed = seed;
	c.target = t;
	c.max_live = max_live;
	struct itg *g;
	ck_assert_int_eq(itg_create(&g, &c), 0);
	return g;
}

static struct blob gen_blob(uint64_t n, uint32_t syms, uint64_t seed, enum itg_target t)
{
	struct blob b = { 0 };
	struct itg *g = make(n, syms, seed, t, 0);
	uint8_t buf[DP_ITCH_MAX_LEN];
	int len;
	while ((len = itg_next(g, NULL, buf, sizeof(buf))) > 0) {
		uint8_t l[2] = { 0, (uint8_t)len };
		blob_put(&b, l, 2);
		blob_put(&b, buf, (size_t)len);
	}
	ck_assert_int_eq(len, 0);
	itg_destroy(g);
	return b;
}

static bool blob_eq(const struct blob *a, const struct blob *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

START_TEST(test_determinism)
{
	for (int t = 0; t < 2; t++) {
		struct blob a = gen_blob(60000, 1000, 7, (enum itg_target)t);
		struct blob b = gen_blob(60000, 1000, 7, (enum itg_target)t);
		struct blob c = gen_blob(60000, 1000, 8, (enum itg_target)t);
		ck_assert(blob_eq(&a, &b));
		ck_assert(!blob_eq(&a, &c));
		free(a.p);
		free(b.p);
		free(c.p);
	}
	/* The two targeting modes must give different streams too. */
	struct blob u = gen_blob(60000, 1000, 7, ITG_TARGET_UNIFORM);
	struct blob r = gen_blob(60000, 1000, 7, ITG_TARGET_RECENT);
	ck_assert(!blob_eq(&u, &r));
	free(u.p);
	free(r.p);
}
END_TEST

static double pct(uint64_t n, uint64_t of)
{
	return 100.0 * (double)n / (double)of;
}

static uint64_t cnt(const struct itg_stats *st, char t)
{
	return st->by_type[dp_itch_type_index((uint8_t)t)];
}

START_TEST(test_mix)
{
	enum itg_target t = (enum itg_target)_i;
	struct itg *g = make(200000, 5000, 3, t, 0);
	uint8_t buf[DP_ITCH_MAX_LEN];
	while (itg_next(g, NULL, buf, sizeof(buf)) > 0)
		;
	const struct itg_stats *st = itg_get_stats(g);
	ck_assert_uint_eq(st->total, 200000);
	ck_assert_uint_eq(cnt(st, 'S'), 6);
	ck_assert_uint_eq(cnt(st, 'R'), 5000);
	ck_assert_uint_eq(cnt(st, 'H'), 5000);
	uint64_t body = st->body;
	ck_assert_uint_eq(body, 200000 - 10006);
	uint64_t adds = cnt(st, 'A') + cnt(st, 'F');
	double a = pct(adds, body), d = pct(cnt(st, 'D'), body);
	double u = pct(cnt(st, 'U'), body), e = pct(cnt(st, 'E'), body);
	double x = pct(cnt(st, 'X'), body), c = pct(cnt(st, 'C'), body);
	double p = pct(cnt(st, 'P'), body), f = pct(cnt(st, 'F'), adds);
	ck_assert_msg(a > 43.5 && a < 46.5, "A+F %.2f%%", a);
	ck_assert_msg(d > 38.5 && d < 41.5, "D %.2f%%", d);
	ck_assert_msg(u > 7.4 && u < 8.6, "U %.2f%%", u);
	ck_assert_msg(e > 2.6 && e < 3.4, "E %.2f%%", e);
	ck_assert_msg(x > 0.8 && x < 1.2, "X %.2f%%", x);
	ck_assert_msg(c > 1.2 && c < 1.8, "C %.2f%%", c);
	ck_assert_msg(p > 1.2 && p < 1.8, "P %.2f%%", p);
	ck_assert_msg(f > 4.0 && f < 6.0, "F %.2f%% of adds", f);
	ck_assert_uint_eq(cnt(st, 'A') + cnt(st, 'F') + cnt(st, 'D') + cnt(st, 'U') +
			  cnt(st, 'E') + cnt(st, 'X') + cnt(st, 'C') + cnt(st, 'P'), body);
	itg_destroy(g);
}
END_TEST

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Every message decodes, re-encodes to the same bytes and follows the
 * stream's rules: framing events in order, timestamps non-decreasing, new
 * references strictly increasing, penny prices, stock names matching the
 * directory. Also: Zipf skew (the busiest tenth of symbols has most adds).
 */
START_TEST(test_decode_all)
{
	enum itg_target t = (enum itg_target)_i;
	const uint32_t S = 2000;
	const uint64_t N = 200000;
	struct itg *g = make(N, S, 11, t, 0);
	uint8_t buf[DP_ITCH_MAX_LEN], re[DP_ITCH_MAX_LEN];
	struct dp_itch_msg m, d;
	char (*names)[8] = calloc(S + 1, 8);
	uint64_t *adds = calloc(S + 1, sizeof(uint64_t));
	ck_assert_ptr_nonnull(names);
	ck_assert_ptr_nonnull(adds);
	uint64_t last_ts = 0, last_ref = 0, k = 0, total_adds = 0;
	char last_sys = 0;
	int len;
	while ((len = itg_next(g, &m, buf, sizeof(buf))) > 0) {
		ck_assert_int_eq(dp_itch_decode(buf, (size_t)len, &d), 0);
		ck_assert_uint_eq((size_t)len, dp_itch_msg_len(buf[0]));
		ck_assert_int_eq(dp_itch_encode(&d, re, sizeof(re)), len);
		ck_assert_mem_eq(re, buf, (size_t)len);
		ck_assert_uint_ge(d.hdr.timestamp, last_ts);
		last_ts = d.hdr.timestamp;
		char ty = d.hdr.type;
		if (k == 0)
			ck_assert(ty == 'S' && d.u.system_event.event_code == 'O');
		if (ty == 'S') {
			static const char order[] = "OSQMEC";
			const char *pos = strchr(order, d.u.system_event.event_code);
			ck_assert_ptr_nonnull(pos);
			ck_assert(last_sys == 0 || strchr(order, last_sys) < pos);
			last_sys = d.u.system_event.event_code;
		} else {
			ck_assert_uint_ge(d.hdr.stock_locate, 1);
			ck_assert_uint_le(d.hdr.stock_locate, S);
		}
		uint16_t loc = d.hdr.stock_locate;
		switch (ty) {
		case 'R':
			ck_assert_int_eq(last_sys, 'O');
			memcpy(names[loc], d.u.stock_directory.stock, 8);
			break;
		case 'H':
			ck_assert_int_eq(last_sys, 'S');
			ck_assert_int_eq(d.u.trading_action.trading_state, 'T');
			ck_assert_mem_eq(d.u.trading_action.stock, names[loc], 8);
			break;
		case 'A':
		case 'F':
			ck_assert_int_eq(last_sys, 'Q');
			ck_assert_uint_gt(d.u.add.ref, last_ref);
			last_ref = d.u.add.ref;
			ck_assert_uint_eq(d.u.add.price % 100, 0);
			ck_assert_uint_gt(d.u.add.price, 0);
			ck_assert_uint_gt(d.u.add.shares, 0);
			ck_assert_mem_eq(d.u.add.stock, names[loc], 8);
			adds[loc]++;
			total_adds++;
			break;
		case 'U':
			ck_assert_uint_gt(d.u.replace.new_ref, last_ref);
			last_ref = d.u.replace.new_ref;
			ck_assert_uint_eq(d.u.replace.price % 100, 0);
			ck_assert_uint_gt(d.u.replace.shares, 0);
			break;
		case 'P':
			ck_assert_uint_eq(d.u.trade.price % 100, 0);
			ck_assert_mem_eq(d.u.trade.stock, names[loc], 8);
			break;
		case 'C':
			ck_assert_uint_eq(d.u.executed_px.price % 100, 0);
			break;
		default:
			break;
		}
		k++;
	}
	ck_assert_int_eq(len, 0);
	ck_assert_uint_eq(k, N);
	ck_assert_int_eq(last_sys, 'C');
	/* 4-5 uppercase letters per name, all distinct. */
	for (uint32_t i = 1; i <= S; i++) {
		char s[9];
		dp_itch_stock_str(names[i], s);
		size_t n = strlen(s);
		ck_assert(n == 4 || n == 5);
		for (size_t j = 0; j < n; j++)
			ck_assert(s[j] >= 'A' && s[j] <= 'Z');
	}
	/* Skew: sort add counts descending, the top 10% hold more than half. */
	qsort(adds + 1, S, sizeof(uint64_t), cmp_desc);
	uint64_t top = 0;
	for (uint32_t i = 1; i <= S / 10; i++)
		top += adds[i];
	ck_assert_msg(top * 2 > total_adds, "top 10%% of symbols: %lu of %lu adds",
		      (unsigned long)top, (unsigned long)total_adds);
	itg_destroy(g);
	free(names);
	free(adds);
}
END_TEST

START_TEST(test_symbol_names_unique)
{
	/* Every possible locate gets a distinct name: bitmap over base-27 codes. */
	size_t bits = 27ull * 27 * 27 * 27 * 27;
	uint8_t *seen = calloc(bits / 8 + 1, 1);
	ck_assert_ptr_nonnull(seen);
	for (uint32_t i = 0; i < ITG_MAX_SYMBOLS; i++) {
		char s[8];
		itg_symbol_name(i, s);
		size_t n = strlen(s), code = 0;
		ck_assert(n == 4 || n == 5);
		for (size_t j = 0; j < n; j++) {
			ck_assert(s[j] >= 'A' && s[j] <= 'Z');
			code = code * 27 + (size_t)(s[j] - 'A' + 1);
		}
		ck_assert_msg(!(seen[code / 8] & (1u << (code % 8))), "duplicate name %s", s);
		seen[code / 8] |= (uint8_t)(1u << (code % 8));
	}
	free(seen);
}
END_TEST

/* Apply a stream to the L3 book; the book must see no inconsistency. */
static void book_check(uint64_t n, uint32_t syms, uint64_t seed, enum itg_target t,
		       uint32_t max_live)
{
	struct dp_book_cfg bc = { .max_orders = 1u << 20, .max_levels = 1u << 19,
				  .max_symbols = 65536 };
	struct dp_book *b;
	ck_assert_int_eq(dp_book_create(&b, &bc, NULL), 0);
	struct itg *g = make(n, syms, seed, t, max_live);
	uint8_t buf[DP_ITCH_MAX_LEN];
	struct dp_itch_msg m;
	struct dp_book_ev ev;
	uint32_t peak = 0;
	while (itg_next(g, &m, buf, sizeof(buf)) > 0) {
		if (dp_book_ev_from_itch(&m, &ev))
			dp_book_apply(b, &ev);
		uint32_t live = dp_book_live_orders(b);
		if (live > peak)
			peak = live;
	}
	const struct dp_book_stats *bs = dp_book_stats(b);
	const struct itg_stats *st = itg_get_stats(g);
	ck_assert_uint_eq(bs->unknown_ref, 0);
	ck_assert_uint_eq(bs->duplicate_ref, 0);
	ck_assert_uint_eq(bs->overfill, 0);
	ck_assert_uint_eq(bs->bad_locate, 0);
	ck_assert_uint_eq(bs->bad_side, 0);
	ck_assert_uint_eq(bs->zero_qty, 0);
	ck_assert_uint_eq(bs->orders_full, 0);
	ck_assert_uint_eq(bs->levels_full, 0);
	ck_assert_int_eq(dp_book_check(b), 0);
	/* The generator's own bookkeeping agrees with the book. */
	ck_assert_uint_eq(dp_book_live_orders(b), st->live_orders);
	ck_assert_uint_eq(dp_book_live_levels(b), st->live_levels);
	ck_assert_uint_eq(peak, st->peak_live_orders);
	if (max_live)
		ck_assert_uint_le(peak, max_live);
	/* No symbol's book is crossed or locked. */
	for (uint32_t loc = 1; loc <= syms; loc++) {
		struct dp_book_level bid, ask;
		ck_assert_int_eq(dp_book_bbo(b, (uint16_t)loc, &bid, &ask), 0);
		if (bid.qty && ask.qty)
			ck_assert_msg(bid.price < ask.price, "locate %u crossed: %u >= %u",
				      loc, bid.price, ask.price);
	}
	itg_destroy(g);
	dp_book_destroy(b);
}

START_TEST(test_book_uniform)
{
	book_check(400000, 5000, 21, ITG_TARGET_UNIFORM, 0);
}
END_TEST

START_TEST(test_book_recent)
{
	book_check(400000, 5000, 22, ITG_TARGET_RECENT, 0);
}
END_TEST

START_TEST(test_book_capped)
{
	/* A tiny cap forces cap-deletes; still consistent, never over the cap. */
	book_check(200000, 300, 23, ITG_TARGET_RECENT, 500);
	book_check(200000, 300, 24, ITG_TARGET_UNIFORM, 500);
}
END_TEST

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Write both files, then read the pcap back with dp_pkt/dp_mold: sequence
 * numbers contiguous from 1, payloads within the limit, A/B copies
 * identical but for the source, and the messages equal to the BinaryFILE.
 */
static void writers_check(bool ab)
{
	char dir[] = "/tmp/test_itchgen.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char binp[64], pcapp[64];
	snprintf(binp, sizeof(binp), "%s/x.itch", dir);
	snprintf(pcapp, sizeof(pcapp), "%s/x.pcap", dir);

	struct itg_out_cfg oc;
	itg_out_cfg_default(&oc);
	oc.binfile = binp;
	oc.pcap = pcapp;
	oc.ab = ab;
	struct itg_out *o;
	char err[256];
	ck_assert_int_eq(itg_out_open(&o, &oc, err, sizeof(err)), 0);
	struct itg *g = make(30000, 300, 5, ITG_TARGET_UNIFORM, 0);
	uint8_t buf[DP_ITCH_MAX_LEN];
	struct dp_itch_msg m;
	int len;
	while ((len = itg_next(g, &m, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(itg_out_put(o, buf, (size_t)len, m.hdr.timestamp), 0);
	struct itg_out_stats os;
	ck_assert_int_eq(itg_out_close(o, &os), 0);
	ck_assert_uint_eq(os.messages, 30000);
	ck_assert_uint_eq(os.frames, os.packets * (ab ? 2 : 1));
	itg_destroy(g);

	size_t blen, plen;
	uint8_t *bin = slurp(binp, &blen);
	uint8_t *pc = slurp(pcapp, &plen);
	ck_assert_uint_eq(blen, os.bin_bytes);
	ck_assert_uint_eq(plen, os.pcap_bytes);
	ck_assert_uint_ge(plen, 24);
	ck_assert_uint_eq(le32(pc), 0xa1b2c3d4u);
	ck_assert_uint_eq(le32(pc + 20), 1);

	size_t off = 24, boff = 0;
	uint64_t next_seq = 1, frames = 0, msgs = 0, last_time = 0;
	bool ended = false;
	uint8_t prev_payload[2048];
	size_t prev_len = 0;
	while (off < plen) {
		ck_assert_uint_le(off + 16, plen);
		uint64_t t = (uint64_t)le32(pc + off) * 1000000 + le32(pc + off + 4);
		ck_assert_uint_ge(t, last_time);
		last_time = t;
		uint32_t incl = le32(pc + off + 8);
		ck_assert_uint_eq(incl, le32(pc + off + 12));
		const uint8_t *fr = pc + off + 16;
		off += 16 + incl;
		ck_assert_uint_le(off, plen);
		struct dp_pkt_udp u;
		ck_assert_int_eq(dp_pkt_parse_udp(fr, incl, &u), 0);
		ck_assert_uint_eq(u.dst_ip, ITG_DEFAULT_GROUP);
		ck_assert_uint_eq(u.dst_port, ITG_DEFAULT_PORT);
		ck_assert_uint_le(u.len, ITG_MAX_PAYLOAD);
		bool line_b = ab && (frames % 2 == 1);
		ck_assert_uint_eq(u.src_ip, line_b ? ITG_SRC_IP_B : ITG_SRC_IP_A);
		frames++;
		if (line_b) {
			/* The B copy repeats the A packet just before it. */
			ck_assert_uint_eq(u.len, prev_len);
			ck_assert_mem_eq(u.payload, prev_payload, prev_len);
			continue;
		}
		memcpy(prev_payload, u.payload, u.len);
		prev_len = u.len;

		ck_assert(!ended);
		struct dp_mold_hdr h;
		ck_assert_int_eq(dp_mold_parse_hdr(u.payload, u.len, &h), 0);
		ck_assert_mem_eq(h.session, ITG_DEFAULT_SESSION, 10);
		ck_assert_uint_eq(h.seq, next_seq);
		if (h.count == DP_MOLD_END_OF_SESSION) {
			ended = true;
			continue;
		}
		struct dp_mold_iter it;
		dp_mold_iter_init(&it, u.payload, u.len, &h);
		const uint8_t *msg;
		uint16_t mlen;
		int rc;
		uint32_t n = 0;
		while ((rc = dp_mold_next(&it, &msg, &mlen)) == 1) {
			const uint8_t *bm;
			size_t bl;
			ck_assert_int_eq(dp_itch_file_next(bin, blen, &boff, &bm, &bl), 1);
			ck_assert_uint_eq(bl, mlen);
			ck_assert_mem_eq(bm, msg, mlen);
			n++;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(n, h.count);
		next_seq += h.count;
		msgs += h.count;
	}
	ck_assert(ended);
	ck_assert_uint_eq(msgs, 30000);
	ck_assert_uint_eq(boff, blen);
	ck_assert_uint_eq(frames, os.frames);
	ck_assert_uint_gt(os.heartbeats, 0);
	free(bin);
	free(pc);
	unlink(binp);
	unlink(pcapp);
	rmdir(dir);
}

START_TEST(test_writers)
{
	writers_check(false);
}
END_TEST

START_TEST(test_writers_ab)
{
	writers_check(true);
}
END_TEST

START_TEST(test_bad_cfg)
{
	struct itg_cfg c;
	struct itg *g;
	itg_cfg_default(&c);
	c.symbols = 0;
	ck_assert_int_eq(itg_create(&g, &c), -EINVAL);
	c.symbols = 65536;
	ck_assert_int_eq(itg_create(&g, &c), -EINVAL);
	itg_cfg_default(&c);
	c.target = (enum itg_target)7;
	ck_assert_int_eq(itg_create(&g, &c), -EINVAL);
	/* Fewer messages than the framing: preamble + closing only. */
	itg_cfg_default(&c);
	c.symbols = 10;
	c.messages = 5;
	ck_assert_int_eq(itg_create(&g, &c), 0);
	uint8_t buf[DP_ITCH_MAX_LEN];
	while (itg_next(g, NULL, buf, sizeof(buf)) > 0)
		;
	ck_assert_uint_eq(itg_get_stats(g)->total, 3 + 20 + 3);
	ck_assert_uint_eq(itg_get_stats(g)->body, 0);
	itg_destroy(g);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("itchgen");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_determinism);
	tcase_add_loop_test(tc, test_mix, 0, 2);
	tcase_add_loop_test(tc, test_decode_all, 0, 2);
	tcase_add_test(tc, test_symbol_names_unique);
	tcase_add_test(tc, test_book_uniform);
	tcase_add_test(tc, test_book_recent);
	tcase_add_test(tc, test_book_capped);
	tcase_add_test(tc, test_writers);
	tcase_add_test(tc, test_writers_ab);
	tcase_add_test(tc, test_bad_cfg);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
