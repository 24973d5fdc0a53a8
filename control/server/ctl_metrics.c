/*
 * ctl_metrics.c - Prometheus text exposition of the dataplane segment and
 * the HTTP endpoint serving it (see ctl_metrics.h, docs/METRICS.md).
 *
 * Dataplane counters come from the description table the dataplane writes
 * into the segment, never from a list kept here, so a counter added to
 * mgw_counters.h appears on /metrics without touching this file. Every row
 * is exported once per lcore block (label lcore) rather than pre-summed:
 * Prometheus sums cheaply, and per-lcore series show which lcore drops.
 */
#define _GNU_SOURCE
#include "ctl_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* ---- rendering ----------------------------------------------------------- */

void ctl_metrics_label_value(struct ctl_buf *b, const char *v, size_t max)
{
	/* The format knows three escapes; anything else outside printable
	 * ASCII (session names come off the wire) becomes '?' so the body
	 * stays valid UTF-8. */
	for (size_t i = 0; i < max && v[i]; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == '\\')
			ctl_buf_printf(b, "\\\\");
		else if (ch == '"')
			ctl_buf_printf(b, "\\\"");
		else if (ch == '\n')
			ctl_buf_printf(b, "\\n");
		else if (ch < 0x20 || ch > 0x7e)
			ctl_buf_printf(b, "?");
		else
			ctl_buf_printf(b, "%c", ch);
	}
}

/* HELP text: backslash and newline escaped, bounded (the table field may lack a NUL). */
static void help_text(struct ctl_buf *b, const char *v, size_t max)
{
	for (size_t i = 0; i < max && v[i]; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == '\\')
			ctl_buf_printf(b, "\\\\");
		else if (ch == '\n')
			ctl_buf_printf(b, "\\n");
		else if (ch < 0x20 || ch > 0x7e)
			ctl_buf_printf(b, "?");
		else
			ctl_buf_printf(b, "%c", ch);
	}
}

static bool valid_name(const char *n, size_t max)
{
	size_t i = 0;
	for (; i < max && n[i]; i++) {
		char ch = n[i];
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':';
		if (!alpha && !(i > 0 && ch >= '0' && ch <= '9'))
			return false;
	}
	return i > 0 && i < max;
}

