/*
 * bench_book.c - mgw-bench-book: time ITCH decode + book apply on one core.
 *
 *   mgw-bench-book FILE [--prefetch K] [--max-orders N] [--max-levels N] [--no-huge]
 *                       [--decode-only] [--old-decode]
 *
 * FILE is a NASDAQ BinaryFILE (2-byte big-endian length before each
 * message), mapped and faulted in before the clock starts so the figure is
 * the cost of dp_itch_decode + dp_book_ev_from_itch + dp_book_apply per
 * message, nothing else. The loop runs once over the whole file. Messages are
 * decoded by the fused dp_itch_decode_book_ev; --old-decode uses the general
 * codec path dp_itch_decode + dp_book_ev_from_itch instead, for comparison.
 *
 * --prefetch K (default 16; 0 = off) is a software pipeline: message i+K is
 * decoded and dp_book_prefetch()ed while message i is applied, so the hash
 * slot of i is already in cache when it is applied. The book's memory comes
 * from mmap with MADV_HUGEPAGE (transparent huge pages), the closest thing
 * to the hugepage memory the dataplane gets from DPDK; --no-huge uses the
 * default calloc instead. --decode-only skips dp_book_apply (and the
 * prefetch) to show what decoding and mapping alone cost.
 *
 * Prints messages, seconds, ns/message, messages/s, TSC cycles/message,
 * book memory, peak RSS, and the book's counters. Exit 1 if the stream had
 * decode errors or the book saw unknown or duplicate references (a generated
 * stream must have none), 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "dp_book.h"
#include "dp_book_fused.h"
#include "dp_itch.h"

#define RING 128 /* event pipeline slots; K must stay below */
#define BURST_MAX 4096 /* --burst limit */

