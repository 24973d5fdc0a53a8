/*
 * gen_corpus.c - writes the small seed corpora for the fuzz harnesses:
 *   corpus/fuzz_itch/     one valid message per ITCH type, a BinaryFILE
 *                         stream, and a few invalid messages;
 *   corpus/fuzz_mold_pkt/ Ethernet frames carrying MoldUDP64 packets (plain,
 *                         VLAN tagged, heartbeat, end of session, truncated)
 *                         and bare Mold datagrams;
 *   corpus/fuzz_match/    client order streams in fuzz_match.c's 24-byte
 *                         records: a book built, crossed, cancelled and
 *                         replaced; the same with risk controls and the
 *                         smallest report capacity; a pseudo-random one.
 * Usage: fuzz_gen_corpus <tests/fuzz/corpus>. The output is committed, so
 * this only needs running when the seeds should change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* One fuzz_match record (field meanings in fuzz_match.c's header). */
static uint8_t *match_rec(uint8_t *r, uint8_t kind, char side, uint8_t sym, uint8_t acct,
			  uint8_t cl, uint8_t orig, int off, uint16_t qty, uint8_t tif)
{
	memset(r, 0, 24);
	r[0] = kind;            /* 0 NEW, 3 CANCEL, 5 REPLACE */
	r[1] = 1;               /* limit */
	r[2] = tif;
	r[4] = side == 'B' ? 0 : 1;
	r[5] = sym;
	r[6] = acct;
	r[7] = 1;               /* session */
	r[8] = (uint8_t)(cl - 1);
	r[9] = (uint8_t)(orig - 1);
	r[11] = (uint8_t)(off + 32);
	r[12] = (uint8_t)(qty >> 8);
	r[13] = (uint8_t)qty;
	r[15] = 3;              /* report capacity 1024 */
	r[16] = 31;             /* no control */
	return r + 24;
}

static void match_seeds(void)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/fuzz_match", root);
	mkdir(dir, 0755);
	uint8_t b[1 + 24 * 64], *r = b + 1;
	b[0] = 0x0b; /* 64 orders, 64 levels, STP cancel newest */
	/* two sides of a book, a sweep, cancels (one of a filled order), a replace */
	for (uint8_t i = 0; i < 6; i++)
		r = match_rec(r, 0, 'S', 1, 1, (uint8_t)(1 + i), 0, 1 + i, 100, 1);
	for (uint8_t i = 0; i < 6; i++)
		r = match_rec(r, 0, 'B', 1, 2, (uint8_t)(11 + i), 0, -1 - i, 100, 1);
	r = match_rec(r, 0, 'B', 1, 3, 21, 0, 4, 450, 1);  /* takes four and a half levels */
	r = match_rec(r, 3, 'S', 1, 1, 22, 1, 0, 0, 0);     /* cancel a filled order */
	r = match_rec(r, 3, 'S', 1, 1, 23, 6, 0, 0, 0);     /* cancel a resting one */
	r = match_rec(r, 5, 'B', 1, 2, 24, 11, -3, 50, 0);  /* replace: new price, less */
	r = match_rec(r, 0, 'S', 1, 1, 1, 0, 2, 100, 2);    /* id 1 again, IOC */
	r = match_rec(r, 5, 'B', 1, 2, 2, 12, 5, 100, 0);   /* replace onto filled id 2, crossing */
	put("fuzz_match", "seed_book", b, (size_t)(r - b));

	/* the same with controls between messages and the smallest capacity */
	for (size_t i = 1; i + 24 <= (size_t)(r - b); i += 24) {
		b[i + 15] = 0;                       /* report capacity 4: pauses */
		b[i + 16] = (uint8_t)(i / 24 % 6);   /* kill, limits, restricted, new day, throttle */
		b[i + 17] = (uint8_t)(i / 24);
		b[i + 18] = (uint8_t)(1 + i / 48);
		b[i + 19] = (uint8_t)(i / 24 & 1);
		b[i + 20] = 0x1f;
	}
	put("fuzz_match", "seed_controls", b, (size_t)(r - b));

	/* pseudo-random records */
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof b; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
	put("fuzz_match", "seed_random", b, sizeof b);
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

	match_seeds();
	return 0;
}
