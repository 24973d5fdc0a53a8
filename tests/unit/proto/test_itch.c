/*
 * test_itch.c - unit tests for the ITCH 5.0 codec (dataplane/proto/dp_itch.c).
 *
 * Round trips alone cannot catch an offset bug shared by encoder and decoder,
 * so besides struct -> bytes -> struct -> bytes round trips of all 23 types,
 * a few messages are written byte by byte here and checked field by field
 * (the real-sample test in test_samples.c covers the rest against real data).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_itch.h"

#define TS_MAX ((UINT64_C(1) << 48) - 1)

static const struct {
	char type;
	size_t len;
} spec_lens[DP_ITCH_NTYPES] = {
	{'S', 12}, {'R', 39}, {'H', 25}, {'Y', 20}, {'L', 26}, {'V', 35},
	{'W', 12}, {'K', 28}, {'J', 35}, {'h', 21}, {'A', 36}, {'F', 40},
	{'E', 31}, {'C', 36}, {'X', 23}, {'D', 19}, {'U', 35}, {'P', 44},
	{'Q', 40}, {'B', 19}, {'I', 50}, {'N', 20}, {'O', 48},
};

/* Fill a message of type t with distinctive, non-trivial values (variant v). */
static void fill(struct dp_itch_msg *m, char t, int v)
{
	memset(m, 0, sizeof *m);
	m->hdr.type = t;
	m->hdr.stock_locate = v ? 0xFFFF : 0x1234;
	m->hdr.tracking = v ? 0xFFFE : 0xBEEF;
	m->hdr.timestamp = v ? TS_MAX - 1 : UINT64_C(0x123456789ABC);
	uint32_t px = v ? UINT32_MAX : 1502500;
	uint64_t big = v ? UINT64_MAX : UINT64_C(0x0102030405060708);
	switch (t) {
	case 'S': m->u.system_event.event_code = 'Q'; break;
	case 'R':
		dp_itch_stock_set(m->u.stock_directory.stock, v ? "ABCDEFGH" : "AAPL");
		m->u.stock_directory.market_category = 'Q';
		m->u.stock_directory.financial_status = 'D';
		m->u.stock_directory.round_lot_size = v ? UINT32_MAX : 100;
		m->u.stock_directory.round_lots_only = 'Y';
		m->u.stock_directory.issue_classification = 'C';
		memcpy(m->u.stock_directory.issue_subtype, "Z ", 2);
		m->u.stock_directory.authenticity = 'P';
		m->u.stock_directory.short_sale_threshold = 'N';
		m->u.stock_directory.ipo_flag = ' ';
		m->u.stock_directory.luld_ref_price_tier = '1';
		m->u.stock_directory.etp_flag = 'N';
		m->u.stock_directory.etp_leverage_factor = v ? UINT32_MAX : 3;
		m->u.stock_directory.inverse_indicator = 'Y';
		break;
	case 'H':
		dp_itch_stock_set(m->u.trading_action.stock, "MSFT");
		m->u.trading_action.trading_state = 'H';
		m->u.trading_action.reserved = ' ';
		memcpy(m->u.trading_action.reason, "T1  ", 4);
		break;
	case 'Y':
		dp_itch_stock_set(m->u.reg_sho.stock, "IBM");
		m->u.reg_sho.reg_sho_action = '1';
		break;
	case 'L':
		memcpy(m->u.mp_position.mpid, "GSCO", 4);
		dp_itch_stock_set(m->u.mp_position.stock, "ZVZZT");
		m->u.mp_position.primary_market_maker = 'Y';
		m->u.mp_position.market_maker_mode = 'N';
		m->u.mp_position.market_participant_state = 'A';
		break;
	case 'V':
		m->u.mwcb_decline.level1 = big;
		m->u.mwcb_decline.level2 = v ? UINT64_MAX - 1 : UINT64_C(123456789012);
		m->u.mwcb_decline.level3 = 1;
		break;
	case 'W': m->u.mwcb_status.breached_level = '2'; break;
	case 'K':
		dp_itch_stock_set(m->u.ipo_quoting.stock, "NEWCO");
		m->u.ipo_quoting.release_time = v ? UINT32_MAX : 34200;
		m->u.ipo_quoting.release_qualifier = 'A';
		m->u.ipo_quoting.ipo_price = px;
		break;
	case 'J':
		dp_itch_stock_set(m->u.luld_collar.stock, "SPY");
		m->u.luld_collar.ref_price = px;
		m->u.luld_collar.upper_price = px - 1;
		m->u.luld_collar.lower_price = 7;
		m->u.luld_collar.extension = v ? UINT32_MAX : 2;
		break;
	case 'h':
		dp_itch_stock_set(m->u.op_halt.stock, "QQQ");
		m->u.op_halt.market_code = 'Q';
		m->u.op_halt.action = 'H';
		break;
	case 'A':
	case 'F':
		m->u.add.ref = big;
		m->u.add.side = v ? 'S' : 'B';
		m->u.add.shares = v ? UINT32_MAX : 100;
		dp_itch_stock_set(m->u.add.stock, "AAPL");
		m->u.add.price = px;
		/* A carries no attribution; the decoder fills spaces, so use those here. */
		memcpy(m->u.add.attribution, t == 'F' ? "MSCO" : "    ", 4);
		break;
	case 'E':
		m->u.executed.ref = big;
		m->u.executed.shares = 0x80000001u;
		m->u.executed.match = UINT64_MAX - 7;
		break;
	case 'C':
		m->u.executed_px.ref = big;
		m->u.executed_px.shares = 12345;
		m->u.executed_px.match = UINT64_C(0xFEDCBA9876543210);
		m->u.executed_px.printable = 'N';
		m->u.executed_px.price = px;
		break;
	case 'X':
		m->u.cancel.ref = big;
		m->u.cancel.shares = 0xDEADBEEF;
		break;
	case 'D': m->u.del.ref = big; break;
	case 'U':
		m->u.replace.orig_ref = big;
		m->u.replace.new_ref = ~big;
		m->u.replace.shares = 300;
		m->u.replace.price = px;
		break;
	case 'P':
		m->u.trade.ref = big;
		m->u.trade.side = 'S';
		m->u.trade.shares = 0x01020304;
		dp_itch_stock_set(m->u.trade.stock, "BRK A");
		m->u.trade.price = px;
		m->u.trade.match = UINT64_MAX;
		break;
	case 'Q':
		m->u.cross_trade.shares = UINT64_MAX - 1;
		dp_itch_stock_set(m->u.cross_trade.stock, "TSLA");
		m->u.cross_trade.cross_price = px;
		m->u.cross_trade.match = big;
		m->u.cross_trade.cross_type = 'O';
		break;
	case 'B': m->u.broken_trade.match = big; break;
	case 'I':
		m->u.noii.paired_shares = big;
		m->u.noii.imbalance_shares = ~big;
		m->u.noii.imbalance_direction = 'B';
		dp_itch_stock_set(m->u.noii.stock, "GOOGL");
		m->u.noii.far_price = px;
		m->u.noii.near_price = px ^ 0x55;
		m->u.noii.ref_price = 1;
		m->u.noii.cross_type = 'C';
		m->u.noii.price_variation = 'L';
		break;
	case 'N':
		dp_itch_stock_set(m->u.rpii.stock, "AMZN");
		m->u.rpii.interest_flag = 'A';
		break;
	case 'O':
		dp_itch_stock_set(m->u.dlcr.stock, "ARM");
		m->u.dlcr.open_eligibility = 'Y';
		m->u.dlcr.min_price = 1;
		m->u.dlcr.max_price = px;
		m->u.dlcr.near_exec_price = px - 2;
		m->u.dlcr.near_exec_time = big;
		m->u.dlcr.lower_collar = 3;
		m->u.dlcr.upper_collar = px - 4;
		break;
	}
}

