/*
 * dp_pkt.h - Ethernet / 802.1Q / IPv4 / UDP parsing for the feed path.
 *
 * Takes a whole frame and finds the UDP payload, checking every header on
 * the way; fragments are refused (MoldUDP64 datagrams must fit a frame).
 * Frames are hostile input: each rejection has a reason for its counter.
 */
#ifndef DP_PKT_H
#define DP_PKT_H

#include <stddef.h>
#include <stdint.h>

enum dp_pkt_drop {
	DP_PKT_OK = 0,
	DP_PKT_DROP_RUNT = 1,     /* shorter than an Ethernet header */
	DP_PKT_DROP_NOT_IPV4,     /* ethertype is not IPv4 (after VLAN tags) */
	DP_PKT_DROP_IP_HDR,       /* bad version/IHL, total length, or header past the frame */
	DP_PKT_DROP_IP_CSUM,      /* IPv4 header checksum wrong */
	DP_PKT_DROP_FRAGMENT,     /* MF set or fragment offset non-zero */
	DP_PKT_DROP_NOT_UDP,      /* IP protocol is not UDP */
	DP_PKT_DROP_UDP_HDR,      /* UDP length inconsistent with the IP datagram */
	DP_PKT_DROP__COUNT
};

struct dp_pkt_udp {
	const uint8_t *payload;
	uint16_t len;       /* UDP payload bytes */
	uint16_t vlan;      /* outer VLAN id, 0 if untagged */
	uint32_t src_ip;    /* host byte order */
	uint32_t dst_ip;    /* host byte order */
	uint16_t src_port;  /* host byte order */
	uint16_t dst_port;  /* host byte order */
};

/* Parse a frame. Returns 0 and fills *out, or a negative dp_pkt_drop. */
int dp_pkt_parse_udp(const uint8_t *frame, size_t len, struct dp_pkt_udp *out);

/*
 * Build an Ethernet/IPv4/UDP frame around payload into buf (cap bytes):
 * used by the generator and the tests. Returns the frame length or -1 when
 * it does not fit. The IPv4 checksum is filled; the UDP checksum is 0.
 * IPs and ports in host byte order; the destination MAC is the IPv4
 * multicast MAC when dst_ip is a multicast group.
 */
int dp_pkt_build_udp(uint8_t *buf, size_t cap, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, uint16_t ip_id,
		     const uint8_t *payload, size_t plen);

const char *dp_pkt_drop_name(int reason);

#endif /* DP_PKT_H */
