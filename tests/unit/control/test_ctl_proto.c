/*
 * test_ctl_proto.c - unit tests for the mgwctl <-> mgw-control socket
 * framing (control/server/ctl_proto.c) and the response text buffer with its
 * JSON string escaping (control/server/ctl_buf.c).
 *
 * mgw-control decodes requests from any local peer that can reach its
 * socket, so every malformed frame must be refused rather than read past;
 * and `mgwctl --json` output is parsed by scripts, so escaping must give
 * valid JSON for any byte. Both were so far only covered end to end.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_buf.h"
#include "ctl_proto.h"

#define FRAME_MAX (CTL_PROTO_MAX_REQ + 64)

static uint8_t frame[FRAME_MAX];

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A request frame built by hand: magic, len, then `plen` payload bytes. */
static size_t raw_req(uint32_t magic, uint32_t len, const void *payload, size_t plen)
{
	put_le32(frame, magic);
	put_le32(frame + 4, len);
	memcpy(frame + 8, payload, plen);
	return 8 + plen;
}

/* ------------------------------------------------------------ requests */

static void round_trip(int argc, char *const argv[])
{
	int n = ctl_proto_encode_req(argc, argv, frame, sizeof frame);
	size_t want = 8;
	for (int i = 0; i < argc; i++)
		want += strlen(argv[i]) + 1;
	ck_assert_int_eq(n, (int)want);
	/* the wire header: "MGWQ" then the payload length, little endian */
	ck_assert_mem_eq(frame, "MGWQ", 4);
	ck_assert_uint_eq(frame[4] | frame[5] << 8 | frame[6] << 16 | (uint32_t)frame[7] << 24,
			  want - 8);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), (long)want);
	ck_assert_int_eq(ctl_proto_req_need(frame, (size_t)n), (long)want);

	char *out[CTL_PROTO_MAX_ARGS];
	ck_assert_int_eq(ctl_proto_decode_req(frame, (size_t)n, out, CTL_PROTO_MAX_ARGS), argc);
	for (int i = 0; i < argc; i++) {
		ck_assert_str_eq(out[i], argv[i]);
		/* decoded in place */
		ck_assert((uint8_t *)out[i] >= frame + 8 && (uint8_t *)out[i] < frame + n);
	}
}

START_TEST(test_req_round_trip)
{
	char *a1[] = {"status"};
	round_trip(1, a1);
	char *a2[] = {"book", "AAPL", "--depth", "10"};
	round_trip(4, a2);
	char *a3[] = {""}; /* one empty argument is still one argument */
	round_trip(1, a3);
	char *a4[] = {"a", "", "b", ""};
	round_trip(4, a4);
	char *a5[] = {"--json", "counters", "with spaces and \"quotes\"", "\xc3\xa9t\xc3\xa9"};
	round_trip(4, a5);
}
END_TEST

START_TEST(test_req_exact_bytes)
{
	char *argv[] = {"ab", "c"};
	ck_assert_int_eq(ctl_proto_encode_req(2, argv, frame, sizeof frame), 13);
	static const uint8_t want[13] = {'M', 'G', 'W', 'Q', 5, 0, 0, 0, 'a', 'b', 0, 'c', 0};
	ck_assert_mem_eq(frame, want, sizeof want);
}
END_TEST

START_TEST(test_req_max_args)
{
	char *argv[CTL_PROTO_MAX_ARGS + 1];
	char store[CTL_PROTO_MAX_ARGS + 1][8];
	for (int i = 0; i <= CTL_PROTO_MAX_ARGS; i++) {
		snprintf(store[i], sizeof store[i], "a%d", i);
		argv[i] = store[i];
	}
	round_trip(CTL_PROTO_MAX_ARGS, argv);
	ck_assert_int_eq(ctl_proto_encode_req(CTL_PROTO_MAX_ARGS + 1, argv, frame, sizeof frame), -1);
	ck_assert_int_eq(ctl_proto_encode_req(0, argv, frame, sizeof frame), -1);
	ck_assert_int_eq(ctl_proto_encode_req(-1, argv, frame, sizeof frame), -1);

	/* a frame with 33 arguments, made by a peer that ignores the limit */
	uint8_t payload[CTL_PROTO_MAX_ARGS + 1];
	memset(payload, 0, sizeof payload); /* 33 empty strings */
	size_t n = raw_req(CTL_PROTO_REQ_MAGIC, sizeof payload, payload, sizeof payload);
	char *out[CTL_PROTO_MAX_ARGS + 1];
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, CTL_PROTO_MAX_ARGS), -1);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, CTL_PROTO_MAX_ARGS + 1),
			 CTL_PROTO_MAX_ARGS + 1);

	/* the caller's own max_args is honoured */
	char *few[] = {"a", "b", "c"};
	n = (size_t)ctl_proto_encode_req(3, few, frame, sizeof frame);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 2), -1);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 3), 3);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 0), -1);
}
END_TEST

