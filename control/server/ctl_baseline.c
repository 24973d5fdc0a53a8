/*
 * ctl_baseline.c - load and save the "counters clear" baseline file
 * (see ctl_baseline.h).
 *
 * Format, text so an operator can read it:
 *   mgw-counters-baseline 1
 *   start_ns <dataplane start, ns>
 *   taken_ns <when cleared, ns>
 *   <counter id> <raw value>        one line per counter
 * The file is ours but lives in a shared run directory, so it is parsed as
 * untrusted: bounded ids, strict numbers, anything else refused.
 */
#define _GNU_SOURCE
#include "ctl_baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_LINE "mgw-counters-baseline 1"

int ctl_baseline_path(const char *socket, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.baseline", socket);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -1;
	*out = v;
	return 0;
}

int ctl_baseline_load(const char *path, struct ctl_baseline *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	char line[128];
	int lineno = 0, rc = 0;
	bool have_start = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = -EINVAL;
			break;
		}
		if (lineno == 1) {
			if (strncmp(line, MAGIC_LINE, strlen(MAGIC_LINE)) != 0) {
				rc = -EINVAL;
				break;
			}
			continue;
		}
		uint64_t a, v;
		char *sp = strchr(line, ' ');
		if (!sp) {
			rc = -EINVAL;
			break;
		}
		*sp = '\0';
		if (parse_u64(sp + 1, &v)) {
			rc = -EINVAL;
			break;
		}
		if (strcmp(line, "start_ns") == 0) {
			b->start_ns = v;
			have_start = true;
		} else if (strcmp(line, "taken_ns") == 0) {
			b->taken_ns = v;
		} else if (parse_u64(line, &a) == 0 && a < CTL_BASELINE_MAX) {
			b->values[a] = v;
			if (a + 1 > b->n)
				b->n = (uint32_t)a + 1;
		} else {
			rc = -EINVAL;
			break;
		}
	}
	fclose(f);
	if (!rc && (lineno == 0 || !have_start))
		rc = -EINVAL;
	if (rc) {
		snprintf(err, errlen, "%s: damaged baseline file (line %d)", path, lineno);
		memset(b, 0, sizeof(*b));
		return rc;
	}
	b->valid = true;
	return 0;
}

int ctl_baseline_save(const char *path, const struct ctl_baseline *b)
{
	char tmp[512], dir[512];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* 0644: the values are the same counters every viewer can read. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return -e;
	}
	fprintf(f, MAGIC_LINE "\nstart_ns %" PRIu64 "\ntaken_ns %" PRIu64 "\n", b->start_ns,
		b->taken_ns);
	for (uint32_t i = 0; i < b->n && i < CTL_BASELINE_MAX; i++)
		fprintf(f, "%u %" PRIu64 "\n", i, b->values[i]);
	int rc = 0;
	/* Data on disk before the rename makes it visible: after a crash the
	 * file is either the old baseline or the complete new one. */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* the rename itself survives a power cut */
		close(dfd);
	}
	return 0;
}
