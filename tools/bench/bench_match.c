/*
 * bench_match.c - mgw-bench-match: the client matching engine (and the
 * pre-trade risk checks in front of it) on one core, with a realistic mix.
 *
 * The message stream is made in memory before anything is timed, by
 * driving a generator engine (identical, deterministic) so that cancels and
 * replaces name orders that are really live at that point: ~50% new limit
 * orders (a fifth of them marketable: at or through the opposite best,
 * half DAY half IOC), 35% cancels of live orders, 15% replaces (a third
 * quantity down, the rest a price move), over --symbols symbols, fixed
 * seed. Each symbol gets a reference BBO that wanders a little.
 *
 * Then, on fresh engines: pass 1 times the whole loop with CLOCK_MONOTONIC
 * (throughput); pass 2 reads the TSC around every message into a
 * log-linear histogram (latency percentiles, ns via the TSC frequency
 * measured against CLOCK_MONOTONIC). Per message the work is what the
 * match lcore does: dp_risk_match (risk check of a NEW/REPLACE, the engine,
 * every report back to risk; + dp_risk_match_resume if it paused), with
 * the hints of the match lcore: dp_risk_match_prefetch_early 2 x
 * --prefetch messages ahead and dp_risk_match_prefetch_late --prefetch
 * ahead (--prefetch-stages 1: dp_risk_prefetch and dp_match_prefetch
 * --prefetch ahead). --no-risk: dp_match_process with the engine's own
 * two stages, dp_match_prefetch_early and dp_match_prefetch_late.
 *
 * --turns IN OUT --chunk N: an A/B comparison of two builds that this
 * machine's noise (one build ran 96 to 190 ns a message within an hour)
 * cannot hide. Two processes on the same core take turns through two
 * FIFOs: each waits for a byte on IN, times its next N messages of pass 1,
 * writes a byte to OUT. Chunk i of A and chunk i of B are the same
 * messages run a few milliseconds apart, so whatever the host does to the
 * core is nearly the same for both; tools/bench/ab-match.sh runs it and
 * compares chunk by chunk. Pass 2 is skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "dp_match.h"
#include "dp_risk.h"

#define NACCT 100
#define NSESS 16
#define CAP 256

static int match_pf = 1; /* --no-match-prefetch: 0 */
static int stages = 2;   /* --prefetch-stages: 1 (one hint pf ahead) or 2 (early 2 pf, late pf) */

static uint64_t rs = 0x1234567887654321ULL;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11);
}
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((uint64_t)rnd() * n) >> 32);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- log-linear histogram of TSC cycles: 16 sub-buckets per power of two ---- */
#define HBUCKETS (32 + 59 * 16)
static uint64_t hist[HBUCKETS];

static unsigned hidx(uint64_t v)
{
	if (v < 32)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	return 32 + (e - 5) * 16 + (unsigned)((v >> (e - 4)) & 15);
}

/* Upper edge of a bucket (the value reported: never flatters). */
static uint64_t hupper(unsigned i)
{
	if (i < 32)
		return i;
	unsigned e = (i - 32) / 16 + 5, sub = (i - 32) % 16;
	return ((uint64_t)(17 + sub) << (e - 4)) - 1;
}

static uint64_t hpct(uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total);
	if (want >= total)
		want = total - 1;
	uint64_t acc = 0;
	for (unsigned i = 0; i < HBUCKETS; i++) {
		acc += hist[i];
		if (acc > want)
			return hupper(i);
	}
	return 0;
}

/* ---- the stream ---- */
struct item {
	struct dp_order_msg msg;
	struct dp_ref_px ref;
};

struct live {
	uint64_t order_id;
	uint64_t cl;
	uint32_t session, price, qty, cum;
	uint16_t symbol;
	char side;
};

static struct live *lv;     /* live orders of the generator */
static uint32_t nlv;
static uint32_t *pos_of;    /* order_id -> index in lv + 1 */
static uint64_t max_oid;

