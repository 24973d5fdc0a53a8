/*
 * test_feed_filter.c - Check unit tests for the live feed filter hand-over
 * (dp_feed.h): the book lcore publishes a new UDP port / group filter while
 * the rx lcore keeps running dp_feed_frame, with no lock between them.
 *
 * The threaded test runs the two sides on two threads: rx syncs once per
 * pass and then checks that the filter it runs with is exactly one of the
 * published ones (white box: every entry, and black box: probe frames that
 * must be accepted, dropped by port, dropped by group); the publisher
 * publishes thousands of filters of changing sizes and waits for each
 * acknowledgement. A torn filter (a copy being written while rx reads it)
 * would show as a mixed filter or a probe landing in the wrong counter.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp_feed.h"
#include "dp_mold.h"
#include "dp_pkt.h"

#define SRC_IP 0x0A000001u
#define SPAN 20 /* ports and groups of one filter lie in a window of this many */

/* Filter number k of the family the publisher cycles through (k = generation). */
static void filter_k(uint64_t k, struct dp_feed_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->n_udp_ports = 1 + (uint32_t)(k % CTL_MAX_UDP_PORTS);
	for (uint32_t j = 0; j < f->n_udp_ports; j++)
		f->udp_ports[j] = (uint16_t)(2000 + (k % 500) * SPAN + j);
	f->n_groups = 1 + (uint32_t)(k % (SPAN - 1));
	for (uint32_t j = 0; j < f->n_groups; j++)
		f->groups[j] = 0xE9000000u | (uint32_t)((k % 500) << 8) | j;
}

static int same_filter(const struct dp_feed_filter *a, const struct dp_feed_filter *b)
{
	if (a->n_udp_ports != b->n_udp_ports || a->n_groups != b->n_groups)
		return 0;
	for (uint32_t j = 0; j < a->n_udp_ports; j++)
		if (a->udp_ports[j] != b->udp_ports[j])
			return 0;
	for (uint32_t j = 0; j < a->n_groups; j++)
		if (a->groups[j] != b->groups[j])
			return 0;
	return 1;
}

static uint32_t mk_frame(uint8_t *buf, size_t cap, uint32_t dst_ip, uint16_t dst_port)
{
	/* A MoldUDP64 heartbeat: accepted frames count as heartbeats. */
	struct dp_mold_hdr h;
	uint8_t dg[DP_MOLD_HDR_LEN];
	memset(h.session, ' ', sizeof h.session);
	memcpy(h.session, "FILTTEST01", 10);
	h.seq = 1;
	h.count = DP_MOLD_HEARTBEAT;
	dp_mold_write_hdr(dg, &h);
	int n = dp_pkt_build_udp(buf, cap, SRC_IP, dst_ip, 40000, dst_port, 1, dg, sizeof dg);
	ck_assert_int_gt(n, 0);
	return (uint32_t)n;
}

static struct dp_feed feed;
static uint64_t ctr[MGW_CTR__COUNT];
static struct dp_book_ev evs[64];

/* Feed one frame; returns which counter moved: 'h' accepted, 'p' port, 'g' group. */
static char probe(uint32_t dst_ip, uint16_t dst_port)
{
	uint8_t buf[256];
	uint32_t len = mk_frame(buf, sizeof buf, dst_ip, dst_port);
	uint64_t hb = ctr[MGW_CTR_MOLD_HEARTBEATS], p = ctr[MGW_CTR_PKT_DROP_PORT],
		 g = ctr[MGW_CTR_PKT_DROP_GROUP];
	dp_feed_frame(&feed, buf, len, evs, 64);
	if (ctr[MGW_CTR_MOLD_HEARTBEATS] == hb + 1)
		return 'h';
	if (ctr[MGW_CTR_PKT_DROP_PORT] == p + 1)
		return 'p';
	if (ctr[MGW_CTR_PKT_DROP_GROUP] == g + 1)
		return 'g';
	return '?';
}

static void init_feed(void)
{
	struct ctl_feed_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	struct dp_feed_filter f0;
	filter_k(0, &f0);
	cfg.n_udp_ports = f0.n_udp_ports;
	memcpy(cfg.udp_ports, f0.udp_ports, sizeof cfg.udp_ports);
	cfg.n_groups = f0.n_groups;
	memcpy(cfg.groups, f0.groups, sizeof cfg.groups);
	memset(ctr, 0, sizeof ctr);
	dp_feed_init(&feed, &cfg, ctr);
}

/* ---- single thread: the protocol's rules ------------------------------------ */

START_TEST(test_publish_needs_sync)
{
	init_feed();
	struct dp_feed_filter f1;
	filter_k(1, &f1);
	ck_assert_int_eq(probe(0xE9000000u, 2000), 'h');
	uint64_t g = dp_feed_filter_publish(&feed, &f1);
	ck_assert_uint_eq(g, 1);
	/* Not picked up before rx syncs: the old filter still decides. */
	ck_assert(!dp_feed_filter_acked(&feed, g));
	ck_assert_int_eq(probe(0xE9000000u, 2000), 'h');
	/* A second publish before the ack would overwrite the copy rx reads: refused. */
	ck_assert_uint_eq(dp_feed_filter_publish(&feed, &f1), 0);
	dp_feed_sync(&feed);
	ck_assert(dp_feed_filter_acked(&feed, g));
	ck_assert_int_eq(probe(0xE9000000u, 2000), 'p');
	ck_assert_int_eq(probe(0xE9000100u, (uint16_t)(2000 + SPAN + 1)), 'h');
	ck_assert_int_eq(probe(0xE9000109u, (uint16_t)(2000 + SPAN)), 'g');
}
END_TEST

