/*
 * dp_itch.c - NASDAQ TotalView-ITCH 5.0 decoder, encoder and formatter.
 *
 * The decoder sits on the feed hot path (50 ns per message budget for decode
 * plus book update), so it is a table lookup for the spec length followed by
 * one switch on the type byte, with every field read by explicit big-endian
 * byte loads at fixed offsets. Because the length is checked against the spec
 * length before the switch, each case can read its fixed offsets without
 * further bounds checks: the single length comparison is what guarantees no
 * byte outside [buf, buf+len) is ever touched.
 *
 * Offsets below are byte offsets in the message, including the type byte at
 * 0 and the 11-byte common header (type, locate, tracking, 48-bit timestamp).
 */
#include "dp_itch.h"
#include "dp_be.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char dp_itch_type_chars[DP_ITCH_NTYPES + 1] = "SRHYLVWKJhAFECXDUPQBINO";

/*
 * Spec length per type byte; 0 = not an ITCH 5.0 type. A 256-entry table so
 * the hot path does one load instead of a switch to validate the length.
 */
static const uint8_t msg_len_tab[256] = {
	['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35,
	['W'] = 12, ['K'] = 28, ['J'] = 35, ['h'] = 21, ['A'] = 36, ['F'] = 40,
	['E'] = 31, ['C'] = 36, ['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44,
	['Q'] = 40, ['B'] = 19, ['I'] = 50, ['N'] = 20, ['O'] = 48,
};

/* Counter slot + 1 per type byte (0 = unknown), in dp_itch_type_chars order. */
static const uint8_t type_slot_tab[256] = {
	['S'] = 1,  ['R'] = 2,  ['H'] = 3,  ['Y'] = 4,  ['L'] = 5,  ['V'] = 6,
	['W'] = 7,  ['K'] = 8,  ['J'] = 9,  ['h'] = 10, ['A'] = 11, ['F'] = 12,
	['E'] = 13, ['C'] = 14, ['X'] = 15, ['D'] = 16, ['U'] = 17, ['P'] = 18,
	['Q'] = 19, ['B'] = 20, ['I'] = 21, ['N'] = 22, ['O'] = 23,
};

size_t dp_itch_msg_len(uint8_t type)
{
	return msg_len_tab[type];
}

int dp_itch_type_index(uint8_t type)
{
	return (int)type_slot_tab[type] - 1;
}

/* ---- single-byte fields (multi-byte ones use dp_be.h) */

/* Byte <-> char without implementation-defined conversions in -Wextra eyes. */
static inline char ldc(const uint8_t *p)
{
	return (char)*p;
}

static inline void stc(uint8_t *p, char c)
{
	*p = (uint8_t)c;
}

/* ---- decode */

int dp_itch_decode(const uint8_t *buf, size_t len, struct dp_itch_msg *m)
{
	if (len == 0)
		return -DP_ITCH_ERR_EMPTY;
	const uint8_t t = buf[0];
	const size_t want = msg_len_tab[t];
	if (want == 0)
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	if (len != want)
		return -DP_ITCH_ERR_BAD_LENGTH;

	/* From here on len == spec length, so every fixed offset is in bounds. */
	m->hdr.type = (char)t;
	m->hdr.stock_locate = dp_ld16(buf + 1);
	m->hdr.tracking = dp_ld16(buf + 3);
	m->hdr.timestamp = dp_ld48(buf + 5);

	switch (t) {
	case 'A':
	case 'F': {
		/* Hottest types first only for the reader; the switch is a jump table. */
		char side = ldc(buf + 19);
		if (side != 'B' && side != 'S')
			return -DP_ITCH_ERR_BAD_FIELD;
		m->u.add.ref = dp_ld64(buf + 11);
		m->u.add.side = side;
		m->u.add.shares = dp_ld32(buf + 20);
		memcpy(m->u.add.stock, buf + 24, 8);
		m->u.add.price = dp_ld32(buf + 32);
		if (t == 'F')
			memcpy(m->u.add.attribution, buf + 36, 4);
		else
			memset(m->u.add.attribution, ' ', 4); /* deterministic, not garbage */
		return 0;
	}
	case 'E':
		m->u.executed.ref = dp_ld64(buf + 11);
		m->u.executed.shares = dp_ld32(buf + 19);
		m->u.executed.match = dp_ld64(buf + 23);
		return 0;
	case 'C':
		m->u.executed_px.ref = dp_ld64(buf + 11);
		m->u.executed_px.shares = dp_ld32(buf + 19);
		m->u.executed_px.match = dp_ld64(buf + 23);
		m->u.executed_px.printable = ldc(buf + 31);
		m->u.executed_px.price = dp_ld32(buf + 32);
		return 0;
	case 'X':
		m->u.cancel.ref = dp_ld64(buf + 11);
		m->u.cancel.shares = dp_ld32(buf + 19);
		return 0;
	case 'D':
		m->u.del.ref = dp_ld64(buf + 11);
		return 0;
	case 'U':
		m->u.replace.orig_ref = dp_ld64(buf + 11);
		m->u.replace.new_ref = dp_ld64(buf + 19);
		m->u.replace.shares = dp_ld32(buf + 27);
		m->u.replace.price = dp_ld32(buf + 31);
		return 0;
	case 'P': {
		char side = ldc(buf + 19);
		if (side != 'B' && side != 'S')
			return -DP_ITCH_ERR_BAD_FIELD;
		m->u.trade.ref = dp_ld64(buf + 11);
		m->u.trade.side = side;
		m->u.trade.shares = dp_ld32(buf + 20);
		memcpy(m->u.trade.stock, buf + 24, 8);
		m->u.trade.price = dp_ld32(buf + 32);
		m->u.trade.match = dp_ld64(buf + 36);
		return 0;
	}
	case 'Q':
		m->u.cross_trade.shares = dp_ld64(buf + 11);
		memcpy(m->u.cross_trade.stock, buf + 19, 8);
		m->u.cross_trade.cross_price = dp_ld32(buf + 27);
		m->u.cross_trade.match = dp_ld64(buf + 31);
		m->u.cross_trade.cross_type = ldc(buf + 39);
		return 0;
	case 'B':
		m->u.broken_trade.match = dp_ld64(buf + 11);
		return 0;
	case 'I':
		m->u.noii.paired_shares = dp_ld64(buf + 11);
		m->u.noii.imbalance_shares = dp_ld64(buf + 19);
		m->u.noii.imbalance_direction = ldc(buf + 27);
		memcpy(m->u.noii.stock, buf + 28, 8);
		m->u.noii.far_price = dp_ld32(buf + 36);
		m->u.noii.near_price = dp_ld32(buf + 40);
		m->u.noii.ref_price = dp_ld32(buf + 44);
		m->u.noii.cross_type = ldc(buf + 48);
		m->u.noii.price_variation = ldc(buf + 49);
		return 0;
	case 'S':
		m->u.system_event.event_code = ldc(buf + 11);
		return 0;
	case 'R':
		memcpy(m->u.stock_directory.stock, buf + 11, 8);
		m->u.stock_directory.market_category = ldc(buf + 19);
		m->u.stock_directory.financial_status = ldc(buf + 20);
		m->u.stock_directory.round_lot_size = dp_ld32(buf + 21);
		m->u.stock_directory.round_lots_only = ldc(buf + 25);
		m->u.stock_directory.issue_classification = ldc(buf + 26);
		memcpy(m->u.stock_directory.issue_subtype, buf + 27, 2);
		m->u.stock_directory.authenticity = ldc(buf + 29);
		m->u.stock_directory.short_sale_threshold = ldc(buf + 30);
		m->u.stock_directory.ipo_flag = ldc(buf + 31);
		m->u.stock_directory.luld_ref_price_tier = ldc(buf + 32);
		m->u.stock_directory.etp_flag = ldc(buf + 33);
		m->u.stock_directory.etp_leverage_factor = dp_ld32(buf + 34);
		m->u.stock_directory.inverse_indicator = ldc(buf + 38);
		return 0;
	case 'H':
		memcpy(m->u.trading_action.stock, buf + 11, 8);
		m->u.trading_action.trading_state = ldc(buf + 19);
		m->u.trading_action.reserved = ldc(buf + 20);
		memcpy(m->u.trading_action.reason, buf + 21, 4);
		return 0;
	case 'Y':
		memcpy(m->u.reg_sho.stock, buf + 11, 8);
		m->u.reg_sho.reg_sho_action = ldc(buf + 19);
		return 0;
	case 'L':
		memcpy(m->u.mp_position.mpid, buf + 11, 4);
		memcpy(m->u.mp_position.stock, buf + 15, 8);
		m->u.mp_position.primary_market_maker = ldc(buf + 23);
		m->u.mp_position.market_maker_mode = ldc(buf + 24);
		m->u.mp_position.market_participant_state = ldc(buf + 25);
		return 0;
	case 'V':
		m->u.mwcb_decline.level1 = dp_ld64(buf + 11);
		m->u.mwcb_decline.level2 = dp_ld64(buf + 19);
		m->u.mwcb_decline.level3 = dp_ld64(buf + 27);
		return 0;
	case 'W':
		m->u.mwcb_status.breached_level = ldc(buf + 11);
		return 0;
	case 'K':
		memcpy(m->u.ipo_quoting.stock, buf + 11, 8);
		m->u.ipo_quoting.release_time = dp_ld32(buf + 19);
		m->u.ipo_quoting.release_qualifier = ldc(buf + 23);
		m->u.ipo_quoting.ipo_price = dp_ld32(buf + 24);
		return 0;
	case 'J':
		memcpy(m->u.luld_collar.stock, buf + 11, 8);
		m->u.luld_collar.ref_price = dp_ld32(buf + 19);
		m->u.luld_collar.upper_price = dp_ld32(buf + 23);
		m->u.luld_collar.lower_price = dp_ld32(buf + 27);
		m->u.luld_collar.extension = dp_ld32(buf + 31);
		return 0;
	case 'h':
		memcpy(m->u.op_halt.stock, buf + 11, 8);
		m->u.op_halt.market_code = ldc(buf + 19);
		m->u.op_halt.action = ldc(buf + 20);
		return 0;
	case 'N':
		memcpy(m->u.rpii.stock, buf + 11, 8);
		m->u.rpii.interest_flag = ldc(buf + 19);
		return 0;
	case 'O':
		memcpy(m->u.dlcr.stock, buf + 11, 8);
		m->u.dlcr.open_eligibility = ldc(buf + 19);
		m->u.dlcr.min_price = dp_ld32(buf + 20);
		m->u.dlcr.max_price = dp_ld32(buf + 24);
		m->u.dlcr.near_exec_price = dp_ld32(buf + 28);
		m->u.dlcr.near_exec_time = dp_ld64(buf + 32);
		m->u.dlcr.lower_collar = dp_ld32(buf + 40);
		m->u.dlcr.upper_collar = dp_ld32(buf + 44);
		return 0;
	default:
		/* Unreachable: msg_len_tab and this switch list the same types. */
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	}
}

/* ---- encode */

int dp_itch_encode(const struct dp_itch_msg *m, uint8_t *buf, size_t cap)
{
	const uint8_t t = (uint8_t)m->hdr.type;
	const size_t n = msg_len_tab[t];
	if (n == 0)
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	if (cap < n)
		return -DP_ITCH_ERR_TRUNCATED;

	buf[0] = t;
	dp_st16(buf + 1, m->hdr.stock_locate);
	dp_st16(buf + 3, m->hdr.tracking);
	dp_st48(buf + 5, m->hdr.timestamp); /* st48 keeps the low 48 bits: modulo 2^48 */

	switch (t) {
	case 'S':
		stc(buf + 11, m->u.system_event.event_code);
		break;
	case 'R':
		memcpy(buf + 11, m->u.stock_directory.stock, 8);
		stc(buf + 19, m->u.stock_directory.market_category);
		stc(buf + 20, m->u.stock_directory.financial_status);
		dp_st32(buf + 21, m->u.stock_directory.round_lot_size);
		stc(buf + 25, m->u.stock_directory.round_lots_only);
		stc(buf + 26, m->u.stock_directory.issue_classification);
		memcpy(buf + 27, m->u.stock_directory.issue_subtype, 2);
		stc(buf + 29, m->u.stock_directory.authenticity);
		stc(buf + 30, m->u.stock_directory.short_sale_threshold);
		stc(buf + 31, m->u.stock_directory.ipo_flag);
		stc(buf + 32, m->u.stock_directory.luld_ref_price_tier);
		stc(buf + 33, m->u.stock_directory.etp_flag);
		dp_st32(buf + 34, m->u.stock_directory.etp_leverage_factor);
		stc(buf + 38, m->u.stock_directory.inverse_indicator);
		break;
	case 'H':
		memcpy(buf + 11, m->u.trading_action.stock, 8);
		stc(buf + 19, m->u.trading_action.trading_state);
		stc(buf + 20, m->u.trading_action.reserved);
		memcpy(buf + 21, m->u.trading_action.reason, 4);
		break;
	case 'Y':
		memcpy(buf + 11, m->u.reg_sho.stock, 8);
		stc(buf + 19, m->u.reg_sho.reg_sho_action);
		break;
	case 'L':
		memcpy(buf + 11, m->u.mp_position.mpid, 4);
		memcpy(buf + 15, m->u.mp_position.stock, 8);
		stc(buf + 23, m->u.mp_position.primary_market_maker);
		stc(buf + 24, m->u.mp_position.market_maker_mode);
		stc(buf + 25, m->u.mp_position.market_participant_state);
		break;
	case 'V':
		dp_st64(buf + 11, m->u.mwcb_decline.level1);
		dp_st64(buf + 19, m->u.mwcb_decline.level2);
		dp_st64(buf + 27, m->u.mwcb_decline.level3);
		break;
	case 'W':
		stc(buf + 11, m->u.mwcb_status.breached_level);
		break;
	case 'K':
		memcpy(buf + 11, m->u.ipo_quoting.stock, 8);
		dp_st32(buf + 19, m->u.ipo_quoting.release_time);
		stc(buf + 23, m->u.ipo_quoting.release_qualifier);
		dp_st32(buf + 24, m->u.ipo_quoting.ipo_price);
		break;
	case 'J':
		memcpy(buf + 11, m->u.luld_collar.stock, 8);
		dp_st32(buf + 19, m->u.luld_collar.ref_price);
		dp_st32(buf + 23, m->u.luld_collar.upper_price);
		dp_st32(buf + 27, m->u.luld_collar.lower_price);
		dp_st32(buf + 31, m->u.luld_collar.extension);
		break;
	case 'h':
		memcpy(buf + 11, m->u.op_halt.stock, 8);
		stc(buf + 19, m->u.op_halt.market_code);
		stc(buf + 20, m->u.op_halt.action);
		break;
	case 'A':
	case 'F':
		dp_st64(buf + 11, m->u.add.ref);
		stc(buf + 19, m->u.add.side);
		dp_st32(buf + 20, m->u.add.shares);
		memcpy(buf + 24, m->u.add.stock, 8);
		dp_st32(buf + 32, m->u.add.price);
		if (t == 'F')
			memcpy(buf + 36, m->u.add.attribution, 4);
		break;
	case 'E':
		dp_st64(buf + 11, m->u.executed.ref);
		dp_st32(buf + 19, m->u.executed.shares);
		dp_st64(buf + 23, m->u.executed.match);
		break;
	case 'C':
		dp_st64(buf + 11, m->u.executed_px.ref);
		dp_st32(buf + 19, m->u.executed_px.shares);
		dp_st64(buf + 23, m->u.executed_px.match);
		stc(buf + 31, m->u.executed_px.printable);
		dp_st32(buf + 32, m->u.executed_px.price);
		break;
	case 'X':
		dp_st64(buf + 11, m->u.cancel.ref);
		dp_st32(buf + 19, m->u.cancel.shares);
		break;
	case 'D':
		dp_st64(buf + 11, m->u.del.ref);
		break;
	case 'U':
		dp_st64(buf + 11, m->u.replace.orig_ref);
		dp_st64(buf + 19, m->u.replace.new_ref);
		dp_st32(buf + 27, m->u.replace.shares);
		dp_st32(buf + 31, m->u.replace.price);
		break;
	case 'P':
		dp_st64(buf + 11, m->u.trade.ref);
		stc(buf + 19, m->u.trade.side);
		dp_st32(buf + 20, m->u.trade.shares);
		memcpy(buf + 24, m->u.trade.stock, 8);
		dp_st32(buf + 32, m->u.trade.price);
		dp_st64(buf + 36, m->u.trade.match);
		break;
	case 'Q':
		dp_st64(buf + 11, m->u.cross_trade.shares);
		memcpy(buf + 19, m->u.cross_trade.stock, 8);
		dp_st32(buf + 27, m->u.cross_trade.cross_price);
		dp_st64(buf + 31, m->u.cross_trade.match);
		stc(buf + 39, m->u.cross_trade.cross_type);
		break;
	case 'B':
		dp_st64(buf + 11, m->u.broken_trade.match);
		break;
	case 'I':
		dp_st64(buf + 11, m->u.noii.paired_shares);
		dp_st64(buf + 19, m->u.noii.imbalance_shares);
		stc(buf + 27, m->u.noii.imbalance_direction);
		memcpy(buf + 28, m->u.noii.stock, 8);
		dp_st32(buf + 36, m->u.noii.far_price);
		dp_st32(buf + 40, m->u.noii.near_price);
		dp_st32(buf + 44, m->u.noii.ref_price);
		stc(buf + 48, m->u.noii.cross_type);
		stc(buf + 49, m->u.noii.price_variation);
		break;
	case 'N':
		memcpy(buf + 11, m->u.rpii.stock, 8);
		stc(buf + 19, m->u.rpii.interest_flag);
		break;
	case 'O':
		memcpy(buf + 11, m->u.dlcr.stock, 8);
		stc(buf + 19, m->u.dlcr.open_eligibility);
		dp_st32(buf + 20, m->u.dlcr.min_price);
		dp_st32(buf + 24, m->u.dlcr.max_price);
		dp_st32(buf + 28, m->u.dlcr.near_exec_price);
		dp_st64(buf + 32, m->u.dlcr.near_exec_time);
		dp_st32(buf + 40, m->u.dlcr.lower_collar);
		dp_st32(buf + 44, m->u.dlcr.upper_collar);
		break;
	default:
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	}
	return (int)n;
}

/* ---- names and alpha fields */

const char *dp_itch_err_name(int err)
{
	/* Accept the error either as returned (negative) or as a counter slot. */
	if (err < 0)
		err = -err;
	switch (err) {
	case DP_ITCH_OK: return "ok";
	case DP_ITCH_ERR_EMPTY: return "empty";
	case DP_ITCH_ERR_UNKNOWN_TYPE: return "unknown_type";
	case DP_ITCH_ERR_BAD_LENGTH: return "bad_length";
	case DP_ITCH_ERR_TRUNCATED: return "truncated";
	case DP_ITCH_ERR_BAD_FIELD: return "bad_field";
	default: return "unknown_error";
	}
}

/* A byte that is safe to put in a one-line log: printable ASCII or '?'. */
static char printable(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 0x20 && u < 0x7f) ? c : '?';
}

/* Alpha field of n bytes -> C string without trailing spaces (out: n+1). */
static void alpha_str(const char *f, size_t n, char *out)
{
	size_t end = n;
	while (end > 0 && f[end - 1] == ' ')
		end--;
	for (size_t i = 0; i < end; i++)
		out[i] = printable(f[i]);
	out[end] = '\0';
}

void dp_itch_stock_str(const char stock[8], char out[9])
{
	alpha_str(stock, 8, out);
}

void dp_itch_stock_set(char stock[8], const char *s)
{
	size_t i = 0;
	for (; i < 8 && s[i] != '\0'; i++)
		stock[i] = s[i];
	for (; i < 8; i++)
		stock[i] = ' ';
}

/* ---- formatting (debug tools and logs only: never on the fast path) */

/* ns since midnight -> "HH:MM:SS.nnnnnnnnn" (hours may exceed 23 for 48-bit garbage). */
static void fmt_time(uint64_t ns, char *out, size_t cap)
{
	uint64_t s = ns / 1000000000u;
	snprintf(out, cap, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%09" PRIu64,
		 s / 3600, s / 60 % 60, s % 60, ns % 1000000000u);
}

/* Price(4) -> "d.dddd"; integer arithmetic only. */
static void fmt_px4(uint32_t p, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu32 ".%04" PRIu32, p / 10000, p % 10000);
}

