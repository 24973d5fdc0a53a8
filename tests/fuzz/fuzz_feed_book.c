/*
 * fuzz_feed_book.c - libFuzzer harness for the whole rx+book path: the
 * input is a sequence of frames (2-byte big-endian length + frame bytes),
 * each handed to dp_feed_frame() exactly as the rx lcore does, and every
 * resulting book event applied to a small dp_book. After the input the
 * book's invariants must hold (dp_book_check) and the feed counters must be
 * consistent. Hostile bytes may be dropped or refused; they must never
 * crash, read out of bounds or corrupt the book.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"
#include "dp_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_book *book;
	static uint64_t ctr[MGW_CTR__COUNT];
	static struct dp_feed feed;
	static struct dp_book_ev evs[4700];

	if (book)
		dp_book_destroy(book);
	/* Tiny pools so exhaustion paths are reachable too. */
	struct dp_book_cfg cfg = {.max_orders = 64, .max_levels = 32, .max_symbols = 16};
	if (dp_book_create(&book, &cfg, NULL) != 0)
		abort();
	struct ctl_feed_cfg fc = {.udp_ports = {26477}, .n_udp_ports = 1};
	memset(ctr, 0, sizeof(ctr));
	dp_feed_init(&feed, &fc, ctr);

	size_t off = 0;
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		/* Exact-size copy so a sanitizer sees any over-read. */
		uint8_t *frame = malloc(len ? len : 1);
		if (!frame)
			abort();
		memcpy(frame, data + off, len);
		off += len;
		uint32_t cap = dp_feed_max_events((uint32_t)len);
		if (cap > sizeof(evs) / sizeof(evs[0]))
			abort();
		uint32_t n = dp_feed_frame(&feed, frame, (uint32_t)len, evs, cap);
		free(frame);
		for (uint32_t i = 0; i < n; i++)
			dp_book_apply(book, &evs[i]);
	}
	if (dp_book_check(book) != 0)
		abort();
	if (ctr[MGW_CTR_FEED_EV_OVERFLOW] != 0)
		abort();
	return 0;
}
