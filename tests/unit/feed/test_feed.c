/*
 * test_feed.c - unit tests for the rx feed handler (dataplane/feed/dp_feed.c).
 *
 * dp_feed_frame() is the whole rx decision chain for one frame: packet
 * checks, UDP port / multicast group filter, MoldUDP64 framing, sequence
 * tracking, ITCH decoding and the mapping to book events. Until now it was
 * only covered end to end and by fuzzing, which shows it does not crash but
 * not that each frame lands in the right counter or that the sequence
 * tracker sees exactly the datagrams that were applied. These tests build
 * frames with the project's own encoders (dp_pkt_build_udp,
 * dp_mold_write_hdr, dp_itch_encode) and check events and counters by value.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_feed.h"
#include "dp_itch.h"
#include "dp_mold.h"
#include "dp_pkt.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

#define SRC_IP IP(10, 1, 2, 3)
#define GROUP_A IP(233, 54, 12, 111)
#define GROUP_B IP(233, 49, 196, 73)
#define GROUP_OTHER IP(233, 54, 12, 112)
#define PORT_A 26400
#define PORT_B 26477
#define PORT_OTHER 26401

#define SESS "TESTSESS01"

/* ---------------------------------------------------------------- fixtures */

static uint64_t ctr[MGW_CTR__COUNT];
static struct dp_feed feed;

static void feed_setup(uint32_t n_groups)
{
	struct ctl_feed_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.udp_ports[0] = PORT_A;
	cfg.udp_ports[1] = PORT_B;
	cfg.n_udp_ports = 2;
	cfg.groups[0] = GROUP_A;
	cfg.groups[1] = GROUP_B;
	cfg.n_groups = n_groups;
	memset(ctr, 0, sizeof ctr);
	dp_feed_init(&feed, &cfg, ctr);
}

static void setup_groups(void) { feed_setup(2); }

static uint64_t ctr_sum(void)
{
	uint64_t s = 0;
	for (int i = 0; i < MGW_CTR__COUNT; i++)
		s += ctr[i];
	return s;
}

/* ------------------------------------------------------- datagram builder */

struct dg {
	uint8_t b[1600];
	size_t len;
};

static void dg_start(struct dg *d, const char *session, uint64_t seq, uint16_t count)
{
	struct dp_mold_hdr h;
	memset(h.session, ' ', sizeof h.session);
	memcpy(h.session, session, strlen(session));
	h.seq = seq;
	h.count = count;
	dp_mold_write_hdr(d->b, &h);
	d->len = DP_MOLD_HDR_LEN;
}

/* Append one block with a raw body. */
static void dg_raw(struct dg *d, const uint8_t *body, uint16_t n)
{
	ck_assert_uint_le(d->len + 2 + n, sizeof d->b);
	d->b[d->len++] = (uint8_t)(n >> 8);
	d->b[d->len++] = (uint8_t)n;
	memcpy(d->b + d->len, body, n);
	d->len += n;
}

/* Append one block holding the encoding of m; returns the message bytes. */
static uint8_t *dg_msg(struct dg *d, const struct dp_itch_msg *m)
{
	uint8_t tmp[DP_ITCH_MAX_LEN];
	int n = dp_itch_encode(m, tmp, sizeof tmp);
	ck_assert_int_gt(n, 0);
	dg_raw(d, tmp, (uint16_t)n);
	return d->b + d->len - n;
}

/* --------------------------------------------------------- ITCH messages */

static void msg_hdr(struct dp_itch_msg *m, char type, uint16_t locate)
{
	memset(m, 0, sizeof *m);
	m->hdr.type = type;
	m->hdr.stock_locate = locate;
	m->hdr.tracking = 7;
	m->hdr.timestamp = UINT64_C(34200000000000) + locate; /* 09:30 */
}

static struct dp_itch_msg m_add(uint16_t locate, uint64_t ref, char side, uint32_t qty,
				const char *stock, uint32_t price)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'A', locate);
	m.u.add.ref = ref;
	m.u.add.side = side;
	m.u.add.shares = qty;
	dp_itch_stock_set(m.u.add.stock, stock);
	m.u.add.price = price;
	return m;
}

static struct dp_itch_msg m_add_mpid(uint16_t locate, uint64_t ref, char side, uint32_t qty,
				     const char *stock, uint32_t price)
{
	struct dp_itch_msg m = m_add(locate, ref, side, qty, stock, price);
	m.hdr.type = 'F';
	memcpy(m.u.add.attribution, "GSCO", 4);
	return m;
}

static struct dp_itch_msg m_exec(uint16_t locate, uint64_t ref, uint32_t qty, uint64_t match)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'E', locate);
	m.u.executed.ref = ref;
	m.u.executed.shares = qty;
	m.u.executed.match = match;
	return m;
}

