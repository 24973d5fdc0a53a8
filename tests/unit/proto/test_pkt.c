/*
 * test_pkt.c - unit tests for Ethernet/VLAN/IPv4/UDP parsing and frame
 * building (dataplane/proto/dp_pkt.c): round trip, VLAN tags, one test per
 * drop reason, and random mutation of a valid frame.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_pkt.h"

#define GROUP 0xE9010203u   /* 233.1.2.3 */
#define SRC 0x0A000001u     /* 10.0.0.1 */
#define ETH 14

static const uint8_t payload[] = "MoldUDP64 payload bytes for the round trip";

/* Recompute the IPv4 header checksum after a test edits the header at ip. */
static void fix_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
	ip[10] = ip[11] = 0;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < ihl; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	sum = ~sum & 0xFFFF;
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

static int build(uint8_t *f, size_t cap)
{
	return dp_pkt_build_udp(f, cap, SRC, GROUP, 40000, 26400, 77, payload, sizeof payload);
}

START_TEST(test_build_parse_roundtrip)
{
	uint8_t f[256];
	int n = build(f, sizeof f);
	ck_assert_int_eq(n, ETH + 20 + 8 + (int)sizeof payload);
	/* Multicast MAC: 01:00:5e + low 23 bits of 233.1.2.3. */
	static const uint8_t mac[6] = {0x01, 0x00, 0x5e, 0x01, 0x02, 0x03};
	ck_assert_mem_eq(f, mac, 6);
	ck_assert_int_eq(f[6] & 0x02, 0x02); /* locally administered source */
	ck_assert_int_eq(f[6] & 0x01, 0);    /* and unicast */
	ck_assert_int_eq(f[ETH + 8], 64);    /* TTL */
	ck_assert_int_eq(f[ETH + 6] & 0x40, 0); /* DF clear */

	struct dp_pkt_udp u;
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), 0);
	ck_assert_uint_eq(u.len, sizeof payload);
	ck_assert_ptr_eq(u.payload, f + ETH + 28);
	ck_assert_mem_eq(u.payload, payload, sizeof payload);
	ck_assert_uint_eq(u.vlan, 0);
	ck_assert_uint_eq(u.src_ip, SRC);
	ck_assert_uint_eq(u.dst_ip, GROUP);
	ck_assert_uint_eq(u.src_port, 40000);
	ck_assert_uint_eq(u.dst_port, 26400);

	/* Group with bit 23 set: that bit is dropped from the MAC. */
	n = dp_pkt_build_udp(f, sizeof f, SRC, 0xEF81FFFEu, 1, 2, 0, NULL, 0);
	static const uint8_t mac2[6] = {0x01, 0x00, 0x5e, 0x01, 0xFF, 0xFE};
	ck_assert_mem_eq(f, mac2, 6);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), 0);
	ck_assert_uint_eq(u.len, 0);

	/* Unicast destination: not a multicast MAC. */
	n = dp_pkt_build_udp(f, sizeof f, SRC, 0x0A000002u, 1, 2, 0, payload, 4);
	ck_assert_int_eq(f[0] & 0x01, 0);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), 0);

	/* Trailing Ethernet padding past the IP datagram is accepted and ignored. */
	n = dp_pkt_build_udp(f, sizeof f, SRC, GROUP, 1, 2, 0, payload, 3);
	memset(f + n, 0, 20);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n + 20, &u), 0);
	ck_assert_uint_eq(u.len, 3);

	/* Too small a buffer, or a payload that cannot fit a datagram. */
	ck_assert_int_eq(build(f, (size_t)(ETH + 28 + sizeof payload - 1)), -1);
	ck_assert_int_eq(dp_pkt_build_udp(f, sizeof f, SRC, GROUP, 1, 2, 0, payload, 65536), -1);
}
END_TEST

/* Insert a VLAN tag with the given TPID and VLAN id after the MAC addresses. */
static size_t add_tag(uint8_t *f, size_t n, uint16_t tpid, uint16_t vid)
{
	memmove(f + 16, f + 12, n - 12);
	f[12] = (uint8_t)(tpid >> 8);
	f[13] = (uint8_t)tpid;
	f[14] = (uint8_t)(0xA0 | (vid >> 8)); /* PCP 5, DEI 0 */
	f[15] = (uint8_t)vid;
	return n + 4;
}