/* Book memory from anonymous mmap, asking for transparent huge pages. */
static void *huge_zalloc(size_t size, void *arg)
{
	(void)arg;
	size_t len = (size + sizeof(size_t) + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	/* The length sits in the first 64 bytes so that free() can unmap. */
	*(size_t *)p = len;
	return (uint8_t *)p + 64;
}

static void huge_free(void *p, void *arg)
{
	(void)arg;
	if (!p)
		return;
	uint8_t *base = (uint8_t *)p - 64;
	munmap(base, *(size_t *)base);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * BinaryFILE framing (what dp_itch_file_next does): the message at *off,
 * 2-byte big-endian length first. Returns 1 with *msg and *mlen set and *off
 * moved on, 0 at a clean end, -DP_ITCH_ERR_TRUNCATED for a cut length or
 * body. Inline so that the loops stay straight-line.
 */
static inline __attribute__((always_inline)) int frame_next(const uint8_t *buf, size_t len,
							    size_t *off, const uint8_t **msg,
							    size_t *mlen)
{
	size_t o = *off;
	if (o >= len)
		return 0;
	size_t left = len - o, n;
	if (left < 2 || left - 2 < (n = (size_t)buf[o] << 8 | buf[o + 1]))
		return -DP_ITCH_ERR_TRUNCATED;
	*msg = buf + o + 2;
	*mlen = n;
	*off = o + 2 + n;
	return 1;
}

/* The most bytes one frame can take: the length field and 65535 bytes. */
#define FRAME_MAX (2 + 65535)

/*
 * How many frames from off can be read with no bounds check, at most want:
 * each takes at most FRAME_MAX bytes (counted as 2^17, a shift, not a
 * divide). So all but the last 128 KiB of the file go through the unchecked
 * loop below, with one test per message (the batch count); the rest through
 * frame_next(), with its exact truncation checks.
 */
static inline size_t frames_safe(size_t len, size_t off, size_t want)
{
	_Static_assert(FRAME_MAX <= 1 << 17, "the shift bounds a frame");
	size_t n = (len - off) >> 17;
	return n < want ? n : want;
}

enum run_mode {
	RUN_PIPE,   /* decode i, hint i and apply i - k (dp_book_prefetch_apply) */
	RUN_BURST,  /* decode into an array, dp_book_apply_burst when full */
	RUN_DECODE, /* --decode-only: decode into the ring, nothing else */
};

/*
 * Decode one message into *p; on a book event, apply it (RUN_PIPE: apply
 * the one k before and hint this one) and return p + 1, else return p.
 */
static inline __attribute__((always_inline)) struct dp_book_ev *
run_one(enum run_mode mode, const uint8_t *msg, size_t mlen, struct dp_book_ev *p,
	struct dp_book *b, uint32_t k, uint64_t *err)
{
	uint8_t type;
	int drc = dp_itch_decode_book_ev_inl(msg, mlen, p, &type);
	if (__builtin_expect(drc <= 0, 0)) {
		*err += drc < 0;
		return p;
	}
	if (mode == RUN_PIPE)
		dp_book_prefetch_apply(b, p, p - k);
	return p + 1;
}

/*
 * The fast modes (fused decoder; no per-message test of the options), one
 * loop shape for all three: events go to consecutive slots from p up to
 * end, and a batch of messages never outruns end (a message makes at most
 * one event), so there is no per-message test of the slot either. At end:
 * RUN_PIPE copies its k pending events back to the front (the ring is
 * linear, so the event k back is always p - k), RUN_BURST applies the
 * burst, RUN_DECODE starts over. Counts as the general loop in main();
 * returns frc (0 clean end, < 0 truncated) and the number of book events,
 * all of them applied (RUN_DECODE: decoded) on return.
 */
static inline __attribute__((always_inline)) int
run_fast(enum run_mode mode, const uint8_t *buf, size_t len, struct dp_book *b, uint32_t k,
	 uint32_t nb, struct dp_book_ev *ring, uint64_t *msgs_io, uint64_t *err_io, uint32_t *w_io)
{
	uint64_t msgs = 0, err = 0, done = 0; /* done: events whose slots were recycled */
	size_t off = 0, mlen;
	const uint8_t *msg;
	int frc = 0;
	struct dp_book_ev *p = ring, *const start = mode == RUN_PIPE ? ring + k : ring;
	struct dp_book_ev *const end = ring + (mode == RUN_BURST ? nb : RING);

	if (mode == RUN_PIPE) {
		/* Warm-up: the first k events are only hinted. */
		while (p < start && (frc = frame_next(buf, len, &off, &msg, &mlen)) > 0) {
			msgs++;
			uint8_t type;
			int drc = dp_itch_decode_book_ev_inl(msg, mlen, p, &type);
			if (drc <= 0) {
				err += drc < 0;
				continue;
			}
			dp_book_prefetch(b, p);
			p++;
		}
		if (p < start)
			goto out;
	}
	for (;;) {
		size_t m = frames_safe(len, off, (size_t)(end - p));
		if (__builtin_expect(m != 0, 1)) {
			const uint8_t *q = buf + off;
			msgs += m;
			do {
				size_t n = (size_t)q[0] << 8 | q[1];
				p = run_one(mode, q + 2, n, p, b, k, &err);
				q += 2 + n;
			} while (--m);
			off = (size_t)(q - buf);
		} else {
			frc = frame_next(buf, len, &off, &msg, &mlen);
			if (frc <= 0)
				break;
			msgs++;
			p = run_one(mode, msg, mlen, p, b, k, &err);
		}
		if (p == end) {
			done += (uint64_t)(end - start);
			if (mode == RUN_PIPE)
				memcpy(ring, end - k, k * sizeof *ring);
			else if (mode == RUN_BURST)
				dp_book_apply_burst(b, ring, nb);
			p = start;
		}
	}
out:
	/* The events still pending: the last k (fewer if the stream had fewer). */
	if (mode == RUN_PIPE)
		for (struct dp_book_ev *e = p < start ? ring : p - k; e < p; e++)
			dp_book_apply(b, e);
	else if (mode == RUN_BURST)
		dp_book_apply_burst(b, ring, (uint32_t)(p - ring));
	*msgs_io += msgs;
	*err_io += err;
	*w_io += (uint32_t)(done + (uint64_t)(p - ring));
	return frc;
}

/* The default mode: fused decoder, prefetch k > 0. */
static int run_pipelined(const uint8_t *buf, size_t len, struct dp_book *b, uint32_t k,
			 struct dp_book_ev *ring, uint64_t *msgs_io, uint64_t *err_io, uint32_t *w_io)
{
	return run_fast(RUN_PIPE, buf, len, b, k, 0, ring, msgs_io, err_io, w_io);
}

/*
 * --burst N: frame and decode N book events into an array, then apply
 * them with one dp_book_apply_burst call (the prefetch pipeline runs
 * inside it), as a ring consumer would.
 */
static int run_burst(const uint8_t *buf, size_t len, struct dp_book *b, uint32_t nb,
		     struct dp_book_ev *arr, uint64_t *msgs_io, uint64_t *err_io, uint32_t *w_io)
{
	return run_fast(RUN_BURST, buf, len, b, 0, nb, arr, msgs_io, err_io, w_io);
}

/* --decode-only with the fused decoder. */
static int run_decode(const uint8_t *buf, size_t len, struct dp_book_ev *ring, uint64_t *msgs_io,
		      uint64_t *err_io, uint32_t *w_io)
{
	return run_fast(RUN_DECODE, buf, len, NULL, 0, 0, ring, msgs_io, err_io, w_io);
}

static int usage(void)
{
	fprintf(stderr, "usage: mgw-bench-book FILE [--burst N (1..%d) | --prefetch K (0..%d)] "
			"[--max-orders N] [--max-levels N] [--no-huge] [--decode-only] [--old-decode]\n",
		BURST_MAX, RING - 1);
	return 2;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || !*s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	uint32_t k = 16, burst = 0, max_orders = 2000000, max_levels = 1u << 20;
	int huge = 1, decode_only = 0, old_decode = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prefetch") && i + 1 < argc) {
			if (parse_u32(argv[++i], &k) || k >= RING)
				return usage();
		} else if (!strcmp(argv[i], "--burst") && i + 1 < argc) {
			if (parse_u32(argv[++i], &burst) || burst == 0 || burst > BURST_MAX)
				return usage();
		} else if (!strcmp(argv[i], "--max-orders") && i + 1 < argc) {
			if (parse_u32(argv[++i], &max_orders))
				return usage();
		} else if (!strcmp(argv[i], "--max-levels") && i + 1 < argc) {
			if (parse_u32(argv[++i], &max_levels))
				return usage();
		} else if (!strcmp(argv[i], "--decode-only")) {
			decode_only = 1;
		} else if (!strcmp(argv[i], "--old-decode")) {
			old_decode = 1;
		} else if (!strcmp(argv[i], "--no-huge")) {
			huge = 0;
		} else if (argv[i][0] != '-' && !path) {
			path = argv[i];
		} else {
			return usage();
		}
	}
	if (!path)
		return usage();

	int fd = open(path, O_RDONLY);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		fprintf(stderr, "mgw-bench-book: %s: %s\n", path, strerror(errno));
		return 1;
	}
	size_t len = (size_t)sb.st_size;
	const uint8_t *buf = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0) : NULL;
	if (len && buf == MAP_FAILED) {
		fprintf(stderr, "mgw-bench-book: mmap %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(fd);

	struct dp_book_cfg cfg = { max_orders, max_levels, 65536 };
	struct dp_mem hm = { huge_zalloc, huge_free, NULL };
	struct dp_book *b;
	int rc = dp_book_create(&b, &cfg, huge ? &hm : NULL);
	if (rc) {
		fprintf(stderr, "mgw-bench-book: dp_book_create: %s\n", strerror(-rc));
		return 1;
	}

	static struct dp_book_ev ring[RING];
	uint64_t msgs = 0, decode_err = 0;
	uint32_t w = 0, r = 0; /* events written (decoded) and read (applied) */
	size_t off = 0;
	const uint8_t *msg;
	size_t mlen;
	int frc;

	double t0 = now();
	uint64_t c0 = __rdtsc();
	static struct dp_book_ev arr[BURST_MAX];
	if (burst && !old_decode && !decode_only) {
		frc = run_burst(buf, len, b, burst, arr, &msgs, &decode_err, &w);
		r = w;
	} else if (decode_only && !old_decode) {
		frc = run_decode(buf, len, ring, &msgs, &decode_err, &w);
		r = w;
	} else if (k && !old_decode && !decode_only) {
		frc = run_pipelined(buf, len, b, k, ring, &msgs, &decode_err, &w);
		r = w;
	}
	else
	while ((frc = frame_next(buf, len, &off, &msg, &mlen)) > 0) {
		msgs++;
		struct dp_book_ev *ev = &ring[w & (RING - 1)];
		int drc;
		if (old_decode) {
			struct dp_itch_msg m;
			drc = dp_itch_decode(msg, mlen, &m);
			if (drc == 0)
				drc = dp_book_ev_from_itch(&m, ev);
		} else {
			uint8_t type;
			drc = dp_itch_decode_book_ev_inl(msg, mlen, ev, &type);
		}
		if (drc <= 0) {
			decode_err += drc < 0;
			continue;
		}
		w++;
		if (decode_only) {
			r++;
		} else if (k) {
			dp_book_prefetch(b, ev);
			if (w - r > k) {
				dp_book_apply(b, &ring[r & (RING - 1)]);
				r++;
			}
		} else {
			dp_book_apply(b, ev);
			r++;
		}
	}
	while (r != w) {
		dp_book_apply(b, &ring[r & (RING - 1)]);
		r++;
	}
	uint64_t c1 = __rdtsc();
	double t1 = now();

	double secs = t1 - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	const struct dp_book_stats *st = dp_book_stats(b);

	printf("file            %s (%zu bytes)%s\n", path, len, frc < 0 ? " TRUNCATED" : "");
	printf("messages        %" PRIu64 " (book events %u, decode errors %" PRIu64 ")\n", msgs, w,
	       decode_err);
	printf("seconds         %.3f\n", secs);
	printf("ns/message      %.1f\n", msgs ? secs * 1e9 / (double)msgs : 0.0);
	printf("messages/s      %.0f\n", secs > 0 ? (double)msgs / secs : 0.0);
	printf("tsc/message     %.1f\n", msgs ? (double)(c1 - c0) / (double)msgs : 0.0);
	if (burst && !old_decode && !decode_only)
		printf("prefetch        dp_book_apply_burst, bursts of %u, lookahead %d%s\n", burst,
		       DP_BOOK_LOOKAHEAD, huge ? ", book on THP (madvise)" : ", book on calloc");
	else
		printf("prefetch        %u%s%s\n", k, huge ? ", book on THP (madvise)" : ", book on calloc",
		       decode_only ? ", DECODE ONLY (no apply)" : "");
	printf("decoder         %s\n", old_decode ? "dp_itch_decode + dp_book_ev_from_itch (--old-decode)"
						   : "dp_itch_decode_book_ev (fused)");
	printf("book cfg        max_orders %u max_levels %u max_symbols %u\n", cfg.max_orders,
	       cfg.max_levels, cfg.max_symbols);
	printf("book memory     %.1f MiB\n", (double)dp_book_mem_size(&cfg) / (1 << 20));
	printf("peak RSS        %.1f MiB (file mapping included)\n", (double)ru.ru_maxrss / 1024);
	printf("live            %u orders, %u levels\n", dp_book_live_orders(b), dp_book_live_levels(b));
	uint32_t ovf_live;
	uint64_t ovf_moved;
	dp_book_ref_overflow(b, &ovf_live, &ovf_moved);
	printf("ref overflow    %u live, %llu moved (window: 4 x max_orders)\n", ovf_live,
	       (unsigned long long)ovf_moved);
	uint32_t lad_used, lad_total;
	uint64_t rebases;
	dp_book_ladders(b, &lad_used, &lad_total, &rebases);
	printf("ladders         %u of %u given to sides, %llu rebases\n", lad_used, lad_total,
	       (unsigned long long)rebases);
	printf("events          add %" PRIu64 " exec %" PRIu64 " exec_px %" PRIu64 " cancel %" PRIu64
	       " delete %" PRIu64 " replace %" PRIu64 " directory %" PRIu64 " state %" PRIu64 "\n",
	       st->events[DP_BEV_ADD], st->events[DP_BEV_EXEC], st->events[DP_BEV_EXEC_PX],
	       st->events[DP_BEV_CANCEL], st->events[DP_BEV_DELETE], st->events[DP_BEV_REPLACE],
	       st->events[DP_BEV_DIRECTORY], st->events[DP_BEV_TRADING_STATE]);
	printf("refusals        unknown_ref %" PRIu64 " duplicate_ref %" PRIu64 " overfill %" PRIu64
	       " bad_locate %" PRIu64 " bad_side %" PRIu64 " zero_qty %" PRIu64 " orders_full %" PRIu64
	       " levels_full %" PRIu64 "\n",
	       st->unknown_ref, st->duplicate_ref, st->overfill, st->bad_locate, st->bad_side,
	       st->zero_qty, st->orders_full, st->levels_full);

	int bad = decode_err || frc < 0 || st->unknown_ref || st->duplicate_ref || st->orders_full ||
		  st->levels_full;
	dp_book_destroy(b);
	if (len)
		munmap((void *)buf, len);
	return bad ? 1 : 0;
}
