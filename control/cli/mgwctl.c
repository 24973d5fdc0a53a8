/*
 * mgwctl.c - the operator CLI. A thin client: it sends the command line to
 * mgw-control over the unix socket and prints the rendered answer; the exit
 * code is the status mgw-control returns (enum ctl_status, docs/CLI.md).
 *
 *   mgwctl [-s SOCKET | -c CONFIG] [-t MS] COMMAND [ARGS...] [--json]
 */
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_config.h"
#include "ctl_proto.h"

#define DEFAULT_SOCKET "/run/mgw/mgw.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mgwctl [-s SOCKET | -c CONFIG] [-t TIMEOUT_MS] COMMAND [ARGS...] [--json]\n"
		"  -s SOCKET   mgw-control's socket (default $MGW_SOCKET, else " DEFAULT_SOCKET ")\n"
		"  -c CONFIG   take the socket from this config file's control.socket\n"
		"  -t MS       give up after MS milliseconds (default 5000)\n"
		"commands: status | counters [PREFIX] [--raw] [--tsv] | counters clear |\n"
		"          counters [PREFIX] [--raw] --watch [SECONDS] [--count N] |\n"
		"          book SYMBOL [--depth N] | top [N] | ping | help |\n"
		"          config show | config validate FILE | config reload\n"
		"exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 dataplane not attached,\n"
		"            5 dataplane timeout, 6 mgw-control unreachable, 7 permission denied\n");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes before the deadline. Returns 0, or -errno. */
static int read_full(int fd, void *buf, size_t len, long long deadline)
{
	size_t got = 0;
	while (got < len) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/*
 * One request to mgw-control: send argv, read the status and text. Returns
 * 0 with *status, *text (malloc'd, NUL terminated) and *rlen set, or the
 * exit code after printing why (unreachable, timed out, too long).
 */
static int call(const char *sock, int argc, char **argv, long timeout, int32_t *status,
		char **textp, uint32_t *rlenp)
{
	uint8_t req[8 + CTL_PROTO_MAX_REQ];
	int len = ctl_proto_encode_req(argc, argv, req, sizeof(req));
	if (len < 0) {
		fprintf(stderr, "mgwctl: command line too long\n");
		return CTL_USAGE;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mgwctl: socket path too long: %s\n", sock);
		return CTL_USAGE;
	}
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "mgwctl: cannot reach mgw-control at %s: %s (is mgw-control running? "
			"use -s or -c to pick another socket)\n", sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CTL_NO_CONTROL;
	}
	long long deadline = now_ms() + timeout;
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		fprintf(stderr, "mgwctl: cannot send to mgw-control: %s\n", strerror(errno));
		close(fd);
		return CTL_NO_CONTROL;
	}
	uint8_t hdr[12];
	int rc = read_full(fd, hdr, sizeof(hdr), deadline);
	uint32_t rlen = 0;
	if (rc == 0 && ctl_proto_parse_resp_hdr(hdr, status, &rlen) != 0)
		rc = -EPROTO;
	char *text = NULL;
	if (rc == 0) {
		text = malloc((size_t)rlen + 1);
		rc = text ? read_full(fd, text, rlen, deadline) : -ENOMEM;
	}
	close(fd);
	if (rc != 0) {
		fprintf(stderr, "mgwctl: no answer from mgw-control: %s\n",
			rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		free(text);
		return rc == -ETIMEDOUT ? CTL_TIMEOUT : CTL_NO_CONTROL;
	}
	text[rlen] = '\0';
	*textp = text;
	*rlenp = rlen;
	return 0;
}

/* ---- counters --watch: client-side refresh with rates ------------------- */

static volatile sig_atomic_t watch_stop;

static void on_sigint(int sig)
{
	(void)sig;
	watch_stop = 1;
}

struct watch_row {
	char key[192];
	uint64_t value;
};

/*
 * counters [PREFIX] [--raw] --watch [SECONDS] [--count N]: poll
 * `counters ... --tsv` every SECONDS and print each value with its rate per
 * second since the previous refresh. Done here, not in mgw-control, so the
 * server stays one-request-one-answer and mgwctl needs no JSON parser.
 */