START_TEST(test_vlan)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	size_t n = (size_t)build(f, sizeof f);

	size_t n1 = add_tag(f, n, 0x8100, 0x123);
	ck_assert_int_eq(dp_pkt_parse_udp(f, n1, &u), 0);
	ck_assert_uint_eq(u.vlan, 0x123);
	ck_assert_mem_eq(u.payload, payload, sizeof payload);
	ck_assert_uint_eq(u.dst_port, 26400);

	/* QinQ: outer 802.1ad S-tag 0x0FFF, inner C-tag 0x123 -> outer id reported. */
	size_t n2 = add_tag(f, n1, 0x88A8, 0xFFF);
	ck_assert_int_eq(dp_pkt_parse_udp(f, n2, &u), 0);
	ck_assert_uint_eq(u.vlan, 0xFFF);
	ck_assert_mem_eq(u.payload, payload, sizeof payload);

	/* A third tag is refused. */
	size_t n3 = add_tag(f, n2, 0x8100, 5);
	ck_assert_int_eq(dp_pkt_parse_udp(f, n3, &u), -DP_PKT_DROP_NOT_IPV4);

	/* Tag cut short: runt. */
	n = (size_t)build(f, sizeof f);
	n1 = add_tag(f, n, 0x8100, 1);
	ck_assert_int_eq(dp_pkt_parse_udp(f, 16, &u), -DP_PKT_DROP_RUNT);
	ck_assert_int_eq(dp_pkt_parse_udp(f, 17, &u), -DP_PKT_DROP_RUNT);
	ck_assert_int_eq(dp_pkt_parse_udp(f, 18, &u), -DP_PKT_DROP_IP_HDR);
}
END_TEST

START_TEST(test_drop_runt_and_ethertype)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	for (size_t len = 0; len < ETH; len++)
		ck_assert_int_eq(dp_pkt_parse_udp(f, len, &u), -DP_PKT_DROP_RUNT);
	ck_assert_int_eq(dp_pkt_parse_udp(NULL, 0, &u), -DP_PKT_DROP_RUNT);
	f[12] = 0x08; f[13] = 0x06; /* ARP */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_NOT_IPV4);
	f[12] = 0x86; f[13] = 0xDD; /* IPv6 */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_NOT_IPV4);
	ck_assert_str_eq(dp_pkt_drop_name(-DP_PKT_DROP_NOT_IPV4), "not_ipv4");
	ck_assert_str_eq(dp_pkt_drop_name(DP_PKT_DROP_RUNT), "runt");
	ck_assert_str_eq(dp_pkt_drop_name(-99), "unknown_drop");
}
END_TEST

START_TEST(test_drop_ip_hdr)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	uint8_t *ip = f + ETH;

	/* IP header cut by the end of the frame. */
	ck_assert_int_eq(dp_pkt_parse_udp(f, ETH + 19, &u), -DP_PKT_DROP_IP_HDR);
	/* Version 6 in an IPv4 ethertype. */
	ip[0] = 0x65; fix_csum(ip);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_HDR);
	/* IHL 4. */
	ip[0] = 0x44; fix_csum(ip);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_HDR);
	/* IHL 15 (60 bytes) larger than the frame remainder. */
	ip[0] = 0x4F;
	ck_assert_int_eq(dp_pkt_parse_udp(f, ETH + 40, &u), -DP_PKT_DROP_IP_HDR);

	/* Total length larger than the frame. */
	n = build(f, sizeof f);
	ip[3] = (uint8_t)(ip[3] + 1); fix_csum(ip);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_HDR);
	/* Total length below the header length. */
	ip[2] = 0; ip[3] = 19; fix_csum(ip);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_HDR);

	/* IHL 6 with a valid option word: accepted, payload found after it. */
	uint8_t g[256];
	n = build(f, sizeof f);
	memcpy(g, f, ETH + 20);
	memcpy(g + ETH + 24, f + ETH + 20, (size_t)n - ETH - 20);
	memset(g + ETH + 20, 1, 4); /* four NOP options */
	g[ETH] = 0x46;
	uint16_t tot = (uint16_t)((g[ETH + 2] << 8 | g[ETH + 3]) + 4);
	g[ETH + 2] = (uint8_t)(tot >> 8);
	g[ETH + 3] = (uint8_t)tot;
	fix_csum(g + ETH);
	ck_assert_int_eq(dp_pkt_parse_udp(g, (size_t)n + 4, &u), 0);
	ck_assert_mem_eq(u.payload, payload, sizeof payload);
}
END_TEST

START_TEST(test_drop_csum)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	f[ETH + 11] ^= 1;
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_CSUM);
	f[ETH + 11] ^= 1;
	f[ETH + 15] ^= 0x10; /* source address changed, checksum not updated */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_IP_CSUM);
}
END_TEST

