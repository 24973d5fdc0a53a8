/*
 * dp_book_itch.c - fused ITCH 5.0 -> book event decoder (see dp_book.h), and
 * the tables of its inline form (dp_book_fused.h).
 *
 * dp_itch_decode() fills the whole dp_itch_msg union and dp_book_ev_from_itch()
 * then copies the few fields the book needs; both switch on the type byte, and
 * on a feed whose types come in random order each switch is an indirect
 * branch that mispredicts often. This decoder does the same validation as
 * dp_itch_decode() and builds the event straight from the wire with no
 * branch on the type at all: three 16-byte windows of the message, shuffled
 * by per-kind controls and OR'd together (dp_book_fused.h explains the
 * shape). The controls are computed here at compile time from a plain
 * description of each kind: the wire offset of every field it has.
 *
 * The result must be identical to dp_itch_decode + dp_book_ev_from_itch on
 * every input (tests/unit/book/test_book_fused.c checks that).
 */
#include "dp_book_fused.h"

/* The event layout the shuffles below assume. */
_Static_assert(offsetof(struct dp_book_ev, kind) == 0, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, side) == 1, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, locate) == 2, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, qty) == 4, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, price) == 8, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, flag) == 12, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, ref) == 16, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, ref2) == 24, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, ts) == 32, "ev layout");
_Static_assert(offsetof(struct dp_book_ev, stock) == 40, "ev layout");
_Static_assert(sizeof(struct dp_bf_type) == 8, "dp_bf_type is indexed by 8");
_Static_assert(sizeof(struct dp_bf_row) == 128, "rows are 16-byte aligned");

/*
 * A kind is described by the wire offset of each field it has, 0 for a field
 * it does not have (offset 0 is the type byte, never a field): side, qty,
 * price, flag, ref, ref2, stock, and h = 1 if the event carries the header
 * (locate, timestamp), i.e. for every book kind. The window offsets W1, W2
 * come with it, as every type of the kind must use the same ones.
 *
 *              kind                  W1  W2  side qty  px flag ref ref2 stock h
 */
#define K_ADD   DP_BEV_ADD,           11, 20,  19, 20, 32,  0, 11,  0, 24,  1
#define K_EXEC  DP_BEV_EXEC,          11, 15,   0, 19,  0,  0, 11, 23,  0,  1
#define K_EXPX  DP_BEV_EXEC_PX,       11, 20,   0, 19, 32, 31, 11, 23,  0,  1
#define K_CANC  DP_BEV_CANCEL,         7,  7,   0, 19,  0,  0, 11,  0,  0,  1
#define K_DEL   DP_BEV_DELETE,         3,  3,   0,  0,  0,  0, 11,  0,  0,  1
#define K_REPL  DP_BEV_REPLACE,       11, 19,   0, 27, 31,  0, 11, 19,  0,  1
#define K_DIR   DP_BEV_DIRECTORY,     11, 11,   0, 21,  0, 19,  0,  0, 11,  1
#define K_STATE DP_BEV_TRADING_STATE,  9,  9,   0,  0,  0, 19,  0,  0, 11,  1

/*
 * Wire offset of event byte e, 0 if the byte is zero (or the kind, byte 0).
 * Big-endian fields land byte-reversed; the stock keeps its order; the
 * timestamp is bytes 5..10, its top two event bytes zero.
 */
#define SRC(e, sd, q, p, f, r, r2, st, h)                                                  \
	((e) == 1    ? (sd)                                                                \
	 : (e) == 2  ? 2 * (h)                                                             \
	 : (e) == 3  ? 1 * (h)                                                             \
	 : (e) < 4   ? 0                                                                   \
	 : (e) < 8   ? ((q) ? (q) + 7 - (e) : 0)                                           \
	 : (e) < 12  ? ((p) ? (p) + 11 - (e) : 0)                                          \
	 : (e) == 12 ? (f)                                                                 \
	 : (e) < 16  ? 0                                                                   \
	 : (e) < 24  ? ((r) ? (r) + 23 - (e) : 0)                                          \
	 : (e) < 32  ? ((r2) ? (r2) + 31 - (e) : 0)                                        \
	 : (e) < 38  ? (h) * (42 - (e))                                                    \
	 : (e) < 40  ? 0                                                                   \
		     : ((st) ? (st) + (e) - 40 : 0))

/* Control byte: where wire byte s sits in the window at o, or 0x80 (zero). */
#define CB_(s, o) ((s) != 0 && (s) >= (o) && (s) < (o) + 16 ? (s) - (o) : 0x80)
#define CB(o, e, ...) CB_(SRC(e, __VA_ARGS__), o)
/* The control for event chunk c (bytes 16c..16c+15) from the window at o. */
#define CTL(o, c, ...)                                                                     \
	{ CB(o, 16 * (c) + 0, __VA_ARGS__),  CB(o, 16 * (c) + 1, __VA_ARGS__),             \
	  CB(o, 16 * (c) + 2, __VA_ARGS__),  CB(o, 16 * (c) + 3, __VA_ARGS__),             \
	  CB(o, 16 * (c) + 4, __VA_ARGS__),  CB(o, 16 * (c) + 5, __VA_ARGS__),             \
	  CB(o, 16 * (c) + 6, __VA_ARGS__),  CB(o, 16 * (c) + 7, __VA_ARGS__),             \
	  CB(o, 16 * (c) + 8, __VA_ARGS__),  CB(o, 16 * (c) + 9, __VA_ARGS__),             \
	  CB(o, 16 * (c) + 10, __VA_ARGS__), CB(o, 16 * (c) + 11, __VA_ARGS__),            \
	  CB(o, 16 * (c) + 12, __VA_ARGS__), CB(o, 16 * (c) + 13, __VA_ARGS__),            \
	  CB(o, 16 * (c) + 14, __VA_ARGS__), CB(o, 16 * (c) + 15, __VA_ARGS__) }
