/*
 * mgw_shm.h - the shared-memory contract between mgw-dataplane and its
 * readers (mgw-control, tests). The one definition of the segment, included
 * by both sides; never copy it.
 *
 * One segment per instance, /dev/shm/mgw.<instance>, created by the
 * dataplane. Every region is found through offsets in the header (no
 * pointers inside the segment), so each process may map it anywhere.
 *
 *   offset 0            +--------------------------------------------+
 *                       | mgw_shm_hdr: magic, abi, size, pid, times, |
 *                       | heartbeat, lcores/roles, region offsets,   |
 *                       | `ready` (stored last, release)             |
 *   hdr.desc_off        +--------------------------------------------+
 *                       | mgw_shm_counter_desc[n_counters]           |
 *   hdr.blocks_off      +--------------------------------------------+
 *                       | counter block, slot 0 (main lcore)         |
 *                       | counter block, slot 1 (config lcore 0) ... |
 *                       |  each: uint64_t v[n_counters], 64B aligned |
 *   hdr.feed_off        +--------------------------------------------+
 *                       | mgw_shm_feed_session[MGW_SHM_MAX_SESSIONS] |
 *   hdr.ports_off       +--------------------------------------------+
 *                       | mgw_shm_port[MGW_SHM_MAX_PORTS]            |
 *   hdr.cmd_ring_off    +--------------------------------------------+
 *                       | rte_ring (SP/SC) of command slot indices   |
 *   hdr.cmd_slots_off   +--------------------------------------------+
 *                       | mgw_cmd_slot[n_cmd_slots]                  |
 *   hdr.match_cmd_ring_off ------------------------------------------+
 *                       | rte_ring (SP/SC) of slot indices for the   |
 *                       | match lcore (mgw_cmd_is_match types)       |
 *   hdr.order_ring_off  +--------------------------------------------+  only with a
 *                       | rte_ring (MP/SC) of 64-byte dp_order_msg   |  match lcore
 *   hdr.report_ring_off +--------------------------------------------+  (else offsets 0)
 *                       | rte_ring (SP/MC) of 64-byte dp_exec_report |
 *                       +--------------------------------------------+
 *
 * Rules: every counter has one writer (the lcore owning the block); readers
 * load with relaxed atomics and may see a value a few microseconds old.
 * Counters never go down (gauges excepted); "clear" is a reader baseline.
 * Readers check magic and abi_version and refuse a segment that differs.
 *
 * Order path (docs/MATCHING.md "In the dataplane"): anyone attached may
 * enqueue dp_order_msg records on the order ring (multi-producer); the
 * match lcore is its only consumer. It writes every dp_exec_report to the
 * report ring (single producer) and never drops one: above
 * report_hiwat used slots it refuses new orders with DP_RJ_BACKPRESSURE
 * (those rejections use the headroom above the mark), and when even the
 * headroom is short it stops taking orders (they wait in the order ring).
 */
#ifndef MGW_SHM_H
#define MGW_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mgw_counters.h"

struct rte_ring;

#define MGW_SHM_MAGIC 0x31304d4853574d47ull /* "GMWSHM01" little endian */
/* 2: command slot gained the config epoch request/response; header gained config_epoch.
   3: order and report rings, a second command ring for the match lcore, risk/kill/
      match-book/positions commands (header fields added after config_epoch).
   4: counters added inside the list (mgw_mold_sessions_ended, mgw_reference_state,
      mgw_reference_transitions_total, mgw_reference_feed_idle): counter ids moved.
   5: book ladder counters added after mgw_book_ref_overflow_moved_total: ids moved. */
#define MGW_SHM_ABI_VERSION 5u
#define MGW_SHM_MAX_LCORES 65 /* main + 64 configured */
#define MGW_SHM_MAX_SESSIONS 8
#define MGW_SHM_MAX_PORTS 8
#define MGW_SHM_CMD_SLOTS 16
#define MGW_SHM_CMD_RING_SIZE 64 /* power of two > MGW_SHM_CMD_SLOTS */

