/*
 * test_ctl_metrics.c - unit tests for mgw-control's Prometheus exporter
 * (control/server/ctl_metrics.c).
 *
 * The renderer is driven over a real segment made with mgw_shm_create, so
 * the counter rows come from the same description table the dataplane
 * writes: every row must appear once per lcore block, each family with one
 * HELP and one TYPE, values from the right block, hostile label values
 * escaped. The HTTP side is driven the way mgw-control drives it: one
 * thread, poll() on MHD's epoll fd, MHD_run.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_metrics.h"

/* A segment with 3 lcore blocks (main, 1, 2), 2 ports and one feed session. */
static void make_segment(struct mgw_shm *s, const char *tag)
{
	char inst[32];
	snprintf(inst, sizeof inst, "ut_%ld_%s", (long)getpid(), tag);
	struct mgw_shm_params p = {.instance = inst, .version = "1.2.3-ut", .n_lcores = 3, .n_ports = 2};
	ck_assert_int_eq(mgw_shm_create(&p, s), 0);
	struct mgw_shm_hdr *h = s->hdr;
	h->lcores[0] = (struct mgw_shm_lcore){0, 0};
	h->lcores[1] = (struct mgw_shm_lcore){1, 1};
	h->lcores[2] = (struct mgw_shm_lcore){5, 2};
	h->start_ns = 1700000000ull * 1000000000ull;
	atomic_store(&h->heartbeat_ns, 1700000100ull * 1000000000ull);
	struct mgw_shm_port *ports = mgw_shm_ports(s);
	snprintf(ports[0].name, sizeof ports[0].name, "feed0");
	snprintf(ports[1].name, sizeof ports[1].name, "b\"ad\\x");
	ports[0].ipackets = 1234;
	ports[0].imissed = 7;
	ports[0].link_up = 1;
	struct mgw_shm_feed_session *fs = mgw_shm_sessions(s);
	memcpy(fs[0].session, "SE\"S\n\xff    ", 10);
	fs[0].next_seq = 99;
	fs[0].gaps = 2;
	fs[0].active = 1;
	mgw_ctr_set(mgw_shm_block(s, 1), MGW_CTR_RX_PACKETS, 10);
	mgw_ctr_set(mgw_shm_block(s, 2), MGW_CTR_RX_PACKETS, 32);
	mgw_ctr_set(mgw_shm_block(s, 2), MGW_CTR_PKT_DROP_RUNT, 4);
	mgw_ctr_set(mgw_shm_block(s, 2), MGW_CTR_BOOK_LIVE_ORDERS, 17);
	mgw_shm_publish(s);
}

static const struct ctl_metrics_self self = {
	.version = "9.9.9",
	.start_ns = 1700000000ull * 1000000000ull,
	.now_ns = 1700000101ull * 1000000000ull + 500000000ull,
	.dp_attaches = 3,
	.http_requests = 8,
};

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	size_t pl = strlen(prefix);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, pl) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static bool has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t l = strlen(line);
	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[l] == '\n' || p[l] == '\0'))
			return true;
		p += l;
	}
	return false;
}

