/*
 * main.c - mgw-itchgen: command-line front end of the synthetic ITCH 5.0
 * generator. Parses options, runs the generator and feeds the writers
 * (BinaryFILE and/or pcap of MoldUDP64). Bad arguments exit 2, I/O errors 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itchgen.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: mgw-itchgen [options]\n"
"  --messages N        total messages, preamble and closing events included\n"
"                      (default 1000000; the preamble is 3 + 2*symbols)\n"
"  --symbols S         symbols, locates 1..S (1..65535, default 5000)\n"
"  --seed X            PRNG seed (default 1); same seed, same bytes\n"
"  --cancel-target M   uniform|recent: how E/C/X/D/U pick their order\n"
"                      (default uniform)\n"
"  --max-live N        soft cap on live orders (default 1000000)\n"
"  --binfile PATH      write NASDAQ BinaryFILE (2-byte length + message)\n"
"  --pcap PATH         write a pcap of MoldUDP64 in Ethernet/IPv4/UDP\n"
"  --group IP          multicast destination (default 233.54.12.111)\n"
"  --port P            UDP destination port (default 26477)\n"
"  --session NAME      MoldUDP64 session, up to 10 chars (default MGWDEMO001)\n"
"  --ab                write every packet twice, line A and line B sources\n"
"  --stats             print counts per message type to stderr\n"
"  -h, --help          this text\n");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "mgw-itchgen: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

/* Strict unsigned parse: digits only, no sign, in [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum {
	O_MESSAGES = 256, O_SYMBOLS, O_SEED, O_TARGET, O_MAXLIVE, O_BINFILE,
	O_PCAP, O_GROUP, O_PORT, O_SESSION, O_AB, O_STATS,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, O_MESSAGES },
		{ "symbols", required_argument, NULL, O_SYMBOLS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "cancel-target", required_argument, NULL, O_TARGET },
		{ "max-live", required_argument, NULL, O_MAXLIVE },
		{ "binfile", required_argument, NULL, O_BINFILE },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "group", required_argument, NULL, O_GROUP },
		{ "port", required_argument, NULL, O_PORT },
		{ "session", required_argument, NULL, O_SESSION },
		{ "ab", no_argument, NULL, O_AB },
		{ "stats", no_argument, NULL, O_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct itg_cfg cfg;
	struct itg_out_cfg ocfg;
	itg_cfg_default(&cfg);
	itg_out_cfg_default(&ocfg);
	bool stats = false;
	uint64_t v;
	int c;

	opterr = 0; /* we print our own messages */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_MESSAGES:
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &v))
				return bad("bad --messages '%s' (want a positive integer)", optarg);
			cfg.messages = v;
			break;
		case O_SYMBOLS:
			if (parse_u64(optarg, 1, ITG_MAX_SYMBOLS, &v))
				return bad("bad --symbols '%s' (want 1..65535)", optarg);
			cfg.symbols = (uint32_t)v;
			break;
		case O_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX, &v))
				return bad("bad --seed '%s' (want an unsigned integer)", optarg);
			cfg.seed = v;
			break;
		case O_TARGET:
			if (strcmp(optarg, "uniform") == 0)
				cfg.target = ITG_TARGET_UNIFORM;
			else if (strcmp(optarg, "recent") == 0)
				cfg.target = ITG_TARGET_RECENT;
			else
				return bad("bad --cancel-target '%s' (want uniform or recent)", optarg);
			break;
		case O_MAXLIVE:
			if (parse_u64(optarg, 1, 100000000, &v))
				return bad("bad --max-live '%s' (want 1..100000000)", optarg);
			cfg.max_live = (uint32_t)v;
			break;
		case O_BINFILE:
			ocfg.binfile = optarg;
			break;
		case O_PCAP:
			ocfg.pcap = optarg;
			break;
		case O_GROUP: {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return bad("bad --group '%s' (want a dotted IPv4 address)", optarg);
			ocfg.group = ntohl(a.s_addr);
			break;
		}
		case O_PORT:
			if (parse_u64(optarg, 1, 65535, &v))
				return bad("bad --port '%s' (want 1..65535)", optarg);
			ocfg.port = (uint16_t)v;
			break;
		case O_SESSION: {
			size_t n = strlen(optarg);
			if (n == 0 || n > 10)
				return bad("bad --session '%s' (want 1..10 characters)", optarg);
			for (size_t i = 0; i < n; i++)
				if (optarg[i] < 0x20 || optarg[i] > 0x7e)
					return bad("bad --session '%s' (printable ASCII only)", optarg);
			memset(ocfg.session, ' ', sizeof(ocfg.session));
			memcpy(ocfg.session, optarg, n);
			break;
		}
		case O_AB:
			ocfg.ab = true;
			break;
		case O_STATS:
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt)
				fprintf(stderr, "mgw-itchgen: option '-%c' is unknown or lacks its argument\n", optopt);
			else
				fprintf(stderr, "mgw-itchgen: unknown option or missing argument: '%s'\n",
					argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!ocfg.binfile && !ocfg.pcap && !stats)
		return bad("%s", "nothing to do: give --binfile, --pcap and/or --stats");
	if (ocfg.ab && !ocfg.pcap)
		return bad("%s", "--ab needs --pcap");

	struct itg *g;
	int rc = itg_create(&g, &cfg);
	if (rc) {
		fprintf(stderr, "mgw-itchgen: cannot create generator: %s\n", strerror(-rc));
		return 1;
	}
	struct itg_out *o;
	char err[512];
	rc = itg_out_open(&o, &ocfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mgw-itchgen: %s\n", err);
		itg_destroy(g);
		return 1;
	}

	uint8_t buf[DP_ITCH_MAX_LEN];
	struct dp_itch_msg m;
	int len;
	int status = 0;
	while ((len = itg_next(g, &m, buf, sizeof(buf))) > 0) {
		if (itg_out_put(o, buf, (size_t)len, m.hdr.timestamp) < 0)
			break; /* the error is reported by close */
	}
	if (len < 0) {
		fprintf(stderr, "mgw-itchgen: encode failed: %d\n", len);
		status = 1;
	}
	struct itg_out_stats ost;
	rc = itg_out_close(o, &ost);
	if (rc) {
		fprintf(stderr, "mgw-itchgen: write failed: %s\n", strerror(-rc));
		status = 1;
	}

	if (stats) {
		const struct itg_stats *st = itg_get_stats(g);
		fprintf(stderr, "messages %" PRIu64 " (order messages %" PRIu64 ")\n",
			st->total, st->body);
		for (int i = 0; i < DP_ITCH_NTYPES; i++) {
			if (!st->by_type[i])
				continue;
			double pct = st->body && strchr("AFECXDUP", dp_itch_type_chars[i])
				     ? 100.0 * (double)st->by_type[i] / (double)st->body : -1;
			if (pct >= 0)
				fprintf(stderr, "  %c %12" PRIu64 "  %5.2f%% of order messages\n",
					dp_itch_type_chars[i], st->by_type[i], pct);
			else
				fprintf(stderr, "  %c %12" PRIu64 "\n", dp_itch_type_chars[i],
					st->by_type[i]);
		}
		fprintf(stderr, "live orders at end %u (peak %u), price levels %u (peak %u)\n",
			st->live_orders, st->peak_live_orders, st->live_levels,
			st->peak_live_levels);
		if (st->cap_deletes || st->recent_fallbacks)
			fprintf(stderr, "cap deletes %" PRIu64 ", recent fallbacks %" PRIu64 "\n",
				st->cap_deletes, st->recent_fallbacks);
		if (ocfg.pcap)
			fprintf(stderr, "pcap: %" PRIu64 " packets per line (%" PRIu64
				" heartbeats, 1 end of session), %" PRIu64 " frames, %" PRIu64
				" bytes\n", ost.packets, ost.heartbeats, ost.frames, ost.pcap_bytes);
		if (ocfg.binfile)
			fprintf(stderr, "binfile: %" PRIu64 " bytes\n", ost.bin_bytes);
	}
	itg_destroy(g);
	return status;
}