START_TEST(test_lengths_and_index)
{
	ck_assert_str_eq(dp_itch_type_chars, "SRHYLVWKJhAFECXDUPQBINO");
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		ck_assert_uint_eq(dp_itch_msg_len((uint8_t)spec_lens[i].type), spec_lens[i].len);
		ck_assert_int_eq(dp_itch_type_index((uint8_t)dp_itch_type_chars[i]), i);
	}
	int known = 0;
	for (int t = 0; t < 256; t++)
		known += dp_itch_msg_len((uint8_t)t) != 0;
	ck_assert_int_eq(known, DP_ITCH_NTYPES);
	ck_assert_int_eq(dp_itch_type_index('Z'), -1);
	ck_assert_int_eq(dp_itch_type_index(0), -1);
	ck_assert_int_eq(dp_itch_type_index(0xFF), -1);
}
END_TEST

/* encode -> decode -> encode, both variants, for every type. */
START_TEST(test_roundtrip_all_types)
{
	for (int v = 0; v < 2; v++) {
		for (int i = 0; i < DP_ITCH_NTYPES; i++) {
			struct dp_itch_msg m, d;
			uint8_t b1[64], b2[64];
			char t = spec_lens[i].type;
			fill(&m, t, v);
			memset(b1, 0xAA, sizeof b1);
			memset(b2, 0x55, sizeof b2);
			int n = dp_itch_encode(&m, b1, sizeof b1);
			ck_assert_msg(n == (int)spec_lens[i].len, "type %c encode %d", t, n);
			ck_assert_uint_eq(b1[n], 0xAA); /* wrote nothing past the message */
			ck_assert_int_eq(dp_itch_decode(b1, (size_t)n, &d), 0);
			ck_assert_int_eq(d.hdr.type, t);
			ck_assert_uint_eq(d.hdr.stock_locate, m.hdr.stock_locate);
			ck_assert_uint_eq(d.hdr.tracking, m.hdr.tracking);
			ck_assert_uint_eq(d.hdr.timestamp, m.hdr.timestamp);
			int n2 = dp_itch_encode(&d, b2, (size_t)n); /* exact capacity suffices */
			ck_assert_int_eq(n2, n);
			ck_assert_msg(memcmp(b1, b2, (size_t)n) == 0, "type %c not identical", t);
			/* Every format must produce a non-empty single line. */
			char line[512];
			int fl = dp_itch_format(&d, line, sizeof line);
			ck_assert_int_gt(fl, 10);
			ck_assert_int_lt(fl, (int)sizeof line);
			ck_assert_ptr_null(strchr(line, '\n'));
			ck_assert_int_eq(line[0], t);
		}
	}
}
END_TEST

