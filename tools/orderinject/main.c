/*
 * mgw-orderinject - a tiny order-entry client for tests and demos.
 *
 *   mgw-orderinject -i INSTANCE [-f FILE|-] [-w IDLE_MS] [-t MAX_MS] [-N] [ORDER...]
 *
 * Attaches to /dev/shm/mgw.<instance> (mgw_shm_attach: no EAL), enqueues
 * each order (argv words, then the lines of FILE) as a 64-byte
 * dp_order_msg on the order ring, then prints every execution report it
 * takes from the report ring as one JSON line, until no report came for
 * IDLE_MS (default 300) or MAX_MS passed (default 5000). With no orders it
 * only drains reports (e.g. the cancels of a kill switch). -N enqueues and
 * reads no report (to fill the report ring in backpressure tests).
 *
 * An order is whitespace-separated words: a kind, then key=value pairs.
 *   new     acct= sess= id= sym=LOCATE side=B|S px=TICKS qty= [type=limit|market]
 *           [tif=day|ioc|fok] [post=1]
 *   cancel  acct= sess= id= orig= sym=
 *   replace acct= sess= id= orig= sym= px= qty=
 *   mass    scope=account|session|symbol|all [acct=] [sess=] [sym=]
 * Prices are Price(4) ticks (1/10000 dollar), quantities shares. Lines
 * starting with # and empty lines are skipped.
 *
 * Exit: 0 ok, 1 error, 2 usage, 4 no dataplane or no order path (no match lcore).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_match.h"
#include "dp_order.h"
#include "mgw_shm.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int num(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	if (!*v || *v == '-')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*out = x;
	return 0;
}

/* Parse one order line into m. Returns 0, 1 (blank/comment) or -1 with err. */
static int parse_order(char *line, struct dp_order_msg *m, char *err, size_t cap)
{
	memset(m, 0, sizeof(*m));
	char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
	if (!w || w[0] == '#')
		return 1;
	if (!strcmp(w, "new"))
		m->kind = DP_ORD_NEW;
	else if (!strcmp(w, "cancel"))
		m->kind = DP_ORD_CANCEL;
	else if (!strcmp(w, "replace"))
		m->kind = DP_ORD_REPLACE;
	else if (!strcmp(w, "mass"))
		m->kind = DP_ORD_MASS_CANCEL;
	else {
		snprintf(err, cap, "unknown order kind '%s' (new, cancel, replace, mass)", w);
		return -1;
	}
	m->type = DP_ORD_LIMIT;
	m->tif = DP_TIF_DAY;
	while ((w = strtok_r(NULL, " \t\r\n", &save))) {
		char *eq = strchr(w, '=');
		if (!eq) {
			snprintf(err, cap, "'%s' is not key=value", w);
			return -1;
		}
		*eq = '\0';
		const char *k = w, *v = eq + 1;
		uint64_t x = 0;
		int bad = 0;
		if (!strcmp(k, "acct"))
			bad = num(v, UINT32_MAX, &x), m->account = (uint32_t)x;
		else if (!strcmp(k, "sess"))
			bad = num(v, UINT32_MAX, &x), m->session = (uint32_t)x;
		else if (!strcmp(k, "id"))
			bad = num(v, UINT64_MAX, &x), m->cl_ord_id = x;
		else if (!strcmp(k, "orig"))
			bad = num(v, UINT64_MAX, &x), m->orig_cl_ord_id = x;
		else if (!strcmp(k, "sym"))
			bad = num(v, UINT16_MAX, &x), m->symbol = (uint16_t)x;
		else if (!strcmp(k, "px"))
			bad = num(v, UINT32_MAX, &x), m->price = (uint32_t)x;
		else if (!strcmp(k, "qty"))
			bad = num(v, UINT32_MAX, &x), m->qty = (uint32_t)x;
		else if (!strcmp(k, "side"))
			bad = strlen(v) != 1, m->side = v[0];
		else if (!strcmp(k, "post"))
			bad = num(v, 1, &x), m->flags |= x ? DP_ORD_F_POST_ONLY : 0;
		else if (!strcmp(k, "type"))
			bad = !(m->type = !strcmp(v, "limit") ? DP_ORD_LIMIT : !strcmp(v, "market") ? DP_ORD_MARKET : 0);
		else if (!strcmp(k, "tif"))
			bad = !(m->tif = !strcmp(v, "day") ? DP_TIF_DAY : !strcmp(v, "ioc") ? DP_TIF_IOC
				       : !strcmp(v, "fok") ? DP_TIF_FOK : 0);
		else if (!strcmp(k, "scope"))
			bad = !(m->mass = !strcmp(v, "account") ? DP_MASS_ACCOUNT : !strcmp(v, "session") ? DP_MASS_SESSION
					  : !strcmp(v, "symbol") ? DP_MASS_SYMBOL : !strcmp(v, "all") ? DP_MASS_ALL : 0);
		else {
			snprintf(err, cap, "unknown key '%s'", k);
			return -1;
		}
		if (bad) {
			snprintf(err, cap, "bad value for %s: '%s'", k, v);
			return -1;
		}
	}
	m->ts = real_ns();
	return 0;
}

static const char *kind_name(uint8_t k)
{
	static const char *const n[] = {"?", "accepted", "rejected", "fill", "cancelled", "replaced",
					"cancel_rejected"};
	return k <= DP_EXEC_CANCEL_REJECTED ? n[k] : "?";
}