static struct dp_itch_msg m_exec_px(uint16_t locate, uint64_t ref, uint32_t qty, uint64_t match,
				    uint32_t price)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'C', locate);
	m.u.executed_px.ref = ref;
	m.u.executed_px.shares = qty;
	m.u.executed_px.match = match;
	m.u.executed_px.printable = 'Y';
	m.u.executed_px.price = price;
	return m;
}

static struct dp_itch_msg m_cancel(uint16_t locate, uint64_t ref, uint32_t qty)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'X', locate);
	m.u.cancel.ref = ref;
	m.u.cancel.shares = qty;
	return m;
}

static struct dp_itch_msg m_del(uint16_t locate, uint64_t ref)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'D', locate);
	m.u.del.ref = ref;
	return m;
}

static struct dp_itch_msg m_replace(uint16_t locate, uint64_t ref, uint64_t new_ref, uint32_t qty,
				    uint32_t price)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'U', locate);
	m.u.replace.orig_ref = ref;
	m.u.replace.new_ref = new_ref;
	m.u.replace.shares = qty;
	m.u.replace.price = price;
	return m;
}

static struct dp_itch_msg m_sys(char code)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'S', 0);
	m.u.system_event.event_code = code;
	return m;
}

static struct dp_itch_msg m_dir(uint16_t locate, const char *stock, uint32_t lot)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'R', locate);
	dp_itch_stock_set(m.u.stock_directory.stock, stock);
	m.u.stock_directory.market_category = 'Q';
	m.u.stock_directory.financial_status = 'N';
	m.u.stock_directory.round_lot_size = lot;
	m.u.stock_directory.round_lots_only = 'N';
	m.u.stock_directory.issue_classification = 'C';
	memcpy(m.u.stock_directory.issue_subtype, "Z ", 2);
	m.u.stock_directory.authenticity = 'P';
	m.u.stock_directory.short_sale_threshold = 'N';
	m.u.stock_directory.ipo_flag = ' ';
	m.u.stock_directory.luld_ref_price_tier = '1';
	m.u.stock_directory.etp_flag = 'N';
	m.u.stock_directory.inverse_indicator = 'N';
	return m;
}

static struct dp_itch_msg m_halt(uint16_t locate, const char *stock, char state)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'H', locate);
	dp_itch_stock_set(m.u.trading_action.stock, stock);
	m.u.trading_action.trading_state = state;
	m.u.trading_action.reserved = ' ';
	memcpy(m.u.trading_action.reason, "    ", 4);
	return m;
}

static struct dp_itch_msg m_trade(uint16_t locate, uint64_t ref, uint32_t qty, const char *stock)
{
	struct dp_itch_msg m;
	msg_hdr(&m, 'P', locate);
	m.u.trade.ref = ref;
	m.u.trade.side = 'B';
	m.u.trade.shares = qty;
	dp_itch_stock_set(m.u.trade.stock, stock);
	m.u.trade.price = 1000000;
	m.u.trade.match = 99;
	return m;
}

/* ------------------------------------------------------- frames and feed */

static uint8_t frame_buf[2048];
static uint32_t frame_len;

static void mk_frame(const struct dg *d, uint32_t dst_ip, uint16_t dst_port)
{
	int n = dp_pkt_build_udp(frame_buf, sizeof frame_buf, SRC_IP, dst_ip, 40000, dst_port, 1,
				 d->b, d->len);
	ck_assert_int_gt(n, 0);
	frame_len = (uint32_t)n;
}

#define EV_MAX 256
static struct dp_book_ev evs[EV_MAX];

/* Feed the current frame with a cap of dp_feed_max_events(len). */
static uint32_t feed_frame(void)
{
	uint32_t cap = dp_feed_max_events(frame_len);
	ck_assert_uint_le(cap, EV_MAX);
	memset(evs, 0, sizeof evs);
	return dp_feed_frame(&feed, frame_buf, frame_len, evs, cap);
}

/* Build a frame of d to the default destination and feed it. */
static uint32_t feed_dg(const struct dg *d)
{
	mk_frame(d, GROUP_A, PORT_A);
	return feed_frame();
}

/* One datagram of `count` distinct adds (refs base, base+1, ...) at seq. */
static uint32_t feed_adds(const char *session, uint64_t seq, uint16_t count, uint64_t base)
{
	struct dg d;
	dg_start(&d, session, seq, count);
	for (uint16_t i = 0; i < count; i++) {
		struct dp_itch_msg m = m_add(1, base + i, 'B', 100 + i, "AAPL", 1500000 + i);
		dg_msg(&d, &m);
	}
	return feed_dg(&d);
}

