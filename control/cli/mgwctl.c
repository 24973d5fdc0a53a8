/*
 * mgwctl.c - the operator CLI. A thin client: it sends the command line to
 * mgw-control over the unix socket and prints the rendered answer; the exit
 * code is the status mgw-control returns (enum ctl_status, docs/CLI.md).
 *
 *   mgwctl [-s SOCKET | -c CONFIG] [-t MS] COMMAND [ARGS...] [--json]
 */
#include <errno.h>
#include <poll.h>
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
		"commands: status | counters [PREFIX] | book SYMBOL [--depth N] | top [N] | ping | help\n"
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

	uint8_t req[8 + CTL_PROTO_MAX_REQ];
	int len = ctl_proto_encode_req(argc - i, argv + i, req, sizeof(req));
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
	int32_t status;
	uint32_t rlen;
	if (rc == 0 && ctl_proto_parse_resp_hdr(hdr, &status, &rlen) != 0)
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
	int json = 0;
	for (int k = i; k < argc; k++)
		json |= !strcmp(argv[k], "--json");
	FILE *out = (status == CTL_OK || json) ? stdout : stderr;
	fwrite(text, 1, rlen, out);
	free(text);
	return status >= 0 && status < 126 ? status : CTL_ERR;
}