static void family(struct ctl_buf *b, const char *name, const char *type, const char *help)
{
	ctl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Table labels (`reason="runt",x="y"`) re-emitted after a leading
 * label, with their values escaped. The table is ours, but it is read from
 * a segment another process wrote: parsing stops at anything malformed.
 */
static void table_labels(struct ctl_buf *b, const char *l, size_t max)
{
	char tmp[sizeof(((struct mgw_shm_counter_desc *)0)->labels) + 1];
	if (max >= sizeof(tmp))
		max = sizeof(tmp) - 1;
	memcpy(tmp, l, max);
	tmp[max] = '\0';
	char *p = tmp;
	while (*p) {
		char *eq = strchr(p, '=');
		if (!eq || eq[1] != '"')
			return;
		char *end = strchr(eq + 2, '"');
		if (!end)
			return;
		*eq = '\0';
		*end = '\0';
		if (!valid_name(p, (size_t)(eq - p) + 1) || strchr(p, ':'))
			return;
		ctl_buf_printf(b, ",%s=\"", p);
		ctl_metrics_label_value(b, eq + 2, (size_t)(end - eq - 2));
		ctl_buf_printf(b, "\"");
		p = end + 1;
		if (*p == ',')
			p++;
	}
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Every row of the counter table, one sample per lcore block, grouped by name. */
static void render_counters(struct ctl_buf *b, const struct mgw_shm *s)
{
	const struct mgw_shm_hdr *h = s->hdr;
	const struct mgw_shm_counter_desc *d = mgw_shm_desc(s);
	uint32_t n = h->n_counters;
	uint32_t nl = h->n_lcores < MGW_SHM_MAX_LCORES ? h->n_lcores : MGW_SHM_MAX_LCORES;
	const size_t nmax = sizeof(d[0].name);

	for (uint32_t i = 0; i < n; i++) {
		if (!valid_name(d[i].name, nmax))
			continue;
		/* A family is printed at its first row, with all rows of that name:
		 * the format wants a family's samples together. */
		bool seen = false;
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = strncmp(d[j].name, d[i].name, nmax) == 0;
		if (seen)
			continue;
		char name[sizeof(d[0].name) + 1];
		snprintf(name, sizeof(name), "%.*s", (int)nmax, d[i].name);
		ctl_buf_printf(b, "# HELP %s ", name);
		help_text(b, d[i].help, sizeof(d[i].help));
		ctl_buf_printf(b, "\n# TYPE %s %s\n", name, d[i].kind == MGW_CTR_GAUGE ? "gauge" : "counter");
		for (uint32_t k = i; k < n; k++) {
			if (strncmp(d[k].name, d[i].name, nmax) != 0 || d[k].id >= n)
				continue;
			for (uint32_t l = 0; l < nl; l++) {
				ctl_buf_printf(b, "%s{lcore=\"%u\"", name, h->lcores[l].lcore_id);
				table_labels(b, d[k].labels, sizeof(d[k].labels));
				ctl_buf_printf(b, "} %" PRIu64 "\n", mgw_ctr_read(mgw_shm_block(s, l), d[k].id));
			}
		}
	}
}

static void render_ports(struct ctl_buf *b, const struct mgw_shm *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} stats[] = {
		{"mgw_port_rx_packets_total", "Frames received by the port (NIC statistics)",
		 offsetof(struct mgw_shm_port, ipackets)},
		{"mgw_port_rx_bytes_total", "Bytes received by the port (NIC statistics)",
		 offsetof(struct mgw_shm_port, ibytes)},
		{"mgw_port_rx_missed_total", "Frames the NIC dropped because the rx queue was full",
		 offsetof(struct mgw_shm_port, imissed)},
		{"mgw_port_rx_errors_total", "Erroneous frames received by the port",
		 offsetof(struct mgw_shm_port, ierrors)},
		{"mgw_port_rx_nombuf_total", "Rx mbuf allocation failures (mempool exhausted)",
		 offsetof(struct mgw_shm_port, rx_nombuf)},
	};
	const struct mgw_shm_port *ports = mgw_shm_ports(s);
	uint32_t np = s->hdr->n_ports < MGW_SHM_MAX_PORTS ? s->hdr->n_ports : MGW_SHM_MAX_PORTS;

	for (size_t k = 0; k < sizeof(stats) / sizeof(stats[0]); k++) {
		family(b, stats[k].name, "counter", stats[k].help);
		for (uint32_t i = 0; i < np; i++) {
			const uint64_t *v = (const uint64_t *)((const char *)&ports[i] + stats[k].off);
			ctl_buf_printf(b, "%s{port=\"", stats[k].name);
			ctl_metrics_label_value(b, ports[i].name, sizeof(ports[i].name));
			ctl_buf_printf(b, "\"} %" PRIu64 "\n", rd(v));
		}
	}
	family(b, "mgw_port_link_up", "gauge", "1 if the port's link is up");
	for (uint32_t i = 0; i < np; i++) {
		ctl_buf_printf(b, "mgw_port_link_up{port=\"");
		ctl_metrics_label_value(b, ports[i].name, sizeof(ports[i].name));
		ctl_buf_printf(b, "\"} %u\n", __atomic_load_n(&ports[i].link_up, __ATOMIC_RELAXED) ? 1u : 0u);
	}
}

static void render_sessions(struct ctl_buf *b, const struct mgw_shm *s)
{
	static const struct {
		const char *name, *type, *help;
		size_t off; /* 0: the ended flag */
	} stats[] = {
		{"mgw_feed_next_sequence", "gauge", "Next MoldUDP64 sequence number expected on the session",
		 offsetof(struct mgw_shm_feed_session, next_seq)},
		{"mgw_feed_gaps_total", "counter", "Sequence gaps detected on the session",
		 offsetof(struct mgw_shm_feed_session, gaps)},
		{"mgw_feed_gap_messages_total", "counter", "Messages missing in the session's gaps",
		 offsetof(struct mgw_shm_feed_session, gap_msgs)},
		{"mgw_feed_duplicate_messages_total", "counter",
		 "Messages on the session already seen and skipped",
		 offsetof(struct mgw_shm_feed_session, dup_msgs)},
		{"mgw_feed_session_ended", "gauge", "1 once the session sent its end-of-session packet", 0},
	};
	const struct mgw_shm_feed_session *fs = mgw_shm_sessions(s);

	for (size_t k = 0; k < sizeof(stats) / sizeof(stats[0]); k++) {
		family(b, stats[k].name, stats[k].type, stats[k].help);
		for (uint32_t i = 0; i < MGW_SHM_MAX_SESSIONS; i++) {
			if (!__atomic_load_n(&fs[i].active, __ATOMIC_ACQUIRE))
				continue;
			/* The wire pads session names with spaces. */
			char name[sizeof(fs[i].session) + 1];
			memcpy(name, fs[i].session, sizeof(fs[i].session));
			name[sizeof(fs[i].session)] = '\0';
			for (int c = (int)sizeof(fs[i].session) - 1; c >= 0 && name[c] == ' '; c--)
				name[c] = '\0';
			uint64_t v;
			if (stats[k].off)
				v = rd((const uint64_t *)((const char *)&fs[i] + stats[k].off));
			else
				v = __atomic_load_n(&fs[i].ended, __ATOMIC_RELAXED) ? 1 : 0;
			ctl_buf_printf(b, "%s{session=\"", stats[k].name);
			ctl_metrics_label_value(b, name, sizeof(name));
			ctl_buf_printf(b, "\"} %" PRIu64 "\n", v);
		}
	}
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

void ctl_metrics_render(struct ctl_buf *b, const struct mgw_shm *s,
			const struct ctl_metrics_self *self)
{
	family(b, "mgw_build_info", "gauge", "Build facts of each mgw process, value always 1");
	ctl_buf_printf(b, "mgw_build_info{component=\"control\",version=\"");
	ctl_metrics_label_value(b, self->version, 64);
	ctl_buf_printf(b, "\",abi=\"%u\"} 1\n", MGW_SHM_ABI_VERSION);
	if (s) {
		ctl_buf_printf(b, "mgw_build_info{component=\"dataplane\",version=\"");
		ctl_metrics_label_value(b, s->hdr->version, sizeof(s->hdr->version));
		ctl_buf_printf(b, "\",abi=\"%u\"} 1\n", s->hdr->abi_version);
	}
	family(b, "mgw_control_start_time_seconds", "gauge", "When mgw-control started (Unix time)");
	ctl_buf_printf(b, "mgw_control_start_time_seconds %.3f\n", secs(self->start_ns));
	family(b, "mgw_control_dataplane_attaches_total", "counter",
	       "Times mgw-control attached to a dataplane segment");
	ctl_buf_printf(b, "mgw_control_dataplane_attaches_total %" PRIu64 "\n", self->dp_attaches);
	family(b, "mgw_control_http_requests_total", "counter",
	       "HTTP requests to the metrics endpoint, any path");
	ctl_buf_printf(b, "mgw_control_http_requests_total %" PRIu64 "\n", self->http_requests);
	family(b, "mgw_dataplane_up", "gauge", "1 if mgw-control is attached to a live dataplane");
	ctl_buf_printf(b, "mgw_dataplane_up %d\n", s ? 1 : 0);
	if (!s)
		return;

	const struct mgw_shm_hdr *h = s->hdr;
	uint64_t hb = atomic_load(&h->heartbeat_ns);
	family(b, "mgw_dataplane_heartbeat_age_seconds", "gauge",
	       "Seconds since the dataplane main lcore last wrote its heartbeat (~10 Hz)");
	ctl_buf_printf(b, "mgw_dataplane_heartbeat_age_seconds %.3f\n",
		       self->now_ns > hb ? secs(self->now_ns - hb) : 0.0);
	family(b, "mgw_dataplane_start_time_seconds", "gauge", "When the dataplane started (Unix time)");
	ctl_buf_printf(b, "mgw_dataplane_start_time_seconds %.3f\n", secs(h->start_ns));
	render_counters(b, s);
	render_ports(b, s);
	render_sessions(b, s);
}

/* ---- HTTP ----------------------------------------------------------------- */

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	struct ctl_metrics *m = cls;
	static const char text[] = "text/plain; charset=utf-8";

	m->requests++;
	if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "not found: mgw-control serves /metrics only\n";
		return reply(conn, MHD_HTTP_NOT_FOUND, text, msg, sizeof(msg) - 1);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "method not allowed: use GET\n";
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg, sizeof(msg) - 1);
	}
	/* Same check the CLI commands make: a dead dataplane shows as up 0 at once. */
	bool att = m->dp && ctl_dp_check(m->dp);
	struct ctl_metrics_self self = {
		.version = m->version,
		.start_ns = m->start_ns,
		.now_ns = realtime_ns(),
		.dp_attaches = m->dp ? m->dp->attaches : 0,
		.http_requests = m->requests,
	};
	struct ctl_buf b = {0};
	ctl_metrics_render(&b, att ? &m->dp->shm : NULL, &self);
	enum MHD_Result rc;
	if (ctl_buf_failed(&b)) {
		static const char msg[] = "mgw-control is out of memory\n";
		rc = reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, msg, sizeof(msg) - 1);
	} else {
		rc = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p ? b.p : "",
			   b.len);
	}
	ctl_buf_free(&b);
	return rc;
}