START_TEST(test_roundtrip_field_values)
{
	struct dp_itch_msg m, d;
	uint8_t b[64];
	fill(&m, 'P', 1);
	ck_assert_int_eq(dp_itch_decode(b, (size_t)dp_itch_encode(&m, b, sizeof b), &d), 0);
	ck_assert_uint_eq(d.u.trade.ref, UINT64_MAX);
	ck_assert_int_eq(d.u.trade.side, 'S');
	ck_assert_uint_eq(d.u.trade.shares, 0x01020304);
	ck_assert_mem_eq(d.u.trade.stock, "BRK A   ", 8);
	ck_assert_uint_eq(d.u.trade.price, UINT32_MAX);
	ck_assert_uint_eq(d.u.trade.match, UINT64_MAX);
	ck_assert_uint_eq(d.hdr.timestamp, TS_MAX - 1);

	fill(&m, 'V', 1);
	ck_assert_int_eq(dp_itch_decode(b, (size_t)dp_itch_encode(&m, b, sizeof b), &d), 0);
	ck_assert_uint_eq(d.u.mwcb_decline.level1, UINT64_MAX);
	ck_assert_uint_eq(d.u.mwcb_decline.level2, UINT64_MAX - 1);
	ck_assert_uint_eq(d.u.mwcb_decline.level3, 1);

	fill(&m, 'O', 0);
	ck_assert_int_eq(dp_itch_decode(b, (size_t)dp_itch_encode(&m, b, sizeof b), &d), 0);
	ck_assert_uint_eq(d.u.dlcr.near_exec_time, UINT64_C(0x0102030405060708));
	ck_assert_uint_eq(d.u.dlcr.upper_collar, 1502500 - 4);
}
END_TEST