static void lv_apply(const struct dp_exec_report *r)
{
	uint64_t id = r->order_id;
	if (!id || id >= max_oid)
		return;
	if (r->kind == DP_EXEC_ACCEPTED && r->leaves_qty) {
		lv[nlv] = (struct live){ id, r->cl_ord_id, r->session, 0, r->leaves_qty, 0, r->symbol, r->side };
		pos_of[id] = ++nlv;
		return;
	}
	uint32_t p = pos_of[id];
	if (!p)
		return;
	struct live *l = &lv[p - 1];
	bool gone = r->kind == DP_EXEC_CANCELLED || (r->kind == DP_EXEC_FILL && r->leaves_qty == 0);
	if (gone) {
		pos_of[id] = 0;
		lv[p - 1] = lv[--nlv];
		if (p - 1 < nlv)
			pos_of[lv[p - 1].order_id] = p;
		return;
	}
	l->cl = r->cl_ord_id;
	l->cum = r->cum_qty;
	l->qty = r->cum_qty + r->leaves_qty;
	if (r->kind == DP_EXEC_REPLACED)
		l->price = r->last_px;
}

/*
 * Memory of the timed engine and risk. Default: anonymous mmap with
 * MADV_HUGEPAGE (transparent huge pages) and every page written once at
 * create, the closest thing to the pre-faulted hugepage memory the
 * dataplane gets from rte_zmalloc_socket; so neither page faults nor 4 KiB
 * TLB misses are in the timing. --plain-mem: what the libraries do without
 * a hook (risk: calloc, faulted on first touch during the run) and the
 * engine on aligned_alloc + memset (touched, 4 KiB pages).
 */
#define HUGE_SZ ((size_t)2 << 20)
static void *huge_zalloc(size_t size, void *arg)
{
	(void)arg;
	size_t len = (size + 64 + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
	/* 2 MiB-aligned start, so the kernel can back it with whole huge pages. */
	uint8_t *raw = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	size_t tail = (size_t)(raw + len + HUGE_SZ - (p + len));
	if (tail)
		munmap(p + len, tail);
	madvise(p, len, MADV_HUGEPAGE);
	/* Pre-fault: write every page (anonymous memory is already zero). */
	long pg = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < len; off += (size_t)pg)
		((volatile uint8_t *)p)[off] = 0;
	/* The length sits in the first 64 bytes so that free() can unmap. */
	*(size_t *)p = len;
	return p + 64;
}
static void huge_free(void *p, void *arg)
{
	(void)arg;
	if (!p)
		return;
	uint8_t *base = (uint8_t *)p - 64;
	munmap(base, *(size_t *)base);
}
static const struct dp_mem huge_mem = { huge_zalloc, huge_free, NULL };
static const struct dp_mem huge_rmem = { huge_zalloc, huge_free, NULL };

static void *touch_zalloc(size_t size, void *arg)
{
	(void)arg;
	void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (p)
		memset(p, 0, size);
	return p;
}
static void plain_free(void *p, void *arg)
{
	(void)arg;
	free(p);
}
static const struct dp_mem touch_mem = { touch_zalloc, plain_free, NULL };

static struct dp_match_cfg mcfg(uint32_t symbols, uint32_t orders)
{
	return (struct dp_match_cfg){ .max_orders = orders, .max_levels = orders / 2,
				      .max_symbols = symbols, .max_sessions = NSESS,
				      .max_accounts = NACCT, .stp_default = DP_STP_CANCEL_NEWEST };
}