/* Our own listen socket: bind errors then carry a real errno for the operator. */
static int listen_tcp(struct ctl_metrics *m)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(m->port),
				 .sin_addr.s_addr = htonl(m->ip)};
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof(addr));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		snprintf(m->err, sizeof(m->err), "cannot listen on %s:%u: %s", addr, m->port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	m->bound_port = ntohs(sa.sin_port);
	return fd;
}

static int start(struct ctl_metrics *m)
{
	int fd = listen_tcp(m);
	if (fd < 0)
		return -1;
	/* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only inside MHD_run,
	 * called from mgw-control's loop. Epoll gives that loop one fd to poll. */
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, m->bound_port, NULL, NULL,
				  on_request, m, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, 32u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(m->err, sizeof(m->err), "libmicrohttpd refused to start on port %u",
			 m->bound_port);
		close(fd);
		return -1;
	}
	m->err[0] = '\0';
	m->warned = false;
	return 0;
}

int ctl_metrics_init(struct ctl_metrics *m, uint32_t ip, uint16_t port, struct ctl_dp *dp,
		     const char *version, uint64_t start_ns)
{
	memset(m, 0, sizeof(*m));
	m->ip = ip;
	m->port = port;
	m->dp = dp;
	m->version = version;
	m->start_ns = start_ns;
	if (!ip)
		return 0;
	return start(m);
}

int ctl_metrics_tick(struct ctl_metrics *m, uint64_t now_ms)
{
	if (m->mhd || !m->ip || now_ms < m->retry_ms)
		return 0;
	m->retry_ms = now_ms + 5000;
	return start(m) == 0 ? 1 : 0;
}

int ctl_metrics_fd(const struct ctl_metrics *m)
{
	if (!m->mhd)
		return -1;
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	return i ? i->epoll_fd : -1;
}

int ctl_metrics_timeout(const struct ctl_metrics *m, int max_ms)
{
	MHD_UNSIGNED_LONG_LONG t;
	if (!m->mhd || MHD_get_timeout(m->mhd, &t) != MHD_YES)
		return max_ms;
	return t < (MHD_UNSIGNED_LONG_LONG)max_ms ? (int)t : max_ms;
}

void ctl_metrics_run(struct ctl_metrics *m)
{
	if (m->mhd)
		MHD_run(m->mhd);
}

void ctl_metrics_stop(struct ctl_metrics *m)
{
	if (m->mhd)
		MHD_stop_daemon(m->mhd); /* closes the listen socket too */
	m->mhd = NULL;
}