START_TEST(test_render_attached)
{
	struct mgw_shm s = {0};
	make_segment(&s, "att");
	struct ctl_buf b = {0};
	ctl_metrics_render(&b, &s, &self);
	ck_assert(!ctl_buf_failed(&b));
	const char *t = b.p;

	/* Every table row: one sample per lcore block; one HELP and TYPE per name. */
	const struct mgw_shm_counter_desc *d = mgw_shm_desc(&s);
	for (uint32_t i = 0; i < s.hdr->n_counters; i++) {
		char pre[160];
		snprintf(pre, sizeof pre, "# TYPE %s %s\n", d[i].name,
			 d[i].kind == MGW_CTR_GAUGE ? "gauge" : "counter");
		ck_assert_msg(strstr(t, pre) != NULL, "no TYPE line for %s", d[i].name);
		snprintf(pre, sizeof pre, "# TYPE %s ", d[i].name);
		ck_assert_int_eq(count_lines(t, pre), 1);
		snprintf(pre, sizeof pre, "# HELP %s ", d[i].name);
		ck_assert_int_eq(count_lines(t, pre), 1);
		for (int l = 0; l < 3; l++) {
			snprintf(pre, sizeof pre, "%s{lcore=\"%d\"%s%s}", d[i].name, l == 2 ? 5 : l,
				 d[i].labels[0] ? "," : "", d[i].labels);
			ck_assert_msg(count_lines(t, pre) == 1, "want one %s", pre);
		}
	}
	ck_assert(has_line(t, "mgw_rx_packets_total{lcore=\"1\"} 10"));
	ck_assert(has_line(t, "mgw_rx_packets_total{lcore=\"5\"} 32"));
	ck_assert(has_line(t, "mgw_pkt_dropped_total{lcore=\"5\",reason=\"runt\"} 4"));
	ck_assert(has_line(t, "mgw_pkt_dropped_total{lcore=\"1\",reason=\"runt\"} 0"));
	ck_assert(has_line(t, "mgw_book_live_orders{lcore=\"5\"} 17"));
	ck_assert(has_line(t, "# TYPE mgw_book_live_orders gauge"));

	/* Ports, with an escaped name. */
	ck_assert(has_line(t, "mgw_port_rx_packets_total{port=\"feed0\"} 1234"));
	ck_assert(has_line(t, "mgw_port_rx_missed_total{port=\"feed0\"} 7"));
	ck_assert(has_line(t, "mgw_port_link_up{port=\"feed0\"} 1"));
	ck_assert(has_line(t, "mgw_port_link_up{port=\"b\\\"ad\\\\x\"} 0"));
	/* Session name off the wire: quote and newline escaped, 0xff replaced, padding cut. */
	ck_assert(has_line(t, "mgw_feed_next_sequence{session=\"SE\\\"S\\n?\"} 99"));
	ck_assert(has_line(t, "mgw_feed_gaps_total{session=\"SE\\\"S\\n?\"} 2"));

	/* Build info, liveness, control counters. */
	char bi[128];
	snprintf(bi, sizeof bi, "mgw_build_info{component=\"control\",version=\"9.9.9\",abi=\"%u\"} 1",
		 MGW_SHM_ABI_VERSION);
	ck_assert(has_line(t, bi));
	snprintf(bi, sizeof bi, "mgw_build_info{component=\"dataplane\",version=\"1.2.3-ut\",abi=\"%u\"} 1",
		 MGW_SHM_ABI_VERSION);
	ck_assert(has_line(t, bi));
	ck_assert(has_line(t, "mgw_dataplane_up 1"));
	ck_assert(has_line(t, "mgw_dataplane_heartbeat_age_seconds 1.500"));
	ck_assert(has_line(t, "mgw_dataplane_start_time_seconds 1700000000.000"));
	ck_assert(has_line(t, "mgw_control_dataplane_attaches_total 3"));
	ck_assert(has_line(t, "mgw_control_http_requests_total 8"));
	ck_assert_int_eq(count_lines(t, "# TYPE mgw_build_info "), 1);
	ck_assert(t[b.len - 1] == '\n');
	ctl_buf_free(&b);
	mgw_shm_close(&s);
}
END_TEST

START_TEST(test_render_detached)
{
	struct ctl_buf b = {0};
	ctl_metrics_render(&b, NULL, &self);
	const char *t = b.p;
	ck_assert(has_line(t, "mgw_dataplane_up 0"));
	ck_assert(has_line(t, "mgw_control_http_requests_total 8"));
	ck_assert(strstr(t, "component=\"dataplane\"") == NULL);
	ck_assert(strstr(t, "lcore=") == NULL);
	ck_assert(strstr(t, "mgw_port_") == NULL);
	ck_assert(strstr(t, "heartbeat") == NULL);
	ctl_buf_free(&b);
}
END_TEST

/* A corrupt row name must not break the exposition: the row is skipped. */
START_TEST(test_render_skips_bad_row)
{
	struct mgw_shm s = {0};
	make_segment(&s, "bad");
	struct mgw_shm_counter_desc *d = (struct mgw_shm_counter_desc *)mgw_shm_desc(&s);
	memcpy(d[0].name, "bad name{", 10);
	struct ctl_buf b = {0};
	ctl_metrics_render(&b, &s, &self);
	ck_assert(strstr(b.p, "bad name") == NULL);
	ck_assert(has_line(b.p, "mgw_rx_packets_total{lcore=\"1\"} 10"));
	ctl_buf_free(&b);
	mgw_shm_close(&s);
}
END_TEST

