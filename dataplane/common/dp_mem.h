/*
 * dp_mem.h - the allocator hook that every dataplane library takes once,
 * at create (books, matching engine, risk), and the default behind it.
 *
 * The dataplane passes hugepage memory on the lcore's NUMA socket
 * (rte_zmalloc_socket); tests and tools pass nothing and get calloc.
 * Header only: each library keeps its own copy of these few lines.
 */
#ifndef DP_MEM_H
#define DP_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Allocator used once at create; NULL (or a NULL function) means calloc/free. */
struct dp_mem {
	void *(*zalloc)(size_t size, void *arg); /* zeroed, 64-byte aligned */
	void (*free)(void *p, void *arg);        /* must accept NULL */
	void *arg;
};

/* calloc aligned to 64 by hand; the raw pointer is kept just below. */
static inline void *dp_mem_calloc64(size_t size, void *arg)
{
	(void)arg;
	uint8_t *raw = calloc(1, size + 64 + sizeof(void *));
	if (!raw)
		return NULL;
	uintptr_t p = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	((void **)p)[-1] = raw;
	return (void *)p;
}

static inline void dp_mem_free64(void *p, void *arg)
{
	(void)arg;
	if (p)
		free(((void **)p)[-1]);
}

/* The hook to use: *mem if both its functions are set, else the default. */
static inline struct dp_mem dp_mem_pick(const struct dp_mem *mem)
{
	struct dp_mem m = { dp_mem_calloc64, dp_mem_free64, NULL };
	if (mem && mem->zalloc && mem->free)
		m = *mem;
	return m;
}

/* Smallest power of two >= x (1 for 0). */
static inline uint64_t dp_pow2_at_least(uint64_t x)
{
	uint64_t p = 1;
	while (p < x)
		p <<= 1;
	return p;
}

/* x rounded up to a whole number of 64-byte lines. */
static inline size_t dp_round64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

#endif /* DP_MEM_H */