#define ROW_(kind_, w1, w2, ...)                                                           \
	[kind_] = { .ctl = { [DP_BF_C00] = CTL(0, 0, __VA_ARGS__),                         \
			     [DP_BF_C01] = CTL(w1, 0, __VA_ARGS__),                        \
			     [DP_BF_C02] = CTL(w2, 0, __VA_ARGS__),                        \
			     [DP_BF_C11] = CTL(w1, 1, __VA_ARGS__),                        \
			     [DP_BF_C12] = CTL(w2, 1, __VA_ARGS__),                        \
			     [DP_BF_C20] = CTL(0, 2, __VA_ARGS__),                         \
			     [DP_BF_C22] = CTL(w2, 2, __VA_ARGS__) },                      \
		    .kind = { kind_ } }
#define ROW(k) ROW_(k)

/*
 * Which windows each chunk may use (the code in dp_book_fused.h): chunk 0
 * W0 W1 W2, chunk 1 W1 W2, chunk 2 W0 W2. A field byte outside them would
 * come out zero; the differential test would catch that at once.
 */
#define ROWS                                                                               \
	ROW(K_ADD), ROW(K_EXEC), ROW(K_EXPX), ROW(K_CANC), ROW(K_DEL), ROW(K_REPL), ROW(K_DIR),  \
		ROW(K_STATE)

/* Type entry of a book type: spec length, side check, and its kind's windows and row. */
#define TY_(oside_, kind_, w1, w2, ...)                                                     \
	{ (oside_) ? DP_BF_CHK_SIDE : 0, (oside_), (w1), (w2), { 0, 0 },                       \
	  offsetof(struct dp_bf_tab, rows[kind_]) }
#define TY(oside_, k) TY_(oside_, k)
/* A non-book type: always out of line (P still has its side checked there). */
#define NB { DP_BF_CHK_NONBOOK, 0, 0, 0, { 0, 0 }, 0 }

#define TYPES                                                                              \
	['A'] = TY(19, K_ADD), ['F'] = TY(19, K_ADD), ['E'] = TY(0, K_EXEC),                     \
	['C'] = TY(0, K_EXPX), ['X'] = TY(0, K_CANC), ['D'] = TY(0, K_DEL), ['U'] = TY(0, K_REPL), \
	['R'] = TY(0, K_DIR), ['H'] = TY(0, K_STATE), ['P'] = NB, ['S'] = NB, ['W'] = NB,         \
	['Y'] = NB, ['L'] = NB, ['V'] = NB, ['K'] = NB, ['J'] = NB, ['h'] = NB, ['Q'] = NB,       \
	['B'] = NB, ['I'] = NB, ['N'] = NB, ['O'] = NB

/* The spec lengths (dp_itch.c has the same table; test_book_fused compares them). */
#define LENS                                                                               \
	['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35, ['W'] = 12,       \
	['K'] = 28, ['J'] = 35, ['h'] = 21, ['A'] = 36, ['F'] = 40, ['E'] = 31, ['C'] = 36,       \
	['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44, ['Q'] = 40, ['B'] = 19, ['I'] = 50,       \
	['N'] = 20, ['O'] = 48

#define BAD (DP_BF_CHK_NONBOOK | DP_BF_CHK_SIDE)
#define OK DP_BF_CHK_NONBOOK
#define R4 BAD, BAD, BAD, BAD
#define R16 R4, R4, R4, R4
#define R64 R16, R16, R16, R16
const struct dp_bf_tab dp_bf_tab = {
	.types = { TYPES },
	.len = { LENS },
	/* Bytes 0x00-0x41 bad, 'B' (0x42), 0x43-0x52 bad, 'S' (0x53), 0x54-0xff bad. */
	.side_bad = { R64, BAD, BAD, OK, R16, OK, R64, R64, R16, R16, R4, R4, R4 },
	.rows = { ROWS },
};
_Static_assert('B' == 0x42 && 'S' == 0x53, "the layout of side_bad");

int dp_bf_slow(const uint8_t *buf, struct dp_book_ev *ev)
{
	/* Only P among the non-book types has a side; A and F come here only with a bad one. */
	const uint8_t t = buf[0];
	if (t == 'A' || t == 'F' || t == 'P') {
		if (buf[19] != 'B' && buf[19] != 'S')
			return -DP_ITCH_ERR_BAD_FIELD;
	}
	memset(ev, 0, sizeof *ev);
	return 0;
}

int dp_bf_len_err(uint8_t t)
{
	return dp_bf_tab.len[t] ? -DP_ITCH_ERR_BAD_LENGTH : -DP_ITCH_ERR_UNKNOWN_TYPE;
}

int dp_itch_decode_book_ev(const uint8_t *buf, size_t len, struct dp_book_ev *ev,
			   uint8_t *type_out)
{
	return dp_itch_decode_book_ev_inl(buf, len, ev, type_out);
}
