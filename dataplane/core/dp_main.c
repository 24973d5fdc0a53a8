/*
 * dp_main.c - mgw-dataplane: the DPDK primary process.
 *
 *   mgw-dataplane -c FILE [--no-huge | --huge] [-v] [-- EXTRA_EAL_ARGS...]
 *
 * Start-up order: load and validate the config; decide on hugepages; build
 * the EAL arguments from the config (lcores, devices) and start EAL; create
 * the shared segment; create the mbuf pool, the rx->book ring and the books
 * (all memory taken here, NUMA-local to the lcore that owns it); set up the
 * ports; publish the segment; launch one loop per configured lcore. The
 * main lcore then only keeps the heartbeat and port stats until SIGINT or
 * SIGTERM, after which it stops the loops, closes the ports and removes the
 * segment. Every failure is one line on stderr and a non-zero exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_config.h"
#include "dp_lcore.h"
#include "dp_telemetry.h"
#include "drv_port.h"
#include "mgw_shm.h"

#ifndef MGW_VERSION
#define MGW_VERSION "0.0.0"
#endif

#define MAX_EAL_ARGS 128

struct dp_app {
	struct mgw_config cfg;
	struct mgw_shm shm;
	struct drv_port ports[CTL_MAX_PORTS];
	uint32_t n_ports;
	struct rte_mempool *mp;
	struct rte_ring *ring;
	struct dp_book *book;
	/* order path (only with a match lcore) */
	struct dp_match *match;
	struct dp_risk *risk;
	struct dp_ref_table *ref;
	struct dp_mstage *ms;
	struct dp_lcore_ctx *ctx[CTL_MAX_LCORES];
	uint32_t frame_room; /* mbuf data room: the largest frame taken in one segment */
	int use_huge;
	int verbose;
};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&dp_stop, 1);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mgw-dataplane -c FILE [--no-huge | --huge] [-v] [-- EXTRA_EAL_ARGS...]\n"
		"  -c, --config FILE  the appliance config (YAML), see docs/CONFIG.md\n"
		"      --no-huge      run EAL without hugepages (overrides dataplane.hugepages)\n"
		"      --huge         require hugepages (overrides dataplane.hugepages)\n"
		"  -v, --verbose      let DPDK log at info level\n");
}

/* Free hugepage memory in MB from /proc/meminfo (default page size). */
static uint64_t free_hugepage_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	char line[256];
	uint64_t free_pages = 0, page_kb = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "HugePages_Free: %llu", &v) == 1)
			free_pages = v;
		else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
			page_kb = v;
	}
	fclose(f);
	return free_pages * page_kb / 1024;
}

static int decide_hugepages(struct dp_app *app, int force)
{
	enum ctl_hugepages mode = app->cfg.dataplane.hugepages;
	if (force == 1)
		mode = CTL_HUGE_ON;
	else if (force == 0)
		mode = CTL_HUGE_OFF;
	uint64_t have = free_hugepage_mb();
	uint32_t need = app->cfg.dataplane.memory_mb;
	switch (mode) {
	case CTL_HUGE_OFF:
		app->use_huge = 0;
		printf("mgw-dataplane: hugepages off (config or --no-huge): EAL runs with --no-huge; "
		       "memory is not pinned, fine for tests and the demo, not for production\n");
		return 0;
	case CTL_HUGE_ON:
		if (have < need) {
			fprintf(stderr,
				"mgw-dataplane: hugepages required but only %llu MB free, %u MB needed "
				"(dataplane.memory_mb): reserve more, e.g. echo %u > /proc/sys/vm/nr_hugepages\n",
				(unsigned long long)have, need, (need + 1) / 2 + 64);
			return -1;
		}
		app->use_huge = 1;
		break;
	case CTL_HUGE_AUTO:
		app->use_huge = have >= need;
		if (!app->use_huge) {
			printf("mgw-dataplane: %llu MB of free hugepages < %u MB needed: running with "
			       "--no-huge (memory not pinned; fine for tests and the demo)\n",
			       (unsigned long long)have, need);
			return 0;
		}
		break;
	}
	printf("mgw-dataplane: using hugepages (%llu MB free, %u MB for EAL)\n",
	       (unsigned long long)have, need);
	return 0;
}