/* Timestamp is 48 bits on the wire: encode keeps it modulo 2^48. */
START_TEST(test_timestamp_48bit)
{
	struct dp_itch_msg m, d;
	uint8_t b[64];
	fill(&m, 'D', 0);
	m.hdr.timestamp = TS_MAX;
	ck_assert_int_eq(dp_itch_encode(&m, b, sizeof b), 19);
	ck_assert_mem_eq(b + 5, "\xff\xff\xff\xff\xff\xff", 6);
	ck_assert_int_eq(dp_itch_decode(b, 19, &d), 0);
	ck_assert_uint_eq(d.hdr.timestamp, TS_MAX);
	m.hdr.timestamp = (UINT64_C(0xABCD) << 48) | 5;
	ck_assert_int_eq(dp_itch_encode(&m, b, sizeof b), 19);
	ck_assert_int_eq(dp_itch_decode(b, 19, &d), 0);
	ck_assert_uint_eq(d.hdr.timestamp, 5);
}
END_TEST

/* Hand-written wire bytes, to pin the offsets independently of the encoder. */
START_TEST(test_decode_handmade_bytes)
{
	static const uint8_t add[36] = {
		'A', 0x00, 0x0C, 0x00, 0x02,             /* locate 12, tracking 2 */
		0x1F, 0x1A, 0xCE, 0xD9, 0xF4, 0xD2,      /* 34200000001234 ns */
		0, 0, 0, 0, 0, 0, 0, 42,                 /* ref */
		'B', 0, 0, 0, 100,                       /* side, shares */
		'A', 'A', 'P', 'L', ' ', ' ', ' ', ' ',  /* stock */
		0x00, 0x16, 0xED, 0x24,                  /* 1502500 = 150.2500 */
	};
	struct dp_itch_msg m;
	ck_assert_int_eq(dp_itch_decode(add, sizeof add, &m), 0);
	ck_assert_int_eq(m.hdr.type, 'A');
	ck_assert_uint_eq(m.hdr.stock_locate, 12);
	ck_assert_uint_eq(m.hdr.tracking, 2);
	ck_assert_uint_eq(m.hdr.timestamp, UINT64_C(34200000001234));
	ck_assert_uint_eq(m.u.add.ref, 42);
	ck_assert_int_eq(m.u.add.side, 'B');
	ck_assert_uint_eq(m.u.add.shares, 100);
	ck_assert_mem_eq(m.u.add.stock, "AAPL    ", 8);
	ck_assert_uint_eq(m.u.add.price, 1502500);
	char line[256];
	dp_itch_format(&m, line, sizeof line);
	ck_assert_str_eq(line, "A 09:30:00.000001234 locate=12 ref=42 B 100 AAPL @ 150.2500");

	static const uint8_t rep[35] = {
		'U', 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 1,
		0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* orig */
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, /* new */
		0x00, 0x00, 0x01, 0x2C,                         /* 300 */
		0x7F, 0xFF, 0xFF, 0xFF,
	};
	ck_assert_int_eq(dp_itch_decode(rep, sizeof rep, &m), 0);
	ck_assert_uint_eq(m.hdr.stock_locate, 0x0102);
	ck_assert_uint_eq(m.hdr.tracking, 0x0304);
	ck_assert_uint_eq(m.hdr.timestamp, 1);
	ck_assert_uint_eq(m.u.replace.orig_ref, UINT64_C(0x1112131415161718));
	ck_assert_uint_eq(m.u.replace.new_ref, UINT64_C(0x2122232425262728));
	ck_assert_uint_eq(m.u.replace.shares, 300);
	ck_assert_uint_eq(m.u.replace.price, 0x7FFFFFFF);
}
END_TEST