static void ck_stock(const char stock[8], const char *want)
{
	char s[9];
	dp_itch_stock_str(stock, s);
	ck_assert_str_eq(s, want);
}

/* Recompute the IPv4 header checksum of frame_buf (untagged, IHL 5). */
static void fix_ip_csum(void)
{
	uint8_t *ip = frame_buf + 14;
	ip[10] = ip[11] = 0;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_good_datagram)
{
	struct dg d;
	dg_start(&d, SESS, 1, 11);
	struct dp_itch_msg m;
	m = m_sys('O'); dg_msg(&d, &m);
	m = m_dir(12, "AAPL", 100); dg_msg(&d, &m);
	m = m_add(12, 1001, 'B', 300, "AAPL", 1502500); dg_msg(&d, &m);
	m = m_add_mpid(13, 1002, 'S', 200, "MSFT", 4100000); dg_msg(&d, &m);
	m = m_exec(12, 1001, 100, 5001); dg_msg(&d, &m);
	m = m_exec_px(13, 1002, 50, 5002, 4099900); dg_msg(&d, &m);
	m = m_cancel(12, 1001, 20); dg_msg(&d, &m);
	m = m_replace(12, 1001, 1003, 150, 1502600); dg_msg(&d, &m);
	m = m_trade(12, 0, 10, "AAPL"); dg_msg(&d, &m);
	m = m_del(13, 1002); dg_msg(&d, &m);
	m = m_halt(13, "MSFT", 'H'); dg_msg(&d, &m);

	uint32_t n = feed_dg(&d);
	ck_assert_uint_eq(n, 9); /* S and P change no book */

	ck_assert_uint_eq(evs[0].kind, DP_BEV_DIRECTORY);
	ck_assert_uint_eq(evs[0].locate, 12);
	ck_stock(evs[0].stock, "AAPL");
	ck_assert_uint_eq(evs[0].qty, 100);
	ck_assert_int_eq(evs[0].flag, 'Q');

	ck_assert_uint_eq(evs[1].kind, DP_BEV_ADD);
	ck_assert_uint_eq(evs[1].locate, 12);
	ck_assert_uint_eq(evs[1].ref, 1001);
	ck_assert_int_eq(evs[1].side, 'B');
	ck_assert_uint_eq(evs[1].qty, 300);
	ck_assert_uint_eq(evs[1].price, 1502500);
	ck_stock(evs[1].stock, "AAPL");
	ck_assert_uint_eq(evs[1].ts, UINT64_C(34200000000000) + 12);

	ck_assert_uint_eq(evs[2].kind, DP_BEV_ADD);
	ck_assert_uint_eq(evs[2].locate, 13);
	ck_assert_uint_eq(evs[2].ref, 1002);
	ck_assert_int_eq(evs[2].side, 'S');
	ck_assert_uint_eq(evs[2].qty, 200);
	ck_assert_uint_eq(evs[2].price, 4100000);
	ck_stock(evs[2].stock, "MSFT");

	ck_assert_uint_eq(evs[3].kind, DP_BEV_EXEC);
	ck_assert_uint_eq(evs[3].locate, 12);
	ck_assert_uint_eq(evs[3].ref, 1001);
	ck_assert_uint_eq(evs[3].qty, 100);
	ck_assert_uint_eq(evs[3].ref2, 5001);

	ck_assert_uint_eq(evs[4].kind, DP_BEV_EXEC_PX);
	ck_assert_uint_eq(evs[4].locate, 13);
	ck_assert_uint_eq(evs[4].ref, 1002);
	ck_assert_uint_eq(evs[4].qty, 50);
	ck_assert_uint_eq(evs[4].ref2, 5002);
	ck_assert_uint_eq(evs[4].price, 4099900);
	ck_assert_int_eq(evs[4].flag, 'Y');

	ck_assert_uint_eq(evs[5].kind, DP_BEV_CANCEL);
	ck_assert_uint_eq(evs[5].ref, 1001);
	ck_assert_uint_eq(evs[5].qty, 20);

	ck_assert_uint_eq(evs[6].kind, DP_BEV_REPLACE);
	ck_assert_uint_eq(evs[6].locate, 12);
	ck_assert_uint_eq(evs[6].ref, 1001);
	ck_assert_uint_eq(evs[6].ref2, 1003);
	ck_assert_uint_eq(evs[6].qty, 150);
	ck_assert_uint_eq(evs[6].price, 1502600);

	ck_assert_uint_eq(evs[7].kind, DP_BEV_DELETE);
	ck_assert_uint_eq(evs[7].locate, 13);
	ck_assert_uint_eq(evs[7].ref, 1002);

	ck_assert_uint_eq(evs[8].kind, DP_BEV_TRADING_STATE);
	ck_assert_uint_eq(evs[8].locate, 13);
	ck_stock(evs[8].stock, "MSFT");
	ck_assert_int_eq(evs[8].flag, 'H');

	/* per-type counters: one each, and no other type counted */
	const char *seen = "SRAFECXUPDH";
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		char t = dp_itch_type_chars[i];
		uint64_t want = strchr(seen, t) ? 1 : 0;
		ck_assert_msg(ctr[MGW_CTR_ITCH_S + i] == want, "ITCH type %c: %llu, want %llu", t,
			      (unsigned long long)ctr[MGW_CTR_ITCH_S + i], (unsigned long long)want);
	}
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_h], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 1);
	/* nothing else: 1 packet + 11 messages */
	ck_assert_uint_eq(ctr_sum(), 12);
}
END_TEST

