/*
 * ctl_metrics.h - mgw-control's Prometheus exporter: `GET /metrics` in the
 * text exposition format 0.0.4, served by libmicrohttpd from mgw-control's
 * own poll() loop (no threads), so a scrape never runs concurrently with an
 * attach or detach of the dataplane segment.
 *
 * The renderer is a plain function over a mapped segment (or none, when
 * detached) so it can be tested without HTTP; the server part only owns the
 * MHD daemon and hands poll() one descriptor (MHD's epoll fd) and a timeout.
 * Metric names and meanings: docs/METRICS.md.
 */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_buf.h"
#include "ctl_dp.h"

struct MHD_Daemon;

/* What mgw-control knows about itself (not in the segment). */
struct ctl_metrics_self {
	const char *version;    /* mgw-control build version */
	uint64_t start_ns;      /* CLOCK_REALTIME at start */
	uint64_t now_ns;        /* CLOCK_REALTIME now, for ages */
	uint64_t dp_attaches;   /* successful attaches since start */
	uint64_t http_requests; /* HTTP requests served, this one included */
};

/*
 * Append the whole exposition to b: control metrics always, and when s is
 * non-NULL (attached) every row of its counter description table per lcore
 * block, ports, feed sessions and dataplane facts. mgw_dataplane_up says
 * which. Rows with a name that is not a valid metric name are skipped so
 * one bad row cannot make the whole scrape unparseable.
 */
void ctl_metrics_render(struct ctl_buf *b, const struct mgw_shm *s,
			const struct ctl_metrics_self *self);

/* Append at most max bytes of v (stops at NUL) as an escaped label value, without quotes. */
void ctl_metrics_label_value(struct ctl_buf *b, const char *v, size_t max);

struct ctl_metrics {
	struct MHD_Daemon *mhd; /* NULL while not listening */
	uint32_t ip;            /* host order */
	uint16_t port;          /* configured port; 0 = exporter off */
	uint16_t bound_port;    /* actual port while listening */
	struct ctl_dp *dp;      /* re-checked before each scrape */
	const char *version;
	uint64_t start_ns;
	uint64_t requests;
	uint64_t retry_ms;      /* next listen attempt after a failure (CLOCK_MONOTONIC ms) */
	bool warned;            /* the current listen failure was logged */
	char err[256];          /* last listen failure */
};

/*
 * Prepare the exporter for ip:port (port 0 with ip 0 = off) and try to
 * listen once. Returns 0 if listening or off, -1 with m->err set if the
 * listen failed: the caller decides whether that is fatal; ctl_metrics_tick
 * retries later either way.
 */
int ctl_metrics_init(struct ctl_metrics *m, uint32_t ip, uint16_t port, struct ctl_dp *dp,
		     const char *version, uint64_t start_ns);

/* Retry a failed listen at most every few seconds. Returns 1 when it just started listening. */
int ctl_metrics_tick(struct ctl_metrics *m, uint64_t now_ms);

/* The descriptor to poll for POLLIN (MHD's epoll fd), or -1 while not listening. */
int ctl_metrics_fd(const struct ctl_metrics *m);

/* Milliseconds until MHD must run even without I/O, capped at max_ms. */
int ctl_metrics_timeout(const struct ctl_metrics *m, int max_ms);

/* Let MHD accept, read, answer and time out connections; never blocks. */
void ctl_metrics_run(struct ctl_metrics *m);

void ctl_metrics_stop(struct ctl_metrics *m);

#endif /* CTL_METRICS_H */