static int watch_counters(const char *sock, long timeout, int argc, char **argv)
{
	double secs = 1.0;
	long count = 0; /* 0: until SIGINT */
	char *fwd[CTL_PROTO_MAX_ARGS];
	int nfwd = 0;
	for (int k = 0; k < argc; k++) {
		if (!strcmp(argv[k], "--watch")) {
			char *end;
			if (k + 1 < argc && argv[k + 1][0] >= '0' && argv[k + 1][0] <= '9') {
				secs = strtod(argv[++k], &end);
				if (*end || secs < 0.1 || secs > 3600) {
					fprintf(stderr, "mgwctl: --watch SECONDS must be 0.1 to 3600\n");
					return CTL_USAGE;
				}
			}
		} else if (!strcmp(argv[k], "--count")) {
			char *end;
			count = k + 1 < argc ? strtol(argv[++k], &end, 10) : 0;
			if (count <= 0 || *end) {
				fprintf(stderr, "mgwctl: --count needs a positive number\n");
				return CTL_USAGE;
			}
		} else if (!strcmp(argv[k], "--json") || !strcmp(argv[k], "--tsv")) {
			fprintf(stderr, "mgwctl: --watch prints a table; use counters --tsv or --json "
				"for scripts\n");
			return CTL_USAGE;
		} else if (nfwd < CTL_PROTO_MAX_ARGS - 1) {
			fwd[nfwd++] = argv[k];
		}
	}
	fwd[nfwd++] = "--tsv";

	struct sigaction sa = {.sa_handler = on_sigint}; /* no SA_RESTART: sleeps end at ^C */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty = isatty(STDOUT_FILENO);
	struct watch_row *prev = NULL;
	size_t nprev = 0;
	long long prev_ms = 0;
	int last = CTL_OK;
	for (long n = 0; !watch_stop && (count == 0 || n < count); n++) {
		if (n) {
			struct timespec ts = {.tv_sec = (time_t)secs,
					      .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
			nanosleep(&ts, NULL);
			if (watch_stop)
				break;
		}
		int32_t status = CTL_OK;
		char *text = NULL;
		uint32_t rlen = 0;
		int rc = call(sock, nfwd, fwd, timeout, &status, &text, &rlen);
		long long now = now_ms();
		char when[32];
		time_t wall = time(NULL);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&wall));
		if (tty)
			fputs("\033[H\033[2J", stdout);
		if (rc != 0) { /* already said why; keep trying (control may be restarting) */
			last = rc;
			continue;
		}
		last = status;
		if (status != CTL_OK) {
			fprintf(stderr, "%s", text);
			free(text);
			continue;
		}
		printf("%s  every %gs  (refresh %ld)\n%-60s %20s %14s\n", when, secs, n + 1, "COUNTER",
		       "VALUE", "RATE/S");
		struct watch_row *cur = NULL;
		size_t ncur = 0, cap = 0;
		double dt = prev ? (double)(now - prev_ms) / 1000.0 : 0;
		for (char *line = text, *nl; line && *line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			char *tab = strchr(line, '\t');
			if (!tab)
				continue;
			*tab = '\0';
			if (ncur == cap) {
				cap = cap ? cap * 2 : 128;
				struct watch_row *g = realloc(cur, cap * sizeof(*cur));
				if (!g)
					break;
				cur = g;
			}
			struct watch_row *r = &cur[ncur++];
			snprintf(r->key, sizeof(r->key), "%s", line);
			r->value = strtoull(tab + 1, NULL, 10);
			/* Same order each refresh: look at the same index first. */
			const struct watch_row *p = NULL;
			size_t at = ncur - 1;
			if (at < nprev && !strcmp(prev[at].key, r->key))
				p = &prev[at];
			for (size_t j = 0; !p && j < nprev; j++)
				if (!strcmp(prev[j].key, r->key))
					p = &prev[j];
			char rate[32] = "-";
			/* A value below the previous one: cleared or a new dataplane run. */
			if (p && dt > 0 && r->value >= p->value)
				snprintf(rate, sizeof(rate), "%.1f", (double)(r->value - p->value) / dt);
			printf("%-60s %20" PRIu64 " %14s\n", r->key, r->value, rate);
		}
		fflush(stdout);
		free(text);
		free(prev);
		prev = cur;
		nprev = ncur;
		prev_ms = now;
	}
	free(prev);
	return last;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("MGW_SOCKET");
	const char *cfg_path = NULL;
	long timeout = 5000;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			cfg_path = argv[++i];
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			char *end;
			timeout = strtol(argv[++i], &end, 10);
			if (*end || timeout <= 0) {
				fprintf(stderr, "mgwctl: -t needs a positive number of milliseconds\n");
				return CTL_USAGE;
			}
		} else if (!strcmp(argv[i], "--json")) {
			break; /* belongs to the command */
		} else {
			fprintf(stderr, "mgwctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	static struct mgw_config cfg;
	if (cfg_path) {
		struct ctl_config_err err;
		if (ctl_config_load(cfg_path, &cfg, &err) != 0) {
			char msg[1024];
			ctl_config_err_format(&err, msg, sizeof(msg));
			fprintf(stderr, "mgwctl: %s\n", msg);
			return CTL_USAGE;
		}
		sock = cfg.control.socket;
	}
	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	/* `config validate FILE`: mgw-control reads the file itself, from its own
	   working directory, so send an absolute path. */
	static char abs_path[PATH_MAX];
	if (argc - i >= 3 && !strcmp(argv[i], "config") && !strcmp(argv[i + 1], "validate") &&
	    argv[i + 2][0] != '/' && strncmp(argv[i + 2], "--", 2) != 0) {
		char cwd[PATH_MAX];
		if (realpath(argv[i + 2], abs_path)) {
			argv[i + 2] = abs_path;
		} else if (getcwd(cwd, sizeof(cwd)) &&
			   (size_t)snprintf(abs_path, sizeof(abs_path), "%s/%s", cwd, argv[i + 2]) <
				   sizeof(abs_path)) {
			argv[i + 2] = abs_path; /* missing file: mgw-control says so */
		} else {
			fprintf(stderr, "mgwctl: %s: %s\n", argv[i + 2], strerror(errno));
			return CTL_USAGE;
		}
	}

	if (!strcmp(argv[i], "counters")) {
		for (int k = i + 1; k < argc; k++)
			if (!strcmp(argv[k], "--watch"))
				return watch_counters(sock, timeout, argc - i, argv + i);
	}
	int32_t status;
	uint32_t rlen;
	char *text = NULL;
	int rc = call(sock, argc - i, argv + i, timeout, &status, &text, &rlen);
	if (rc != 0)
		return rc;
	int json = 0;
	for (int k = i; k < argc; k++)
		json |= !strcmp(argv[k], "--json");
	FILE *out = (status == CTL_OK || json) ? stdout : stderr;
	fwrite(text, 1, rlen, out);
	free(text);
	return status >= 0 && status < 126 ? status : CTL_ERR;
}