START_TEST(test_bad_lengths)
{
	uint8_t b[DP_ITCH_MAX_LEN + 2];
	struct dp_itch_msg m;
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		size_t n = spec_lens[i].len;
		memset(b, 'B', sizeof b); /* side byte valid wherever it falls */
		b[0] = (uint8_t)spec_lens[i].type;
		ck_assert_int_eq(dp_itch_decode(b, n - 1, &m), -DP_ITCH_ERR_BAD_LENGTH);
		ck_assert_int_eq(dp_itch_decode(b, n + 1, &m), -DP_ITCH_ERR_BAD_LENGTH);
		ck_assert_int_eq(dp_itch_decode(b, 1, &m), -DP_ITCH_ERR_BAD_LENGTH);
		ck_assert_int_eq(dp_itch_decode(b, n, &m), 0);
	}
}
END_TEST

START_TEST(test_unknown_and_empty)
{
	uint8_t b[64];
	struct dp_itch_msg m;
	memset(b, 0, sizeof b);
	ck_assert_int_eq(dp_itch_decode(b, 0, &m), -DP_ITCH_ERR_EMPTY);
	ck_assert_int_eq(dp_itch_decode(NULL, 0, &m), -DP_ITCH_ERR_EMPTY);
	const char *bad = "aGMTZsx\x00\xff";
	for (size_t i = 0; i < 9; i++) {
		b[0] = (uint8_t)bad[i];
		for (size_t len = 1; len <= 64; len++)
			ck_assert_int_eq(dp_itch_decode(b, len, &m), -DP_ITCH_ERR_UNKNOWN_TYPE);
	}
	/* Encoder refuses unknown types and short buffers. */
	fill(&m, 'I', 0);
	ck_assert_int_eq(dp_itch_encode(&m, b, 49), -DP_ITCH_ERR_TRUNCATED);
	m.hdr.type = 'Z';
	ck_assert_int_eq(dp_itch_encode(&m, b, sizeof b), -DP_ITCH_ERR_UNKNOWN_TYPE);
	ck_assert_str_eq(dp_itch_err_name(-DP_ITCH_ERR_UNKNOWN_TYPE), "unknown_type");
	ck_assert_str_eq(dp_itch_err_name(DP_ITCH_ERR_BAD_LENGTH), "bad_length");
	ck_assert_str_eq(dp_itch_err_name(-99), "unknown_error");
}
END_TEST

START_TEST(test_bad_side)
{
	const char types[] = "AFP";
	for (int i = 0; i < 3; i++) {
		struct dp_itch_msg m;
		uint8_t b[64];
		fill(&m, types[i], 0);
		int n = dp_itch_encode(&m, b, sizeof b);
		ck_assert_int_gt(n, 0);
		const char bad_sides[] = {' ', 'b', 's', 0, 'X'};
		for (size_t j = 0; j < sizeof bad_sides; j++) {
			b[19] = (uint8_t)bad_sides[j];
			ck_assert_int_eq(dp_itch_decode(b, (size_t)n, &m), -DP_ITCH_ERR_BAD_FIELD);
		}
		b[19] = 'S';
		ck_assert_int_eq(dp_itch_decode(b, (size_t)n, &m), 0);
	}
	/* Other enumerated characters are passed through untouched. */
	struct dp_itch_msg m;
	uint8_t b[64];
	fill(&m, 'S', 0);
	m.u.system_event.event_code = '!';
	int n = dp_itch_encode(&m, b, sizeof b);
	ck_assert_int_eq(dp_itch_decode(b, (size_t)n, &m), 0);
	ck_assert_int_eq(m.u.system_event.event_code, '!');
}
END_TEST

