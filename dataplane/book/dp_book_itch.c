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
#include "dp_book.h"

#include <string.h>

#include "dp_itch.h"

#if defined(__GNUC__)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x) (x)
#define unlikely(x) (x)
#endif

/*
 * One row per type byte. len = spec length (0 = not an ITCH type); kind =
 * book event kind (0 = not a book message); side_chk = the type has a B/S
 * side that the codec validates (A, F, P), at o_side. o_* = offset of each
 * field the event takes, m_* = 0xff if the type has it, else 0 (the read is
 * then at offset 1, in bounds for every type: the shortest is 12 bytes, and
 * masked away). Masks are bytes that sign-extend to all-ones or zero.
 */
struct fused_row {
	uint8_t len, kind, side_chk;
	uint8_t o_qty, o_price, o_ref, o_ref2, o_stock, o_flag, o_side;
	int8_t m_hdr, m_qty, m_price, m_ref, m_ref2, m_stock, m_flag, m_side;
};

/* Offsets, then which fields the type has (Y/N). */
#define Y (-1)
#define N 0
#define ROW(len_, kind_, chk_, q, p, r, r2, s, f, sd, mh, mq, mp, mr, mr2, ms, mf, msd)        \
	{ (len_), (kind_), (chk_), (q), (p), (r), (r2), (s), (f), (sd),                        \
	  (mh), (mq), (mp), (mr), (mr2), (ms), (mf), (msd) }
/* A non-book type: only its length (and the side check for P) matters. */
#define NB(len_) ROW(len_, DP_BEV_NONE, 0, 1, 1, 1, 1, 1, 1, 1, N, N, N, N, N, N, N, N)

static const struct fused_row fused_tab[256] = {
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

/* All-ones or zero from a row mask byte. */
static inline uint64_t m64(int8_t m)
{
	return (uint64_t)(int64_t)m;
}

/* Big-endian loads; memcpy keeps them alignment-safe and lets gcc use movbe/bswap. */
static inline uint32_t be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

int dp_itch_decode_book_ev(const uint8_t *buf, size_t len, struct dp_book_ev *ev,
			   uint8_t *type_out)
{
	if (unlikely(len == 0))
		return -DP_ITCH_ERR_EMPTY;
	const uint8_t t = buf[0];
	const struct fused_row *r = &fused_tab[t];
	if (unlikely(r->len == 0))
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	if (unlikely(len != r->len))
		return -DP_ITCH_ERR_BAD_LENGTH;
	/* len is the spec length: every offset in the row is in bounds. */
	const uint8_t side = buf[r->o_side];
	if (unlikely(r->side_chk & (side != 'B') & (side != 'S')))
		return -DP_ITCH_ERR_BAD_FIELD;
	*type_out = t;

	/* Bytes 1..2 locate, 3..4 tracking, 5..10 timestamp. */
	const uint64_t hmask = m64(r->m_hdr);
	uint64_t stock;
	memcpy(&stock, buf + r->o_stock, 8);

	ev->kind = r->kind;
	ev->side = (char)(side & (uint8_t)r->m_side);
	ev->locate = (uint16_t)(be32(buf + 1) >> 16 & hmask);
	ev->qty = be32(buf + r->o_qty) & (uint32_t)m64(r->m_qty);
	ev->price = be32(buf + r->o_price) & (uint32_t)m64(r->m_price);
	ev->flag = (char)(buf[r->o_flag] & (uint8_t)r->m_flag);
	memset(ev->pad, 0, sizeof ev->pad);
	ev->ref = be64(buf + r->o_ref) & m64(r->m_ref);
	ev->ref2 = be64(buf + r->o_ref2) & m64(r->m_ref2);
	ev->ts = be64(buf + 3) & 0xffffffffffffULL & hmask; /* tracking masked off */
	stock &= m64(r->m_stock);
	memcpy(ev->stock, &stock, 8);
	return r->kind != DP_BEV_NONE;
}
