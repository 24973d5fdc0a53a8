/*
 * itchgen.h - synthetic, book-consistent NASDAQ TotalView-ITCH 5.0 stream
 * generator, and writers for its two output formats (BinaryFILE, and a pcap
 * of MoldUDP64 datagrams in Ethernet/IPv4/UDP frames).
 *
 * The stream looks like a (compressed) trading day: system events, one
 * stock directory (R) and trading action (H) per symbol, then a body of
 * order messages with a realistic type mix and Zipf-skewed symbol activity,
 * then the closing system events. It is consistent with an L3 book: every
 * E/C/X/D/U names a live order, no execution or cancel exceeds what
 * remains, U always creates a fresh reference, and no symbol's book is ever
 * crossed or locked. It is deterministic for a given configuration: the
 * generator uses its own PRNG, never rand(), and no wall-clock input.
 *
 * Used by the mgw-itchgen CLI, the demo data build step and the tests.
 */
#ifndef ITCHGEN_H
#define ITCHGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_itch.h"

/* How E/C/X/D/U choose the order they act on. */
enum itg_target {
	ITG_TARGET_UNIFORM = 0, /* uniformly among all live orders of the stream */
	ITG_TARGET_RECENT,      /* among the last ITG_RECENT_WINDOW adds still live */
};
#define ITG_RECENT_WINDOW 64

#define ITG_MAX_SYMBOLS 65535 /* locates 1..65535 */

struct itg_cfg {
	/*
	 * Total messages emitted, preamble (3 + 2 * symbols) and closing
	 * system events (3) included. If smaller than those, the stream is
	 * just preamble + closing (no order messages).
	 */
	uint64_t messages;
	uint32_t symbols;        /* 1..ITG_MAX_SYMBOLS */
	uint64_t seed;
	enum itg_target target;
	/*
	 * Soft cap on live orders: above it, adds are turned into deletes
	 * (of a uniformly chosen order) so memory and the downstream book
	 * stay bounded. 0 = default (1,000,000, below dp_book's default
	 * max_orders of 2^20).
	 */
	uint32_t max_live;
};

/* Fill c with defaults: 1,000,000 messages, 5000 symbols, seed 1, uniform. */
void itg_cfg_default(struct itg_cfg *c);

/* What was generated so far. */
struct itg_stats {
	uint64_t total;                    /* messages emitted */
	uint64_t by_type[DP_ITCH_NTYPES];  /* per type, slots as dp_itch_type_index() */
	uint64_t body;                     /* order messages (A F E C X D U P) */
	uint32_t live_orders;              /* orders live now */
	uint32_t peak_live_orders;
	uint32_t live_levels;              /* distinct (symbol, side, price) with orders */
	uint32_t peak_live_levels;
	uint64_t cap_deletes;              /* adds turned into deletes by max_live */
	uint64_t recent_fallbacks;         /* recent mode: no recent order live, chose uniformly */
	uint64_t last_ts;                  /* timestamp of the last message */
};

struct itg;

/*
 * Create a generator. Returns 0, -EINVAL for a bad cfg (symbols out of
 * range, unknown target), or -ENOMEM.
 */
int itg_create(struct itg **out, const struct itg_cfg *cfg);
void itg_destroy(struct itg *g); /* accepts NULL */

/*
 * Produce the next message: fills *m (may be NULL) and encodes it into buf
 * (cap >= DP_ITCH_MAX_LEN). Returns the encoded length (> 0), 0 when the
 * stream is finished, or a negative dp_itch_err if encoding failed.
 */
int itg_next(struct itg *g, struct dp_itch_msg *m, uint8_t *buf, size_t cap);

const struct itg_stats *itg_get_stats(const struct itg *g);

/*
 * Name of symbol i (0-based; its locate is i + 1): 4 or 5 uppercase
 * letters, unique for i < ITG_MAX_SYMBOLS, independent of the seed so that
 * demo data always shows the same tickers. out gets a NUL-terminated name.
 */
void itg_symbol_name(uint32_t i, char out[8]);

/* ---- output writers ---------------------------------------------------- */

#define ITG_DEFAULT_GROUP   0xE9360C6Fu /* 233.54.12.111 */
#define ITG_DEFAULT_PORT    26477
#define ITG_DEFAULT_SESSION "MGWDEMO001"
#define ITG_SRC_IP_A        0x0A010101u /* 10.1.1.1: line A source */
#define ITG_SRC_IP_B        0x0A010201u /* 10.1.2.1: line B source */
#define ITG_SRC_PORT        26400
/* UDP payload limit: MoldUDP64 header + blocks, well inside a 1500 MTU. */
#define ITG_MAX_PAYLOAD     1400
/* A packet is also sent when the next message is this much later (ns). */
#define ITG_FLUSH_NS        20000
/* An idle gap of at least this long (ns) gets one heartbeat packet. */
#define ITG_HEARTBEAT_NS    1000000000ull
/* pcap record times: this UTC date + the ITCH timestamp (2024-01-02). */
#define ITG_PCAP_EPOCH      1704153600u

struct itg_out_cfg {
	const char *binfile;  /* BinaryFILE path, or NULL */
	const char *pcap;     /* pcap path, or NULL */
	uint32_t group;       /* destination IPv4, host order */
	uint16_t port;        /* destination UDP port */
	char session[10];     /* MoldUDP64 session, space padded */
	bool ab;              /* write each packet twice: line A and line B */
};

/* Fill c with defaults (no files, default group/port/session, no A/B). */
void itg_out_cfg_default(struct itg_out_cfg *c);

struct itg_out_stats {
	uint64_t messages;   /* messages written */
	uint64_t packets;    /* MoldUDP64 packets per line (data + heartbeat + end) */
	uint64_t heartbeats;
	uint64_t frames;     /* pcap records (packets x lines) */
	uint64_t bin_bytes;
	uint64_t pcap_bytes;
};

struct itg_out;

/*
 * Open the outputs. Returns 0, or -errno; a message goes to err (errlen
 * bytes) on failure.
 */
int itg_out_open(struct itg_out **out, const struct itg_out_cfg *cfg,
		 char *err, size_t errlen);

/* Append one encoded message with timestamp ts (ns). Returns 0 or -errno. */
int itg_out_put(struct itg_out *o, const uint8_t *msg, size_t len, uint64_t ts);

/*
 * Flush the last packet, write the end-of-session packet, close the files
 * and free o. Returns 0 or -errno (the first error seen over the life of o).
 * st (may be NULL) receives the final counts.
 */
int itg_out_close(struct itg_out *o, struct itg_out_stats *st);

#endif /* ITCHGEN_H */