static struct dp_risk *mkrisk(uint32_t symbols, uint32_t orders, uint64_t ids,
			      const struct dp_mem *mem)
{
	struct dp_risk *r;
	struct dp_risk_cfg c = { .max_accounts = 2 * NACCT, .max_sessions = 2 * NSESS,
				 .max_symbols = symbols, .max_positions = 4 * NACCT * symbols,
				 .max_orders = orders, .max_ids = (uint32_t)(ids + 1024),
				 .default_orders_per_sec = 0 };
	int rc = dp_risk_create(&r, &c, mem);
	if (rc) {
		fprintf(stderr, "dp_risk_create: %s\n", strerror(-rc));
		exit(1);
	}
	struct dp_risk_limits l = { .enabled = DP_RISK_CHK_ALL, .max_order_qty = 1000000,
				    .max_order_notional = UINT64_MAX / 4, .collar_bps = 2000,
				    .credit_limit = UINT64_MAX / 4, .max_position = UINT64_MAX / 4 };
	for (uint32_t a = 0; a < NACCT; a++)
		dp_risk_set_limits(r, a, &l);
	return r;
}

static uint32_t *mid;
static uint64_t gen_mkt; /* marketable new orders generated (after prepop) */
static uint64_t *next_cl;

static void gen_one(struct dp_match *g, struct item *it, uint32_t symbols, bool passive_only)
{
	struct dp_order_msg *m = &it->msg;
	memset(m, 0, sizeof *m);
	uint32_t k = below(100);
	uint16_t sym = (uint16_t)below(symbols);
	if (!passive_only && k >= 50 && nlv > 0) {
		const struct live *l = &lv[below(nlv)];
		sym = l->symbol;
		m->session = l->session;
		m->symbol = l->symbol;
		m->side = l->side;
		m->orig_cl_ord_id = l->cl;
		m->cl_ord_id = ++next_cl[l->session];
		if (k < 85) {
			m->kind = DP_ORD_CANCEL;
		} else {
			m->kind = DP_ORD_REPLACE;
			m->type = DP_ORD_LIMIT;
			struct dp_match_order_info oi;
			dp_match_order(g, l->session, l->cl, &oi);
			m->price = oi.price;
			if (below(3) == 0 && oi.qty - oi.cum > 1) {
				m->qty = oi.qty - 1 - below(oi.qty - oi.cum - 1);
			} else {
				m->qty = oi.qty;
				int32_t d = (int32_t)below(3) + 1;
				/* away from the touch: a priority-losing move, not a take */
				m->price = oi.side == 'B' ? oi.price - (uint32_t)d : oi.price + (uint32_t)d;
			}
		}
	} else {
		m->kind = DP_ORD_NEW;
		m->type = DP_ORD_LIMIT;
		m->tif = DP_TIF_DAY;
		m->symbol = sym;
		m->session = below(NSESS);
		m->account = below(NACCT);
		m->cl_ord_id = ++next_cl[m->session];
		m->side = below(2) ? 'B' : 'S';
		m->qty = 100 * (1 + below(5));
		uint32_t md = mid[sym];
		if (!passive_only && below(5) == 0) {
			/* marketable: at or a tick through the opposite best */
			struct dp_match_level best;
			int opp = m->side == 'B' ? DP_MATCH_ASK : DP_MATCH_BID;
			uint32_t bp = dp_match_depth(g, sym, opp, &best, 1) ? best.price
									   : (m->side == 'B' ? md + 2 : md - 2);
			m->price = m->side == 'B' ? bp + below(2) : bp - below(2);
			m->tif = below(2) ? DP_TIF_DAY : DP_TIF_IOC;
			gen_mkt++;
		} else {
			uint32_t off = 1 + below(below(4) == 0 ? 20 : 5);
			m->price = m->side == 'B' ? md - off : md + off;
		}
	}
	m->seq = 0;
	if (below(200) == 0)
		mid[sym] += below(2) ? 1 : (uint32_t)-1;
	/* Reference: a few ticks around the mid, always valid here. */
	it->ref = (struct dp_ref_px){ mid[sym] - 3, mid[sym] + 3, 1 };
	it->msg.account = it->msg.kind == DP_ORD_NEW ? it->msg.account : 0;
}

/* Account of a cancel/replace: the risk library needs it. */
static void fix_account(struct dp_match *g, struct item *it)
{
	struct dp_match_order_info oi;
	if (it->msg.kind != DP_ORD_NEW &&
	    dp_match_order(g, it->msg.session, it->msg.orig_cl_ord_id, &oi) == 0)
		it->msg.account = oi.account;
}

