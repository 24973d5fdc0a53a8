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

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_config.h"
#include "dp_book.h"
#include "dp_mold.h"
#include "mgw_shm.h"

/* The destination filter: which UDP ports and IPv4 groups carry the feed. */
struct dp_feed_filter {
	uint16_t udp_ports[CTL_MAX_UDP_PORTS];
	uint32_t n_udp_ports;
	uint32_t groups[CTL_MAX_GROUPS];
	uint32_t n_groups; /* 0 = any destination */
};

/*
 * Live filter change (config reload), without a lock on the rx path.
 *
 * The filter is double-buffered. Generation g lives in filter[g & 1].
 *   - publisher (the book lcore's command handler; one publish at a time):
 *     may write filter[(pub_gen + 1) & 1] only when ack_gen == pub_gen, i.e.
 *     rx has said it runs with the newest copy and so no longer reads the
 *     other one. It writes that copy, then stores pub_gen + 1 with release.
 *   - rx (dp_feed_sync, once per loop pass, before its bursts): loads
 *     pub_gen with acquire; if it moved, points `cur` at the new copy and
 *     stores ack_gen = pub_gen with release. Every frame after that reads
 *     only *cur, so a frame always sees one whole filter, never a mix.
 *   - the publisher answers "applied" once ack_gen >= the generation it
 *     published (polled, never waited for). If rx does not acknowledge in
 *     time it retracts: it publishes generation + 1 again, which maps to the
 *     untouched copy holding the old filter, so no buffer rx may still read
 *     is ever written. The next publish then needs that ack in turn.
 * The publisher never spins and rx does one acquire load per pass plus a
 * store only when the generation changed.
 */
struct dp_feed {
	uint64_t *ctr; /* counter block of the owning lcore */
	const struct dp_feed_filter *cur; /* rx-private: the copy in use */
	uint64_t cur_gen;                 /* rx-private: its generation */
	uint32_t n_sessions;
	struct dp_mold_session sessions[MGW_SHM_MAX_SESSIONS];
	struct dp_feed_filter filter[2];
	/* Shared between rx and the publisher, on their own cache line so rx's
	   session updates do not bounce it. */
	_Alignas(64) _Atomic uint64_t pub_gen; /* written by the publisher */
	_Alignas(64) _Atomic uint64_t ack_gen; /* written by rx */
};

void dp_feed_init(struct dp_feed *f, const struct ctl_feed_cfg *cfg, uint64_t *ctr);

/* Build a filter from config values (no checks; the loader checked them). */
void dp_feed_filter_from_cfg(struct dp_feed_filter *out, const struct ctl_feed_cfg *cfg);

/*
 * rx side: pick up a newly published filter. Call once per loop pass
 * before handling frames; frames handled before the first call use the
 * filter given at init.
 */
static inline void dp_feed_sync(struct dp_feed *f)
{
	uint64_t g = atomic_load_explicit(&f->pub_gen, memory_order_acquire);
	if (__builtin_expect(g != f->cur_gen, 0)) {
		f->cur = &f->filter[g & 1];
		f->cur_gen = g;
		/* Release: our reads of the previous copy come before this. */
		atomic_store_explicit(&f->ack_gen, g, memory_order_release);
	}
}

/*
 * Publisher side (one thread at a time). Returns the new generation (> 0),
 * or 0 when rx has not yet acknowledged the previous publish (try later).
 */
uint64_t dp_feed_filter_publish(struct dp_feed *f, const struct dp_feed_filter *nf);

/* Has rx acknowledged generation gen (or a later one)? */
static inline bool dp_feed_filter_acked(const struct dp_feed *f, uint64_t gen)
{
	return atomic_load_explicit(&((struct dp_feed *)f)->ack_gen, memory_order_acquire) >= gen;
}

/*
 * Give up on generation gen (rx did not acknowledge it in time): republish
 * the copy that was in force before it. Returns the new generation, or 0
 * if gen is no longer the latest publish (nothing to retract).
 */
uint64_t dp_feed_filter_retract(struct dp_feed *f, uint64_t gen);

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