/* Build the EAL argument vector from the config. Strings live in `store`. */
static int build_eal_args(struct dp_app *app, const char *prog, int extra_argc, char **extra_argv,
			  char **argv, char store[][512])
{
	int n = 0, s = 0;
	const struct ctl_dataplane_cfg *d = &app->cfg.dataplane;
#define ARG(...)                                                                                   \
	do {                                                                                       \
		if (n >= MAX_EAL_ARGS - 1)                                                         \
			return -1;                                                                 \
		snprintf(store[s], sizeof(store[s]), __VA_ARGS__);                                 \
		argv[n++] = store[s++];                                                            \
	} while (0)
	ARG("%s", prog);
	/* --lcores id@cpu: lcore ids from the config, pinned to their CPUs. */
	char lcores[500];
	int off = snprintf(lcores, sizeof(lcores), "%u@%u", d->main_lcore, d->main_lcore);
	for (uint32_t i = 0; i < d->n_lcores && off < (int)sizeof(lcores); i++)
		off += snprintf(lcores + off, sizeof(lcores) - (size_t)off, ",%u@%u", d->lcores[i].id,
				d->lcores[i].cpu);
	if (off >= (int)sizeof(lcores))
		return -1;
	ARG("--lcores");
	ARG("%s", lcores);
	ARG("--main-lcore");
	ARG("%u", d->main_lcore);
	ARG("--file-prefix");
	ARG("mgw_%s", app->cfg.instance);
	/* --in-memory: no hugepage files left behind; EAL refuses it with --no-huge. */
	if (app->use_huge)
		ARG("--in-memory");
	else
		ARG("--no-huge");
	ARG("-m");
	ARG("%u", d->memory_mb);
	if (!app->verbose) {
		ARG("--log-level");
		ARG("*:warning");
	}
	int any_pci = 0;
	for (uint32_t i = 0; i < app->cfg.n_ports; i++) {
		const char *dev = app->cfg.ports[i].device;
		if (drv_device_is_pci(dev)) {
			any_pci = 1;
			ARG("-a");
		} else {
			ARG("--vdev");
		}
		ARG("%s", dev);
	}
	if (!any_pci)
		ARG("--no-pci");
	for (int i = 0; i < extra_argc; i++)
		ARG("%s", extra_argv[i]);
#undef ARG
	argv[n] = NULL;
	return n;
}

static void *book_zalloc(size_t size, void *arg)
{
	int socket = (int)(intptr_t)arg;
	return rte_zmalloc_socket("mgw_book", size, RTE_CACHE_LINE_SIZE, socket);
}

static void book_free(void *p, void *arg)
{
	(void)arg;
	rte_free(p);
}

/*
 * The order path: matching engine, risk, reference table and match stage,
 * all on the match lcore's NUMA node, limits from `risk.accounts`. The match
 * lcore context gets them in setup().
 */
static int setup_match(struct dp_app *app, int socket)
{
	const struct mgw_config *cfg = &app->cfg;
	struct dp_mem bm = {book_zalloc, book_free, (void *)(intptr_t)socket};
	struct dp_match_cfg mc = {
		.max_orders = cfg->matching.max_orders,
		.max_levels = cfg->matching.max_levels,
		.max_symbols = cfg->book.max_symbols,
		.max_sessions = cfg->matching.max_sessions,
		.max_accounts = CTL_MAX_ACCOUNTS * 4,
		.stp_default = (uint8_t)cfg->matching.stp,
	};
	struct dp_mem mm = {bm.zalloc, bm.free, bm.arg};
	int rc = dp_match_create(&app->match, &mc, &mm);
	if (rc) {
		fprintf(stderr, "mgw-dataplane: cannot create the matching engine (%zu MB): %s; raise "
			"dataplane.memory_mb or lower matching.*\n", dp_match_mem_size(&mc) >> 20,
			strerror(-rc));
		return -1;
	}
	struct dp_risk_cfg rcfg = {
		.max_accounts = CTL_MAX_ACCOUNTS * 4,
		.max_sessions = cfg->matching.max_sessions,
		.max_symbols = cfg->book.max_symbols,
		.max_positions = cfg->matching.max_orders,
		.max_orders = cfg->matching.max_orders,
		.max_ids = cfg->matching.max_orders * 4,
		.default_orders_per_sec = cfg->risk.default_throttle,
	};
	struct dp_mem rm = {bm.zalloc, bm.free, bm.arg};
	rc = dp_risk_create(&app->risk, &rcfg, &rm);
	if (rc) {
		fprintf(stderr, "mgw-dataplane: cannot create the risk tables (%zu MB): %s; raise "
			"dataplane.memory_mb or lower matching.max_orders\n", dp_risk_mem_size(&rcfg) >> 20,
			strerror(-rc));
		return -1;
	}
	app->ref = rte_zmalloc_socket("mgw_ref", dp_ref_table_size(cfg->book.max_symbols),
				      RTE_CACHE_LINE_SIZE, socket);
	app->ms = rte_zmalloc_socket("mgw_mstage", sizeof(*app->ms), RTE_CACHE_LINE_SIZE, socket);
	if (!app->ref || !app->ms) {
		fprintf(stderr, "mgw-dataplane: out of memory for the reference table\n");
		return -1;
	}
	app->ref->n = cfg->book.max_symbols;
	return 0;
}

