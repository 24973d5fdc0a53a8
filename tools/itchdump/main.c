/*
 * main.c - mgw-itchdump: print ITCH 5.0 messages as text, one per line,
 * like tcpdump for the feed. Reads a NASDAQ BinaryFILE or a pcap of
 * MoldUDP64 in Ethernet/IPv4/UDP (told apart by the pcap magic).
 *
 * The input is treated as hostile: every bad record, frame, datagram or
 * message is counted by reason and skipped, the rest is still printed, and
 * the run ends with a summary on stderr and exit status 1 if anything was
 * wrong (2 for bad arguments).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_itch.h"
#include "dp_mold.h"
#include "dp_pkt.h"

/* ---- error counters by reason ------------------------------------------ */

#define MAX_REASONS 48
struct reason {
	char name[40];
	uint64_t n;
};
static struct reason reasons[MAX_REASONS];
static int nreasons;
static uint64_t nerrors;

static void count_err(const char *layer, const char *why)
{
	char name[40];
	snprintf(name, sizeof(name), "%s_%s", layer, why);
	nerrors++;
	for (int i = 0; i < nreasons; i++) {
		if (strcmp(reasons[i].name, name) == 0) {
			reasons[i].n++;
			return;
		}
	}
	if (nreasons < MAX_REASONS) {
		snprintf(reasons[nreasons].name, sizeof(reasons[0].name), "%s", name);
		reasons[nreasons++].n = 1;
	}
}

/* ---- options and output -------------------------------------------------- */

static bool opt_count;       /* only per-type counts */
static uint64_t opt_limit;   /* stop after this many messages shown (0: all) */
static bool type_on[256];    /* --type filter */
static bool opt_filter;
static bool opt_dedup;       /* pcap: drop messages already seen (A/B, resends) */
static int opt_port = -1;    /* pcap: only this UDP destination port */

static uint64_t type_count[256];
static uint64_t shown;       /* messages printed or counted */
static uint64_t skipped_frames;
static uint64_t dup_msgs;

/* True once -n is satisfied: the readers stop. */
static bool done(void)
{
	return opt_limit && shown >= opt_limit;
}

/* One raw message: decode, filter, print or count. prefix may be NULL. */
static void handle_msg(const uint8_t *p, size_t len, const char *session, uint64_t seq)
{
	struct dp_itch_msg m;
	int rc = dp_itch_decode(p, len, &m);
	if (rc < 0) {
		count_err("itch", dp_itch_err_name(rc));
		return;
	}
	uint8_t t = (uint8_t)m.hdr.type;
	if (opt_filter && !type_on[t])
		return;
	shown++;
	type_count[t]++;
	if (opt_count)
		return;
	char line[512];
	dp_itch_format(&m, line, sizeof(line));
	if (session)
		printf("%.10s %" PRIu64 " %s\n", session, seq, line);
	else
		printf("%s\n", line);
}

/* ---- BinaryFILE ----------------------------------------------------------- */

static void dump_binfile(const uint8_t *buf, size_t len)
{
	size_t off = 0;
	const uint8_t *msg;
	size_t mlen;
	while (!done()) {
		int rc = dp_itch_file_next(buf, len, &off, &msg, &mlen);
		if (rc == 0)
			break;
		if (rc < 0) {
			count_err("file", dp_itch_err_name(rc));
			break; /* framing lost: nothing after this can be trusted */
		}
		handle_msg(msg, mlen, NULL, 0);
	}
}

/* ---- pcap ------------------------------------------------------------------ */

#define MAX_SESSIONS 64
static struct dp_mold_session sessions[MAX_SESSIONS];
static int nsessions;

static struct dp_mold_session *session_of(const char name[DP_MOLD_SESSION_LEN])
{
	for (int i = 0; i < nsessions; i++)
		if (memcmp(sessions[i].session, name, DP_MOLD_SESSION_LEN) == 0)
			return &sessions[i];
	if (nsessions == MAX_SESSIONS)
		return NULL;
	struct dp_mold_session *s = &sessions[nsessions++];
	memset(s, 0, sizeof(*s));
	memcpy(s->session, name, DP_MOLD_SESSION_LEN);
	return s;
}