enum mgw_dp_state {
	MGW_DP_STARTING = 1,
	MGW_DP_RUNNING = 2,
	MGW_DP_STOPPING = 3,
	MGW_DP_STOPPED = 4,
};

struct mgw_shm_lcore {
	uint32_t lcore_id;
	uint32_t roles; /* ctl_role bits; 0 for the main lcore */
};

struct mgw_shm_hdr {
	uint64_t magic;
	uint32_t abi_version;
	uint32_t hdr_size;
	uint64_t total_size;
	char instance[32];
	char version[32];          /* dataplane build version */
	int32_t dp_pid;
	_Atomic uint32_t state;    /* mgw_dp_state */
	uint64_t start_ns;         /* CLOCK_REALTIME at start */
	_Atomic uint64_t heartbeat_ns; /* CLOCK_REALTIME, main lcore, ~10 Hz */
	uint32_t hugepages;        /* 1 if EAL runs on hugepages, 0 if --no-huge */
	uint32_t tsc_hz_lo, tsc_hz_hi;

	uint32_t n_lcores;         /* counter block slots in use, incl. main */
	struct mgw_shm_lcore lcores[MGW_SHM_MAX_LCORES];

	uint32_t n_counters;
	uint32_t block_stride;     /* bytes between counter blocks */
	uint64_t desc_off;
	uint64_t blocks_off;
	uint64_t feed_off;
	uint32_t n_sessions_max;
	uint32_t n_ports;
	uint64_t ports_off;
	uint64_t cmd_ring_off;
	uint64_t cmd_slots_off;
	uint32_t n_cmd_slots;
	uint32_t cmd_slot_size;
	/* Config epoch the dataplane runs with: 1 = the file as read at start,
	   then the epoch of each MGW_CMD_CONFIG_EPOCH it applied (stored by the
	   book lcore with release once rx runs with it). */
	_Atomic uint64_t config_epoch;

	/* ABI 3: the order path. Offsets are 0 when no lcore has role match. */
	uint64_t match_cmd_ring_off; /* commands served by the match lcore */
	uint64_t order_ring_off;     /* MP/SC ring of struct dp_order_msg (64 bytes) */
	uint64_t report_ring_off;    /* SP/MC ring of struct dp_exec_report (64 bytes) */
	uint32_t order_ring_size;    /* ring sizes (power of two; usable = size - 1) */
	uint32_t report_ring_size;
	uint32_t report_hiwat;       /* used report slots above which new orders are refused */
	uint32_t order_elem_size;    /* 64: sizeof(struct dp_order_msg) = sizeof(dp_exec_report) */

	_Atomic uint32_t ready;    /* 1 once everything above is written */
};

enum mgw_ctr_kind { MGW_CTR_COUNTER = 0, MGW_CTR_GAUGE = 1 };

/* One row of the counter description table. */
struct mgw_shm_counter_desc {
	char name[64];
	char labels[64];
	char help[120];
	uint32_t id;     /* index into a counter block */
	uint32_t kind;   /* mgw_ctr_kind */
};
_Static_assert(sizeof(struct mgw_shm_counter_desc) == 256, "desc row is 256 bytes");

/* Feed session state written by the rx lcore (single writer). */
struct mgw_shm_feed_session {
	char session[10];
	uint8_t active;
	uint8_t ended;
	uint32_t pad;
	uint64_t next_seq;
	uint64_t gaps;
	uint64_t gap_msgs;
	uint64_t dup_msgs;
	uint64_t pad2[3];
};

/* Port facts and stats written by the main lcore about once a second. */
struct mgw_shm_port {
	char name[32];
	char device[64];
	uint16_t port_id;
	uint16_t rx_queues;
	uint16_t mtu;
	uint8_t link_up;
	uint8_t pad;
	uint32_t link_speed_mbps;
	uint64_t ipackets, ibytes, imissed, ierrors, rx_nombuf;
	uint64_t pad2[2];
};