/* Limits, STP overrides and restricted names of the configured accounts. */
static int load_accounts(struct dp_app *app, struct dp_lcore_ctx *mc)
{
	const struct ctl_risk_cfg *r = &app->cfg.risk;
	_Static_assert((int)CTL_RISK_MAX_QTY == (int)DP_RISK_CHK_MAX_QTY &&
		       (int)CTL_RISK_MAX_NOTIONAL == (int)DP_RISK_CHK_MAX_NOTIONAL &&
		       (int)CTL_RISK_COLLAR == (int)DP_RISK_CHK_COLLAR &&
		       (int)CTL_RISK_CREDIT == (int)DP_RISK_CHK_CREDIT &&
		       (int)CTL_RISK_MAX_POSITION == (int)DP_RISK_CHK_MAX_POSITION, "risk check bits agree");
	_Static_assert(CTL_MAX_ACCOUNTS <= MGW_RISK_SHOW_MAX, "risk show lists every account");
	for (uint32_t i = 0; i < r->n_accounts; i++) {
		const struct ctl_account_cfg *a = &r->accounts[i];
		struct dp_risk_limits l = {
			.enabled = a->enabled,
			.max_order_qty = a->max_order_qty,
			.max_order_notional = a->max_order_notional * 10000, /* dollars -> Price(4) x shares */
			.collar_bps = a->collar_bps,
			.credit_limit = a->credit_limit * 10000,
			.max_position = a->max_position,
		};
		if (dp_risk_set_limits(app->risk, a->id, &l) != 0 ||
		    (a->stp >= 0 && dp_match_set_stp(app->match, a->id, (uint8_t)a->stp) != 0)) {
			fprintf(stderr, "mgw-dataplane: cannot load risk.accounts[%u]\n", i);
			return -1;
		}
		for (uint32_t k = 0; k < a->n_restricted; k++)
			if (dp_mstage_restrict(app->ms, a->id, a->restricted[k], 1) != 0) {
				fprintf(stderr, "mgw-dataplane: too many restricted symbols\n");
				return -1;
			}
		mc->accts[mc->n_accts++] = a->id;
	}
	return 0;
}

