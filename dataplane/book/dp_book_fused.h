/*
 * dp_book_fused.h - the fused ITCH 5.0 -> book event decoder as a static
 * inline function, for hot loops that want it inlined (framing + decode +
 * apply straight-line, no call). dp_itch_decode_book_ev() (dp_book.h) is the
 * same code out of line; the tables live in dp_book_itch.c.
 *
 * How it works: every byte of a dp_book_ev is either zero, the event kind, or
 * one byte of the message (a big-endian field is just its bytes in reverse
 * order). So once the checks pass, the event of a book message is three
 * 16-byte byte shuffles of three 16-byte windows of the message, with no
 * branch on the type:
 *
 *   W0 = buf[0..16), W1 = buf[o_w1..o_w1+16), W2 = buf[o_w2..o_w2+16)
 *   ev[ 0..16) = shuf(W0) | shuf(W1) | shuf(W2) | kind
 *   ev[16..32) = shuf(W1) | shuf(W2)
 *   ev[32..48) = shuf(W0) | shuf(W2)
 *
 * Each shuf takes a 16-byte control from the row of the event kind (pshufb:
 * a control byte 0..15 picks that byte of the window, 0x80 gives zero). The
 * windows of a type lie inside its spec length (19 bytes or more for a book
 * type), so with len == spec length nothing outside buf[0..len) is read.
 *
 * The checks, in the codec's order: empty, unknown type or wrong length
 * (one compare: len != 0 never equals the 0 of an unknown type), then one
 * table test that is nonzero for a bad A/F/P side and for every non-book
 * type; both of those go out of line (dp_bf_slow), so the inline path
 * handles exactly the valid book messages and always returns 1.
 *
 * Without SSSE3 (or with DP_BOOK_FUSED_PORTABLE defined before the include)
 * the shuffle is done bytewise in C with the same tables: same result.
 */
#ifndef DP_BOOK_FUSED_H
#define DP_BOOK_FUSED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dp_book.h"
#include "dp_itch.h"

#if defined(__SSSE3__) && !defined(DP_BOOK_FUSED_PORTABLE)
#include <tmmintrin.h>
#define DP_BF_SSSE3 1
#endif

/* dp_bf_type.chk bits, tested against tab->side_bad[buf[o_side]]. */
#define DP_BF_CHK_SIDE 0x01    /* A, F, P: buf[o_side] must be 'B' or 'S' */
#define DP_BF_CHK_NONBOOK 0x02 /* not a book message: always out of line */

/* One per type byte (8 bytes, so the index scales in the address). */
struct dp_bf_type {
	uint8_t chk;      /* DP_BF_CHK_* */
	uint8_t o_side;   /* side offset if DP_BF_CHK_SIDE, else 0 (the type byte) */
	uint8_t o_w1;     /* book types: window offsets, o_w + 16 <= len */
	uint8_t o_w2;
	uint8_t pad[2];
	uint16_t row_off; /* book types: offsetof(struct dp_bf_tab, rows[kind]) */
};

/* Shuffle controls of one event kind; the order is the code's, below. */
enum { DP_BF_C00, DP_BF_C01, DP_BF_C02, DP_BF_C11, DP_BF_C12, DP_BF_C20, DP_BF_C22, DP_BF_NCTL };

struct dp_bf_row {
	_Alignas(16) uint8_t ctl[DP_BF_NCTL][16]; /* DP_BF_Cxy: event chunk x from window y */
	_Alignas(16) uint8_t kind[16];            /* byte 0 = the kind, OR'd into chunk 0 */
};

/* All the tables in one object, so that one base register reaches them all. */
struct dp_bf_tab {
	struct dp_bf_type types[256]; /* at offset 0: &types[t] is base + 8 t */
	uint64_t len[256];            /* spec length, 0 = not an ITCH type; compared in place */
	/* DP_BF_CHK_NONBOOK always, | DP_BF_CHK_SIDE unless the byte is 'B' or 'S'. */
	uint8_t side_bad[256];
	struct dp_bf_row rows[DP_BEV__COUNT]; /* by kind; rows[DP_BEV_NONE] unused */
};

extern const struct dp_bf_tab dp_bf_tab;

/*
 * The rest, out of the hot path, once the length is right: a bad A/F/P side
 * (-DP_ITCH_ERR_BAD_FIELD) or a valid non-book message (0, *ev zeroed).
 */
int dp_bf_slow(const uint8_t *buf, struct dp_book_ev *ev);