/* Commands, control -> dataplane. */
enum mgw_cmd_type {
	MGW_CMD_NONE = 0,
	MGW_CMD_BOOK_SNAPSHOT = 1, /* depth of one symbol */
	MGW_CMD_BOOK_TOP = 2,      /* busiest symbols with their BBO */
	MGW_CMD_CONFIG_EPOCH = 3,  /* apply the dataplane's live config keys as one epoch */
	/* Served by the match lcore, posted on its own ring (mgw_cmd_is_match). */
	MGW_CMD_RISK_SHOW = 16,    /* limits and exposure of one or every configured account */
	MGW_CMD_RISK_SET = 17,     /* change one limit of one account */
	MGW_CMD_KILL = 18,         /* kill switch on/off (on: also mass-cancels resting orders) */
	MGW_CMD_MATCH_BOOK = 19,   /* depth of one symbol's client book + its reference */
	MGW_CMD_POSITIONS = 20,    /* positions and P&L of one account */
};

/* Commands the match lcore serves: they go on the match command ring. */
static inline int mgw_cmd_is_match(uint32_t type)
{
	return type >= MGW_CMD_RISK_SHOW && type <= MGW_CMD_POSITIONS;
}

enum mgw_cmd_state {
	MGW_CMD_FREE = 0,    /* owned by control */
	MGW_CMD_POSTED = 1,  /* request written, index enqueued: owned by dataplane */
	MGW_CMD_DONE = 2,    /* response written by dataplane: owned by control */
};

#define MGW_SNAP_MAX_DEPTH 64
#define MGW_TOP_MAX 32

struct mgw_snap_level {
	uint32_t price;
	uint32_t orders;
	uint64_t qty;
};

struct mgw_snap_symbol {
	char stock[9];
	char trading_state;
	char market_category;
	uint8_t pad;
	uint16_t locate;
	uint32_t orders;
	uint32_t bid_levels, ask_levels;
	uint64_t events;
	struct mgw_snap_level bid, ask; /* best; qty 0 when the side is empty */
};

#define MGW_EPOCH_MAX_UDP_PORTS 16 /* = CTL_MAX_UDP_PORTS */
#define MGW_EPOCH_MAX_GROUPS 32    /* = CTL_MAX_GROUPS */
#define MGW_EPOCH_REASON_MAX 160

/*
 * MGW_CMD_CONFIG_EPOCH request: every live dataplane key, whole (not a
 * delta), so the result does not depend on what the dataplane ran before.
 * The dataplane applies all of it or none; result 0 or -errno with a reason.
 */
struct mgw_cmd_config_epoch {
	uint64_t epoch;            /* number control gives this epoch (> 0) */
	uint32_t n_udp_ports;      /* feed.udp_ports, 1..16 */
	uint16_t udp_ports[MGW_EPOCH_MAX_UDP_PORTS];
	uint32_t n_groups;         /* feed.groups, 0..32, host order; 0 = any */
	uint32_t groups[MGW_EPOCH_MAX_GROUPS];
};

#define MGW_RISK_SHOW_MAX 64  /* accounts in one risk show answer */
#define MGW_POS_MAX 64        /* symbols in one positions answer */
#define MGW_RISK_KEY_MAX 24

/* Limits and exposure of one account (risk show). Money in 1/10000 dollar. */
struct mgw_risk_acct {
	uint32_t account;
	uint32_t enabled;            /* dp_risk_chk bits */
	uint32_t max_order_qty;
	uint32_t collar_bps;
	uint64_t max_order_notional; /* 1/10000 dollar */
	uint64_t credit_limit;       /* 1/10000 dollar */
	uint64_t max_position;       /* shares */
	int64_t open_notional, position_cost, exposure, realized;
	uint32_t live_orders;
	uint8_t killed;
	uint8_t stp;                 /* dp_stp_mode */
	uint16_t pad;
};

/* One symbol of an account's positions. */
struct mgw_pos_row {
	char stock[9];
	uint8_t restricted;
	uint16_t locate;
	uint32_t avg_px;
	uint32_t mid_px;             /* reference mid used (0: none usable) */
	int64_t qty;
	int64_t realized, unrealized; /* 1/10000 dollar */
	uint64_t open_buy_qty, open_sell_qty;
};