static int setup(struct dp_app *app)
{
	const struct mgw_config *cfg = &app->cfg;
	const struct ctl_dataplane_cfg *d = &cfg->dataplane;
	char err[512];
	int rc;

	for (uint32_t i = 0; i < d->n_lcores; i++) {
		if (!rte_lcore_is_enabled(d->lcores[i].id)) {
			fprintf(stderr, "mgw-dataplane: lcore %u is not available to EAL\n", d->lcores[i].id);
			return -1;
		}
	}

	struct mgw_shm_params sp = {
		.instance = cfg->instance,
		.version = MGW_VERSION,
		.n_lcores = d->n_lcores + 1,
		.n_ports = cfg->n_ports,
		.order_ring_size = cfg->match_lcore_set ? cfg->matching.order_ring_size : 0,
		.report_ring_size = cfg->match_lcore_set ? cfg->matching.report_ring_size : 0,
	};
	rc = mgw_shm_create(&sp, &app->shm);
	if (rc == -EBUSY) {
		fprintf(stderr, "mgw-dataplane: another mgw-dataplane of instance '%s' is running\n",
			cfg->instance);
		return -1;
	} else if (rc) {
		fprintf(stderr, "mgw-dataplane: cannot create shared segment for '%s': %s\n",
			cfg->instance, strerror(-rc));
		return -1;
	}
	struct mgw_shm_hdr *h = app->shm.hdr;
	h->start_ns = realtime_ns();
	h->hugepages = (uint32_t)app->use_huge;
	uint64_t hz = rte_get_tsc_hz();
	h->tsc_hz_lo = (uint32_t)hz;
	h->tsc_hz_hi = (uint32_t)(hz >> 32);
	h->lcores[0] = (struct mgw_shm_lcore){d->main_lcore, 0};
	for (uint32_t i = 0; i < d->n_lcores; i++)
		h->lcores[i + 1] = (struct mgw_shm_lcore){d->lcores[i].id, d->lcores[i].roles};

	/* Find the rx, book and match lcores. */
	int rx_i = -1, book_i = -1, match_i = -1;
	for (uint32_t i = 0; i < d->n_lcores; i++) {
		if (d->lcores[i].roles & CTL_ROLE_RX)
			rx_i = (int)i;
		if (d->lcores[i].roles & CTL_ROLE_BOOK)
			book_i = (int)i;
		if (d->lcores[i].roles & CTL_ROLE_MATCH)
			match_i = (int)i;
	}
	int rx_socket = (int)rte_lcore_to_socket_id(d->lcores[rx_i].id);
	int book_socket = (int)rte_lcore_to_socket_id(d->lcores[book_i].id);

	uint32_t nb_mbufs = 0;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		nb_mbufs += (uint32_t)cfg->ports[i].rx_queues * cfg->ports[i].rx_desc;
	nb_mbufs = nb_mbufs * 2 + 1024;
	/* Every frame up to the largest MTU fits one mbuf segment (never less than
	 * DPDK's default room); multi-segment frames are dropped and counted. */
	uint32_t max_mtu = 0;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].mtu > max_mtu)
			max_mtu = cfg->ports[i].mtu;
	app->frame_room = max_mtu + 30 > RTE_MBUF_DEFAULT_DATAROOM ? max_mtu + 30
								     : RTE_MBUF_DEFAULT_DATAROOM;
	app->mp = rte_pktmbuf_pool_create("mgw_rx", nb_mbufs, 256, 0,
					  (uint16_t)(RTE_PKTMBUF_HEADROOM + app->frame_room), rx_socket);
	if (!app->mp) {
		fprintf(stderr, "mgw-dataplane: cannot create mbuf pool of %u: %s (raise "
			"dataplane.memory_mb)\n", nb_mbufs, rte_strerror(rte_errno));
		return -1;
	}
	app->ring = rte_ring_create_elem("mgw_rx_book", sizeof(struct dp_book_ev), d->ring_size,
					 book_socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!app->ring) {
		fprintf(stderr, "mgw-dataplane: cannot create rx->book ring: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}

	struct dp_book_cfg bc = {
		.max_orders = cfg->book.max_orders,
		.max_levels = cfg->book.max_levels,
		.max_symbols = cfg->book.max_symbols,
		.ladders = cfg->book.ladders,
	};
	struct dp_mem bm = {book_zalloc, book_free, (void *)(intptr_t)book_socket};
	rc = dp_book_create(&app->book, &bc, &bm);
	if (rc) {
		fprintf(stderr, "mgw-dataplane: cannot create the books (%zu MB for %u orders, %u "
			"levels): %s; raise dataplane.memory_mb or lower book.*\n",
			dp_book_mem_size(&bc) >> 20, bc.max_orders, bc.max_levels, strerror(-rc));
		return -1;
	}

	if (match_i >= 0 && setup_match(app, (int)rte_lcore_to_socket_id(d->lcores[match_i].id)) != 0)
		return -1;

	struct mgw_shm_port *sp_ports = mgw_shm_ports(&app->shm);
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		rc = drv_port_setup(&cfg->ports[i], app->mp, &app->ports[i], err, sizeof(err));
		if (rc) {
			fprintf(stderr, "mgw-dataplane: %s\n", err);
			return -1;
		}
		app->n_ports++;
		snprintf(sp_ports[i].name, sizeof(sp_ports[i].name), "%s", cfg->ports[i].name);
		snprintf(sp_ports[i].device, sizeof(sp_ports[i].device), "%s", app->ports[i].dev_name);
		sp_ports[i].port_id = app->ports[i].port_id;
		sp_ports[i].rx_queues = app->ports[i].rx_queues;
		sp_ports[i].mtu = app->ports[i].mtu;
	}

	uint64_t period = rte_get_tsc_hz() / 10000; /* periodic work every 100 us */
	for (uint32_t i = 0; i < d->n_lcores; i++) {
		unsigned int lc = d->lcores[i].id;
		struct dp_lcore_ctx *c = rte_zmalloc_socket("mgw_lcore", sizeof(*c), RTE_CACHE_LINE_SIZE,
							    (int)rte_lcore_to_socket_id(lc));
		if (!c) {
			fprintf(stderr, "mgw-dataplane: out of memory for lcore %u context\n", lc);
			return -1;
		}
		app->ctx[i] = c;
		c->lcore_id = lc;
		c->roles = d->lcores[i].roles;
		c->slot = i + 1;
		c->burst = d->burst;
		c->ctr = mgw_shm_block(&app->shm, c->slot);
		c->shm = &app->shm;
		c->ring = app->ring;
		c->tsc_period = period;
		c->tsc_hz = rte_get_tsc_hz();
		if (c->roles & CTL_ROLE_RX) {
			dp_feed_init(&c->feed, &cfg->feed, c->ctr);
			c->ev_per_frame = dp_feed_max_events(app->frame_room);
			if (c->ev_per_frame > RTE_DIM(c->rx_evs)) {
				fprintf(stderr, "mgw-dataplane: rx scratch too small\n");
				return -1;
			}
			if (c->ev_per_frame * c->burst > d->ring_size / 2)
				fprintf(stderr, "mgw-dataplane: warning: dataplane.ring_size %u is small for "
					"burst %u; rx will often wait for book\n", d->ring_size, c->burst);
			for (uint32_t p = 0; p < app->n_ports; p++)
				for (uint16_t q = 0; q < app->ports[p].rx_queues && c->n_rxq < DP_MAX_RXQ; q++)
					c->rxq[c->n_rxq++] = (struct dp_rxq){app->ports[p].port_id, q};
		}
		if (c->roles & CTL_ROLE_BOOK) {
			c->book = app->book;
			c->ref = app->ref; /* NULL without a match lcore: nothing to publish */
		}
		if (c->roles & CTL_ROLE_MATCH) {
			dp_mstage_init(app->ms, app->match, app->risk, app->ref, c->ctr, cfg->book.max_symbols);
			c->ms = app->ms;
			c->order_ring = mgw_shm_order_ring(&app->shm);
			c->report_ring = mgw_shm_report_ring(&app->shm);
			c->report_size = app->shm.hdr->report_ring_size;
			c->report_hiwat = app->shm.hdr->report_hiwat;
			if (load_accounts(app, c) != 0)
				return -1;
		}
	}
	/* The book lcore reads the rx lcore's counters (gaps, sessions ended,
	   packets) to mark references stale; the silence clock starts now. */
	for (uint32_t i = 0; i < d->n_lcores; i++)
		if (app->ctx[i]->ref) {
			app->ctx[i]->rx_ctr = app->ctx[rx_i]->ctr;
			uint64_t after = (uint64_t)((unsigned __int128)cfg->reference.stale_after_ms *
						    rte_get_tsc_hz() / 1000u);
			dp_ref_watch_init(&app->ctx[i]->ref_watch, rte_rdtsc(), after);
		}
	/* Config epochs are served on the book lcore but change the rx lcore's
	   filter (the hand-over protocol is in dp_feed.h). */
	for (uint32_t i = 0; i < d->n_lcores; i++)
		if (app->ctx[i]->roles & CTL_ROLE_BOOK)
			for (uint32_t k = 0; k < d->n_lcores; k++)
				if (app->ctx[k]->roles & CTL_ROLE_RX)
					app->ctx[i]->rx_feed = &app->ctx[k]->feed;
	atomic_store(&app->shm.hdr->config_epoch, 1); /* the file as read at start */
	return 0;
}

