/*
 * dp_book_itch.c - fused ITCH 5.0 -> book event decoder (see dp_book.h).
 *
 * dp_itch_decode() fills the whole dp_itch_msg union and dp_book_ev_from_itch()
 * then copies the few fields the book needs; both switch on the type byte, and
 * on a feed whose types come in random order each switch is an indirect
 * branch that mispredicts often. This decoder does the same validation as
 * dp_itch_decode() and builds the event straight from the wire with no
 * branch on the type at all: a per-type table gives, for every book field,
 * the offset to read it from and whether the type has it. A type without a
 * field reads a harmless in-bounds offset (1) and masks the value to zero,
 * so every read stays inside [buf, buf + spec length) exactly as in the
 * codec, which checks the length first.
 *
 * The result must be identical to dp_itch_decode + dp_book_ev_from_itch on
 * every input (tests/unit/book/test_book_fused.c checks that).
 */
#include "dp_book_fused.h"

/* Offsets, then which fields the type has (Y/N). */
#define Y (-1)
#define N 0
#define ROW(len_, kind_, chk_, q, p, r, r2, s, f, sd, mh, mq, mp, mr, mr2, ms, mf, msd)        \
	{ (len_), (kind_), (chk_), (q), (p), (r), (r2), (s), (f), (sd),                        \
	  (mh), (mq), (mp), (mr), (mr2), (ms), (mf), (msd) }
/* A non-book type: only its length (and the side check for P) matters. */
#define NB(len_) ROW(len_, DP_BEV_NONE, 0, 1, 1, 1, 1, 1, 1, 1, N, N, N, N, N, N, N, N)

const struct dp_book_fused_row dp_book_fused_tab[256] = {
	/*          len kind               chk qty px ref ref2 stk flag side  hdr qty px ref ref2 stk flag side */
	['A'] = ROW(36, DP_BEV_ADD,           1, 20, 32, 11,  1,  24,  1, 19,  Y,  Y,  Y, Y,  N,  Y,  N,  Y),
	['F'] = ROW(40, DP_BEV_ADD,           1, 20, 32, 11,  1,  24,  1, 19,  Y,  Y,  Y, Y,  N,  Y,  N,  Y),
	['E'] = ROW(31, DP_BEV_EXEC,          0, 19,  1, 11, 23,   1,  1,  1,  Y,  Y,  N, Y,  Y,  N,  N,  N),
	['C'] = ROW(36, DP_BEV_EXEC_PX,       0, 19, 32, 11, 23,   1, 31,  1,  Y,  Y,  Y, Y,  Y,  N,  Y,  N),
	['X'] = ROW(23, DP_BEV_CANCEL,        0, 19,  1, 11,  1,   1,  1,  1,  Y,  Y,  N, Y,  N,  N,  N,  N),
	['D'] = ROW(19, DP_BEV_DELETE,        0,  1,  1, 11,  1,   1,  1,  1,  Y,  N,  N, Y,  N,  N,  N,  N),
	['U'] = ROW(35, DP_BEV_REPLACE,       0, 27, 31, 11, 19,   1,  1,  1,  Y,  Y,  Y, Y,  Y,  N,  N,  N),
	['R'] = ROW(39, DP_BEV_DIRECTORY,     0, 21,  1,  1,  1,  11, 19,  1,  Y,  Y,  N, N,  N,  Y,  Y,  N),
	['H'] = ROW(25, DP_BEV_TRADING_STATE, 0,  1,  1,  1,  1,  11, 19,  1,  Y,  N,  N, N,  N,  Y,  Y,  N),
	['P'] = ROW(44, DP_BEV_NONE,          1,  1,  1,  1,  1,   1,  1, 19,  N,  N,  N, N,  N,  N,  N,  N),
	['S'] = NB(12), ['Y'] = NB(20), ['L'] = NB(26), ['V'] = NB(35), ['W'] = NB(12),
	['K'] = NB(28), ['J'] = NB(35), ['h'] = NB(21), ['Q'] = NB(40), ['B'] = NB(19),
	['I'] = NB(50), ['N'] = NB(20), ['O'] = NB(48),
};
#undef Y
#undef N

int dp_itch_decode_book_ev(const uint8_t *buf, size_t len, struct dp_book_ev *ev,
			   uint8_t *type_out)
{
	return dp_itch_decode_book_ev_inl(buf, len, ev, type_out);
}