struct run_stats {
	uint64_t reports, fills, risk_rejects, rejects, pauses;
};

/* One message as the match stage handles it: dp_risk_match (risk check,
 * engine, reports back to risk), or the engine alone with --no-risk. */
static inline uint32_t one(struct dp_match *m, struct dp_risk *risk, const struct item *it,
			   struct dp_exec_report *out, uint64_t now, struct run_stats *st)
{
	uint32_t n;
	if (risk) {
		uint8_t rj;
		n = dp_risk_match(risk, m, &it->msg, &it->ref, now, out, CAP, &rj);
		if (rj != DP_RJ_NONE) {
			st->risk_rejects++;
			return 0;
		}
	} else {
		n = dp_match_process(m, &it->msg, &it->ref, out, CAP);
	}
	for (;;) {
		for (uint32_t i = 0; i < n; i++) {
			st->fills += out[i].kind == DP_EXEC_FILL;
			st->rejects += out[i].kind == DP_EXEC_REJECTED;
		}
		st->reports += n;
		if (!dp_match_pending(m))
			break;
		st->pauses++;
		n = risk ? dp_risk_match_resume(risk, m, out, CAP) : dp_match_resume(m, out, CAP);
	}
	return n;
}

/* The two-stage hints: risk's (which include the engine's), or the
 * engine's alone with --no-risk. */
static inline void hint_early(const struct dp_risk *risk, const struct dp_match *m,
			      const struct dp_order_msg *msg)
{
	if (risk)
		dp_risk_match_prefetch_early(risk, m, msg);
	else
		dp_match_prefetch_early(m, msg);
}
static inline void hint_late(struct dp_risk *risk, const struct dp_match *m,
			     const struct dp_order_msg *msg)
{
	if (risk)
		dp_risk_match_prefetch_late(risk, m, msg);
	else
		(void)dp_match_prefetch_late(m, msg);
}

/*
 * The timed part, one function (not inlined) so that a profiler can count
 * exactly it: `valgrind --tool=callgrind --toggle-collect=timed_loop`.
 * Hints as the burst loop of the match lcore gives them (the messages of a
 * burst are all in hand): by default in two stages, early 2 x pf messages
 * ahead and late pf ahead (hint_early, hint_late); --prefetch-stages 1:
 * dp_risk_prefetch and dp_match_prefetch pf ahead. latency: rdtsc around
 * each message into the histogram.
 */