/* Price(8) -> "d.dddddddd". */
static void fmt_px8(uint64_t p, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 ".%08" PRIu64, p / 100000000u, p % 100000000u);
}

/* Scratch strings for one format call; sized for the widest value each holds. */
struct fmt_scratch {
	char stock[9];
	char alpha4[5];
	char px[4][24];
};

int dp_itch_format(const struct dp_itch_msg *m, char *out, size_t cap)
{
	char head[64], ts[32];
	struct fmt_scratch s;
	const char t = m->hdr.type;

	fmt_time(m->hdr.timestamp, ts, sizeof ts);
	snprintf(head, sizeof head, "%c %s locate=%u", printable(t), ts,
		 (unsigned)m->hdr.stock_locate);

#define PC(c) printable(c)
	switch (t) {
	case 'S':
		return snprintf(out, cap, "%s event=%c", head, PC(m->u.system_event.event_code));
	case 'R': {
		const typeof(m->u.stock_directory) *r = &m->u.stock_directory;
		dp_itch_stock_str(r->stock, s.stock);
		return snprintf(out, cap,
				"%s %s market=%c fin=%c lot=%" PRIu32 " lots_only=%c class=%c"
				" subtype=%c%c auth=%c sho=%c ipo=%c luld_tier=%c etp=%c"
				" leverage=%" PRIu32 " inverse=%c",
				head, s.stock, PC(r->market_category), PC(r->financial_status),
				r->round_lot_size, PC(r->round_lots_only),
				PC(r->issue_classification), PC(r->issue_subtype[0]),
				PC(r->issue_subtype[1]), PC(r->authenticity),
				PC(r->short_sale_threshold), PC(r->ipo_flag),
				PC(r->luld_ref_price_tier), PC(r->etp_flag),
				r->etp_leverage_factor, PC(r->inverse_indicator));
	}
	case 'H':
		dp_itch_stock_str(m->u.trading_action.stock, s.stock);
		alpha_str(m->u.trading_action.reason, 4, s.alpha4);
		return snprintf(out, cap, "%s %s state=%c reason=%s", head, s.stock,
				PC(m->u.trading_action.trading_state), s.alpha4);
	case 'Y':
		dp_itch_stock_str(m->u.reg_sho.stock, s.stock);
		return snprintf(out, cap, "%s %s reg_sho=%c", head, s.stock,
				PC(m->u.reg_sho.reg_sho_action));
	case 'L':
		alpha_str(m->u.mp_position.mpid, 4, s.alpha4);
		dp_itch_stock_str(m->u.mp_position.stock, s.stock);
		return snprintf(out, cap, "%s mpid=%s %s primary=%c mode=%c state=%c", head,
				s.alpha4, s.stock, PC(m->u.mp_position.primary_market_maker),
				PC(m->u.mp_position.market_maker_mode),
				PC(m->u.mp_position.market_participant_state));
	case 'V':
		fmt_px8(m->u.mwcb_decline.level1, s.px[0], sizeof s.px[0]);
		fmt_px8(m->u.mwcb_decline.level2, s.px[1], sizeof s.px[1]);
		fmt_px8(m->u.mwcb_decline.level3, s.px[2], sizeof s.px[2]);
		return snprintf(out, cap, "%s level1=%s level2=%s level3=%s", head, s.px[0],
				s.px[1], s.px[2]);
	case 'W':
		return snprintf(out, cap, "%s breached=%c", head,
				PC(m->u.mwcb_status.breached_level));
	case 'K': {
		uint32_t rt = m->u.ipo_quoting.release_time;
		dp_itch_stock_str(m->u.ipo_quoting.stock, s.stock);
		fmt_px4(m->u.ipo_quoting.ipo_price, s.px[0], sizeof s.px[0]);
		return snprintf(out, cap, "%s %s release=%02" PRIu32 ":%02" PRIu32 ":%02" PRIu32
				" qualifier=%c price=%s", head, s.stock, rt / 3600, rt / 60 % 60,
				rt % 60, PC(m->u.ipo_quoting.release_qualifier), s.px[0]);
	}
	case 'J':
		dp_itch_stock_str(m->u.luld_collar.stock, s.stock);
		fmt_px4(m->u.luld_collar.ref_price, s.px[0], sizeof s.px[0]);
		fmt_px4(m->u.luld_collar.upper_price, s.px[1], sizeof s.px[1]);
		fmt_px4(m->u.luld_collar.lower_price, s.px[2], sizeof s.px[2]);
		return snprintf(out, cap, "%s %s ref=%s upper=%s lower=%s extension=%" PRIu32,
				head, s.stock, s.px[0], s.px[1], s.px[2],
				m->u.luld_collar.extension);
	case 'h':
		dp_itch_stock_str(m->u.op_halt.stock, s.stock);
		return snprintf(out, cap, "%s %s market=%c action=%c", head, s.stock,
				PC(m->u.op_halt.market_code), PC(m->u.op_halt.action));
	case 'A':
	case 'F':
		dp_itch_stock_str(m->u.add.stock, s.stock);
		fmt_px4(m->u.add.price, s.px[0], sizeof s.px[0]);
		if (t == 'F') {
			alpha_str(m->u.add.attribution, 4, s.alpha4);
			return snprintf(out, cap, "%s ref=%" PRIu64 " %c %" PRIu32 " %s @ %s mpid=%s",
					head, m->u.add.ref, PC(m->u.add.side), m->u.add.shares,
					s.stock, s.px[0], s.alpha4);
		}
		return snprintf(out, cap, "%s ref=%" PRIu64 " %c %" PRIu32 " %s @ %s", head,
				m->u.add.ref, PC(m->u.add.side), m->u.add.shares, s.stock,
				s.px[0]);
	case 'E':
		return snprintf(out, cap, "%s ref=%" PRIu64 " executed %" PRIu32 " match=%" PRIu64,
				head, m->u.executed.ref, m->u.executed.shares,
				m->u.executed.match);
	case 'C':
		fmt_px4(m->u.executed_px.price, s.px[0], sizeof s.px[0]);
		return snprintf(out, cap, "%s ref=%" PRIu64 " executed %" PRIu32 " @ %s match=%"
				PRIu64 " printable=%c", head, m->u.executed_px.ref,
				m->u.executed_px.shares, s.px[0], m->u.executed_px.match,
				PC(m->u.executed_px.printable));
	case 'X':
		return snprintf(out, cap, "%s ref=%" PRIu64 " cancel %" PRIu32, head,
				m->u.cancel.ref, m->u.cancel.shares);
	case 'D':
		return snprintf(out, cap, "%s ref=%" PRIu64 " delete", head, m->u.del.ref);
	case 'U':
		fmt_px4(m->u.replace.price, s.px[0], sizeof s.px[0]);
		return snprintf(out, cap, "%s ref=%" PRIu64 " -> %" PRIu64 " %" PRIu32 " @ %s",
				head, m->u.replace.orig_ref, m->u.replace.new_ref,
				m->u.replace.shares, s.px[0]);
	case 'P':
		dp_itch_stock_str(m->u.trade.stock, s.stock);
		fmt_px4(m->u.trade.price, s.px[0], sizeof s.px[0]);
		return snprintf(out, cap, "%s ref=%" PRIu64 " %c %" PRIu32 " %s @ %s match=%" PRIu64,
				head, m->u.trade.ref, PC(m->u.trade.side), m->u.trade.shares,
				s.stock, s.px[0], m->u.trade.match);
	case 'Q':
		dp_itch_stock_str(m->u.cross_trade.stock, s.stock);
		fmt_px4(m->u.cross_trade.cross_price, s.px[0], sizeof s.px[0]);
		return snprintf(out, cap, "%s %" PRIu64 " %s @ %s match=%" PRIu64 " cross=%c",
				head, m->u.cross_trade.shares, s.stock, s.px[0],
				m->u.cross_trade.match, PC(m->u.cross_trade.cross_type));
	case 'B':
		return snprintf(out, cap, "%s match=%" PRIu64, head, m->u.broken_trade.match);
	case 'I':
		dp_itch_stock_str(m->u.noii.stock, s.stock);
		fmt_px4(m->u.noii.far_price, s.px[0], sizeof s.px[0]);
		fmt_px4(m->u.noii.near_price, s.px[1], sizeof s.px[1]);
		fmt_px4(m->u.noii.ref_price, s.px[2], sizeof s.px[2]);
		return snprintf(out, cap, "%s %s paired=%" PRIu64 " imbalance=%" PRIu64
				" dir=%c far=%s near=%s ref=%s cross=%c variation=%c", head,
				s.stock, m->u.noii.paired_shares, m->u.noii.imbalance_shares,
				PC(m->u.noii.imbalance_direction), s.px[0], s.px[1], s.px[2],
				PC(m->u.noii.cross_type), PC(m->u.noii.price_variation));
	case 'N':
		dp_itch_stock_str(m->u.rpii.stock, s.stock);
		return snprintf(out, cap, "%s %s interest=%c", head, s.stock,
				PC(m->u.rpii.interest_flag));
	case 'O': {
		char nt[32];
		dp_itch_stock_str(m->u.dlcr.stock, s.stock);
		fmt_px4(m->u.dlcr.min_price, s.px[0], sizeof s.px[0]);
		fmt_px4(m->u.dlcr.max_price, s.px[1], sizeof s.px[1]);
		fmt_px4(m->u.dlcr.near_exec_price, s.px[2], sizeof s.px[2]);
		fmt_time(m->u.dlcr.near_exec_time, nt, sizeof nt);
		char lo[24], hi[24];
		fmt_px4(m->u.dlcr.lower_collar, lo, sizeof lo);
		fmt_px4(m->u.dlcr.upper_collar, hi, sizeof hi);
		return snprintf(out, cap, "%s %s eligible=%c min=%s max=%s near=%s near_time=%s"
				" lower=%s upper=%s", head, s.stock,
				PC(m->u.dlcr.open_eligibility), s.px[0], s.px[1], s.px[2], nt,
				lo, hi);
	}
	default:
		return snprintf(out, cap, "? type=0x%02x", (unsigned)(unsigned char)t);
	}
#undef PC
}

/* ---- BinaryFILE framing */

int dp_itch_file_next(const uint8_t *buf, size_t len, size_t *off,
		      const uint8_t **msg, size_t *msglen)
{
	size_t o = *off;
	if (o >= len)
		return 0;
	/* Compare against what is left, never compute o + n: no overflow to reason about. */
	size_t left = len - o;
	if (left < 2)
		return -DP_ITCH_ERR_TRUNCATED;
	size_t n = dp_ld16(buf + o);
	if (left - 2 < n)
		return -DP_ITCH_ERR_TRUNCATED;
	*msg = buf + o + 2;
	*msglen = n;
	*off = o + 2 + n;
	return 1;
}