START_TEST(test_file_next)
{
	/* Two frames: D (19) then S (12), then a frame claiming 19 bytes with 5 present. */
	uint8_t f[2 + 19 + 2 + 12 + 2 + 5];
	struct dp_itch_msg m;
	size_t o = 0;
	fill(&m, 'D', 0);
	f[o++] = 0; f[o++] = 19;
	o += (size_t)dp_itch_encode(&m, f + o, sizeof f - o);
	fill(&m, 'S', 0);
	f[o++] = 0; f[o++] = 12;
	o += (size_t)dp_itch_encode(&m, f + o, sizeof f - o);
	size_t clean_end = o;
	f[o++] = 0; f[o++] = 19;
	memset(f + o, 'D', 5);
	o += 5;
	ck_assert_uint_eq(o, sizeof f);

	const uint8_t *msg;
	size_t len, off = 0;
	ck_assert_int_eq(dp_itch_file_next(f, sizeof f, &off, &msg, &len), 1);
	ck_assert_uint_eq(len, 19);
	ck_assert_ptr_eq(msg, f + 2);
	ck_assert_int_eq(dp_itch_decode(msg, len, &m), 0);
	ck_assert_int_eq(dp_itch_file_next(f, sizeof f, &off, &msg, &len), 1);
	ck_assert_uint_eq(len, 12);
	ck_assert_uint_eq(off, clean_end);
	ck_assert_int_eq(dp_itch_file_next(f, sizeof f, &off, &msg, &len), -DP_ITCH_ERR_TRUNCATED);
	ck_assert_uint_eq(off, clean_end); /* not advanced past a bad frame */

	/* Same buffer cut at the clean end: 0. Cut inside the length prefix: truncated. */
	off = clean_end;
	ck_assert_int_eq(dp_itch_file_next(f, clean_end, &off, &msg, &len), 0);
	off = clean_end;
	ck_assert_int_eq(dp_itch_file_next(f, clean_end + 1, &off, &msg, &len),
			 -DP_ITCH_ERR_TRUNCATED);
	off = 0;
	ck_assert_int_eq(dp_itch_file_next(f, 0, &off, &msg, &len), 0);
}
END_TEST

