/*
 * dp_pkt.c - Ethernet / VLAN / IPv4 / UDP frame parsing and building.
 *
 * The parser walks a frame from the wire to the UDP payload and refuses it at
 * the first inconsistent header, with a reason for the drop counters. Every
 * length field is compared against the bytes actually remaining before the
 * bytes it covers are read. Fragments are refused: a MoldUDP64 datagram must
 * fit one frame, and reassembly has no place on the fast path.
 */
#include "dp_pkt.h"
#include "dp_be.h"

#include <string.h>

#define ETH_HDR_LEN 14
#define VLAN_TAG_LEN 4
#define MAX_VLAN_TAGS 2
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88A8
#define IPV4_MIN_HDR 20
#define IPPROTO_UDP_NUM 17
#define UDP_HDR_LEN 8
#define IP_FLAG_MF 0x2000
#define IP_FRAG_OFF_MASK 0x1FFF

/* RFC 1071 one's complement sum of n bytes (n even: IPv4 headers are 4*IHL). */
static uint32_t csum_add(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += dp_ld16(p + i);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

int dp_pkt_parse_udp(const uint8_t *frame, size_t len, struct dp_pkt_udp *out)
{
	if (len < ETH_HDR_LEN)
		return -DP_PKT_DROP_RUNT;

	size_t off = 12;
	uint16_t etype = dp_ld16(frame + off);
	uint16_t vlan = 0;
	for (int tags = 0; tags < MAX_VLAN_TAGS &&
	     (etype == ETHERTYPE_8021Q || etype == ETHERTYPE_8021AD); tags++) {
		/* The tag's TCI and the inner ethertype must both be in the frame. */
		if (len - off < 2 + VLAN_TAG_LEN)
			return -DP_PKT_DROP_RUNT;
		if (tags == 0)
			vlan = dp_ld16(frame + off + 2) & 0x0FFF;
		off += VLAN_TAG_LEN;
		etype = dp_ld16(frame + off);
	}
	off += 2;
	/* A third tag also lands here: more than two tags is not a frame we accept. */
	if (etype != ETHERTYPE_IPV4)
		return -DP_PKT_DROP_NOT_IPV4;

	const uint8_t *ip = frame + off;
	size_t rem = len - off;
	if (rem < IPV4_MIN_HDR)
		return -DP_PKT_DROP_IP_HDR;
	if ((ip[0] >> 4) != 4)
		return -DP_PKT_DROP_IP_HDR;
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
	if (ihl < IPV4_MIN_HDR || ihl > rem)
		return -DP_PKT_DROP_IP_HDR;
	size_t total = dp_ld16(ip + 2);
	/* Trailing Ethernet padding past `total` is allowed; a short frame is not. */
	if (total < ihl || total > rem)
		return -DP_PKT_DROP_IP_HDR;
	if (csum_fold(csum_add(ip, ihl)) != 0xFFFF)
		return -DP_PKT_DROP_IP_CSUM;
	uint16_t frag = dp_ld16(ip + 6);
	if (frag & (IP_FLAG_MF | IP_FRAG_OFF_MASK))
		return -DP_PKT_DROP_FRAGMENT;
	if (ip[9] != IPPROTO_UDP_NUM)
		return -DP_PKT_DROP_NOT_UDP;

	const uint8_t *udp = ip + ihl;
	size_t ip_payload = total - ihl;
	if (ip_payload < UDP_HDR_LEN)
		return -DP_PKT_DROP_UDP_HDR;
	size_t ulen = dp_ld16(udp + 4);
	if (ulen < UDP_HDR_LEN || ulen > ip_payload)
		return -DP_PKT_DROP_UDP_HDR;

	out->payload = udp + UDP_HDR_LEN;
	out->len = (uint16_t)(ulen - UDP_HDR_LEN);
	out->vlan = vlan;
	out->src_ip = dp_ld32(ip + 12);
	out->dst_ip = dp_ld32(ip + 16);
	out->src_port = dp_ld16(udp);
	out->dst_port = dp_ld16(udp + 2);
	return 0;
}

/* Locally administered unicast MACs: never collide with a real NIC's address. */
static const uint8_t build_src_mac[6] = {0x02, 0x00, 0x00, 0x6d, 0x67, 0x01};
static const uint8_t build_dst_mac[6] = {0x02, 0x00, 0x00, 0x6d, 0x67, 0x02};

int dp_pkt_build_udp(uint8_t *buf, size_t cap, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, uint16_t ip_id,
		     const uint8_t *payload, size_t plen)
{
	const size_t hdrs = ETH_HDR_LEN + IPV4_MIN_HDR + UDP_HDR_LEN;
	/* The IPv4 total length field is 16 bits. */
	if (plen > 0xFFFF - IPV4_MIN_HDR - UDP_HDR_LEN)
		return -1;
	if (cap < hdrs || cap - hdrs < plen)
		return -1;

	uint8_t *eth = buf;
	if ((dst_ip >> 28) == 0xE) {
		/* RFC 1112: 01:00:5e followed by the low 23 bits of the group. */
		eth[0] = 0x01;
		eth[1] = 0x00;
		eth[2] = 0x5e;
		eth[3] = (uint8_t)((dst_ip >> 16) & 0x7F);
		eth[4] = (uint8_t)(dst_ip >> 8);
		eth[5] = (uint8_t)dst_ip;
	} else {
		memcpy(eth, build_dst_mac, 6);
	}
	memcpy(eth + 6, build_src_mac, 6);
	dp_st16(eth + 12, ETHERTYPE_IPV4);

	uint8_t *ip = eth + ETH_HDR_LEN;
	uint16_t total = (uint16_t)(IPV4_MIN_HDR + UDP_HDR_LEN + plen);
	ip[0] = 0x45; /* version 4, IHL 5 */
	ip[1] = 0;
	dp_st16(ip + 2, total);
	dp_st16(ip + 4, ip_id);
	dp_st16(ip + 6, 0); /* no DF: the datagram already fits; no fragments either */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP_NUM;
	dp_st16(ip + 10, 0);
	dp_st32(ip + 12, src_ip);
	dp_st32(ip + 16, dst_ip);
	dp_st16(ip + 10, (uint16_t)~csum_fold(csum_add(ip, IPV4_MIN_HDR)));

	uint8_t *udp = ip + IPV4_MIN_HDR;
	dp_st16(udp, src_port);
	dp_st16(udp + 2, dst_port);
	dp_st16(udp + 4, (uint16_t)(UDP_HDR_LEN + plen));
	dp_st16(udp + 6, 0); /* UDP checksum optional over IPv4 */
	if (plen)
		memcpy(udp + UDP_HDR_LEN, payload, plen);
	return (int)(hdrs + plen);
}

const char *dp_pkt_drop_name(int reason)
{
	if (reason < 0)
		reason = -reason;
	switch (reason) {
	case DP_PKT_OK: return "ok";
	case DP_PKT_DROP_RUNT: return "runt";
	case DP_PKT_DROP_NOT_IPV4: return "not_ipv4";
	case DP_PKT_DROP_IP_HDR: return "ip_hdr";
	case DP_PKT_DROP_IP_CSUM: return "ip_csum";
	case DP_PKT_DROP_FRAGMENT: return "fragment";
	case DP_PKT_DROP_NOT_UDP: return "not_udp";
	case DP_PKT_DROP_UDP_HDR: return "udp_hdr";
	default: return "unknown_drop";
	}
}
