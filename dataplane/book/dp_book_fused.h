/*
 * dp_book_fused.h - the fused ITCH 5.0 -> book event decoder as a static
 * inline function, for hot loops that want it inlined (framing + decode +
 * apply straight-line, no call). dp_itch_decode_book_ev() (dp_book.h) is the
 * same code out of line; the per-type table lives in dp_book_itch.c.
 */
#ifndef DP_BOOK_FUSED_H
#define DP_BOOK_FUSED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp_book.h"
#include "dp_be.h"
#include "dp_itch.h"

/*
 * One row per type byte. len = spec length (0 = not an ITCH type); kind =
 * book event kind (0 = not a book message); side_chk = the type has a B/S
 * side that the codec validates (A, F, P), at o_side. o_* = offset of each
 * field the event takes, m_* = 0xff if the type has it, else 0 (the read is
 * then at offset 1, in bounds for every type: the shortest is 12 bytes, and
 * masked away). Masks are bytes that sign-extend to all-ones or zero.
 */
struct dp_book_fused_row {
	uint8_t len, kind, side_chk;
	uint8_t o_qty, o_price, o_ref, o_ref2, o_stock, o_flag, o_side;
	int8_t m_hdr, m_qty, m_price, m_ref, m_ref2, m_stock, m_flag, m_side;
};

extern const struct dp_book_fused_row dp_book_fused_tab[256];

/* All-ones or zero from a row mask byte. */
static inline uint64_t dp_bf_m64(int8_t m)
{
	return (uint64_t)(int64_t)m;
}

/* Same contract as dp_itch_decode_book_ev() (dp_book.h). */
static inline __attribute__((always_inline)) int dp_itch_decode_book_ev_inl(const uint8_t *buf, size_t len,
					     struct dp_book_ev *ev, uint8_t *type_out)
{
	if (__builtin_expect(len == 0, 0))
		return -DP_ITCH_ERR_EMPTY;
	const uint8_t t = buf[0];
	const struct dp_book_fused_row *r = &dp_book_fused_tab[t];
	if (__builtin_expect(r->len == 0, 0))
		return -DP_ITCH_ERR_UNKNOWN_TYPE;
	if (__builtin_expect(len != r->len, 0))
		return -DP_ITCH_ERR_BAD_LENGTH;
	/* len is the spec length: every offset in the row is in bounds. */
	const uint8_t side = buf[r->o_side];
	if (__builtin_expect(r->side_chk & (side != 'B') & (side != 'S'), 0))
		return -DP_ITCH_ERR_BAD_FIELD;
	*type_out = t;

	/* Bytes 1..2 locate, 3..4 tracking, 5..10 timestamp. */
	const uint64_t hmask = dp_bf_m64(r->m_hdr);
	uint64_t stock;
	memcpy(&stock, buf + r->o_stock, 8);

	ev->kind = r->kind;
	ev->side = (char)(side & (uint8_t)r->m_side);
	ev->locate = (uint16_t)(dp_ld32(buf + 1) >> 16 & hmask);
	ev->qty = dp_ld32(buf + r->o_qty) & (uint32_t)dp_bf_m64(r->m_qty);
	ev->price = dp_ld32(buf + r->o_price) & (uint32_t)dp_bf_m64(r->m_price);
	ev->flag = (char)(buf[r->o_flag] & (uint8_t)r->m_flag);
	memset(ev->pad, 0, sizeof ev->pad);
	ev->ref = dp_ld64(buf + r->o_ref) & dp_bf_m64(r->m_ref);
	ev->ref2 = dp_ld64(buf + r->o_ref2) & dp_bf_m64(r->m_ref2);
	ev->ts = dp_ld64(buf + 3) & 0xffffffffffffULL & hmask; /* tracking masked off */
	stock &= dp_bf_m64(r->m_stock);
	memcpy(ev->stock, &stock, 8);
	return r->kind != DP_BEV_NONE;
}

#endif /* DP_BOOK_FUSED_H */
