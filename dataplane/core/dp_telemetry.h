/*
 * dp_telemetry.h - DPDK telemetry commands of mgw-dataplane (/mgw/counters,
 * /mgw/status, /mgw/ports), answered from the shared segment so any DPDK
 * telemetry client (dpdk-telemetry.py) sees the same numbers as mgwctl
 * and Prometheus. See docs/METRICS.md.
 */
#ifndef DP_TELEMETRY_H
#define DP_TELEMETRY_H

#include "mgw_shm.h"

/*
 * Register the commands; call after rte_eal_init and once the segment is
 * filled. The callbacks run on DPDK's telemetry thread and only read the
 * segment (relaxed atomic loads), never the books. Returns 0 or -errno.
 */
int dp_telemetry_init(const struct mgw_shm *shm);

/*
 * Before the segment is unmapped: make later commands answer an error and
 * wait for any running one to finish (DPDK cannot unregister a command).
 */
void dp_telemetry_stop(void);

#endif /* DP_TELEMETRY_H */