struct mgw_cmd_slot {
	_Atomic uint32_t state; /* mgw_cmd_state */
	uint32_t seq;           /* request id chosen by control, echoed */
	uint32_t type;          /* mgw_cmd_type */
	int32_t result;         /* 0 or -errno, set by dataplane */
	union {
		struct { char stock[9]; uint8_t pad; uint16_t depth; } snapshot;
		struct { uint16_t count; } top;
		struct mgw_cmd_config_epoch epoch;
		struct { uint32_t account; uint8_t all; } risk_show;
		struct {
			uint32_t account;
			char key[MGW_RISK_KEY_MAX];  /* max_order_qty, ..., restrict, unrestrict, throttle */
			char symbol[9];              /* restrict / unrestrict */
			uint64_t value;              /* dollars for notional/credit, else units of the key */
		} risk_set;
		struct { uint8_t level; uint8_t on; uint16_t pad; uint32_t key; } kill; /* dp_risk_level */
		struct { char stock[9]; uint8_t pad; uint16_t depth; } match_book;
		struct { uint32_t account; } positions;
	} req;
	union {
		struct {
			struct mgw_snap_symbol sym;
			uint16_t n_bids, n_asks;
			uint32_t pad;
			struct mgw_snap_level bids[MGW_SNAP_MAX_DEPTH];
			struct mgw_snap_level asks[MGW_SNAP_MAX_DEPTH];
		} snapshot;
		struct {
			uint32_t n;
			uint32_t pad;
			struct mgw_snap_symbol syms[MGW_TOP_MAX];
		} top;
		struct {
			uint64_t epoch;    /* the dataplane's config_epoch after the command */
			char reason[MGW_EPOCH_REASON_MAX]; /* why it was refused, "" if applied */
		} epoch;
		struct {
			uint32_t n;
			uint8_t global_killed;
			uint8_t pad[3];
			uint64_t checked, passed;            /* risk stats */
			struct mgw_risk_acct accts[MGW_RISK_SHOW_MAX];
		} risk_show;
		struct {
			uint64_t old_value, new_value;
			char reason[MGW_EPOCH_REASON_MAX];
		} risk_set;
		struct {
			uint32_t cancelled_scope;            /* dp_mass_scope of the mass cancel sent, 0 for off */
			char reason[MGW_EPOCH_REASON_MAX];
		} kill;
		struct {
			uint16_t locate;
			uint16_t n_bids, n_asks;
			uint8_t ref_valid;
			uint8_t pad;
			uint32_t ref_bid, ref_ask;
			uint32_t orders;                     /* client orders resting on the symbol */
			struct mgw_snap_level bids[MGW_SNAP_MAX_DEPTH];
			struct mgw_snap_level asks[MGW_SNAP_MAX_DEPTH];
		} match_book;
		struct {
			uint32_t n;
			uint32_t truncated;                  /* more symbols than MGW_POS_MAX */
			struct mgw_risk_acct acct;
			struct mgw_pos_row rows[MGW_POS_MAX];
		} positions;
	} resp;
};

/* A mapped segment, either side. */
struct mgw_shm {
	void *base;
	size_t size;
	struct mgw_shm_hdr *hdr;
	char path[128];
	int owner; /* 1 in the dataplane (creator) */
};

/* Sizing parameters chosen by the dataplane. */
struct mgw_shm_params {
	const char *instance;
	const char *version;
	uint32_t n_lcores; /* including main */
	uint32_t n_ports;
	/* Order path: 0 = no match lcore (no rings). Powers of two >= 64. */
	uint32_t order_ring_size;
	uint32_t report_ring_size;
};

/* Report ring slots kept free above the high-water mark for rejections. */
static inline uint32_t mgw_report_headroom(uint32_t report_ring_size)
{
	return report_ring_size / 4;
}

/*
 * Dataplane side: create (replacing a stale segment of the same instance)
 * and lay out the segment; the counter table is filled, `ready` is NOT set
 * (call mgw_shm_publish once the rest is filled). Returns 0 or -errno.
 */