static void publish_ports(struct dp_app *app)
{
	struct mgw_shm_port *sp = mgw_shm_ports(&app->shm);
	for (uint32_t i = 0; i < app->n_ports; i++) {
		struct drv_port_stats st;
		if (drv_port_stats(&app->ports[i], &st) != 0)
			continue;
		__atomic_store_n(&sp[i].ipackets, st.ipackets, __ATOMIC_RELAXED);
		__atomic_store_n(&sp[i].ibytes, st.ibytes, __ATOMIC_RELAXED);
		__atomic_store_n(&sp[i].imissed, st.imissed, __ATOMIC_RELAXED);
		__atomic_store_n(&sp[i].ierrors, st.ierrors, __ATOMIC_RELAXED);
		__atomic_store_n(&sp[i].rx_nombuf, st.rx_nombuf, __ATOMIC_RELAXED);
		sp[i].link_up = st.link_up;
		sp[i].link_speed_mbps = st.link_speed_mbps;
	}
}

static void teardown(struct dp_app *app)
{
	for (uint32_t i = 0; i < app->n_ports; i++)
		drv_port_close(&app->ports[i]);
	dp_book_destroy(app->book);
	dp_match_destroy(app->match);
	dp_risk_destroy(app->risk);
	rte_free(app->ref);
	rte_free(app->ms);
	for (uint32_t i = 0; i < CTL_MAX_LCORES; i++)
		rte_free(app->ctx[i]);
	rte_ring_free(app->ring);
	rte_mempool_free(app->mp);
	if (app->shm.hdr)
		atomic_store(&app->shm.hdr->state, MGW_DP_STOPPED);
	mgw_shm_close(&app->shm);
}