/* len != the spec length of type t: -DP_ITCH_ERR_UNKNOWN_TYPE or -DP_ITCH_ERR_BAD_LENGTH. */
int dp_bf_len_err(uint8_t t);

#ifdef DP_BF_SSSE3
typedef __m128i dp_bf_v;

static inline dp_bf_v dp_bf_ld(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline dp_bf_v dp_bf_shuf(dp_bf_v w, const uint8_t *ctl)
{
	return _mm_shuffle_epi8(w, _mm_load_si128((const __m128i *)(const void *)ctl));
}

static inline dp_bf_v dp_bf_or(dp_bf_v a, dp_bf_v b)
{
	return _mm_or_si128(a, b);
}

static inline dp_bf_v dp_bf_or_mem(dp_bf_v a, const uint8_t *p)
{
	return _mm_or_si128(a, _mm_load_si128((const __m128i *)(const void *)p));
}

static inline void dp_bf_st(void *p, dp_bf_v v)
{
	_mm_storeu_si128((__m128i *)p, v);
}
#else
typedef struct {
	uint8_t b[16];
} dp_bf_v;

static inline dp_bf_v dp_bf_ld(const uint8_t *p)
{
	dp_bf_v v;
	memcpy(v.b, p, 16);
	return v;
}

static inline dp_bf_v dp_bf_shuf(dp_bf_v w, const uint8_t *ctl)
{
	dp_bf_v v;
	for (int i = 0; i < 16; i++)
		v.b[i] = ctl[i] & 0x80 ? 0 : w.b[ctl[i] & 15];
	return v;
}

static inline dp_bf_v dp_bf_or(dp_bf_v a, dp_bf_v b)
{
	for (int i = 0; i < 16; i++)
		a.b[i] |= b.b[i];
	return a;
}

static inline dp_bf_v dp_bf_or_mem(dp_bf_v a, const uint8_t *p)
{
	for (int i = 0; i < 16; i++)
		a.b[i] |= p[i];
	return a;
}

static inline void dp_bf_st(void *p, dp_bf_v v)
{
	memcpy(p, v.b, 16);
}
#endif

/* Same contract as dp_itch_decode_book_ev() (dp_book.h). */
static inline __attribute__((always_inline)) int
dp_itch_decode_book_ev_inl(const uint8_t *buf, size_t len, struct dp_book_ev *ev, uint8_t *type_out)
{
	const struct dp_bf_tab *tab = &dp_bf_tab;
	if (__builtin_expect(len == 0, 0))
		return -DP_ITCH_ERR_EMPTY;
	const uint8_t t = buf[0];
	if (__builtin_expect(len != tab->len[t], 0))
		return dp_bf_len_err(t);
	const struct dp_bf_type *ty = &tab->types[t];
	/* len is the spec length: o_side and both windows are in bounds. */
	if (__builtin_expect(tab->side_bad[buf[ty->o_side]] & ty->chk, 0)) {
		int rc = dp_bf_slow(buf, ev);
		if (rc == 0)
			*type_out = t;
		return rc;
	}
	*type_out = t;

	const struct dp_bf_row *row =
		(const struct dp_bf_row *)(const void *)((const uint8_t *)tab + ty->row_off);
	const dp_bf_v w0 = dp_bf_ld(buf);
	const dp_bf_v w1 = dp_bf_ld(buf + ty->o_w1);
	const dp_bf_v w2 = dp_bf_ld(buf + ty->o_w2);
	dp_bf_v c0 = dp_bf_or(dp_bf_shuf(w0, row->ctl[DP_BF_C00]), dp_bf_shuf(w1, row->ctl[DP_BF_C01]));
	c0 = dp_bf_or(c0, dp_bf_shuf(w2, row->ctl[DP_BF_C02]));
	c0 = dp_bf_or_mem(c0, row->kind);
	const dp_bf_v c1 = dp_bf_or(dp_bf_shuf(w1, row->ctl[DP_BF_C11]), dp_bf_shuf(w2, row->ctl[DP_BF_C12]));
	const dp_bf_v c2 = dp_bf_or(dp_bf_shuf(w0, row->ctl[DP_BF_C20]), dp_bf_shuf(w2, row->ctl[DP_BF_C22]));
	_Static_assert(sizeof *ev == 48, "three 16-byte chunks");
	dp_bf_st((uint8_t *)ev, c0);
	dp_bf_st((uint8_t *)ev + 16, c1);
	dp_bf_st((uint8_t *)ev + 32, c2);
	return 1;
}

#endif /* DP_BOOK_FUSED_H */
