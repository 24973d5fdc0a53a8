/*
 * dp_feed.h - the feed handler of the rx stage: one frame in, book events
 * out. Ethernet/IPv4/UDP checks, the configured UDP port and multicast group
 * filter, MoldUDP64 framing and per-session sequence tracking, ITCH 5.0
 * decoding, and the mapping to fixed-size book events.
 *
 * Pure computation over a buffer: no DPDK, no allocation, no syscalls, so
 * unit tests and fuzzers drive exactly the code the rx lcore runs. Every
 * dropped frame, datagram or message is counted by reason in the counter
 * block given at init (ids from mgw_counters.h).
 *
 * Datagram policy: a MoldUDP64 datagram whose block framing is broken is
 * dropped whole before sequence tracking, so the tracker never advances over
 * messages that were not applied; the loss then shows as a gap on the next
 * good datagram. A well-framed block that fails ITCH decoding is counted
 * and skipped (its sequence number is consumed).
 */
#ifndef DP_FEED_H
#define DP_FEED_H

#include <stdint.h>

#include "ctl_config.h"
#include "dp_book.h"
#include "dp_mold.h"
#include "mgw_shm.h"

struct dp_feed {
	uint64_t *ctr; /* counter block of the owning lcore */
	uint16_t udp_ports[CTL_MAX_UDP_PORTS];
	uint32_t n_udp_ports;
	uint32_t groups[CTL_MAX_GROUPS];
	uint32_t n_groups;
	uint32_t n_sessions;
	struct dp_mold_session sessions[MGW_SHM_MAX_SESSIONS];
};

void dp_feed_init(struct dp_feed *f, const struct ctl_feed_cfg *cfg, uint64_t *ctr);

/* Most book events one frame of `frame_len` bytes can produce. */
static inline uint32_t dp_feed_max_events(uint32_t frame_len)
{
	/* every block is at least 2 (length) + 12 (smallest ITCH message) bytes */
	return frame_len / 14 + 1;
}

/*
 * Handle one frame; append its book events to evs. `cap` must be at least
 * dp_feed_max_events(len). Returns the number of events appended.
 */
uint32_t dp_feed_frame(struct dp_feed *f, const uint8_t *frame, uint32_t len,
		       struct dp_book_ev *evs, uint32_t cap);

/* Copy the session table into the shared segment's view (rx lcore only). */
void dp_feed_publish_sessions(const struct dp_feed *f, struct mgw_shm_feed_session *out);

#endif /* DP_FEED_H */
