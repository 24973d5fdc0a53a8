/*
 * fuzz_book.c - libFuzzer harness for the L3 book alone: the input is a
 * stream of book events, made from fixed 12-byte records, applied to a
 * small dp_book through all three ways the dataplane applies them
 * (dp_book_apply, dp_book_prefetch_apply with a hint for a later event,
 * dp_book_apply_burst). Where fuzz_feed_book spends its input getting
 * frames past the packet checks, this one reaches the book's own corners
 * quickly: prices at both ends of the key space and on and off the cent
 * grid (price ladders and their window moves), a ladder pool of 1 to 8
 * for 16 symbols (sides without one), references reused, unknown and
 * duplicated, and pools small enough to run full. dp_book_check must hold
 * every 64 events and at the end.
 *
 * Input: byte 0 picks the ladder pool and the reference window; then
 * records of 12 bytes:
 *   0 kind (mod 9: none, add, exec, exec_px, cancel, delete, replace,
 *     directory, trading state)   1 locate (mod 20: 16..19 are refused)
 *   2 side (B, S or anything)     3 price mode (low 2 bits) + apply mode
 *   4..7 price bits               8..9 quantity      10..11 reference pick
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REC 12
#define BURST 24

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A price from a mode: near a cent-grid base, raw, near 0, near the top of the key space. */
static uint32_t price_of(unsigned mode, uint32_t v)
{
	switch (mode & 3) {
	case 0:
		return 1000000u + (uint32_t)(int32_t)(int16_t)(v & 0xFFFF) * 100u;
	case 1:
		return v;
	case 2:
		return v & 0x3FFF;
	default:
		return UINT32_MAX - (v & 0x3FFF);
	}
}

/* References: a small pool (reuse, duplicates, unknowns) or fresh rising ones. */
static uint64_t ref_of(uint16_t pick, uint64_t *next)
{
	if (pick & 0x8000)
		return ++*next;
	return (uint64_t)(pick & 0xFF) + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ladders[4] = { 0, 1, 3, 8 };
	static struct dp_book_ev burst[BURST];
	struct dp_book *b;

	if (size < 1)
		return 0;
	struct dp_book_cfg cfg = {
		.max_orders = 96,
		.max_levels = 48,
		.max_symbols = 16,
		.ref_window = data[0] & 4 ? 16 : 0,
		.ladders = ladders[data[0] & 3],
	};
	if (dp_book_create(&b, &cfg, NULL) != 0)
		abort();

	uint64_t next_ref = 1000;
	uint32_t nb = 0, n = 0;
	struct dp_book_ev prev = { 0 };
	for (size_t off = 1; off + REC <= size; off += REC, n++) {
		const uint8_t *r = data + off;
		struct dp_book_ev ev;
		memset(&ev, 0, sizeof ev);
		ev.kind = (uint8_t)(r[0] % 9);
		ev.locate = (uint16_t)(r[1] % 20);
		ev.side = (char)(r[2] & 0x80 ? r[2] : (r[2] & 1 ? 'S' : 'B'));
		ev.price = price_of(r[3], rd32(r + 4));
		ev.qty = (uint32_t)r[8] << 8 | r[9];
		uint16_t pick = (uint16_t)(r[10] << 8 | r[11]);
		ev.ref = ref_of(pick, &next_ref);
		ev.ref2 = ref_of((uint16_t)(pick ^ 0x8000), &next_ref);
		memcpy(ev.stock, "FUZZ    ", sizeof ev.stock);
		ev.flag = 'T';

		switch (r[3] >> 2 & 3) {
		case 0:
			dp_book_apply(b, &ev);
			break;
		case 1:
			/* The hint is for another event: a stale or useless hint must never matter. */
			dp_book_prefetch_apply(b, &prev, &ev);
			break;
		default:
			burst[nb++] = ev;
			break;
		}
		if (nb == BURST || (nb && (r[3] & 0x40))) {
			dp_book_apply_burst(b, burst, nb);
			nb = 0;
		}
		prev = ev;
		if (n % 64 == 63 && dp_book_check(b) != 0)
			abort();
	}
	dp_book_apply_burst(b, burst, nb);
	if (dp_book_check(b) != 0)
		abort();

	/* Depth of every symbol, merged from ladder and array: best first, no empty level. */
	for (uint16_t loc = 0; loc < 18; loc++) {
		for (int side = DP_BOOK_BID; side <= DP_BOOK_ASK; side++) {
			struct dp_book_level lv[48];
			int k = dp_book_depth(b, loc, side, lv, 48);
			for (int i = 0; i < k; i++) {
				if (lv[i].qty == 0 || lv[i].orders == 0)
					abort();
				if (i && (side == DP_BOOK_BID ? lv[i].price >= lv[i - 1].price
							      : lv[i].price <= lv[i - 1].price))
					abort();
			}
		}
	}
	dp_book_destroy(b);
	return 0;
}
