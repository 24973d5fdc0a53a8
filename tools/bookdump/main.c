/*
 * mgw-bookdump - build the L3 books offline from a BinaryFILE and print
 * them in the same JSON shape as `mgwctl book SYMBOL --json`, one symbol
 * per line. The end-to-end tests compare what the running dataplane shows
 * (feed received as MoldUDP64 frames through a DPDK port) with this
 * (the generator's BinaryFILE of the same stream, read directly).
 *
 *   mgw-bookdump FILE [--top N] [--symbol S]... [--depth D] [--stats]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_book.h"
#include "dp_itch.h"

#define MAX_SYMS 256
#define MAX_DEPTH 64

static void usage(FILE *f)
{
	fprintf(f, "usage: mgw-bookdump FILE [--top N] [--symbol S]... [--depth D] [--stats]\n"
		   "  FILE        NASDAQ BinaryFILE (2-byte big-endian length before each message)\n"
		   "  --top N     the N symbols with the most book events (default 10 if no --symbol)\n"
		   "  --symbol S  this symbol (repeatable)\n"
		   "  --depth D   levels per side, 1..64 (default 10)\n"
		   "  --stats     also print one line of book counters\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_levels(const struct dp_book_level *lv, int n)
{
	for (int i = 0; i < n; i++)
		printf("%s{\"price\":%u,\"qty\":%" PRIu64 ",\"orders\":%u}", i ? "," : "", lv[i].price,
		       lv[i].qty, lv[i].orders);
}

static void print_symbol(const struct dp_book *b, uint16_t loc, int depth)
{
	struct dp_book_symbol_info info;
	if (dp_book_symbol(b, loc, &info) != 0)
		return;
	char st[2] = {info.trading_state ? info.trading_state : ' ', 0};
	struct dp_book_level bids[MAX_DEPTH], asks[MAX_DEPTH];
	int nb = dp_book_depth(b, loc, DP_BOOK_BID, bids, depth);
	int na = dp_book_depth(b, loc, DP_BOOK_ASK, asks, depth);
	printf("{\"symbol\":");
	json_str(info.stock);
	printf(",\"locate\":%u,\"trading_state\":", loc);
	json_str(st);
	printf(",\"orders\":%u,\"bid_levels\":%u,\"ask_levels\":%u,\"events\":%" PRIu64 ",\"bids\":[",
	       info.orders, info.bid_levels, info.ask_levels, info.events);
	print_levels(bids, nb);
	printf("],\"asks\":[");
	print_levels(asks, na);
	printf("]}\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	const char *syms[MAX_SYMS];
	int nsyms = 0, top = -1, depth = 10, stats = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--top") && i + 1 < argc) {
			top = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--symbol") && i + 1 < argc) {
			if (nsyms == MAX_SYMS) {
				fprintf(stderr, "mgw-bookdump: at most %d --symbol\n", MAX_SYMS);
				return 2;
			}
			syms[nsyms++] = argv[++i];
		} else if (!strcmp(argv[i], "--depth") && i + 1 < argc) {
			depth = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--stats")) {
			stats = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!path || depth < 1 || depth > MAX_DEPTH || top > MAX_SYMS) {
		usage(stderr);
		return 2;
	}
	if (top < 0)
		top = nsyms ? 0 : 10;

	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "mgw-bookdump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	const uint8_t *buf = NULL;
	if (st.st_size > 0) {
		buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (buf == MAP_FAILED) {
			fprintf(stderr, "mgw-bookdump: mmap %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	close(fd);

	struct dp_book_cfg cfg = {.max_orders = 1u << 22, .max_levels = 1u << 20, .max_symbols = 65536};
	struct dp_book *b;
	int rc = dp_book_create(&b, &cfg, NULL);
	if (rc) {
		fprintf(stderr, "mgw-bookdump: cannot create book: %s\n", strerror(-rc));
		return 1;
	}
	size_t off = 0, len = (size_t)st.st_size;
	const uint8_t *msg;
	size_t mlen;
	uint64_t errors = 0, msgs = 0;
	while ((rc = dp_itch_file_next(buf, len, &off, &msg, &mlen)) == 1) {
		struct dp_itch_msg m;
		struct dp_book_ev ev;
		msgs++;
		if (dp_itch_decode(msg, mlen, &m) != 0) {
			errors++;
			continue;
		}
		if (dp_book_ev_from_itch(&m, &ev))
			dp_book_apply(b, &ev);
	}
	if (rc < 0)
		errors++;

	for (int i = 0; i < nsyms; i++) {
		int loc = dp_book_find_symbol(b, syms[i]);
		if (loc < 0) {
			fprintf(stderr, "mgw-bookdump: symbol %s not in the books\n", syms[i]);
			continue;
		}
		print_symbol(b, (uint16_t)loc, depth);
	}
	if (top > 0) {
		uint16_t locs[MAX_SYMS];
		int n = dp_book_busiest(b, locs, top);
		for (int i = 0; i < n; i++)
			print_symbol(b, locs[i], depth);
	}
	if (stats) {
		const struct dp_book_stats *s = dp_book_stats(b);
		printf("{\"stats\":{\"messages\":%" PRIu64 ",\"decode_errors\":%" PRIu64
		       ",\"add\":%" PRIu64 ",\"exec\":%" PRIu64 ",\"exec_px\":%" PRIu64 ",\"cancel\":%" PRIu64
		       ",\"delete\":%" PRIu64 ",\"replace\":%" PRIu64 ",\"directory\":%" PRIu64
		       ",\"trading_state\":%" PRIu64 ",\"unknown_ref\":%" PRIu64 ",\"duplicate_ref\":%" PRIu64
		       ",\"overfill\":%" PRIu64 ",\"live_orders\":%u,\"live_levels\":%u}}\n",
		       msgs, errors, s->events[DP_BEV_ADD], s->events[DP_BEV_EXEC],
		       s->events[DP_BEV_EXEC_PX], s->events[DP_BEV_CANCEL], s->events[DP_BEV_DELETE],
		       s->events[DP_BEV_REPLACE], s->events[DP_BEV_DIRECTORY],
		       s->events[DP_BEV_TRADING_STATE], s->unknown_ref, s->duplicate_ref, s->overfill,
		       dp_book_live_orders(b), dp_book_live_levels(b));
	}
	dp_book_destroy(b);
	return errors ? 1 : 0;
}