int main(int argc, char **argv)
{
	static struct dp_app app;
	const char *cfg_path = NULL;
	int force_huge = -1;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"no-huge", no_argument, NULL, 'N'},
		{"huge", no_argument, NULL, 'H'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg_path = optarg; break;
		case 'N': force_huge = 0; break;
		case 'H': force_huge = 1; break;
		case 'v': app.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cfg_path) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct ctl_config_err cerr;
	if (ctl_config_load(cfg_path, &app.cfg, &cerr) != 0) {
		char msg[1024];
		ctl_config_err_format(&cerr, msg, sizeof(msg));
		fprintf(stderr, "mgw-dataplane: %s\n", msg);
		return 1;
	}
	if (decide_hugepages(&app, force_huge) != 0)
		return 1;

	static char store[MAX_EAL_ARGS][512];
	char *eal_argv[MAX_EAL_ARGS];
	int eal_argc = build_eal_args(&app, argv[0], argc - optind, argv + optind, eal_argv, store);
	if (eal_argc < 0) {
		fprintf(stderr, "mgw-dataplane: too many EAL arguments\n");
		return 1;
	}
	if (app.verbose) {
		printf("mgw-dataplane: EAL args:");
		for (int i = 1; i < eal_argc; i++)
			printf(" %s", eal_argv[i]);
		printf("\n");
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "mgw-dataplane: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	int rc = 1;
	if (setup(&app) != 0)
		goto out;

	atomic_store(&app.shm.hdr->state, MGW_DP_RUNNING);
	atomic_store(&app.shm.hdr->heartbeat_ns, realtime_ns());
	mgw_shm_publish(&app.shm);
	/* Telemetry is for operators: without it the feed still runs. */
	if (dp_telemetry_init(&app.shm) != 0)
		fprintf(stderr, "mgw-dataplane: DPDK telemetry commands not registered\n");
	for (uint32_t i = 0; i < app.cfg.dataplane.n_lcores; i++) {
		struct dp_lcore_ctx *c = app.ctx[i];
		char roles[64];
		ctl_roles_format(c->roles, roles, sizeof(roles));
		printf("mgw-dataplane: lcore %u: %s\n", c->lcore_id, roles);
		if (rte_eal_remote_launch(dp_lcore_loop, c, c->lcore_id) != 0) {
			fprintf(stderr, "mgw-dataplane: cannot launch lcore %u\n", c->lcore_id);
			atomic_store(&dp_stop, 1);
			goto wait;
		}
	}
	printf("mgw-dataplane: instance '%s' running, pid %d, segment %s\n", app.cfg.instance,
	       (int)getpid(), app.shm.path);

	while (!atomic_load(&dp_stop)) {
		atomic_store(&app.shm.hdr->heartbeat_ns, realtime_ns());
		publish_ports(&app);
		usleep(100000);
	}
	rc = 0;
wait:
	atomic_store(&app.shm.hdr->state, MGW_DP_STOPPING);
	rte_eal_mp_wait_lcore();
	publish_ports(&app);
	printf("mgw-dataplane: stopped\n");
out:
	dp_telemetry_stop(); /* before the segment is unmapped */
	teardown(&app);
	rte_eal_cleanup();
	return rc;
}
