/*
 * dp_mold.h - MoldUDP64 (NASDAQ) packet codec and per-session sequence tracking.
 *
 * Downstream packet = 20-byte header + message blocks:
 *
 *   0          10                 18      20
 *   +----------+------------------+-------+-----------------------------+
 *   | session  | sequence (BE64)  | count | len(BE16) msg | len msg ... |
 *   +----------+------------------+-------+-----------------------------+
 *
 * `sequence` is the sequence number of the first message in the packet;
 * count 0 is a heartbeat (sequence = next expected), 0xFFFF is end of
 * session. Parsing is bounds checked: a block whose length runs past the
 * datagram is reported as truncated and nothing after it is read.
 *
 * The tracker decides, per packet, which messages are new, which were
 * already seen (duplicates: the A/B line copy or a resend) and whether a
 * gap opened. Recovery of gaps is not done here.
 */
#ifndef DP_MOLD_H
#define DP_MOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_MOLD_HDR_LEN 20
#define DP_MOLD_SESSION_LEN 10
#define DP_MOLD_HEARTBEAT 0
#define DP_MOLD_END_OF_SESSION 0xFFFF

enum dp_mold_err {
	DP_MOLD_OK = 0,
	DP_MOLD_ERR_SHORT = 1,   /* datagram shorter than the 20-byte header */
	DP_MOLD_ERR_TRUNCATED,   /* a message block runs past the datagram */
	DP_MOLD_ERR_TRAILING,    /* bytes left after `count` blocks */
	DP_MOLD_ERR_ZERO_LEN,    /* a message block of length 0 */
	DP_MOLD_ERR__COUNT
};

struct dp_mold_hdr {
	char session[DP_MOLD_SESSION_LEN];
	uint64_t seq;
	uint16_t count;
};

/* Parse the header. Returns 0, or -DP_MOLD_ERR_SHORT. */
int dp_mold_parse_hdr(const uint8_t *buf, size_t len, struct dp_mold_hdr *h);

/* Write a header into buf (at least 20 bytes). */
void dp_mold_write_hdr(uint8_t *buf, const struct dp_mold_hdr *h);

/* Iterator over the message blocks of one datagram. */
struct dp_mold_iter {
	const uint8_t *p;
	const uint8_t *end;
	uint32_t left; /* blocks still to read, per the header count */
};

/* Start iterating a datagram whose header was parsed into h. */
void dp_mold_iter_init(struct dp_mold_iter *it, const uint8_t *buf, size_t len,
		       const struct dp_mold_hdr *h);

/*
 * Next message block. Returns 1 and sets *msg and *len, 0 when all `count`
 * blocks were read and no bytes are left, or a negative dp_mold_err
 * (TRUNCATED, ZERO_LEN, TRAILING). After an error the iterator is finished.
 */
int dp_mold_next(struct dp_mold_iter *it, const uint8_t **msg, uint16_t *len);

/* Per-session sequence state. */
struct dp_mold_session {
	char session[DP_MOLD_SESSION_LEN];
	bool active;      /* a packet of this session was seen */
	bool ended;       /* end of session seen */
	uint64_t next_seq;/* sequence number expected next */
	uint64_t gaps;    /* gap events */
	uint64_t gap_msgs;/* messages missing over all gaps */
	uint64_t dup_msgs;/* messages received again */
};

/* What the tracker decided for one packet. */
struct dp_mold_verdict {
	uint32_t skip;     /* leading messages already seen: do not apply */
	uint64_t gap;      /* messages missing before this packet (0: none) */
	bool new_session;  /* first packet of this session */
};

/*
 * Account one packet header against the session state. On the first packet
 * the session starts at h->seq. For a packet of count n starting at seq s:
 *   s == next: all new; s > next: gap of s-next, then all new;
 *   s < next : the first min(n, next-s) are duplicates.
 * Heartbeats advance gap detection (a heartbeat at s > next is a gap) but
 * carry no messages; end of session sets `ended`.
 */
void dp_mold_track(struct dp_mold_session *s, const struct dp_mold_hdr *h,
		   struct dp_mold_verdict *v);

const char *dp_mold_err_name(int err);

#endif /* DP_MOLD_H */
