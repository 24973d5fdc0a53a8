/*
 * dp_mold.c - MoldUDP64 header codec, message block iterator and per-session
 * sequence tracker.
 *
 * Datagrams are hostile input: the iterator compares every block length
 * against the bytes left before touching them, and stops for good at the
 * first inconsistency so that nothing after a bad block is ever applied.
 * The tracker is pure arithmetic on the header; it never looks at blocks.
 */
#include "dp_mold.h"
#include "dp_be.h"

#include <string.h>

int dp_mold_parse_hdr(const uint8_t *buf, size_t len, struct dp_mold_hdr *h)
{
	if (len < DP_MOLD_HDR_LEN)
		return -DP_MOLD_ERR_SHORT;
	memcpy(h->session, buf, DP_MOLD_SESSION_LEN);
	h->seq = dp_ld64(buf + 10);
	h->count = dp_ld16(buf + 18);
	return 0;
}

void dp_mold_write_hdr(uint8_t *buf, const struct dp_mold_hdr *h)
{
	memcpy(buf, h->session, DP_MOLD_SESSION_LEN);
	for (int i = 0; i < 8; i++)
		buf[10 + i] = (uint8_t)(h->seq >> (56 - 8 * i));
	buf[18] = (uint8_t)(h->count >> 8);
	buf[19] = (uint8_t)h->count;
}

void dp_mold_iter_init(struct dp_mold_iter *it, const uint8_t *buf, size_t len,
		       const struct dp_mold_hdr *h)
{
	it->end = buf + len;
	if (len < DP_MOLD_HDR_LEN) {
		/* Caller skipped the header check: present an empty, finished iterator. */
		it->p = it->end;
		it->left = 0;
		return;
	}
	it->p = buf + DP_MOLD_HDR_LEN;
	/* Heartbeats and end-of-session packets carry no message blocks. */
	it->left = (h->count == DP_MOLD_END_OF_SESSION) ? 0 : h->count;
}

/* Make every later dp_mold_next() return 0: the datagram is not trusted past an error. */
static int iter_fail(struct dp_mold_iter *it, int err)
{
	it->p = it->end;
	it->left = 0;
	return -err;
}

int dp_mold_next(struct dp_mold_iter *it, const uint8_t **msg, uint16_t *len)
{
	size_t avail = (size_t)(it->end - it->p);
	if (it->left == 0)
		return avail == 0 ? 0 : iter_fail(it, DP_MOLD_ERR_TRAILING);
	if (avail < 2)
		return iter_fail(it, DP_MOLD_ERR_TRUNCATED);
	uint16_t n = dp_ld16(it->p);
	if (n == 0)
		return iter_fail(it, DP_MOLD_ERR_ZERO_LEN);
	if (avail - 2 < n)
		return iter_fail(it, DP_MOLD_ERR_TRUNCATED);
	*msg = it->p + 2;
	*len = n;
	it->p += 2 + (size_t)n;
	it->left--;
	return 1;
}

void dp_mold_track(struct dp_mold_session *s, const struct dp_mold_hdr *h,
		   struct dp_mold_verdict *v)
{
	v->skip = 0;
	v->gap = 0;
	v->new_session = false;

	/*
	 * A different session name on the same line means the feed rolled over
	 * (e.g. a new trading day): the old numbering no longer applies, so the
	 * state, counters included, restarts at this packet.
	 */
	if (!s->active || memcmp(s->session, h->session, DP_MOLD_SESSION_LEN) != 0) {
		memset(s, 0, sizeof *s);
		memcpy(s->session, h->session, DP_MOLD_SESSION_LEN);
		s->active = true;
		s->next_seq = h->seq;
		v->new_session = true;
	}

	/* End of session and heartbeats: `seq` is the next expected number, no messages. */
	uint64_t n = (h->count == DP_MOLD_END_OF_SESSION) ? 0 : h->count;
	if (h->count == DP_MOLD_END_OF_SESSION)
		s->ended = true;

	if (h->seq > s->next_seq) {
		v->gap = h->seq - s->next_seq;
		s->gaps++;
		s->gap_msgs += v->gap;
		s->next_seq = h->seq;
	} else if (h->seq < s->next_seq) {
		uint64_t behind = s->next_seq - h->seq;
		uint64_t dup = behind < n ? behind : n;
		v->skip = (uint32_t)dup; /* dup <= count <= 0xFFFF */
		s->dup_msgs += dup;
	}

	/* Advance past this packet's last message; saturate on hostile sequence numbers. */
	uint64_t last = (h->seq > UINT64_MAX - n) ? UINT64_MAX : h->seq + n;
	if (last > s->next_seq)
		s->next_seq = last;
}

const char *dp_mold_err_name(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case DP_MOLD_OK: return "ok";
	case DP_MOLD_ERR_SHORT: return "short";
	case DP_MOLD_ERR_TRUNCATED: return "truncated";
	case DP_MOLD_ERR_TRAILING: return "trailing";
	case DP_MOLD_ERR_ZERO_LEN: return "zero_len";
	default: return "unknown_error";
	}
}