/* One HTTP request through the exporter, driven like mgw-control's loop. */
static int http(struct ctl_metrics *m, const char *req, char *resp, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(m->bound_port),
				 .sin_addr.s_addr = htonl(0x7f000001u)};
	connect(fd, (struct sockaddr *)&sa, sizeof sa);
	size_t sent = 0, got = 0, rlen = strlen(req);
	for (int iter = 0; iter < 2000; iter++) {
		struct pollfd p[2] = {{.fd = ctl_metrics_fd(m), .events = POLLIN},
				      {.fd = fd, .events = POLLIN | (sent < rlen ? POLLOUT : 0)}};
		poll(p, 2, ctl_metrics_timeout(m, 10));
		ctl_metrics_run(m);
		if (sent < rlen) {
			ssize_t n = send(fd, req + sent, rlen - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		ssize_t n = recv(fd, resp + got, cap - 1 - got, 0);
		if (n == 0)
			break; /* MHD closes: Connection: close on HTTP/1.0 */
		if (n > 0)
			got += (size_t)n;
	}
	resp[got] = '\0';
	close(fd);
	return (int)got;
}

START_TEST(test_http)
{
	struct ctl_dp dp;
	ctl_dp_init(&dp, "ut_no_such_instance");
	struct ctl_metrics m;
	/* Port 0: an ephemeral port (the config never allows 0, the API does for tests). */
	ck_assert_int_eq(ctl_metrics_init(&m, 0x7f000001u, 0, &dp, "9.9.9", 1), 0);
	ck_assert_int_ge(ctl_metrics_fd(&m), 0);
	ck_assert_uint_ne(m.bound_port, 0);
	static char resp[65536];

	ck_assert_int_gt(http(&m, "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof resp), 0);
	ck_assert_msg(strncmp(resp, "HTTP/1.0 200", 12) == 0 || strncmp(resp, "HTTP/1.1 200", 12) == 0,
		      "%s", resp);
	ck_assert(strstr(resp, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
	ck_assert(strstr(resp, "\nmgw_dataplane_up 0\n") != NULL);
	ck_assert(strstr(resp, "\nmgw_control_http_requests_total 1\n") != NULL);

	ck_assert_int_gt(http(&m, "GET /nope HTTP/1.0\r\n\r\n", resp, sizeof resp), 0);
	ck_assert_msg(strstr(resp, " 404 ") != NULL, "%s", resp);
	ck_assert_int_gt(http(&m, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", resp, sizeof resp), 0);
	ck_assert_msg(strstr(resp, " 405 ") != NULL, "%s", resp);
	ck_assert_uint_eq(m.requests, 3);

	/* A second exporter on the same port fails with the reason, and retries later. */
	struct ctl_metrics m2;
	ck_assert_int_eq(ctl_metrics_init(&m2, 0x7f000001u, m.bound_port, &dp, "9.9.9", 1), -1);
	ck_assert_msg(strstr(m2.err, "cannot listen on 127.0.0.1:") != NULL, "%s", m2.err);
	ck_assert_int_eq(ctl_metrics_fd(&m2), -1);
	ctl_metrics_stop(&m);
	ck_assert_int_eq(ctl_metrics_tick(&m2, 1000000), 1);
	ck_assert_int_ge(ctl_metrics_fd(&m2), 0);
	ctl_metrics_stop(&m2);

	/* Off: nothing listens, nothing to poll. */
	ck_assert_int_eq(ctl_metrics_init(&m, 0, 0, &dp, "9.9.9", 1), 0);
	ck_assert_int_eq(ctl_metrics_fd(&m), -1);
	ck_assert_int_eq(ctl_metrics_tick(&m, 1000000), 0);
	ck_assert_int_eq(ctl_metrics_timeout(&m, 200), 200);
	ctl_metrics_stop(&m);
}
END_TEST

int main(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) != 0) {
		fprintf(stderr, "test_ctl_metrics: no /dev/shm, skipping\n");
		return 77;
	}
	Suite *s = suite_create("ctl_metrics");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, test_render_attached);
	tcase_add_test(tc, test_render_detached);
	tcase_add_test(tc, test_render_skips_bad_row);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_test(tc, test_http);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