START_TEST(test_retract_restores_old_filter)
{
	init_feed();
	struct dp_feed_filter f0, f1;
	filter_k(0, &f0);
	filter_k(1, &f1);
	uint64_t g = dp_feed_filter_publish(&feed, &f1);
	ck_assert_uint_eq(g, 1);
	/* rx never acknowledged: retract. Generation 2 maps to the untouched old copy. */
	uint64_t r = dp_feed_filter_retract(&feed, g);
	ck_assert_uint_eq(r, 2);
	ck_assert_uint_eq(dp_feed_filter_retract(&feed, g), 0); /* no longer the latest */
	ck_assert_uint_eq(dp_feed_filter_publish(&feed, &f1), 0); /* still waiting for rx */
	dp_feed_sync(&feed);
	ck_assert(dp_feed_filter_acked(&feed, r));
	ck_assert(same_filter(feed.cur, &f0));
	ck_assert_int_eq(probe(0xE9000000u, 2000), 'h');
	/* And publishing works again afterwards. */
	ck_assert_uint_eq(dp_feed_filter_publish(&feed, &f1), 3);
	dp_feed_sync(&feed);
	ck_assert(same_filter(feed.cur, &f1));
}
END_TEST

/* ---- two threads: rx running, publisher publishing ----------------------------- */

#define PUBLISHES 5000

static atomic_int stop_rx;
static atomic_int rx_errors;
static atomic_ullong rx_passes;
static char rx_err_msg[256];

static void *rx_thread(void *arg)
{
	(void)arg;
	struct dp_feed_filter want;
	while (!atomic_load(&stop_rx)) {
		dp_feed_sync(&feed);
		uint64_t g = feed.cur_gen;
		filter_k(g, &want);
		const char *bad = NULL;
		/* Black box: the probes land where filter g says, and only there. */
		uint32_t np = want.n_udp_ports, ng = want.n_groups;
		if (probe(want.groups[ng - 1], want.udp_ports[np - 1]) != 'h')
			bad = "a frame the filter accepts was dropped";
		else if (probe(want.groups[0], (uint16_t)(want.udp_ports[0] + np)) != 'p')
			bad = "a frame to a port outside the filter was not dropped by port";
		else if (probe(want.groups[0] + ng, want.udp_ports[0]) != 'g')
			bad = "a frame to a group outside the filter was not dropped by group";
		/* White box: the copy in use is whole, not a mix of two filters. */
		else if (!same_filter(feed.cur, &want))
			bad = "the filter in use is not the one published for its generation";
		if (bad && atomic_fetch_add(&rx_errors, 1) == 0)
			snprintf(rx_err_msg, sizeof rx_err_msg, "generation %llu: %s",
				 (unsigned long long)g, bad);
		atomic_fetch_add(&rx_passes, 1);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_two_threads_no_torn_filter)
{
	init_feed();
	atomic_store(&stop_rx, 0);
	atomic_store(&rx_errors, 0);
	atomic_store(&rx_passes, 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, rx_thread, NULL), 0);
	struct dp_feed_filter nf;
	uint64_t acked = 0;
	for (uint64_t k = 1; k <= PUBLISHES; k++) {
		filter_k(k, &nf);
		uint64_t g = dp_feed_filter_publish(&feed, &nf);
		ck_assert_uint_eq(g, k); /* the previous one was acknowledged */
		/* Poll for the acknowledgement as the book lcore does (never blocks rx). */
		double deadline = now_s() + 5.0;
		while (!dp_feed_filter_acked(&feed, g)) {
			ck_assert_msg(now_s() < deadline, "rx did not acknowledge generation %llu",
				      (unsigned long long)g);
			sched_yield();
		}
		acked++;
	}
	/* Let rx run a few passes on the last filter, then stop it. */
	unsigned long long p = atomic_load(&rx_passes);
	while (atomic_load(&rx_passes) < p + 3)
		sched_yield();
	atomic_store(&stop_rx, 1);
	pthread_join(t, NULL);
	ck_assert_msg(atomic_load(&rx_errors) == 0, "%d bad passes, first: %s", atomic_load(&rx_errors),
		      rx_err_msg);
	ck_assert_uint_eq(acked, PUBLISHES);
	ck_assert_uint_eq(feed.cur_gen, PUBLISHES);
	ck_assert_uint_ge(atomic_load(&rx_passes), PUBLISHES);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("feed_filter");
	TCase *tc = tcase_create("handover");
	tcase_add_test(tc, test_publish_needs_sync);
	tcase_add_test(tc, test_retract_restores_old_filter);
	tcase_add_test(tc, test_two_threads_no_torn_filter);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
