/*
 * dp_feed.c - frame -> book events (see dp_feed.h).
 */
#include "dp_feed.h"

#include <string.h>

#include "dp_itch.h"
#include "dp_pkt.h"

/* The counter list keeps ITCH types and errors in the codec's order. */
_Static_assert(MGW_CTR_ITCH_O - MGW_CTR_ITCH_S == DP_ITCH_NTYPES - 1, "ITCH type counters");
_Static_assert(MGW_CTR_ITCH_ERR_BAD_FIELD - MGW_CTR_ITCH_ERR_EMPTY == DP_ITCH_ERR__COUNT - 2,
	       "ITCH error counters");

void dp_feed_init(struct dp_feed *f, const struct ctl_feed_cfg *cfg, uint64_t *ctr)
{
	memset(f, 0, sizeof(*f));
	f->ctr = ctr;
	dp_feed_filter_from_cfg(&f->filter[0], cfg);
	f->cur = &f->filter[0];
	f->cur_gen = 0;
	atomic_init(&f->pub_gen, 0);
	atomic_init(&f->ack_gen, 0);
}

void dp_feed_filter_from_cfg(struct dp_feed_filter *out, const struct ctl_feed_cfg *cfg)
{
	memset(out, 0, sizeof(*out));
	out->n_udp_ports = cfg->n_udp_ports <= CTL_MAX_UDP_PORTS ? cfg->n_udp_ports : CTL_MAX_UDP_PORTS;
	memcpy(out->udp_ports, cfg->udp_ports, sizeof(out->udp_ports));
	out->n_groups = cfg->n_groups <= CTL_MAX_GROUPS ? cfg->n_groups : CTL_MAX_GROUPS;
	memcpy(out->groups, cfg->groups, sizeof(out->groups));
}

uint64_t dp_feed_filter_publish(struct dp_feed *f, const struct dp_feed_filter *nf)
{
	uint64_t pub = atomic_load_explicit(&f->pub_gen, memory_order_relaxed);
	/* Acquire: rx's reads of the copy we are about to overwrite are done. */
	if (atomic_load_explicit(&f->ack_gen, memory_order_acquire) != pub)
		return 0;
	uint64_t g = pub + 1;
	f->filter[g & 1] = *nf;
	atomic_store_explicit(&f->pub_gen, g, memory_order_release);
	return g;
}

uint64_t dp_feed_filter_retract(struct dp_feed *f, uint64_t gen)
{
	if (atomic_load_explicit(&f->pub_gen, memory_order_relaxed) != gen)
		return 0;
	/* gen + 1 maps to the copy of gen - 1, which nobody wrote since: the old
	   filter comes back without touching a buffer rx may be reading. */
	atomic_store_explicit(&f->pub_gen, gen + 1, memory_order_release);
	return gen + 1;
}

static const enum mgw_ctr_id pkt_drop_ctr[DP_PKT_DROP__COUNT] = {
	[DP_PKT_DROP_RUNT] = MGW_CTR_PKT_DROP_RUNT,
	[DP_PKT_DROP_NOT_IPV4] = MGW_CTR_PKT_DROP_NOT_IPV4,
	[DP_PKT_DROP_IP_HDR] = MGW_CTR_PKT_DROP_IP_HDR,
	[DP_PKT_DROP_IP_CSUM] = MGW_CTR_PKT_DROP_IP_CSUM,
	[DP_PKT_DROP_FRAGMENT] = MGW_CTR_PKT_DROP_FRAGMENT,
	[DP_PKT_DROP_NOT_UDP] = MGW_CTR_PKT_DROP_NOT_UDP,
	[DP_PKT_DROP_UDP_HDR] = MGW_CTR_PKT_DROP_UDP_HDR,
};

static const enum mgw_ctr_id mold_drop_ctr[DP_MOLD_ERR__COUNT] = {
	[DP_MOLD_ERR_SHORT] = MGW_CTR_MOLD_DROP_SHORT,
	[DP_MOLD_ERR_TRUNCATED] = MGW_CTR_MOLD_DROP_TRUNCATED,
	[DP_MOLD_ERR_TRAILING] = MGW_CTR_MOLD_DROP_TRAILING,
	[DP_MOLD_ERR_ZERO_LEN] = MGW_CTR_MOLD_DROP_ZERO_LEN,
};

static int accept_dst(const struct dp_feed_filter *f, const struct dp_pkt_udp *u)
{
	uint32_t i;
	for (i = 0; i < f->n_udp_ports; i++)
		if (f->udp_ports[i] == u->dst_port)
			break;
	if (i == f->n_udp_ports)
		return -MGW_CTR_PKT_DROP_PORT;
	if (f->n_groups == 0)
		return 0;
	for (i = 0; i < f->n_groups; i++)
		if (f->groups[i] == u->dst_ip)
			return 0;
	return -MGW_CTR_PKT_DROP_GROUP;
}