START_TEST(test_req_too_long)
{
	static char big[CTL_PROTO_MAX_REQ + 2];
	/* one argument of MAX_REQ - 1 chars plus its NUL: exactly the limit */
	memset(big, 'x', CTL_PROTO_MAX_REQ - 1);
	big[CTL_PROTO_MAX_REQ - 1] = '\0';
	char *argv[] = {big};
	ck_assert_int_eq(ctl_proto_encode_req(1, argv, frame, sizeof frame), CTL_PROTO_MAX_REQ + 8);
	char *out[1];
	ck_assert_int_eq(ctl_proto_decode_req(frame, CTL_PROTO_MAX_REQ + 8, out, 1), 1);
	ck_assert_uint_eq(strlen(out[0]), CTL_PROTO_MAX_REQ - 1);

	/* one more byte is too long */
	memset(big, 'x', CTL_PROTO_MAX_REQ);
	big[CTL_PROTO_MAX_REQ] = '\0';
	ck_assert_int_eq(ctl_proto_encode_req(1, argv, frame, sizeof frame), -1);
	/* also when spread over many arguments */
	char half[CTL_PROTO_MAX_REQ / 2 + 1];
	memset(half, 'y', sizeof half - 1);
	half[sizeof half - 1] = '\0';
	char *two[] = {half, half};
	ck_assert_int_eq(ctl_proto_encode_req(2, two, frame, sizeof frame), -1);

	/* and a peer announcing more than the limit is refused from the header */
	raw_req(CTL_PROTO_REQ_MAGIC, CTL_PROTO_MAX_REQ + 1, "", 0);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), -1);
	raw_req(CTL_PROTO_REQ_MAGIC, UINT32_MAX, "", 0);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), -1);
}
END_TEST

START_TEST(test_req_cap)
{
	char *argv[] = {"counters", "--json"};
	int need = ctl_proto_encode_req(2, argv, frame, sizeof frame);
	ck_assert_int_eq(need, 8 + 9 + 7);
	uint8_t small[64];
	memset(small, 0xEE, sizeof small);
	ck_assert_int_eq(ctl_proto_encode_req(2, argv, small, (size_t)need - 1), -1);
	for (size_t i = 0; i < sizeof small; i++)
		ck_assert_uint_eq(small[i], 0xEE); /* nothing written on refusal */
	ck_assert_int_eq(ctl_proto_encode_req(2, argv, small, (size_t)need), need);
	ck_assert_uint_eq(small[need], 0xEE);
	ck_assert_int_eq(ctl_proto_encode_req(2, argv, small, 7), -1);
}
END_TEST

START_TEST(test_req_bad_magic)
{
	char *argv[] = {"status"};
	int n = ctl_proto_encode_req(1, argv, frame, sizeof frame);
	frame[3] = 'R'; /* "MGWR": a response where a request is expected */
	char *out[4];
	ck_assert_int_eq(ctl_proto_req_need(frame, (size_t)n), -1);
	ck_assert_int_eq(ctl_proto_decode_req(frame, (size_t)n, out, 4), -1);
	memcpy(frame, "GET ", 4);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), -1);
	ck_assert_int_eq(ctl_proto_decode_req(frame, (size_t)n, out, 4), -1);
}
END_TEST

START_TEST(test_req_length_mismatch)
{
	char *out[8];
	/* header says 10 payload bytes */
	const char payload[12] = "ab\0defg\0h\0";
	size_t n = raw_req(CTL_PROTO_REQ_MAGIC, 10, payload, 10);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 8), 3);
	/* one byte short of what the header says */
	ck_assert_int_eq(ctl_proto_decode_req(frame, n - 1, out, 8), -1);
	/* one byte more than the header says */
	n = raw_req(CTL_PROTO_REQ_MAGIC, 10, payload, 11);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 8), -1);
	/* a header claiming fewer bytes than sent */
	n = raw_req(CTL_PROTO_REQ_MAGIC, 4, payload, 10);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 8), -1);
	/* shorter than a header */
	for (size_t k = 0; k < 8; k++)
		ck_assert_int_eq(ctl_proto_decode_req(frame, k, out, 8), -1);
}
END_TEST