static void print_session(char out[11], const char in[10])
{
	for (int i = 0; i < 10; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[10] = '\0';
}

static void handle_datagram(const uint8_t *p, size_t len)
{
	struct dp_mold_hdr h;
	int rc = dp_mold_parse_hdr(p, len, &h);
	if (rc < 0) {
		count_err("mold", dp_mold_err_name(rc));
		return;
	}
	char sess[11];
	print_session(sess, h.session);

	uint32_t skip = 0;
	if (opt_dedup) {
		struct dp_mold_session *s = session_of(h.session);
		if (s) {
			struct dp_mold_verdict v;
			dp_mold_track(s, &h, &v);
			skip = v.skip;
		} else {
			count_err("mold", "too_many_sessions");
		}
	}

	if (h.count == DP_MOLD_HEARTBEAT || h.count == DP_MOLD_END_OF_SESSION) {
		if (len != DP_MOLD_HDR_LEN)
			count_err("mold", "trailing");
		if (!opt_count && !opt_filter)
			printf("%s %" PRIu64 " -- %s\n", sess, h.seq,
			       h.count == DP_MOLD_HEARTBEAT ? "heartbeat" : "end of session");
		return;
	}

	struct dp_mold_iter it;
	dp_mold_iter_init(&it, p, len, &h);
	const uint8_t *msg;
	uint16_t mlen;
	uint64_t seq = h.seq;
	while (!done()) {
		rc = dp_mold_next(&it, &msg, &mlen);
		if (rc == 0)
			break;
		if (rc < 0) {
			count_err("mold", dp_mold_err_name(rc));
			break;
		}
		if (skip) {
			skip--;
			dup_msgs++;
		} else {
			handle_msg(msg, mlen, sess, seq);
		}
		seq++;
	}
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;
	if (swap)
		v = __builtin_bswap32(v);
	return v;
}

/* Largest record we accept; anything bigger means the file is corrupt. */
#define MAX_CAPLEN 262144u

static void dump_pcap(const uint8_t *buf, size_t len, bool swap)
{
	if (len < 24) {
		count_err("pcap", "short_header");
		return;
	}
	uint32_t linktype = rd32(buf + 20, swap);
	if (linktype != 1) {
		count_err("pcap", "not_ethernet");
		fprintf(stderr, "mgw-itchdump: pcap link type %u is not Ethernet (1)\n", linktype);
		return;
	}
	size_t off = 24;
	while (off < len && !done()) {
		if (len - off < 16) {
			count_err("pcap", "truncated_record");
			break;
		}
		uint32_t incl = rd32(buf + off + 8, swap);
		if (incl > MAX_CAPLEN) {
			count_err("pcap", "bad_caplen");
			break; /* record boundaries are lost */
		}
		if (incl > len - off - 16) {
			count_err("pcap", "truncated_record");
			break;
		}
		const uint8_t *frame = buf + off + 16;
		off += 16 + (size_t)incl;

		struct dp_pkt_udp u;
		int rc = dp_pkt_parse_udp(frame, incl, &u);
		if (rc < 0) {
			count_err("pkt", dp_pkt_drop_name(rc));
			continue;
		}
		if (opt_port >= 0 && u.dst_port != opt_port) {
			skipped_frames++;
			continue;
		}
		handle_datagram(u.payload, u.len);
	}
}

/* ---- input ----------------------------------------------------------------- */

/* Map (or, for pipes, read) the whole input. Returns 0 or -errno. */
static int load(const char *path, const uint8_t **buf, size_t *len, bool *mapped)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (S_ISREG(sb.st_mode)) {
		*len = (size_t)sb.st_size;
		*mapped = true;
		if (*len == 0) {
			*buf = (const uint8_t *)"";
		} else {
			void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED) {
				int e = errno;
				close(fd);
				return -e;
			}
			madvise(p, *len, MADV_SEQUENTIAL);
			*buf = p;
		}
		if (fd != STDIN_FILENO)
			close(fd);
		return 0;
	}
	*mapped = false;
	size_t cap = 1 << 20, n = 0;
	uint8_t *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*buf = b;
	*len = n;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: mgw-itchdump [options] FILE     (FILE may be - for stdin)\n"