static struct dp_mold_session *find_session(struct dp_feed *f, const char *name)
{
	for (uint32_t i = 0; i < f->n_sessions; i++)
		if (memcmp(f->sessions[i].session, name, DP_MOLD_SESSION_LEN) == 0)
			return &f->sessions[i];
	if (f->n_sessions == MGW_SHM_MAX_SESSIONS)
		return NULL;
	struct dp_mold_session *s = &f->sessions[f->n_sessions++];
	memset(s, 0, sizeof(*s));
	memcpy(s->session, name, DP_MOLD_SESSION_LEN);
	return s;
}

uint32_t dp_feed_frame(struct dp_feed *f, const uint8_t *frame, uint32_t len,
		       struct dp_book_ev *evs, uint32_t cap)
{
	uint64_t *ctr = f->ctr;
	struct dp_pkt_udp u;
	int rc = dp_pkt_parse_udp(frame, len, &u);
	if (rc < 0) {
		mgw_ctr_add(ctr, pkt_drop_ctr[-rc], 1);
		return 0;
	}
	rc = accept_dst(f->cur, &u);
	if (rc < 0) {
		mgw_ctr_add(ctr, (enum mgw_ctr_id)-rc, 1);
		return 0;
	}
	struct dp_mold_hdr h;
	if (dp_mold_parse_hdr(u.payload, u.len, &h) < 0) {
		mgw_ctr_add(ctr, MGW_CTR_MOLD_DROP_SHORT, 1);
		return 0;
	}

	/* Validate the block framing of the whole datagram before tracking. */
	struct dp_mold_iter it;
	const uint8_t *msg;
	uint16_t mlen;
	if (h.count != DP_MOLD_END_OF_SESSION) {
		dp_mold_iter_init(&it, u.payload, u.len, &h);
		while ((rc = dp_mold_next(&it, &msg, &mlen)) > 0)
			;
		if (rc < 0) {
			mgw_ctr_add(ctr, mold_drop_ctr[-rc], 1);
			return 0;
		}
	}

	struct dp_mold_session *s = find_session(f, h.session);
	if (!s) {
		mgw_ctr_add(ctr, MGW_CTR_MOLD_DROP_SESSIONS, 1);
		return 0;
	}
	struct dp_mold_verdict v;
	dp_mold_track(s, &h, &v);
	mgw_ctr_add(ctr, MGW_CTR_MOLD_PACKETS, 1);
	if (v.gap) {
		mgw_ctr_add(ctr, MGW_CTR_MOLD_GAPS, 1);
		mgw_ctr_add(ctr, MGW_CTR_MOLD_GAP_MESSAGES, v.gap);
	}
	if (h.count == DP_MOLD_END_OF_SESSION) {
		mgw_ctr_add(ctr, MGW_CTR_MOLD_END_OF_SESSION, 1);
		return 0;
	}
	if (h.count == DP_MOLD_HEARTBEAT) {
		mgw_ctr_add(ctr, MGW_CTR_MOLD_HEARTBEATS, 1);
		return 0;
	}
	if (v.skip)
		mgw_ctr_add(ctr, MGW_CTR_MOLD_DUP_MESSAGES, v.skip);

	uint32_t n = 0, idx = 0;
	dp_mold_iter_init(&it, u.payload, u.len, &h);
	while (dp_mold_next(&it, &msg, &mlen) > 0) {
		if (idx++ < v.skip)
			continue;
		/* Fused decode: same checks and event as dp_itch_decode + dp_book_ev_from_itch. */
		struct dp_book_ev spill;
		struct dp_book_ev *ev = n < cap ? &evs[n] : &spill;
		uint8_t type;
		rc = dp_itch_decode_book_ev(msg, mlen, ev, &type);
		if (rc < 0) {
			mgw_ctr_add(ctr, (enum mgw_ctr_id)(MGW_CTR_ITCH_ERR_EMPTY + (-rc - 1)), 1);
			continue;
		}
		mgw_ctr_add(ctr, (enum mgw_ctr_id)(MGW_CTR_ITCH_S + dp_itch_type_index(type)), 1);
		if (n < cap)
			n += (uint32_t)rc;
		else if (rc) /* never when cap >= dp_feed_max_events(len), but never silent */
			mgw_ctr_add(ctr, MGW_CTR_FEED_EV_OVERFLOW, 1);
	}
	return n;
}

void dp_feed_publish_sessions(const struct dp_feed *f, struct mgw_shm_feed_session *out)
{
	for (uint32_t i = 0; i < f->n_sessions && i < MGW_SHM_MAX_SESSIONS; i++) {
		const struct dp_mold_session *s = &f->sessions[i];
		memcpy(out[i].session, s->session, sizeof(out[i].session));
		__atomic_store_n(&out[i].next_seq, s->next_seq, __ATOMIC_RELAXED);
		__atomic_store_n(&out[i].gaps, s->gaps, __ATOMIC_RELAXED);
		__atomic_store_n(&out[i].gap_msgs, s->gap_msgs, __ATOMIC_RELAXED);
		__atomic_store_n(&out[i].dup_msgs, s->dup_msgs, __ATOMIC_RELAXED);
		out[i].ended = s->ended;
		__atomic_store_n(&out[i].active, (uint8_t)s->active, __ATOMIC_RELEASE);
	}
}