static void expect_format(const struct dp_itch_msg *m, const char *want)
{
	char line[512];
	int n = dp_itch_format(m, line, sizeof line);
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(test_format_exact)
{
	struct dp_itch_msg m;

	memset(&m, 0, sizeof m);
	m.hdr.type = 'S';
	m.u.system_event.event_code = 'O';
	expect_format(&m, "S 00:00:00.000000000 locate=0 event=O");

	fill(&m, 'P', 1);
	m.hdr.timestamp = UINT64_C(57599999999999); /* 15:59:59.999999999 */
	m.hdr.stock_locate = 7;
	expect_format(&m, "P 15:59:59.999999999 locate=7 ref=18446744073709551615 S 16909060"
			  " BRK A @ 429496.7295 match=18446744073709551615");

	fill(&m, 'V', 0);
	m.hdr.timestamp = UINT64_C(3600000000000) * 13 + 5;
	m.hdr.stock_locate = 0;
	m.u.mwcb_decline.level1 = 0;
	expect_format(&m, "V 13:00:00.000000005 locate=0 level1=0.00000000 level2=1234.56789012"
			  " level3=0.00000001");

	fill(&m, 'F', 0);
	m.hdr.timestamp = 1;
	m.hdr.stock_locate = 65535;
	m.u.add.ref = 9;
	m.u.add.price = 99;
	memcpy(m.u.add.attribution, "AB  ", 4);
	expect_format(&m, "F 00:00:00.000000001 locate=65535 ref=9 B 100 AAPL @ 0.0099 mpid=AB");

	fill(&m, 'H', 0);
	m.hdr.timestamp = 0;
	m.u.trading_action.stock[1] = '\x01'; /* non-printable -> '?' */
	expect_format(&m, "H 00:00:00.000000000 locate=4660 M?FT state=H reason=T1");

	/* Truncated output still reports the full length, snprintf style. */
	char small[8];
	memset(&m, 0, sizeof m);
	m.hdr.type = 'D';
	int n = dp_itch_format(&m, small, sizeof small);
	ck_assert_str_eq(small, "D 00:00");
	ck_assert_int_eq(n, (int)strlen("D 00:00:00.000000000 locate=0 ref=0 delete"));

	char stock[9];
	dp_itch_stock_str("AB CD   ", stock);
	ck_assert_str_eq(stock, "AB CD");
	dp_itch_stock_str("        ", stock);
	ck_assert_str_eq(stock, "");
	char raw[8];
	dp_itch_stock_set(raw, "TOOLONGNAME");
	ck_assert_mem_eq(raw, "TOOLONGN", 8);
}
END_TEST

/* xorshift64*: deterministic, so any failure reproduces. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/*
 * Millions of random byte strings: decode must never crash or read outside
 * the exact-size heap copy (ASan build), and whatever decodes must re-encode
 * to the same bytes and format without trouble.
 */
START_TEST(test_random_decode)
{
	const int iters = 3000000;
	long ok = 0;
	for (int i = 0; i < iters; i++) {
		uint8_t tmp[64];
		size_t len = (size_t)(rnd() % 65);
		for (size_t j = 0; j < len; j += 8) {
			uint64_t r = rnd();
			for (size_t k = 0; k < 8 && j + k < len; k++)
				tmp[j + k] = (uint8_t)(r >> (8 * k));
		}
		/* Half the time use a valid type and length so the field paths run too. */
		if (len > 0 && (i & 1)) {
			char t = dp_itch_type_chars[rnd() % DP_ITCH_NTYPES];
			tmp[0] = (uint8_t)t;
			if (i & 2)
				len = dp_itch_msg_len((uint8_t)t);
			if (len > 19 && (i & 4))
				tmp[19] = (rnd() & 1) ? 'B' : 'S';
		}
		/* Exact-size heap copy so ASan sees any read past the end. */
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			ck_abort_msg("malloc");
		memcpy(buf, tmp, len);
		struct dp_itch_msg m;
		/*
		 * Plain ifs, not ck_assert, inside the loop: every ck_assert
		 * records a checkpoint through a pipe, which would make this
		 * test syscall-bound.
		 */
		int r = dp_itch_decode(buf, len, &m);
		if (r > 0 || r <= -DP_ITCH_ERR__COUNT)
			ck_abort_msg("iteration %d: decode returned %d", i, r);
		if (r == 0) {
			uint8_t re[DP_ITCH_MAX_LEN];
			ok++;
			if (dp_itch_encode(&m, re, sizeof re) != (int)len || memcmp(re, buf, len) != 0)
				ck_abort_msg("iteration %d: re-encode differs (type %c)", i, buf[0]);
			if ((i & 0xFF) == 1) {
				char line[512];
				if (dp_itch_format(&m, line, sizeof line) >= (int)sizeof line)
					ck_abort_msg("iteration %d: format too long", i);
			}
		}
		free(buf);
	}
	ck_assert_int_gt(ok, iters / 10);
}
END_TEST

static Suite *itch_suite(void)
{
	Suite *s = suite_create("itch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_lengths_and_index);
	tcase_add_test(tc, test_roundtrip_all_types);
	tcase_add_test(tc, test_roundtrip_field_values);
	tcase_add_test(tc, test_timestamp_48bit);
	tcase_add_test(tc, test_decode_handmade_bytes);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_unknown_and_empty);
	tcase_add_test(tc, test_bad_side);
	tcase_add_test(tc, test_file_next);
	tcase_add_test(tc, test_format_exact);
	suite_add_tcase(s, tc);
	/* Millions of iterations: allow more than Check's 4 s default under ASan. */
	TCase *tr = tcase_create("random");
	tcase_set_timeout(tr, 300);
	tcase_add_test(tr, test_random_decode);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(itch_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