"  FILE is a NASDAQ BinaryFILE (2-byte length + message) or a pcap of\n"
"  MoldUDP64 over Ethernet/IPv4/UDP, told apart by the pcap magic.\n"
"  pcap lines are prefixed with the MoldUDP64 session and sequence number.\n"
"  --count        print only message counts per type\n"
"  -n N           stop after N messages\n"
"  --type T       only these message types (e.g. A, or AFD)\n"
"  --dedup        pcap: skip messages already seen (A/B copies, resends)\n"
"  --port P       pcap: only UDP datagrams to port P (others are skipped)\n"
"  -h, --help     this text\n"
"exit status: 0 clean, 1 input errors (counted by reason on stderr), 2 usage\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "mgw-itchdump: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	enum { O_COUNT = 256, O_TYPE, O_DEDUP, O_PORT };
	static const struct option opts[] = {
		{ "count", no_argument, NULL, O_COUNT },
		{ "type", required_argument, NULL, O_TYPE },
		{ "dedup", no_argument, NULL, O_DEDUP },
		{ "port", required_argument, NULL, O_PORT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_COUNT:
			opt_count = true;
			break;
		case 'n': {
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' || v == 0)
				return bad("bad -n '%s' (want a positive integer)", optarg);
			opt_limit = v;
			break;
		}
		case O_TYPE:
			if (!*optarg)
				return bad("%s", "empty --type");
			for (const char *p = optarg; *p; p++) {
				if (dp_itch_type_index((uint8_t)*p) < 0)
					return bad("bad --type '%s' (want ITCH type letters, e.g. A or AFD)",
						   optarg);
				type_on[(uint8_t)*p] = true;
			}
			opt_filter = true;
			break;
		case O_DEDUP:
			opt_dedup = true;
			break;
		case O_PORT: {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v < 1 || v > 65535)
				return bad("bad --port '%s' (want 1..65535)", optarg);
			opt_port = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "mgw-itchdump: unknown option or missing argument: '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1)
		return bad("%s", "want exactly one input FILE");
	const char *path = argv[optind];

	const uint8_t *buf = NULL;
	size_t len = 0;
	bool mapped = false;
	int rc = load(path, &buf, &len, &mapped);
	if (rc < 0) {
		fprintf(stderr, "mgw-itchdump: %s: %s\n", path, strerror(-rc));
		return 1;
	}
	static char obuf[1 << 20];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

	uint32_t magic = len >= 4 ? rd32(buf, false) : 0;
	switch (magic) {
	case 0xa1b2c3d4u: case 0xa1b23c4du: /* us / ns, little-endian file */
		dump_pcap(buf, len, false);
		break;
	case 0xd4c3b2a1u: case 0x4d3cb2a1u: /* big-endian file */
		dump_pcap(buf, len, true);
		break;
	case 0x0a0d0d0au:
		count_err("pcap", "pcapng_unsupported");
		fprintf(stderr, "mgw-itchdump: %s is pcapng; convert with editcap -F pcap\n", path);
		break;
	default:
		dump_binfile(buf, len);
		break;
	}

	if (opt_count) {
		uint64_t total = 0;
		for (int i = 0; i < DP_ITCH_NTYPES; i++) {
			uint8_t t = (uint8_t)dp_itch_type_chars[i];
			if (type_count[t]) {
				printf("%c %" PRIu64 "\n", t, type_count[t]);
				total += type_count[t];
			}
		}
		printf("total %" PRIu64 "\n", total);
	}
	if (fflush(stdout) != 0 && errno != EPIPE)
		fprintf(stderr, "mgw-itchdump: write error: %s\n", strerror(errno));

	if (dup_msgs)
		fprintf(stderr, "mgw-itchdump: %" PRIu64 " duplicate messages skipped\n", dup_msgs);
	if (skipped_frames)
		fprintf(stderr, "mgw-itchdump: %" PRIu64 " frames to other ports skipped\n",
			skipped_frames);
	if (nerrors) {
		fprintf(stderr, "mgw-itchdump: %" PRIu64 " errors:", nerrors);
		for (int i = 0; i < nreasons; i++)
			fprintf(stderr, " %s=%" PRIu64, reasons[i].name, reasons[i].n);
		fprintf(stderr, "\n");
	}
	if (mapped && len)
		munmap((void *)buf, len);
	else if (!mapped)
		free((void *)buf);
	return nerrors ? 1 : 0;
}
