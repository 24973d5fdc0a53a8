/*
 * ctl_baseline.h - the operator's "counters clear" baseline.
 *
 * Dataplane counters are monotonic and never reset (Prometheus rates depend
 * on it). `mgwctl counters clear` instead records the current raw totals as
 * a baseline that the `counters` view subtracts. The baseline belongs to one
 * dataplane run (its segment's start_ns): a baseline from another run would
 * subtract unrelated numbers, so it is discarded.
 *
 * It is kept in a small text file next to the CLI socket
 * ("<socket>.baseline"), replaced atomically (write, fsync, rename), so a
 * restarted mgw-control - even after kill -9 - shows the same view.
 */
#ifndef CTL_BASELINE_H
#define CTL_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgw_counters.h"

/* Counter ids index the segment's blocks (MGW_CTR__COUNT today); room to grow. */
#define CTL_BASELINE_MAX 4096

struct ctl_baseline {
	bool valid;
	uint64_t start_ns;      /* the dataplane run the values belong to */
	uint64_t taken_ns;      /* CLOCK_REALTIME when cleared */
	uint32_t n;             /* values[0..n) by counter id */
	uint64_t values[CTL_BASELINE_MAX];
};

/* "<socket>.baseline" into out. Returns 0, or -1 if it does not fit. */
int ctl_baseline_path(const char *socket, char *out, size_t cap);

/*
 * Read a baseline file. Returns 0 (b->valid), -ENOENT when there is none,
 * or another -errno / -EINVAL for a damaged file (err says why).
 */
int ctl_baseline_load(const char *path, struct ctl_baseline *b, char *err, size_t errlen);

/* Write atomically (temp file, fsync, rename, fsync dir). Returns 0 or -errno. */
int ctl_baseline_save(const char *path, const struct ctl_baseline *b);

/* What the view shows for a counter: raw minus its baseline, never below 0. */
static inline uint64_t ctl_baseline_apply(const struct ctl_baseline *b, uint32_t id, uint64_t raw)
{
	if (!b->valid || id >= b->n || b->values[id] > raw)
		return raw;
	return raw - b->values[id];
}

#endif /* CTL_BASELINE_H */