START_TEST(test_filter_port)
{
	struct dg d;
	dg_start(&d, SESS, 1, 1);
	struct dp_itch_msg m = m_add(1, 1, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);

	mk_frame(&d, GROUP_A, PORT_OTHER);
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_PORT], 1);
	ck_assert_uint_eq(ctr_sum(), 1);

	/* the second configured port is accepted */
	mk_frame(&d, GROUP_A, PORT_B);
	ck_assert_uint_eq(feed_frame(), 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_PORT], 1);
}
END_TEST

START_TEST(test_filter_group)
{
	struct dg d;
	dg_start(&d, SESS, 1, 1);
	struct dp_itch_msg m = m_add(1, 1, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);

	mk_frame(&d, GROUP_OTHER, PORT_A);
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_GROUP], 1);
	ck_assert_uint_eq(ctr_sum(), 1);

	mk_frame(&d, IP(192, 168, 1, 1), PORT_A); /* unicast: not a configured group */
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_GROUP], 2);

	/* wrong port and wrong group: the port filter is applied first */
	mk_frame(&d, GROUP_OTHER, PORT_OTHER);
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_PORT], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_GROUP], 2);

	mk_frame(&d, GROUP_B, PORT_A);
	ck_assert_uint_eq(feed_frame(), 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 1);
}
END_TEST

START_TEST(test_filter_any_group)
{
	feed_setup(0);
	struct dg d;
	dg_start(&d, SESS, 1, 1);
	struct dp_itch_msg m = m_add(1, 1, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);

	mk_frame(&d, GROUP_OTHER, PORT_A);
	ck_assert_uint_eq(feed_frame(), 1);
	mk_frame(&d, IP(10, 9, 8, 7), PORT_B);
	ck_assert_uint_eq(feed_frame(), 0); /* same seq again: a duplicate, but accepted */
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_GROUP], 0);

	/* the port filter still applies */
	mk_frame(&d, GROUP_OTHER, PORT_OTHER);
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_PKT_DROP_PORT], 1);
}
END_TEST

/* Each packet-level drop reason lands in its own counter and nowhere else. */
enum mangle { MG_RUNT, MG_NOT_IPV4, MG_IP_HDR, MG_IP_CSUM, MG_FRAGMENT, MG_NOT_UDP, MG_UDP_HDR, MG__N };

static const enum mgw_ctr_id mangle_ctr[MG__N] = {
	[MG_RUNT] = MGW_CTR_PKT_DROP_RUNT,
	[MG_NOT_IPV4] = MGW_CTR_PKT_DROP_NOT_IPV4,
	[MG_IP_HDR] = MGW_CTR_PKT_DROP_IP_HDR,
	[MG_IP_CSUM] = MGW_CTR_PKT_DROP_IP_CSUM,
	[MG_FRAGMENT] = MGW_CTR_PKT_DROP_FRAGMENT,
	[MG_NOT_UDP] = MGW_CTR_PKT_DROP_NOT_UDP,
	[MG_UDP_HDR] = MGW_CTR_PKT_DROP_UDP_HDR,
};

START_TEST(test_pkt_drops)
{
	int which = _i;
	struct dg d;
	dg_start(&d, SESS, 1, 1);
	struct dp_itch_msg m = m_add(1, 1, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);
	mk_frame(&d, GROUP_A, PORT_A);

	uint8_t *ip = frame_buf + 14;
	switch (which) {
	case MG_RUNT:
		frame_len = 13;
		break;
	case MG_NOT_IPV4:
		frame_buf[12] = 0x86; /* IPv6 */
		frame_buf[13] = 0xDD;
		break;
	case MG_IP_HDR:
		ip[0] = 0x65; /* version 6 */
		fix_ip_csum();
		break;
	case MG_IP_CSUM:
		ip[11] ^= 0x01;
		break;
	case MG_FRAGMENT:
		ip[6] = 0x20; /* MF */
		fix_ip_csum();
		break;
	case MG_NOT_UDP:
		ip[9] = 6; /* TCP */
		fix_ip_csum();
		break;
	case MG_UDP_HDR: {
		uint8_t *udp = ip + 20;
		uint16_t ulen = (uint16_t)(((uint16_t)udp[4] << 8 | udp[5]) + 1);
		udp[4] = (uint8_t)(ulen >> 8);
		udp[5] = (uint8_t)ulen;
		break;
	}
	}
	ck_assert_uint_eq(feed_frame(), 0);
	ck_assert_msg(ctr[mangle_ctr[which]] == 1, "mangle %d: counter %d is %llu", which,
		      (int)mangle_ctr[which], (unsigned long long)ctr[mangle_ctr[which]]);
	ck_assert_uint_eq(ctr_sum(), 1);
	ck_assert_uint_eq(feed.n_sessions, 0);
}
END_TEST