static __attribute__((noinline)) void timed_loop(struct dp_match *m, struct dp_risk *risk,
						  const struct item *items, uint64_t from, uint64_t to,
						  uint32_t pf, int latency, struct dp_exec_report *out,
						  uint64_t now, struct run_stats *st)
{
	uint64_t pf_end = pf && to - from > pf ? to - pf : from;
	if (pf && stages == 2 && match_pf && !latency) {
		/* the match lcore's hint: early 2 x pf ahead, late pf ahead */
		uint64_t e_end = to - from > 2 * pf ? to - 2 * pf : from;
		for (uint64_t i = from; i < from + 2 * pf && i < to; i++)
			hint_early(risk, m, &items[i].msg);
		for (uint64_t i = from; i < from + pf && i < to; i++)
			hint_late(risk, m, &items[i].msg);
		uint64_t i = from;
		for (; i < e_end; i++) {
			hint_early(risk, m, &items[i + 2 * pf].msg);
			hint_late(risk, m, &items[i + pf].msg);
			one(m, risk, &items[i], out, now, st);
		}
		for (; i < pf_end; i++) {
			hint_late(risk, m, &items[i + pf].msg);
			one(m, risk, &items[i], out, now, st);
		}
		for (; i < to; i++)
			one(m, risk, &items[i], out, now, st);
		return;
	}
	if (pf && stages == 2 && match_pf) {
		uint64_t e_end = to - from > 2 * pf ? to - 2 * pf : from;
		for (uint64_t i = from; i < from + 2 * pf && i < to; i++)
			hint_early(risk, m, &items[i].msg);
		for (uint64_t i = from; i < from + pf && i < to; i++)
			hint_late(risk, m, &items[i].msg);
		for (uint64_t i = from; i < to; i++) {
			uint64_t c0 = __rdtsc();
			if (i < e_end)
				hint_early(risk, m, &items[i + 2 * pf].msg);
			if (i < pf_end)
				hint_late(risk, m, &items[i + pf].msg);
			one(m, risk, &items[i], out, now, st);
			uint64_t c1 = __rdtsc();
			hist[hidx(c1 - c0)]++;
		}
		return;
	}
	if (!latency) {
		uint64_t i = from;
		for (; i < pf_end; i++) {
			if (risk)
				dp_risk_prefetch(risk, &items[i + pf].msg);
			if (match_pf)
				dp_match_prefetch(m, &items[i + pf].msg);
			one(m, risk, &items[i], out, now, st);
		}
		for (; i < to; i++)
			one(m, risk, &items[i], out, now, st);
		return;
	}
	for (uint64_t i = from; i < to; i++) {
		uint64_t c0 = __rdtsc();
		if (i < pf_end) {
			if (risk)
				dp_risk_prefetch(risk, &items[i + pf].msg);
			if (match_pf)
				dp_match_prefetch(m, &items[i + pf].msg);
		}
		one(m, risk, &items[i], out, now, st);
		uint64_t c1 = __rdtsc();
		hist[hidx(c1 - c0)]++;
	}
}

/*
 * Pass 1 in chunks, each run on its turn (--turns): wait for a byte on
 * fd_in, time the chunk, pass the turn on with a byte to fd_out. Prints
 * each chunk's ns a message on one line; returns the timed seconds in all
 * (the waits not counted), or -1 if a FIFO failed.
 */
static double turns(struct dp_match *m, struct dp_risk *risk, const struct item *items,
		    uint64_t from, uint64_t to, uint32_t pf, uint64_t chunk,
		    struct dp_exec_report *out, struct run_stats *st, int fd_in, int fd_out)
{
	uint64_t sum = 0;
	char b = 't';
	printf("turns: ready\n");
	fflush(stdout);
	printf("chunks (ns/msg):");
	for (uint64_t c = from; c < to; c += chunk) {
		uint64_t e = to - c > chunk ? c + chunk : to;
		if (read(fd_in, &b, 1) != 1)
			return -1;
		uint64_t t0 = now_ns();
		timed_loop(m, risk, items, c, e, pf, 0, out, t0, st);
		uint64_t dt = now_ns() - t0;
		if (write(fd_out, &b, 1) != 1)
			return -1;
		sum += dt;
		printf(" %.2f", (double)dt / (double)(e - c));
	}
	printf("\n");
	return (double)sum / 1e9;
}

