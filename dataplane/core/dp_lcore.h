/*
 * dp_lcore.h - per-lcore context and the poll loop of mgw-dataplane.
 *
 * Every worker lcore runs dp_lcore_loop() over its own cache-aligned
 * context. Roles from config decide which stages the loop runs; several
 * roles may share one lcore (run to completion), and the stages always talk
 * through the rx->book rte_ring, so the data path is the same whether they
 * share an lcore or not.
 */
#ifndef DP_LCORE_H
#define DP_LCORE_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_common.h>

#include "dp_book.h"
#include "dp_feed.h"
#include "dp_mstage.h"
#include "dp_ref.h"
#include "mgw_shm.h"

#define DP_MAX_RXQ 64
#define DP_BOOK_BURST 256
/* Largest frame the rx mbufs hold in one segment: MTU 9600 + Ethernet, two VLAN tags, FCS. */
#define DP_MAX_FRAME 9630
/* Book events one such frame can produce (dp_feed_max_events). */
#define DP_RX_EVS (DP_MAX_FRAME / 14 + 1)
/* Match stage: messages per pass, and the report room one engine call may
   fill (it pauses when fewer are left). The report ring's headroom above its
   high-water mark (mgw_report_headroom, >= 256) is larger than this. */
#define DP_MATCH_BURST 32
#define DP_MATCH_CHUNK 64
/* Reports the match stage holds before one enqueue: several messages' worth */
#define DP_MATCH_REP_BUF (4 * DP_MATCH_CHUNK)

struct rte_mbuf;
struct rte_ring;

struct dp_rxq {
	uint16_t port_id;
	uint16_t queue_id;
};

struct dp_lcore_ctx {
	uint32_t lcore_id;
	uint32_t roles;
	uint32_t slot;        /* counter block index in the shared segment */
	uint32_t burst;
	uint64_t *ctr;        /* this lcore's counter block */
	struct mgw_shm *shm;
	struct rte_ring *ring;/* rx -> book */
	uint64_t tsc_period;  /* periodic work every this many TSC cycles */

	/* rx role */
	uint32_t n_rxq;
	struct dp_rxq rxq[DP_MAX_RXQ];
	uint32_t ev_per_frame;/* room needed in the ring per received frame */
	struct dp_feed feed;
	struct dp_book_ev rx_evs[DP_RX_EVS];

	/* book role */
	struct dp_book *book;
	/* config epochs (dp_cmd.c): served here, applied to the rx lcore's filter */
	struct dp_feed *rx_feed;  /* the rx lcore's feed */
	uint32_t epoch_busy;      /* 1 while an epoch waits for rx's acknowledgement */
	uint32_t epoch_slot;      /* its command slot, answered when rx acks */
	uint64_t epoch_gen;       /* the filter generation it published */
	uint64_t epoch_deadline;  /* TSC: retract and refuse if rx has not acked by then */
	/* reference prices: the book lcore publishes them (NULL without a match lcore) */
	struct dp_ref_table *ref;
	/* the rx lcore's counters: its gap count, session-ended gauge and packet
	   count decide whether references are stale (dp_ref_watch, dp_ref.h) */
	const uint64_t *rx_ctr;
	struct dp_ref_watch ref_watch;
	struct dp_book_ev book_evs[DP_BOOK_BURST];

	/* match role */
	struct dp_mstage *ms;
	struct rte_ring *order_ring;  /* MP/SC, in the shared segment */
	struct rte_ring *report_ring; /* SP/MC, in the shared segment */
	uint32_t report_size;         /* report ring size; usable = size - 1 */
	uint32_t report_hiwat;        /* used slots above which new orders are refused */
	uint64_t tsc_hz;
	uint32_t ord_head, ord_n;     /* orders taken from the ring, not yet handled */
	uint32_t n_accts;             /* accounts with limits, for `risk show` */
	uint32_t accts[MGW_RISK_SHOW_MAX];
	struct dp_order_msg ord_buf[DP_MATCH_BURST];
	/* reports of a pass, enqueued together (DP_MATCH_REP_BUF; match_stage) */
	struct dp_exec_report rep_buf[DP_MATCH_REP_BUF];
} __rte_cache_aligned;

/* Set by the signal handler; read once per loop pass. */
extern atomic_int dp_stop;

/* lcore entry point for rte_eal_remote_launch(); arg is a dp_lcore_ctx. */
int dp_lcore_loop(void *arg);

/* Commands from control, run on the book lcore (dp_cmd.c). */
void dp_cmd_poll(struct dp_lcore_ctx *c);

/* Commands served on the match lcore (dp_mcmd.c). */
void dp_mcmd_poll(struct dp_lcore_ctx *c);

/* Copy book stats into the lcore's counters. */
void dp_book_publish(struct dp_lcore_ctx *c);

#endif /* DP_LCORE_H */