/*
 * A datagram with broken block framing is dropped whole: not one of its
 * messages is applied and the session does not advance, so the next good
 * datagram shows the loss as a gap.
 */
enum bad_dg { BD_SHORT, BD_TRUNCATED, BD_ZERO_LEN, BD_TRAILING, BD__N };

static const enum mgw_ctr_id bad_dg_ctr[BD__N] = {
	[BD_SHORT] = MGW_CTR_MOLD_DROP_SHORT,
	[BD_TRUNCATED] = MGW_CTR_MOLD_DROP_TRUNCATED,
	[BD_ZERO_LEN] = MGW_CTR_MOLD_DROP_ZERO_LEN,
	[BD_TRAILING] = MGW_CTR_MOLD_DROP_TRAILING,
};

START_TEST(test_mold_drop_whole)
{
	int which = _i;
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 100), 3); /* next = 4 */
	memset(ctr, 0, sizeof ctr);

	/* seq 4..5: a good first block, then the defect */
	struct dg d;
	dg_start(&d, SESS, 4, 2);
	struct dp_itch_msg m = m_add(1, 500, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);
	switch (which) {
	case BD_SHORT:
		d.len = DP_MOLD_HDR_LEN - 1;
		break;
	case BD_TRUNCATED:
		m = m_del(1, 500);
		dg_msg(&d, &m);
		d.len -= 1; /* the last block runs past the datagram */
		break;
	case BD_ZERO_LEN:
		d.b[d.len++] = 0;
		d.b[d.len++] = 0;
		break;
	case BD_TRAILING:
		m = m_del(1, 500);
		dg_msg(&d, &m);
		d.b[d.len++] = 0xAB; /* one byte after `count` blocks */
		break;
	}
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[bad_dg_ctr[which]], 1);
	ck_assert_uint_eq(ctr_sum(), 1); /* no packet, no ITCH message counted */
	ck_assert_uint_eq(feed.n_sessions, 1);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 4);

	/* next good datagram is seq 6: the two lost messages are a gap */
	ck_assert_uint_eq(feed_adds(SESS, 6, 1, 600), 1);
	ck_assert_uint_eq(evs[0].ref, 600);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 0);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 7);
}
END_TEST

/* A resend of a dropped datagram is applied in full: the tracker never skipped it. */
START_TEST(test_mold_drop_then_resend)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 2, 100), 2);
	struct dg d;
	dg_start(&d, SESS, 3, 2);
	struct dp_itch_msg m = m_add(1, 300, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);
	m = m_add(1, 301, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);
	size_t good_len = d.len;
	d.len -= 5;
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DROP_TRUNCATED], 1);

	d.len = good_len;
	ck_assert_uint_eq(feed_dg(&d), 2);
	ck_assert_uint_eq(evs[0].ref, 300);
	ck_assert_uint_eq(evs[1].ref, 301);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 4);
}
END_TEST

START_TEST(test_mold_in_order)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 3);
	ck_assert_uint_eq(feed_adds(SESS, 4, 2, 20), 2);
	ck_assert_uint_eq(evs[0].ref, 20);
	ck_assert_uint_eq(evs[1].ref, 21);
	ck_assert_uint_eq(feed_adds(SESS, 6, 1, 30), 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 3);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 6);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 0);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 7);
}
END_TEST

START_TEST(test_mold_gap)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 3); /* next 4 */
	ck_assert_uint_eq(feed_adds(SESS, 9, 2, 20), 2); /* 4..8 missing */
	ck_assert_uint_eq(evs[0].ref, 20);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 5);
	ck_assert_uint_eq(feed_adds(SESS, 12, 1, 30), 1); /* 11 missing */
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 6);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 13);
	ck_assert_uint_eq(feed.sessions[0].gaps, 2);
	ck_assert_uint_eq(feed.sessions[0].gap_msgs, 6);
}
END_TEST

