/*
 * fuzz_mold_pkt.c - libFuzzer harness for the feed receive path: Ethernet /
 * VLAN / IPv4 / UDP parsing, then MoldUDP64 header, sequence tracking, block
 * iteration and ITCH decode of every block, as the dataplane does per frame.
 *
 * Inputs that are not valid frames are also tried directly as MoldUDP64
 * datagrams, so the fuzzer does not have to solve the IPv4 checksum to reach
 * the Mold code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_itch.h"
#include "dp_mold.h"
#include "dp_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Session state persists across inputs, like a long-running receiver. */
static struct dp_mold_session session;

static void mold(const uint8_t *d, size_t n)
{
	struct dp_mold_hdr h;
	if (dp_mold_parse_hdr(d, n, &h) != 0) {
		if (n >= DP_MOLD_HDR_LEN)
			abort();
		return;
	}
	struct dp_mold_verdict v;
	uint64_t before = session.next_seq;
	bool same = session.active && memcmp(session.session, h.session, DP_MOLD_SESSION_LEN) == 0;
	dp_mold_track(&session, &h, &v);
	if (v.skip > h.count)
		abort();
	if (same && session.next_seq < before) /* never moves backwards within a session */
		abort();

	struct dp_mold_iter it;
	dp_mold_iter_init(&it, d, n, &h);
	const uint8_t *msg;
	uint16_t len;
	int r;
	uint32_t blocks = 0;
	while ((r = dp_mold_next(&it, &msg, &len)) == 1) {
		if (msg < d + DP_MOLD_HDR_LEN || msg + len > d + n || len == 0)
			abort();
		blocks++;
		struct dp_itch_msg m;
		if (dp_itch_decode(msg, len, &m) == 0) {
			uint8_t re[DP_ITCH_MAX_LEN];
			if (dp_itch_encode(&m, re, sizeof re) != (int)len || memcmp(re, msg, len))
				abort();
		}
	}
	if (r > 0 || r <= -DP_MOLD_ERR__COUNT || blocks > h.count)
		abort();
	if (dp_mold_next(&it, &msg, &len) != 0) /* finished iterators stay finished */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pkt_udp u;
	int r = dp_pkt_parse_udp(data, size, &u);
	if (r > 0 || r <= -DP_PKT_DROP__COUNT)
		abort();
	if (r == 0) {
		if (u.payload < data || u.payload + u.len > data + size)
			abort();
		mold(u.payload, u.len);
	} else {
		mold(data, size);
	}
	return 0;
}
