/*
 * probe_pages.c - mgw-probe-pages: does this machine's TLB see the huge
 * pages the process asked for?
 *
 * The dataplane's tables are hit at random; with real 2 MiB (or 1 GiB)
 * pages a table of tens of MiB needs a few TLB entries, with 4 KiB ones
 * thousands, and every random line then costs a page walk. A virtual
 * machine whose host backs guest memory with small pages gives the guest
 * huge pages that the TLB still holds as 4 KiB entries. This probe tells
 * the two apart by timing a chain of dependent loads over the same number
 * of cache lines laid out two ways:
 *
 *   packed: the lines next to each other (a few pages);
 *   spread: one line per 4 KiB page (random offset within it) over
 *           lines x 4 KiB, inside 2 MiB-aligned MADV_HUGEPAGE memory.
 *
 * The data is the same size both ways (it fits the L2 cache for the
 * default 4096 lines), so a large spread/packed ratio means TLB misses:
 * the huge pages are not reaching the TLB. On bare metal with huge pages
 * the two take about the same time.
 *
 * Then the same lines as independent loads in a random order (gather):
 * the core keeps many in flight, so this is their throughput, the figure
 * a loop that prefetches ahead is bound by; spread/packed there is what
 * the page walks cost when they overlap.
 *
 *   mgw-probe-pages [--lines N] [--loads N]
 *
 * Prints ns per load for both layouts and both ways, the ratios, and how
 * much of the spread layout the kernel backed with huge pages (without
 * them the probe says nothing about the TLB, and says so). Exit 0, or 2 on a usage
 * error, 1 if memory could not be had.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_SZ ((size_t)2 << 20)

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 2 MiB-aligned anonymous memory with MADV_HUGEPAGE, every page written. */
static uint8_t *huge_region(size_t len, void **raw_out, size_t *raw_len)
{
	size_t rl = len + HUGE_SZ;
	uint8_t *raw = mmap(NULL, rl, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)raw + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 1, len);
	*raw_out = raw;
	*raw_len = rl;
	return p;
}

/* KiB of the mapping holding p that the kernel backs with huge pages
 * (AnonHugePages in /proc/self/smaps), or -1 if it cannot be read. */
static long huge_kib(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int in = 0;
	long kib = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* The offsets of n lines: packed (next to each other) or spread (one per
 * 4 KiB page, at a random line within it). Returns off. */
static uint64_t *layout(uint64_t *off, uint64_t n, int spread)
{
	for (uint64_t i = 0; i < n; i++)
		off[i] = spread ? i * 4096 + (rnd() % 64) * 64 : i * 64;
	return off;
}

/* ns per load of a random cycle through the lines at p + off[i]. */
static double chase(uint8_t *p, uint64_t *off, uint64_t n, uint64_t loads)
{
	/* a random cyclic order of the lines, each holding the next offset */
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = off[i];
		off[i] = off[j];
		off[j] = t;
	}
	for (uint64_t i = 0; i < n; i++)
		memcpy(p + off[i], &off[(i + 1) % n], sizeof(uint64_t));
	uint64_t at = off[0];
	for (uint64_t i = 0; i < n; i++) /* warm: one round */
		memcpy(&at, p + at, sizeof at);
	double t0 = now_s();
	for (uint64_t i = 0; i < loads; i++)
		at = *(volatile uint64_t *)(p + at);
	double t1 = now_s();
	if (at == UINT64_MAX) /* keeps the chain alive */
		puts("");
	return (t1 - t0) * 1e9 / (double)loads;
}

/*
 * ns per load of independent loads of the lines at p + off[i] in a random
 * order: the core keeps many in flight, so this is the throughput of
 * random lines (what a loop with prefetches ahead sees), where chase() is
 * their latency. off is shuffled here; the lines are read whole rounds.
 */
static double gather(const uint8_t *p, uint64_t *off, uint64_t n, uint64_t loads)
{
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = off[i];
		off[i] = off[j];
		off[j] = t;
	}
	uint64_t sum = 0, done = 0;
	for (uint64_t i = 0; i < n; i++) /* warm: one round */
		sum += *(const uint64_t *)(p + off[i]);
	double t0 = now_s();
	while (done < loads) {
		for (uint64_t i = 0; i < n; i++)
			sum += *(const volatile uint64_t *)(p + off[i]);
		done += n;
	}
	double t1 = now_s();
	if (sum == 42) /* keeps the loads alive */
		puts("");
	return (t1 - t0) * 1e9 / (double)done;
}

int main(int argc, char **argv)
{
	uint64_t lines = 4096, loads = 20000000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--lines") && i + 1 < argc)
			lines = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--loads") && i + 1 < argc)
			loads = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--lines N (64..1048576)] [--loads N]\n", argv[0]);
			return 2;
		}
	}
	if (lines < 64 || lines > (1u << 20) || loads == 0) {
		fprintf(stderr, "%s: --lines 64..1048576, --loads > 0\n", argv[0]);
		return 2;
	}
	uint64_t *off = malloc(lines * sizeof *off);
	void *raw_a, *raw_b;
	size_t la, lb;
	size_t spread_len = (lines * 4096 + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
	uint8_t *packed = huge_region(HUGE_SZ, &raw_a, &la);
	uint8_t *spread = huge_region(spread_len, &raw_b, &lb);
	if (!off || !packed || !spread || lines * 64 > HUGE_SZ) {
		fprintf(stderr, "%s: out of memory (or --lines too large for the packed layout)\n",
			argv[0]);
		return 1;
	}
	double np = chase(packed, layout(off, lines, 0), lines, loads);
	double ns = chase(spread, layout(off, lines, 1), lines, loads);
	double gp = gather(packed, layout(off, lines, 0), lines, loads);
	double gs = gather(spread, layout(off, lines, 1), lines, loads);
	printf("lines %llu (%llu KiB of data): packed %.1f ns/load, spread over %llu MiB "
	       "(one line per 4 KiB page) %.1f ns/load, ratio %.2f\n",
	       (unsigned long long)lines, (unsigned long long)(lines * 64 / 1024), np,
	       (unsigned long long)(spread_len >> 20), ns, ns / np);
	printf("independent loads (throughput): packed %.2f ns/load, spread %.2f ns/load, "
	       "ratio %.2f\n", gp, gs, gs / gp);
	long hk = huge_kib(spread);
	printf("kernel huge pages under the spread layout: %ld of %llu KiB\n", hk,
	       (unsigned long long)(spread_len >> 10));
	if (hk >= 0 && (unsigned long long)hk < (spread_len >> 10) / 2)
		printf("the kernel did not give huge pages (transparent huge pages off or memory "
		       "fragmented): the probe says nothing about the TLB\n");
	else
		printf("%s\n", ns > 2.0 * np ? "huge pages do not reach the TLB as huge pages (a VM "
					       "on small host pages?): expect a page walk per random "
					       "line in big tables"
					     : "huge pages reach the TLB: random lines in big tables "
					       "cost no page walk");
	munmap(raw_a, la);
	munmap(raw_b, lb);
	free(off);
	return 0;
}