START_TEST(test_mold_full_dup)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 3);
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 0); /* the B line copy */
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 3);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 3); /* duplicates are not decoded */
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	/* an older sub-range is also a full duplicate */
	ck_assert_uint_eq(feed_adds(SESS, 2, 1, 11), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 4);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 4);
}
END_TEST

START_TEST(test_mold_partial_dup)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 3); /* seq 1..3 = refs 10..12 */
	/* seq 2..6: 2 and 3 seen, 4..6 new */
	ck_assert_uint_eq(feed_adds(SESS, 2, 5, 11), 3);
	ck_assert_uint_eq(evs[0].ref, 13);
	ck_assert_uint_eq(evs[1].ref, 14);
	ck_assert_uint_eq(evs[2].ref, 15);
	ck_assert_uint_eq(evs[0].qty, 102);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 6);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 7);
	ck_assert_uint_eq(feed.sessions[0].dup_msgs, 2);
}
END_TEST

/* A bad message among the duplicates is skipped, not decoded nor counted. */
START_TEST(test_mold_dup_bad_msg_not_decoded)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 1, 10), 1);
	struct dg d;
	dg_start(&d, SESS, 1, 2);
	uint8_t junk[5] = {'?', 1, 2, 3, 4};
	dg_raw(&d, junk, sizeof junk);
	struct dp_itch_msg m = m_del(1, 10);
	dg_msg(&d, &m);
	ck_assert_uint_eq(feed_dg(&d), 1);
	ck_assert_uint_eq(evs[0].kind, DP_BEV_DELETE);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_UNKNOWN_TYPE], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 1);
}
END_TEST

START_TEST(test_mold_heartbeat)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 3, 10), 3);
	struct dg d;
	dg_start(&d, SESS, 4, DP_MOLD_HEARTBEAT);
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_HEARTBEATS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 4);

	/* a heartbeat announcing seq 6 reveals that 4 and 5 were lost */
	dg_start(&d, SESS, 6, DP_MOLD_HEARTBEAT);
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_HEARTBEATS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 2);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 6);

	/* a heartbeat with a block after it is badly framed: dropped */
	dg_start(&d, SESS, 6, DP_MOLD_HEARTBEAT);
	d.b[d.len++] = 0;
	d.b[d.len++] = 1;
	d.b[d.len++] = 'S';
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DROP_TRAILING], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_HEARTBEATS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 3);
}
END_TEST

START_TEST(test_mold_end_of_session)
{
	ck_assert_uint_eq(feed_adds(SESS, 1, 2, 10), 2);
	struct dg d;
	dg_start(&d, SESS, 3, DP_MOLD_END_OF_SESSION);
	ck_assert_uint_eq(feed_dg(&d), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_END_OF_SESSION], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_HEARTBEATS], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert(feed.sessions[0].ended);
	ck_assert_uint_eq(feed.sessions[0].next_seq, 3);

	struct mgw_shm_feed_session out[MGW_SHM_MAX_SESSIONS];
	memset(out, 0, sizeof out);
	dp_feed_publish_sessions(&feed, out);
	ck_assert_uint_eq(out[0].ended, 1);
	ck_assert_uint_eq(out[0].active, 1);
}
END_TEST

/* A well-framed block that fails ITCH decoding is counted by reason; the rest applies. */
START_TEST(test_itch_errors_in_good_datagram)
{
	struct dg d;
	dg_start(&d, SESS, 1, 6);
	struct dp_itch_msg m = m_add(1, 1, 'B', 100, "AAPL", 10000);
	dg_msg(&d, &m);
	/* unknown type byte */
	uint8_t unk[12];
	memset(unk, 0, sizeof unk);
	unk[0] = 'z';
	dg_raw(&d, unk, sizeof unk);
	/* add with an invalid side */
	m = m_add(1, 2, 'B', 100, "AAPL", 10000);
	uint8_t *bad_side = dg_msg(&d, &m);
	bad_side[19] = 'Q';
	m = m_add(1, 3, 'S', 100, "AAPL", 10100);
	dg_msg(&d, &m);
	/* a delete one byte too long */
	uint8_t longdel[20];
	m = m_del(1, 1);
	ck_assert_int_eq(dp_itch_encode(&m, longdel, sizeof longdel), 19);
	longdel[19] = 0;
	dg_raw(&d, longdel, sizeof longdel);
	m = m_del(1, 3);
	dg_msg(&d, &m);

	ck_assert_uint_eq(feed_dg(&d), 3);
	ck_assert_uint_eq(evs[0].ref, 1);
	ck_assert_uint_eq(evs[1].ref, 3);
	ck_assert_uint_eq(evs[1].kind, DP_BEV_ADD);
	ck_assert_uint_eq(evs[2].kind, DP_BEV_DELETE);
	ck_assert_uint_eq(evs[2].ref, 3);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_UNKNOWN_TYPE], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_BAD_FIELD], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_BAD_LENGTH], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_EMPTY], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_ERR_TRUNCATED], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 2);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_D], 1);
	/* the bad messages consumed their sequence numbers */
	ck_assert_uint_eq(feed.sessions[0].next_seq, 7);
	ck_assert_uint_eq(feed_adds(SESS, 7, 1, 50), 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DUP_MESSAGES], 0);
}
END_TEST