int mgw_shm_create(const struct mgw_shm_params *p, struct mgw_shm *out);
void mgw_shm_publish(struct mgw_shm *s);
/* Unmap; the owner also unlinks the segment. Accepts a zeroed struct. */
void mgw_shm_close(struct mgw_shm *s);

/*
 * Reader side: map /dev/shm/mgw.<instance>. Returns 0, or -ENOENT (no
 * dataplane), -EPROTO (bad magic or ABI version: err says which), -EAGAIN
 * (not ready yet), other -errno. err gets one line for the operator.
 */
int mgw_shm_attach(const char *instance, struct mgw_shm *out, char *err, size_t errlen);

/* The segment path for an instance. */
int mgw_shm_path(const char *instance, char *out, size_t cap);

static inline const struct mgw_shm_counter_desc *mgw_shm_desc(const struct mgw_shm *s)
{
	return (const struct mgw_shm_counter_desc *)((const char *)s->base + s->hdr->desc_off);
}

static inline uint64_t *mgw_shm_block(const struct mgw_shm *s, uint32_t slot)
{
	return (uint64_t *)((char *)s->base + s->hdr->blocks_off + (uint64_t)slot * s->hdr->block_stride);
}

static inline struct mgw_shm_feed_session *mgw_shm_sessions(const struct mgw_shm *s)
{
	return (struct mgw_shm_feed_session *)((char *)s->base + s->hdr->feed_off);
}

static inline struct mgw_shm_port *mgw_shm_ports(const struct mgw_shm *s)
{
	return (struct mgw_shm_port *)((char *)s->base + s->hdr->ports_off);
}

static inline struct rte_ring *mgw_shm_cmd_ring(const struct mgw_shm *s)
{
	return (struct rte_ring *)((char *)s->base + s->hdr->cmd_ring_off);
}

static inline struct rte_ring *mgw_shm_match_cmd_ring(const struct mgw_shm *s)
{
	return s->hdr->match_cmd_ring_off
		       ? (struct rte_ring *)((char *)s->base + s->hdr->match_cmd_ring_off) : NULL;
}

/* The ring a command of this type is posted on (NULL: nobody serves it). */
static inline struct rte_ring *mgw_shm_cmd_ring_for(const struct mgw_shm *s, uint32_t type)
{
	return mgw_cmd_is_match(type) ? mgw_shm_match_cmd_ring(s) : mgw_shm_cmd_ring(s);
}

static inline struct rte_ring *mgw_shm_order_ring(const struct mgw_shm *s)
{
	return s->hdr->order_ring_off ? (struct rte_ring *)((char *)s->base + s->hdr->order_ring_off)
				      : NULL;
}

static inline struct rte_ring *mgw_shm_report_ring(const struct mgw_shm *s)
{
	return s->hdr->report_ring_off ? (struct rte_ring *)((char *)s->base + s->hdr->report_ring_off)
				       : NULL;
}

static inline struct mgw_cmd_slot *mgw_shm_cmd_slot(const struct mgw_shm *s, uint32_t i)
{
	return (struct mgw_cmd_slot *)((char *)s->base + s->hdr->cmd_slots_off +
				       (uint64_t)i * s->hdr->cmd_slot_size);
}

/* Single-writer counter update: a plain add made visible with a relaxed store. */
static inline void mgw_ctr_add(uint64_t *blk, enum mgw_ctr_id id, uint64_t n)
{
	__atomic_store_n(&blk[id], blk[id] + n, __ATOMIC_RELAXED);
}
static inline void mgw_ctr_set(uint64_t *blk, enum mgw_ctr_id id, uint64_t v)
{
	__atomic_store_n(&blk[id], v, __ATOMIC_RELAXED);
}
static inline uint64_t mgw_ctr_read(const uint64_t *blk, uint32_t id)
{
	return __atomic_load_n(&blk[id], __ATOMIC_RELAXED);
}

/* Sum of one counter over all lcore blocks (gauges: also summed). */
uint64_t mgw_shm_counter_total(const struct mgw_shm *s, uint32_t id);

#endif /* MGW_SHM_H */