START_TEST(test_req_missing_final_nul)
{
	char *out[4];
	size_t n = raw_req(CTL_PROTO_REQ_MAGIC, 6, "status", 6);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 4), -1);
	n = raw_req(CTL_PROTO_REQ_MAGIC, 4, "ab\0c", 4);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 4), -1);
	n = raw_req(CTL_PROTO_REQ_MAGIC, 5, "ab\0c\0", 5);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 4), 2);
	ck_assert_str_eq(out[0], "ab");
	ck_assert_str_eq(out[1], "c");
}
END_TEST

START_TEST(test_req_empty_payload)
{
	char *out[4];
	size_t n = raw_req(CTL_PROTO_REQ_MAGIC, 0, "", 0);
	ck_assert_int_eq(n, 8);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), -1);
	ck_assert_int_eq(ctl_proto_decode_req(frame, n, out, 4), -1);
}
END_TEST

START_TEST(test_req_need_partial)
{
	char *argv[] = {"book", "MSFT"};
	int n = ctl_proto_encode_req(2, argv, frame, sizeof frame);
	/* until the 8-byte header is in, ask for the header */
	for (size_t k = 0; k < 8; k++)
		ck_assert_int_eq(ctl_proto_req_need(frame, k), 8);
	/* then for the whole frame, however much of it has arrived */
	for (size_t k = 8; k <= (size_t)n; k++)
		ck_assert_int_eq(ctl_proto_req_need(frame, k), n);
	/* a header of exactly the maximum length is acceptable */
	raw_req(CTL_PROTO_REQ_MAGIC, CTL_PROTO_MAX_REQ, "", 0);
	ck_assert_int_eq(ctl_proto_req_need(frame, 8), CTL_PROTO_MAX_REQ + 8);
}
END_TEST

/* ----------------------------------------------------------- responses */

START_TEST(test_resp_hdr_round_trip)
{
	static const int32_t statuses[] = {CTL_OK, CTL_NOT_FOUND, CTL_DENIED, -1, INT32_MIN, INT32_MAX};
	static const uint32_t lens[] = {0, 1, 12345, CTL_PROTO_MAX_RESP};
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
			uint8_t h[12];
			ctl_proto_resp_hdr(h, statuses[i], lens[j]);
			ck_assert_mem_eq(h, "MGWR", 4);
			int32_t st = 12345;
			uint32_t len = 777;
			ck_assert_int_eq(ctl_proto_parse_resp_hdr(h, &st, &len), 0);
			ck_assert_int_eq(st, statuses[i]);
			ck_assert_uint_eq(len, lens[j]);
		}
	}
	uint8_t h[12];
	ctl_proto_resp_hdr(h, CTL_TIMEOUT, 0x01020304);
	static const uint8_t want[12] = {'M', 'G', 'W', 'R', 4, 3, 2, 1, 5, 0, 0, 0};
	ck_assert_mem_eq(h, want, sizeof want);
}
END_TEST

START_TEST(test_resp_hdr_refused)
{
	uint8_t h[12];
	int32_t st;
	uint32_t len;
	ctl_proto_resp_hdr(h, CTL_OK, CTL_PROTO_MAX_RESP + 1);
	ck_assert_int_eq(ctl_proto_parse_resp_hdr(h, &st, &len), -1);
	ctl_proto_resp_hdr(h, CTL_OK, UINT32_MAX);
	ck_assert_int_eq(ctl_proto_parse_resp_hdr(h, &st, &len), -1);
	ctl_proto_resp_hdr(h, CTL_OK, 10);
	h[3] = 'Q'; /* a request header */
	ck_assert_int_eq(ctl_proto_parse_resp_hdr(h, &st, &len), -1);
}
END_TEST

/* ------------------------------------------------------------- ctl_buf */