static void print_report(const struct dp_exec_report *r)
{
	printf("{\"kind\":\"%s\",\"reason\":%u,\"reason_text\":\"%s\",\"side\":\"%c\",\"symbol\":%u,"
	       "\"account\":%u,\"session\":%u,\"cl_ord_id\":%" PRIu64 ",\"order_id\":%" PRIu64
	       ",\"exec_id\":%" PRIu64 ",\"last_px\":%u,\"last_qty\":%u,\"leaves_qty\":%u,\"cum_qty\":%u,"
	       "\"avg_px\":%u,\"contra\":%u,\"aggressor\":%s}\n",
	       kind_name(r->kind), r->reason, dp_match_reason_text(r->reason), r->side ? r->side : '?',
	       r->symbol, r->account, r->session, r->cl_ord_id, r->order_id, r->exec_id, r->last_px,
	       r->last_qty, r->leaves_qty, r->cum_qty, r->avg_px, r->contra,
	       (r->flags & DP_MATCH_RF_AGGRESSOR) ? "true" : "false");
}

static int enqueue(struct rte_ring *ring, struct dp_order_msg *m, uint64_t seq, uint64_t deadline)
{
	m->seq = seq;
	/* Multi-producer ring: a full ring is the match lcore's backpressure; wait. */
	while (rte_ring_enqueue_elem(ring, m, sizeof(*m)) != 0) {
		if (mono_ms() > deadline)
			return -ENOBUFS;
		usleep(1000);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mgw-orderinject -i INSTANCE [-f FILE|-] [-w IDLE_MS] [-t MAX_MS] [-N] [ORDER...]\n"
		   "  ORDER: new acct=1 sess=1 id=7 sym=LOCATE side=B px=TICKS qty=100 [type=market] [tif=ioc|fok] [post=1]\n"
		   "         cancel|replace acct= sess= id= orig= sym= [px= qty=] | mass scope=account|session|symbol|all\n"
		   "  prints every report taken from the report ring as a JSON line\n");
}

int main(int argc, char **argv)
{
	const char *inst = NULL, *file = NULL;
	uint64_t idle_ms = 300, max_ms = 5000;
	int o, no_read = 0;
	while ((o = getopt(argc, argv, "i:f:w:t:Nh")) != -1) {
		switch (o) {
		case 'i': inst = optarg; break;
		case 'f': file = optarg; break;
		case 'w': if (num(optarg, 600000, &idle_ms)) { usage(stderr); return 2; } break;
		case 't': if (num(optarg, 3600000, &max_ms)) { usage(stderr); return 2; } break;
		case 'N': no_read = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!inst) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct mgw_shm shm;
	char err[256];
	int rc = mgw_shm_attach(inst, &shm, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mgw-orderinject: %s\n", err);
		return 4;
	}
	struct rte_ring *orders = mgw_shm_order_ring(&shm), *reports = mgw_shm_report_ring(&shm);
	if (!orders || !reports) {
		fprintf(stderr, "mgw-orderinject: instance '%s' has no order path (no lcore has role match)\n",
			inst);
		mgw_shm_close(&shm);
		return 4;
	}
	uint64_t start = mono_ms(), deadline = start + max_ms, seq = (uint64_t)getpid() << 32;
	int ret = 0;
	for (int i = optind; i < argc && !ret; i++) {
		char line[512];
		struct dp_order_msg m;
		snprintf(line, sizeof(line), "%s", argv[i]);
		int pr = parse_order(line, &m, err, sizeof(err));
		if (pr < 0) {
			fprintf(stderr, "mgw-orderinject: argument %d: %s\n", i - optind + 1, err);
			ret = 2;
		} else if (pr == 0 && enqueue(orders, &m, ++seq, deadline) != 0) {
			fprintf(stderr, "mgw-orderinject: order ring full until the deadline\n");
			ret = 1;
		}
	}
	if (file && !ret) {
		FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
		if (!f) {
			fprintf(stderr, "mgw-orderinject: cannot open %s: %s\n", file, strerror(errno));
			ret = 1;
		}
		char line[512];
		for (int ln = 1; f && !ret && fgets(line, sizeof(line), f); ln++) {
			struct dp_order_msg m;
			int pr = parse_order(line, &m, err, sizeof(err));
			if (pr < 0) {
				fprintf(stderr, "mgw-orderinject: %s:%d: %s\n", file, ln, err);
				ret = 2;
			} else if (pr == 0 && enqueue(orders, &m, ++seq, deadline) != 0) {
				fprintf(stderr, "mgw-orderinject: order ring full until the deadline\n");
				ret = 1;
			}
		}
		if (f && f != stdin)
			fclose(f);
	}
	/* Reports until the ring stays empty for idle_ms (or the overall deadline). */
	uint64_t last = mono_ms();
	while (!ret && !no_read) {
		struct dp_exec_report r[32];
		unsigned int n = rte_ring_dequeue_burst_elem(reports, r, sizeof(r[0]), 32, NULL);
		uint64_t now = mono_ms();
		for (unsigned int k = 0; k < n; k++)
			print_report(&r[k]);
		if (n)
			last = now;
		else if (now - last >= idle_ms || now >= deadline)
			break;
		else
			usleep(1000);
	}
	mgw_shm_close(&shm);
	return ret;
}
