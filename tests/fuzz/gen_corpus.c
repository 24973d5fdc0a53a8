/*
 * gen_corpus.c - writes the small seed corpora for the fuzz harnesses:
 *   corpus/fuzz_itch/     one valid message per ITCH type, a BinaryFILE
 *                         stream, and a few invalid messages;
 *   corpus/fuzz_mold_pkt/ Ethernet frames carrying MoldUDP64 packets (plain,
 *                         VLAN tagged, heartbeat, end of session, truncated)
 *                         and bare Mold datagrams.
 * Usage: fuzz_gen_corpus <tests/fuzz/corpus>. The output is committed, so
 * this only needs running when the seeds should change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_itch.h"
#include "dp_mold.h"
#include "dp_pkt.h"

static const char *root;

static void put(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* A message of type t with varied field bytes; side forced to a valid value. */
static size_t make_msg(char t, unsigned seed, uint8_t *out)
{
	size_t n = dp_itch_msg_len((uint8_t)t);
	out[0] = (uint8_t)t;
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(seed * 31 + i * 7);
	/* A readable stock symbol where the type has one, so formats look real. */
	const char *with_stock = strchr("RHYKJhNO", t);
	size_t at = with_stock ? 11 : t == 'L' ? 15 : t == 'Q' ? 19 : t == 'I' ? 28 :
		    (t == 'A' || t == 'F' || t == 'P') ? 24 : 0;
	if (at)
		memcpy(out + at, "TEST    ", 8);
	if (t == 'A' || t == 'F' || t == 'P')
		out[19] = (seed & 1) ? 'S' : 'B';
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
		return 2;
	}
	root = argv[1];
	uint8_t b[1600], m[64];
	char name[64];

	/* ITCH: every type, then a framed stream, then rejects. */
	for (int i = 0; i < DP_ITCH_NTYPES; i++) {
		char t = dp_itch_type_chars[i];
		size_t n = make_msg(t, (unsigned)i, m);
		snprintf(name, sizeof name, "msg_%02d_%c.bin", i, t);
		put("fuzz_itch", name, m, n);
	}
	size_t o = 0;
	const char stream[] = "SRAFEXUDP";
	for (size_t i = 0; i < sizeof stream - 1; i++) {
		size_t n = make_msg(stream[i], (unsigned)i, m);
		b[o++] = 0;
		b[o++] = (uint8_t)n;
		memcpy(b + o, m, n);
		o += n;
	}
	put("fuzz_itch", "file_stream.bin", b, o);
	put("fuzz_itch", "file_truncated.bin", b, o - 3);
	size_t n = make_msg('A', 1, m);
	m[19] = 'X';
	put("fuzz_itch", "bad_side.bin", m, n);
	put("fuzz_itch", "bad_len.bin", m, n - 1);
	put("fuzz_itch", "empty.bin", m, 0);

	/* Mold datagrams. */
	struct dp_mold_hdr h;
	memcpy(h.session, "FUZZSESS01", 10);
	uint8_t dg[1400];
	size_t dn;

	h.seq = 1000;
	h.count = 3;
	dp_mold_write_hdr(dg, &h);
	dn = DP_MOLD_HDR_LEN;
	const char three[] = "APD";
	for (int i = 0; i < 3; i++) {
		n = make_msg(three[i], (unsigned)i, m);
		dg[dn++] = 0;
		dg[dn++] = (uint8_t)n;
		memcpy(dg + dn, m, n);
		dn += n;
	}
	int fl = dp_pkt_build_udp(b, sizeof b, 0x0A000001u, 0xE9363601u, 40000, 26400, 1, dg, dn);
	put("fuzz_mold_pkt", "frame_3msgs.bin", b, (size_t)fl);
	put("fuzz_mold_pkt", "mold_3msgs.bin", dg, dn);
	put("fuzz_mold_pkt", "mold_truncated.bin", dg, dn - 5);

	/* Same frame with an 802.1Q tag (VLAN 100) inserted after the MACs. */
	uint8_t tagged[1600];
	memcpy(tagged, b, 12);
	tagged[12] = 0x81; tagged[13] = 0x00; tagged[14] = 0x00; tagged[15] = 100;
	memcpy(tagged + 16, b + 12, (size_t)fl - 12);
	put("fuzz_mold_pkt", "frame_vlan.bin", tagged, (size_t)fl + 4);
	put("fuzz_mold_pkt", "frame_runt.bin", b, 30);

	h.seq = 1010;
	h.count = DP_MOLD_HEARTBEAT;
	dp_mold_write_hdr(dg, &h);
	fl = dp_pkt_build_udp(b, sizeof b, 0x0A000001u, 0xE9363601u, 40000, 26400, 2, dg, 20);
	put("fuzz_mold_pkt", "frame_heartbeat.bin", b, (size_t)fl);

	h.count = DP_MOLD_END_OF_SESSION;
	dp_mold_write_hdr(dg, &h);
	fl = dp_pkt_build_udp(b, sizeof b, 0x0A000001u, 0xE9363601u, 40000, 26400, 3, dg, 20);
	put("fuzz_mold_pkt", "frame_eos.bin", b, (size_t)fl);
	return 0;
}