START_TEST(test_drop_fragment)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	uint8_t *ip = f + ETH;
	ip[6] = 0x20; ip[7] = 0; fix_csum(ip); /* MF */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_FRAGMENT);
	ip[6] = 0x00; ip[7] = 0x01; fix_csum(ip); /* offset 8 bytes, last fragment */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_FRAGMENT);
	ip[6] = 0x10; ip[7] = 0x00; fix_csum(ip); /* top offset bit */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_FRAGMENT);
	ip[6] = 0x40; ip[7] = 0x00; fix_csum(ip); /* DF alone is fine */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), 0);
}
END_TEST

START_TEST(test_drop_not_udp)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	f[ETH + 9] = 6; fix_csum(f + ETH); /* TCP */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_NOT_UDP);
	f[ETH + 9] = 1; fix_csum(f + ETH); /* ICMP */
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_NOT_UDP);
}
END_TEST

START_TEST(test_drop_udp_hdr)
{
	uint8_t f[256];
	struct dp_pkt_udp u;
	int n = build(f, sizeof f);
	uint8_t *udp = f + ETH + 20;
	/* UDP length 7. */
	udp[4] = 0; udp[5] = 7;
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_UDP_HDR);
	/* UDP length one past the IP payload. */
	uint16_t ul = (uint16_t)(8 + sizeof payload + 1);
	udp[4] = (uint8_t)(ul >> 8); udp[5] = (uint8_t)ul;
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_UDP_HDR);
	/* UDP length shorter than the IP payload: payload length follows UDP. */
	udp[4] = 0; udp[5] = 8 + 5;
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), 0);
	ck_assert_uint_eq(u.len, 5);
	/* IP datagram too short for a UDP header. */
	n = build(f, sizeof f);
	f[ETH + 2] = 0; f[ETH + 3] = 27; fix_csum(f + ETH);
	ck_assert_int_eq(dp_pkt_parse_udp(f, (size_t)n, &u), -DP_PKT_DROP_UDP_HDR);
}
END_TEST

static uint64_t rng_state = UINT64_C(0xD1B54A32D192ED03);
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545F4914F6CDD1D);
}

/*
 * Random byte flips, truncations and extensions of a valid (sometimes
 * VLAN-tagged) frame, each parsed from an exact-size heap copy so ASan
 * catches any read past the end. Any accepted payload must lie inside the
 * frame. Plain ifs in the loop: ck_assert checkpoints cost a syscall each.
 */
START_TEST(test_random_mutation)
{
	uint8_t base[256];
	size_t bn = (size_t)build(base, sizeof base);
	long accepted = 0, reasons[DP_PKT_DROP__COUNT] = {0};
	for (int i = 0; i < 500000; i++) {
		uint8_t tmp[300];
		size_t n = bn;
		memcpy(tmp, base, bn);
		if (i & 1)
			n = add_tag(tmp, n, (i & 2) ? 0x8100 : 0x88A8, (uint16_t)(i & 0xFFF));
		int flips = (int)(rnd() % 4);
		for (int k = 0; k < flips; k++)
			tmp[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
		if ((i & 12) == 4)
			n = (size_t)(rnd() % (n + 1));
		else if ((i & 12) == 8) {
			size_t extra = (size_t)(rnd() % 16);
			memset(tmp + n, 0xEE, extra);
			n += extra;
		}
		uint8_t *f = malloc(n ? n : 1);
		if (!f)
			ck_abort_msg("malloc");
		memcpy(f, tmp, n);
		struct dp_pkt_udp u;
		int r = dp_pkt_parse_udp(f, n, &u);
		if (r > 0 || r <= -DP_PKT_DROP__COUNT)
			ck_abort_msg("iteration %d: bad return %d", i, r);
		reasons[-r]++;
		if (r == 0) {
			accepted++;
			if (u.payload < f || u.payload + u.len > f + n)
				ck_abort_msg("iteration %d: payload outside the frame", i);
		}
		free(f);
	}
	ck_assert_int_gt(accepted, 1000);
	/* The mutations reach every drop reason. */
	for (int r = 1; r < DP_PKT_DROP__COUNT; r++)
		ck_assert_msg(reasons[r] > 0, "drop reason %s never hit", dp_pkt_drop_name(r));
}
END_TEST

static Suite *pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_build_parse_roundtrip);
	tcase_add_test(tc, test_vlan);
	tcase_add_test(tc, test_drop_runt_and_ethertype);
	tcase_add_test(tc, test_drop_ip_hdr);
	tcase_add_test(tc, test_drop_csum);
	tcase_add_test(tc, test_drop_fragment);
	tcase_add_test(tc, test_drop_not_udp);
	tcase_add_test(tc, test_drop_udp_hdr);
	suite_add_tcase(s, tc);
	TCase *tr = tcase_create("random");
	tcase_set_timeout(tr, 300);
	tcase_add_test(tr, test_random_mutation);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pkt_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