static double tsc_hz(void)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc();
	while (now_ns() - t0 < 200000000ull)
		;
	uint64_t t1 = now_ns(), c1 = __rdtsc();
	return (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
	uint32_t symbols = 1000, prepop = 100000;
	/* Order capacity of the engine and of risk (the stream generator's
	 * engine too: the stream depends on it once a pool fills): well above
	 * the prepopulated orders, which the live count starts from (the
	 * stream line prints where it ends; a full pool shows as rejects). */
	uint32_t orders = 1u << 18;
	uint64_t msgs = 10000000, day_ids = 0;
	int use_risk = 1, plain_mem = 0;
	const char *turn_in = NULL, *turn_out = NULL;
	uint64_t chunk = 200000;
	uint32_t pf = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--symbols") && i + 1 < argc)
			symbols = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
			msgs = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--prepop") && i + 1 < argc)
			prepop = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-risk"))
			use_risk = 0;
		else if (!strcmp(argv[i], "--plain-mem"))
			plain_mem = 1;
		else if (!strcmp(argv[i], "--prefetch") && i + 1 < argc)
			pf = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--prefetch-stages") && i + 1 < argc &&
			 (atoi(argv[i + 1]) == 1 || atoi(argv[i + 1]) == 2))
			stages = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-match-prefetch"))
			match_pf = 0;
		else if (!strcmp(argv[i], "--max-orders") && i + 1 < argc && atol(argv[i + 1]) >= 1024 &&
			 atol(argv[i + 1]) < (1l << 30))
			orders = (uint32_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--ids") && i + 1 < argc)
			day_ids = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--turns") && i + 2 < argc) {
			turn_in = argv[++i];
			turn_out = argv[++i];
		} else if (!strcmp(argv[i], "--chunk") && i + 1 < argc && atol(argv[i + 1]) > 0)
			chunk = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--symbols N] [--messages N] [--prepop N] [--no-risk] "
					"[--plain-mem] [--prefetch K] [--prefetch-stages 1|2] [--no-match-prefetch] "
					"[--ids N] [--max-orders N] [--turns IN OUT [--chunk N]]\n"
					"  --ids N: size the risk id table for N ids (default: the run's "
					"messages; a short profiling run can take a day's table)\n"
					"  --max-orders N: engine and risk order capacity (default 262144; keep it "
					"above --prepop)\n"
					"  --turns IN OUT: time pass 1 in chunks of --chunk messages "
					"(default 200000), each after a byte read from FIFO IN, each "
					"followed by a byte written to FIFO OUT (tools/bench/ab-match.sh)\n",
				argv[0]);
			return 2;
		}
	}
	if (symbols == 0 || symbols > 65536) {
		fprintf(stderr, "--symbols: 1..65536\n");
		return 2;
	}
	uint64_t total = prepop + msgs;
	max_oid = total + 2;
	lv = calloc(orders, sizeof *lv);
	pos_of = calloc(max_oid, sizeof *pos_of);
	mid = calloc(symbols, sizeof *mid);
	next_cl = calloc(NSESS, sizeof *next_cl);
	struct item *items = calloc(total, sizeof *items);
	struct dp_exec_report *out = aligned_alloc(64, CAP * sizeof *out);
	if (!lv || !pos_of || !mid || !next_cl || !items || !out) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (uint32_t s = 0; s < symbols; s++)
		mid[s] = 100000 + 100 * below(1000);

	/* Generate: a generator engine makes sure targets are live. */
	struct dp_match_cfg cfg = mcfg(symbols, orders);
	struct dp_match *g;
	if (dp_match_create(&g, &cfg, NULL)) {
		fprintf(stderr, "dp_match_create failed\n");
		return 1;
	}
	for (uint64_t i = 0; i < total; i++) {
		gen_one(g, &items[i], symbols, i < prepop);
		fix_account(g, &items[i]);
		uint32_t n = dp_match_process(g, &items[i].msg, &items[i].ref, out, CAP);
		for (;;) {
			for (uint32_t j = 0; j < n; j++)
				lv_apply(&out[j]);
			if (!dp_match_pending(g))
				break;
			n = dp_match_resume(g, out, CAP);
		}
	}
	uint64_t kinds[5] = { 0 };
	for (uint64_t i = prepop; i < total; i++)
		kinds[items[i].msg.kind]++;
	printf("stream: %llu messages after %u prepopulating orders, %u symbols; new %.1f%% "
	       "(marketable ~%.1f%% of new), cancel %.1f%%, replace %.1f%%; live at end %u\n",
	       (unsigned long long)msgs, prepop, symbols, 100.0 * (double)kinds[1] / (double)msgs,
	       100.0 * (double)gen_mkt / (double)kinds[1], 100.0 * (double)kinds[2] / (double)msgs,
	       100.0 * (double)kinds[3] / (double)msgs, dp_match_live_orders(g));
	dp_match_destroy(g);

	double hz = tsc_hz();
	printf("tsc: %.3f GHz; max orders %u; risk checks: %s; memory: %s; prefetch distance: %u (%s)\n",
	       hz / 1e9, orders, use_risk ? "on" : "off",
	       plain_mem ? "plain (risk calloc, engine aligned_alloc+memset)"
			 : "mmap + MADV_HUGEPAGE, pre-faulted",
	       pf,
	       !pf		       ? "off"
	       : !match_pf	       ? "risk only"
	       : stages == 2 ? (use_risk ? "risk and engine, two stages: early at 2x, late at 1x"
					   : "engine, two stages: early at 2x, late at 1x")
					 : use_risk ? "risk and engine, one stage" : "engine, one stage");

	int fd_in = -1, fd_out = -1;
	if (turn_in) {
		/* O_RDWR: neither open waits for the other process */
		fd_in = open(turn_in, O_RDWR);
		fd_out = open(turn_out, O_RDWR);
		if (fd_in < 0 || fd_out < 0) {
			fprintf(stderr, "--turns %s %s: %s\n", turn_in, turn_out, strerror(errno));
			return 1;
		}
	}
	for (int pass = 1; pass <= (turn_in ? 1 : 2); pass++) {
		struct dp_match *m;
		struct dp_risk *risk =
			use_risk ? mkrisk(symbols, orders, day_ids > total ? day_ids : total,
					  plain_mem ? NULL : &huge_rmem)
				 : NULL;
		if (dp_match_create(&m, &cfg, plain_mem ? &touch_mem : &huge_mem))
			return 1;
		struct run_stats st = { 0 };
		uint64_t now = now_ns();
		for (uint64_t i = 0; i < prepop; i++)
			one(m, risk, &items[i], out, now, &st);
		memset(&st, 0, sizeof st);
		memset(hist, 0, sizeof hist);
		double secs;
		if (turn_in) {
			secs = turns(m, risk, items, prepop, total, pf, chunk, out, &st, fd_in, fd_out);
			if (secs < 0)
				return 1;
		} else {
			uint64_t t0 = now_ns();
			timed_loop(m, risk, items, prepop, total, pf, pass == 2, out, t0, &st);
			secs = (double)(now_ns() - t0) / 1e9;
		}
		printf("pass %d (%s): %.3f s, %.2f M msgs/s, %.1f ns/msg; reports %llu, fill reports %llu, "
		       "rejects %llu, risk rejects %llu, pauses %llu; live at end %u, levels %u\n",
		       pass, pass == 1 ? "throughput" : "latency, rdtsc per message", secs,
		       (double)msgs / secs / 1e6, secs * 1e9 / (double)msgs,
		       (unsigned long long)st.reports, (unsigned long long)st.fills,
		       (unsigned long long)st.rejects, (unsigned long long)st.risk_rejects,
		       (unsigned long long)st.pauses, dp_match_live_orders(m), dp_match_live_levels(m));
		if (pass == 2) {
			uint64_t mx = 0;
			for (unsigned i = 0; i < HBUCKETS; i++)
				if (hist[i])
					mx = hupper(i);
			double ns = 1e9 / hz;
			printf("latency ns (bucket upper edge, incl. ~rdtsc overhead): p50 %.0f  p99 %.0f  "
			       "p99.9 %.0f  p99.99 %.0f  max %.0f\n",
			       (double)hpct(msgs, 0.50) * ns, (double)hpct(msgs, 0.99) * ns,
			       (double)hpct(msgs, 0.999) * ns, (double)hpct(msgs, 0.9999) * ns,
			       (double)mx * ns);
			uint64_t emin = UINT64_MAX;
			for (int i = 0; i < 1000; i++) {
				uint64_t a = __rdtsc(), b = __rdtsc();
				if (b - a < emin)
					emin = b - a;
			}
			printf("rdtsc pair overhead: %llu cycles (%.0f ns)\n", (unsigned long long)emin,
			       (double)emin * ns);
		}
		dp_match_destroy(m);
		dp_risk_destroy(risk);
	}
	free(items);
	free(lv);
	free(pos_of);
	free(mid);
	free(next_cl);
	free(out);
	return 0;
}