START_TEST(test_too_many_sessions)
{
	char name[11];
	for (int i = 0; i < MGW_SHM_MAX_SESSIONS; i++) {
		snprintf(name, sizeof name, "SESSION%03d", i);
		ck_assert_uint_eq(feed_adds(name, 1, 1, 100 + (uint64_t)i), 1);
	}
	ck_assert_uint_eq(feed.n_sessions, MGW_SHM_MAX_SESSIONS);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DROP_SESSIONS], 0);

	ck_assert_uint_eq(feed_adds("SESSION999", 1, 1, 999), 0);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_DROP_SESSIONS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_PACKETS], MGW_SHM_MAX_SESSIONS);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], MGW_SHM_MAX_SESSIONS);
	ck_assert_uint_eq(feed.n_sessions, MGW_SHM_MAX_SESSIONS);

	/* known sessions still work and are tracked independently */
	ck_assert_uint_eq(feed_adds("SESSION003", 2, 1, 203), 1);
	ck_assert_uint_eq(evs[0].ref, 203);
	ck_assert_uint_eq(feed_adds("SESSION005", 5, 1, 205), 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAPS], 1);
	ck_assert_uint_eq(ctr[MGW_CTR_MOLD_GAP_MESSAGES], 3);
	ck_assert_uint_eq(feed.sessions[3].next_seq, 3);
	ck_assert_uint_eq(feed.sessions[5].next_seq, 6);
	ck_assert_uint_eq(feed.sessions[4].next_seq, 2);
}
END_TEST

/* The largest datagram of the smallest book messages (D, 19 bytes) in a jumbo frame. */
START_TEST(test_max_events_bound)
{
	static const uint16_t sizes[] = {1, 2, 7, 40, 71, 400};
	uint64_t seq = 1;
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		uint16_t cnt = sizes[k];
		static uint8_t big[9000];
		size_t len = 0;
		struct dp_mold_hdr h;
		memcpy(h.session, SESS, 10);
		h.seq = seq;
		h.count = cnt;
		dp_mold_write_hdr(big, &h);
		len = DP_MOLD_HDR_LEN;
		for (uint16_t i = 0; i < cnt; i++) {
			struct dp_itch_msg m = m_del(1, 1000 + i);
			big[len++] = 0;
			big[len++] = 19;
			ck_assert_int_eq(dp_itch_encode(&m, big + len, sizeof big - len), 19);
			len += 19;
		}
		seq += cnt;
		static uint8_t fr[9100];
		int fl = dp_pkt_build_udp(fr, sizeof fr, SRC_IP, GROUP_A, 1, PORT_A, 1, big, len);
		ck_assert_int_gt(fl, 0);
		static struct dp_book_ev many[1024];
		uint32_t cap = dp_feed_max_events((uint32_t)fl);
		ck_assert_uint_le(cap, 1024);
		uint32_t n = dp_feed_frame(&feed, fr, (uint32_t)fl, many, cap);
		ck_assert_uint_eq(n, cnt);
		ck_assert_uint_le(n, cap);
		ck_assert_uint_eq(many[n - 1].ref, 1000u + cnt - 1);
	}
	ck_assert_uint_eq(ctr[MGW_CTR_FEED_EV_OVERFLOW], 0);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_D], seq - 1);

	/* the bound also holds for every length, for frames of no messages at all */
	for (uint32_t l = 0; l < 100; l++)
		ck_assert_uint_ge(dp_feed_max_events(l), 1);
}
END_TEST