START_TEST(test_buf_printf_grows)
{
	struct ctl_buf b = {0};
	ctl_buf_printf(&b, "%s=%d", "n", 42);
	ck_assert_str_eq(b.p, "n=42");
	ck_assert_uint_eq(b.len, 4);
	ck_assert(!ctl_buf_failed(&b));
	/* well past the first allocation, many small appends */
	for (int i = 0; i < 3000; i++)
		ctl_buf_printf(&b, "%c", 'a' + i % 26);
	ck_assert_uint_eq(b.len, 3004);
	ck_assert_uint_eq(strlen(b.p), 3004);
	ck_assert_uint_gt(b.cap, b.len);
	ck_assert_int_eq(b.p[4], 'a');
	ck_assert_int_eq(b.p[3003], 'a' + 2999 % 26);
	/* and one append larger than everything so far */
	char big[10000];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ctl_buf_printf(&b, "%s!", big);
	ck_assert_uint_eq(b.len, 3004 + 9999 + 1);
	ck_assert_uint_eq(strlen(b.p), b.len);
	ck_assert_int_eq(b.p[b.len - 1], '!');
	ck_assert_int_eq(b.p[b.len - 2], 'z');

	ctl_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.p, "");
	ctl_buf_printf(&b, "again");
	ck_assert_str_eq(b.p, "again");
	ctl_buf_free(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	/* reset and free of an unused buffer are harmless */
	struct ctl_buf e = {0};
	ctl_buf_reset(&e);
	ctl_buf_free(&e);
	ctl_buf_free(&e);
}
END_TEST

START_TEST(test_buf_oom_sticky)
{
	struct ctl_buf b = {0};
	ctl_buf_printf(&b, "keep");
	b.oom = true; /* as after a failed realloc */
	ctl_buf_printf(&b, "lost");
	ctl_buf_json_str(&b, "lost");
	ck_assert(ctl_buf_failed(&b));
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.p, "keep");
	ctl_buf_reset(&b);
	ck_assert(!ctl_buf_failed(&b));
	ctl_buf_printf(&b, "ok");
	ck_assert_str_eq(b.p, "ok");
	ctl_buf_free(&b);
}
END_TEST

static void ck_json(const char *in, const char *want)
{
	struct ctl_buf b = {0};
	ctl_buf_json_str(&b, in);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_str_eq(b.p, want);
	ck_assert_uint_eq(b.len, strlen(want));
	ctl_buf_free(&b);
}

START_TEST(test_buf_json_escape)
{
	ck_json("", "\"\"");
	ck_json("AAPL", "\"AAPL\"");
	ck_json("say \"hi\"", "\"say \\\"hi\\\"\"");
	ck_json("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	ck_json("a\nb", "\"a\\u000ab\"");
	ck_json("\t\r", "\"\\u0009\\u000d\"");
	ck_json("\x01\x1f", "\"\\u0001\\u001f\"");
	ck_json("\x7f", "\"\\u007f\"");
	ck_json(" ~", "\" ~\""); /* printable ASCII edges are kept */
	ck_json("\"\\\x02", "\"\\\"\\\\\\u0002\"");

	/* every control character 0x01..0x1f: \u00XX with lower-case hex */
	for (int c = 1; c < 0x20; c++) {
		char in[2] = {(char)c, 0};
		char want[16];
		snprintf(want, sizeof want, "\"\\u%04x\"", c);
		ck_json(in, want);
	}

	/* appended after existing text, not over it */
	struct ctl_buf b = {0};
	ctl_buf_printf(&b, "{\"k\":");
	ctl_buf_json_str(&b, "v\"");
	ctl_buf_printf(&b, "}");
	ck_assert_str_eq(b.p, "{\"k\":\"v\\\"\"}");
	ctl_buf_free(&b);
}
END_TEST

static Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl_proto");
	TCase *tc = tcase_create("request");
	tcase_add_test(tc, test_req_round_trip);
	tcase_add_test(tc, test_req_exact_bytes);
	tcase_add_test(tc, test_req_max_args);
	tcase_add_test(tc, test_req_too_long);
	tcase_add_test(tc, test_req_cap);
	tcase_add_test(tc, test_req_bad_magic);
	tcase_add_test(tc, test_req_length_mismatch);
	tcase_add_test(tc, test_req_missing_final_nul);
	tcase_add_test(tc, test_req_empty_payload);
	tcase_add_test(tc, test_req_need_partial);
	suite_add_tcase(s, tc);
	tc = tcase_create("response");
	tcase_add_test(tc, test_resp_hdr_round_trip);
	tcase_add_test(tc, test_resp_hdr_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("ctl_buf");
	tcase_add_test(tc, test_buf_printf_grows);
	tcase_add_test(tc, test_buf_oom_sticky);
	tcase_add_test(tc, test_buf_json_escape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
