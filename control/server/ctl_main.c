/*
 * ctl_main.c - mgw-control: the control-plane process (no EAL).
 *
 *   mgw-control -c FILE [--socket PATH]
 *
 * One single-threaded poll() loop: accept CLI connections on the unix
 * socket, read one request each, run it (ctl_cmd.c), complete dataplane
 * commands when their slot is answered or their deadline passes, write the
 * response. Every 200 ms it re-checks the dataplane link, so either process
 * may start first and either may be restarted. Nothing here can stall the
 * dataplane: the only shared objects are the segment's counters (read) and
 * command slots (posted and polled).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_metrics.h"
#include "ctl_server.h"
#include "ctl_reload.h"

#define MAX_CONNS 64
#define READ_TIMEOUT_MS 5000
#define TICK_MS 200

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* SIGHUP = `mgwctl config reload`, run from the loop (ctl_reload.c). */
static void on_hup(int sig)
{
	(void)sig;
	hup_flag = 1;
}

static int mkdirs(const char *dir)
{
	char tmp[CTL_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Listen on path; refuse if another mgw-control answers there. */
static int listen_unix(const char *path, const struct ctl_control_cfg *cc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mgw-control: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	char dir[CTL_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	int rc = mkdirs(dirname(dir));
	if (rc) {
		fprintf(stderr, "mgw-control: cannot create directory for %s: %s\n", path, strerror(-rc));
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		fprintf(stderr, "mgw-control: another mgw-control is serving %s\n", path);
		return -1;
	}
	if (probe >= 0)
		close(probe);
	unlink(path); /* stale socket of a dead instance */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
		fprintf(stderr, "mgw-control: cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/*
	 * Who may connect at all: socket_mode (default 0660) and socket_group.
	 * Roles (access:) decide what a connected peer may run; the mode only
	 * limits who reaches the request parser. Failing to apply them is fatal:
	 * a socket wider or narrower than configured is a surprise either way.
	 */
	if ((cc->socket_group_set && chown(path, (uid_t)-1, (gid_t)cc->socket_group) != 0) ||
	    chmod(path, (mode_t)cc->socket_mode) != 0) {
		fprintf(stderr, "mgw-control: cannot set owner group/mode %04o of %s: %s\n",
			cc->socket_mode, path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static void conn_close(struct ctl_conn **slot)
{
	struct ctl_conn *c = *slot;
	close(c->fd);
	ctl_buf_free(&c->out);
	free(c);
	*slot = NULL;
}

static void conn_start_write(struct ctl_conn *c)
{
	ctl_cmd_audit(c); /* the response is final here, for immediate and dataplane commands */
	ctl_proto_resp_hdr(c->hdr, c->status, (uint32_t)c->out.len);
	c->sent = 0;
}

/* Read more of the request; dispatch when complete. Returns -1 to drop. */
static int conn_read(struct ctl_server *srv, struct ctl_conn *c)
{
	for (;;) {
		long need = ctl_proto_req_need(c->in, c->in_len);
		if (need < 0)
			return -1;
		if ((size_t)need == c->in_len)
			break;
		ssize_t n = read(c->fd, c->in + c->in_len, (size_t)need - c->in_len);
		if (n == 0)
			return -1;
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		c->in_len += (size_t)n;
	}
	char *argv[CTL_PROTO_MAX_ARGS];
	int argc = ctl_proto_decode_req(c->in, c->in_len, argv, CTL_PROTO_MAX_ARGS);
	if (argc < 0)
		return -1;
	ctl_cmd_dispatch(srv, c, argc, argv);
	if (c->state == CTL_CONN_WRITE)
		conn_start_write(c);
	return 0;
}

/* Write what the socket takes. Returns 1 when done, 0 for more, -1 on error. */
static int conn_write(struct ctl_conn *c)
{
	size_t total = sizeof(c->hdr) + c->out.len;
	while (c->sent < total) {
		const void *p;
		size_t left;
		if (c->sent < sizeof(c->hdr)) {
			p = c->hdr + c->sent;
			left = sizeof(c->hdr) - c->sent;
		} else {
			p = c->out.p + (c->sent - sizeof(c->hdr));
			left = total - c->sent;
		}
		ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		c->sent += (size_t)n;
	}
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mgw-control -c FILE [--socket PATH]\n"
		   "  -c, --config FILE  the appliance config (YAML), see docs/CONFIG.md\n"
		   "  -s, --socket PATH  CLI socket (default: control.socket from the config)\n");
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static struct ctl_server srv;
	static struct ctl_conn *conns[MAX_CONNS];
	static struct ctl_metrics metrics;
	const char *cfg_path = NULL, *sock_override = NULL;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg_path = optarg; break;
		case 's': sock_override = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cfg_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct ctl_config_err cerr;
	if (ctl_config_load(cfg_path, &srv.cfg, &cerr) != 0) {
		char msg[1024];
		ctl_config_err_format(&cerr, msg, sizeof(msg));
		fprintf(stderr, "mgw-control: %s\n", msg);
		return 1;
	}
	if (sock_override)
		snprintf(srv.cfg.control.socket, sizeof(srv.cfg.control.socket), "%s", sock_override);
	srv.start_ns = realtime_ns();
	srv.cfg_epoch = 1; /* the file as read at start */
	srv.cfg_loaded_ns = srv.start_ns;
	srv.socket_overridden = sock_override != NULL;
	ctl_dp_init(&srv.dp, srv.cfg.instance);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_hup);

	ctl_baseline_init(&srv);
	srv.listen_fd = listen_unix(srv.cfg.control.socket, &srv.cfg.control);
	if (srv.listen_fd < 0)
		return 1;
	printf("mgw-control: instance '%s', CLI socket %s, pid %d\n", srv.cfg.instance,
	       srv.cfg.control.socket, (int)getpid());
	/* A busy metrics port must not take the CLI down: log, keep retrying. */
	if (ctl_metrics_init(&metrics, srv.cfg.control.metrics_ip, srv.cfg.control.metrics_port,
			     &srv.dp, MGW_VERSION, srv.start_ns) != 0)
		fprintf(stderr, "mgw-control: metrics: %s (retrying every 5 s)\n", metrics.err);
	else if (metrics.ip)
		printf("mgw-control: metrics on http://%s/metrics\n", srv.cfg.control.metrics);

	bool was_attached = false;
	uint64_t next_tick = 0;
	while (!stop_flag) {
		uint64_t now = ctl_now_ms();
		if (now >= next_tick) {
			bool att = ctl_dp_check(&srv.dp);
			if (att != was_attached) {
				if (att) {
					printf("mgw-control: attached to dataplane pid %d (%s)\n",
					       srv.dp.shm.hdr->dp_pid, srv.dp.shm.path);
					ctl_baseline_check(&srv);
				}
				if (!att)
					printf("mgw-control: detached from dataplane: %s\n", srv.dp.last_err);
				was_attached = att;
			}
			next_tick = now + TICK_MS;
			if (ctl_metrics_tick(&metrics, now))
				printf("mgw-control: metrics on http://%s/metrics\n", srv.cfg.control.metrics);
		}
		if (hup_flag) {
			/* An internal connection (fd -1) carries the reload, so a dataplane
			   epoch is completed by the same pending-slot code as a CLI call. */
			hup_flag = 0;
			int slot = -1;
			for (int i = 0; i < MAX_CONNS && slot < 0; i++)
				if (!conns[i])
					slot = i;
			struct ctl_conn *hc = slot >= 0 ? calloc(1, sizeof(*hc)) : NULL;
			if (!hc) {
				printf("audit: config reload by SIGHUP result=refused epoch=%llu keys=- "
				       "detail=\"mgw-control has no free connection slot\"\n",
				       (unsigned long long)srv.cfg_epoch);
			} else {
				hc->fd = -1;
				hc->slot = -1;
				hc->peer_uid = (uid_t)-1;
				hc->peer_gid = (gid_t)-1;
				conns[slot] = hc;
				ctl_config_reload_sighup(&srv, hc);
			}
		}

		struct pollfd pfd[MAX_CONNS + 2];
		int idx[MAX_CONNS + 2];
		int n = 0, pending = 0;
		pfd[n] = (struct pollfd){.fd = srv.listen_fd, .events = POLLIN};
		idx[n++] = -1;
		/* MHD's epoll fd: readable when any HTTP socket needs MHD_run. */
		if (ctl_metrics_fd(&metrics) >= 0) {
			pfd[n] = (struct pollfd){.fd = ctl_metrics_fd(&metrics), .events = POLLIN};
			idx[n++] = -2;
		}
		for (int i = 0; i < MAX_CONNS; i++) {
			struct ctl_conn *c = conns[i];
			if (!c)
				continue;
			if (c->state == CTL_CONN_PENDING) {
				pending = 1;
				continue;
			}
			pfd[n] = (struct pollfd){.fd = c->fd,
						 .events = c->state == CTL_CONN_READ ? POLLIN : POLLOUT};
			idx[n++] = i;
		}
		/* Pending dataplane answers are polled every millisecond. */
		int timeout = ctl_metrics_timeout(&metrics, pending ? 1 : TICK_MS);
		int rc = poll(pfd, (nfds_t)n, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		now = ctl_now_ms();
		/* Every pass, not only when readable: MHD also runs its timeouts here. */
		ctl_metrics_run(&metrics);

		for (int k = 0; rc > 0 && k < n; k++) {
			if (!pfd[k].revents || idx[k] == -2)
				continue;
			if (idx[k] < 0) {
				for (;;) {
					int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					int slot = -1;
					for (int i = 0; i < MAX_CONNS; i++)
						if (!conns[i]) {
							slot = i;
							break;
						}
					struct ctl_conn *c = slot >= 0 ? calloc(1, sizeof(*c)) : NULL;
					if (!c) {
						close(fd); /* too many clients: the CLI sees a closed connection */
						continue;
					}
					c->fd = fd;
					c->state = CTL_CONN_READ;
					struct ucred cred;
					socklen_t clen = sizeof(cred);
					if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
						c->peer_pid = cred.pid;
						c->peer_uid = cred.uid;
						c->peer_gid = cred.gid;
					} else {
						c->peer_pid = 0;
						c->peer_uid = (uid_t)-1;
						c->peer_gid = (gid_t)-1;
					}
					c->slot = -1;
					c->deadline_ms = now + READ_TIMEOUT_MS;
					conns[slot] = c;
				}
				continue;
			}
			struct ctl_conn *c = conns[idx[k]];
			if (c->state == CTL_CONN_READ) {
				if (conn_read(&srv, c) < 0)
					conn_close(&conns[idx[k]]);
			}
			c = conns[idx[k]];
			if (c && c->state == CTL_CONN_WRITE) {
				int w = conn_write(c);
				if (w != 0)
					conn_close(&conns[idx[k]]);
			}
		}

		for (int i = 0; i < MAX_CONNS; i++) {
			struct ctl_conn *c = conns[i];
			if (!c)
				continue;
			if (c->state == CTL_CONN_PENDING) {
				const struct mgw_cmd_slot *s = ctl_dp_poll(&srv.dp, c->slot);
				if (s && s->seq == c->seq) {
					/* A completion may post the next step of the same
					   request (config reload): it then stays PENDING on
					   another slot, and only this one is released. */
					int done_slot = c->slot;
					c->complete(&srv, c, s);
					ctl_dp_release(&srv.dp, done_slot);
					if (c->state != CTL_CONN_PENDING)
						conn_start_write(c);
				} else if (now >= c->deadline_ms || !srv.dp.attached) {
					ctl_cmd_timeout(&srv, c);
					if (c->state != CTL_CONN_PENDING)
						conn_start_write(c);
				}
			} else if (c->state == CTL_CONN_READ && now >= c->deadline_ms) {
				conn_close(&conns[i]);
			}
			c = conns[i];
			if (c && c->fd < 0 && c->state == CTL_CONN_WRITE)
				conn_close(&conns[i]); /* SIGHUP's connection: the audit line said it all */
		}
	}

	printf("mgw-control: stopping\n");
	ctl_metrics_stop(&metrics);
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i])
			conn_close(&conns[i]);
	close(srv.listen_fd);
	unlink(srv.cfg.control.socket);
	ctl_dp_detach(&srv.dp);
	return 0;
}