/* A cap below the bound: events stop at cap, the rest are counted, nothing is written past. */
START_TEST(test_cap_overflow)
{
	static const uint32_t caps[] = {0, 1, 3, 6};
	uint64_t seq = 1;
	uint64_t lost = 0;
	for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
		uint32_t cap = caps[k];
		struct dg d;
		/* 8 messages: 7 book events and one S that makes none */
		dg_start(&d, SESS, seq, 8);
		for (int i = 0; i < 8; i++) {
			struct dp_itch_msg m = (i == 2) ? m_sys('Q') : m_add(1, seq * 100 + (uint64_t)i, 'S', 5, "AAPL", 777);
			dg_msg(&d, &m);
		}
		seq += 8;
		mk_frame(&d, GROUP_A, PORT_A);

		struct dp_book_ev arr[8 + 2];
		memset(arr, 0xA5, sizeof arr);
		uint32_t n = dp_feed_frame(&feed, frame_buf, frame_len, arr, cap);
		ck_assert_uint_eq(n, cap);
		lost += 7 - cap;
		ck_assert_uint_eq(ctr[MGW_CTR_FEED_EV_OVERFLOW], lost);
		for (uint32_t i = 0; i < n; i++) {
			ck_assert_uint_eq(arr[i].kind, DP_BEV_ADD);
			ck_assert_uint_eq(arr[i].ref, (seq - 8) * 100 + (i < 2 ? i : i + 1));
		}
		const uint8_t *canary = (const uint8_t *)&arr[cap];
		for (size_t b = 0; b < sizeof arr - cap * sizeof arr[0]; b++)
			ck_assert_msg(canary[b] == 0xA5, "cap %u: byte %zu past cap written", cap, b);
	}
	/* every message was still decoded and counted */
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_A], 7 * 4);
	ck_assert_uint_eq(ctr[MGW_CTR_ITCH_S], 4);
}
END_TEST

START_TEST(test_publish_sessions)
{
	ck_assert_uint_eq(feed_adds("ALPHA00001", 10, 3, 1), 3);  /* next 13 */
	ck_assert_uint_eq(feed_adds("ALPHA00001", 15, 2, 4), 2);  /* gap 2, next 17 */
	ck_assert_uint_eq(feed_adds("ALPHA00001", 16, 2, 5), 1);  /* dup 1, next 18 */
	ck_assert_uint_eq(feed_adds("BRAVO00002", 1, 1, 100), 1); /* next 2 */

	struct mgw_shm_feed_session out[MGW_SHM_MAX_SESSIONS];
	memset(out, 0xEE, sizeof out);
	dp_feed_publish_sessions(&feed, out);

	ck_assert_mem_eq(out[0].session, "ALPHA00001", 10);
	ck_assert_uint_eq(out[0].active, 1);
	ck_assert_uint_eq(out[0].ended, 0);
	ck_assert_uint_eq(out[0].next_seq, 18);
	ck_assert_uint_eq(out[0].gaps, 1);
	ck_assert_uint_eq(out[0].gap_msgs, 2);
	ck_assert_uint_eq(out[0].dup_msgs, 1);

	ck_assert_mem_eq(out[1].session, "BRAVO00002", 10);
	ck_assert_uint_eq(out[1].active, 1);
	ck_assert_uint_eq(out[1].next_seq, 2);
	ck_assert_uint_eq(out[1].gaps, 0);
	ck_assert_uint_eq(out[1].dup_msgs, 0);

	/* slots past the live sessions are not touched */
	const uint8_t *rest = (const uint8_t *)&out[2];
	for (size_t b = 0; b < sizeof out - 2 * sizeof out[0]; b++)
		ck_assert_uint_eq(rest[b], 0xEE);
}
END_TEST

START_TEST(test_init_copies_cfg)
{
	ck_assert_uint_eq(feed.cur->n_udp_ports, 2);
	ck_assert_uint_eq(feed.cur->udp_ports[1], PORT_B);
	ck_assert_uint_eq(feed.cur->n_groups, 2);
	ck_assert_uint_eq(feed.cur->groups[1], GROUP_B);
	ck_assert_uint_eq(feed.n_sessions, 0);
	ck_assert_ptr_eq(feed.ctr, ctr);
}
END_TEST

static Suite *feed_suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup_groups, NULL);
	tcase_add_test(tc, test_init_copies_cfg);
	tcase_add_test(tc, test_good_datagram);
	tcase_add_test(tc, test_filter_port);
	tcase_add_test(tc, test_filter_group);
	tcase_add_test(tc, test_filter_any_group);
	tcase_add_loop_test(tc, test_pkt_drops, 0, MG__N);
	tcase_add_loop_test(tc, test_mold_drop_whole, 0, BD__N);
	tcase_add_test(tc, test_mold_drop_then_resend);
	tcase_add_test(tc, test_mold_in_order);
	tcase_add_test(tc, test_mold_gap);
	tcase_add_test(tc, test_mold_full_dup);
	tcase_add_test(tc, test_mold_partial_dup);
	tcase_add_test(tc, test_mold_dup_bad_msg_not_decoded);
	tcase_add_test(tc, test_mold_heartbeat);
	tcase_add_test(tc, test_mold_end_of_session);
	tcase_add_test(tc, test_itch_errors_in_good_datagram);
	tcase_add_test(tc, test_too_many_sessions);
	tcase_add_test(tc, test_max_events_bound);
	tcase_add_test(tc, test_cap_overflow);
	tcase_add_test(tc, test_publish_sessions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(feed_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
