/*
 * test_shm.c - unit tests for the dataplane <-> control shared segment
 * (dataplane/shm/mgw_shm.c) and its counter description table.
 *
 * The segment is the only contract between mgw-dataplane and its readers,
 * and the counter table is what the Prometheus exporter and mgwctl print, so
 * a bad name or a missed refusal here is visible to operators. Before this
 * file it was only exercised end to end with the real dataplane. Here each
 * path of create/attach is driven directly: the layout a reader sees, the
 * refusals (not ready, missing, bad magic, other ABI, live owner), stale
 * replacement, counter sums, and the command ring used without EAL.
 *
 * Every test uses its own instance "ut_<runner pid>_<tag>"; main() removes
 * any /dev/shm/mgw.ut_<runner pid>_* left behind by a failing test.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mgw_shm.h"

static pid_t runner_pid;

/* Instance name and segment path of one test. */
struct inst {
	char name[32];
	char path[128];
};

static void inst_init(struct inst *in, const char *tag)
{
	snprintf(in->name, sizeof in->name, "ut_%ld_%s", (long)runner_pid, tag);
	ck_assert_int_eq(mgw_shm_path(in->name, in->path, sizeof in->path), 0);
	unlink(in->path);
}

static int create(const struct inst *in, uint32_t n_lcores, struct mgw_shm *s)
{
	struct mgw_shm_params p = {
		.instance = in->name,
		.version = "9.8.7-ut",
		.n_lcores = n_lcores,
		.n_ports = 2,
	};
	return mgw_shm_create(&p, s);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* A hand-made segment file: just a header, as another process could leave it. */
static void write_fake(const char *path, uint64_t magic, uint32_t abi, int32_t pid, uint32_t state)
{
	struct mgw_shm_hdr h;
	memset(&h, 0, sizeof h);
	h.magic = magic;
	h.abi_version = abi;
	h.hdr_size = sizeof h;
	h.total_size = 8192;
	snprintf(h.instance, sizeof h.instance, "fake");
	h.dp_pid = pid;
	atomic_store(&h.state, state);
	atomic_store(&h.ready, 1);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
	ck_assert_int_eq(ftruncate(fd, 8192), 0);
	close(fd);
}

/* A pid that is certainly not running: a child that exited and was reaped. */
static pid_t dead_pid(void)
{
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(c, NULL, 0), c);
	return c;
}

/* ------------------------------------------------------- create / attach */

START_TEST(test_create_attach_same_header)
{
	struct inst in;
	inst_init(&in, "hdr");
	struct mgw_shm w, r;
	ck_assert_int_eq(create(&in, 3, &w), 0);
	ck_assert_int_eq(w.owner, 1);
	ck_assert(exists(in.path));
	mgw_ctr_add(mgw_shm_block(&w, 0), MGW_CTR_RX_PACKETS, 41);
	mgw_ctr_add(mgw_shm_block(&w, 2), MGW_CTR_CMD_FAILED, 5);
	mgw_shm_publish(&w);

	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	ck_assert_int_eq(r.owner, 0);
	ck_assert_ptr_ne(r.base, w.base); /* a second mapping of the same memory */
	ck_assert_uint_eq(r.size, w.size);
	const struct mgw_shm_hdr *h = r.hdr;
	ck_assert_uint_eq(h->magic, MGW_SHM_MAGIC);
	ck_assert_uint_eq(h->abi_version, MGW_SHM_ABI_VERSION);
	ck_assert_uint_eq(h->hdr_size, sizeof(struct mgw_shm_hdr));
	ck_assert_str_eq(h->instance, in.name);
	ck_assert_str_eq(h->version, "9.8.7-ut");
	ck_assert_int_eq(h->dp_pid, getpid());
	ck_assert_uint_eq(atomic_load(&h->state), MGW_DP_STARTING);
	ck_assert_uint_eq(h->n_lcores, 3);
	ck_assert_uint_eq(h->n_ports, 2);
	ck_assert_uint_eq(h->n_counters, MGW_CTR__COUNT);
	ck_assert_uint_eq(h->n_sessions_max, MGW_SHM_MAX_SESSIONS);
	ck_assert_uint_eq(h->n_cmd_slots, MGW_SHM_CMD_SLOTS);
	ck_assert_uint_eq(h->total_size, r.size);

	struct stat st;
	ck_assert_int_eq(stat(in.path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, h->total_size);

	ck_assert_uint_eq(mgw_ctr_read(mgw_shm_block(&r, 0), MGW_CTR_RX_PACKETS), 41);
	ck_assert_uint_eq(mgw_ctr_read(mgw_shm_block(&r, 2), MGW_CTR_CMD_FAILED), 5);
	ck_assert_uint_eq(mgw_ctr_read(mgw_shm_block(&r, 1), MGW_CTR_RX_PACKETS), 0);

	/* later writes by the owner are seen by the reader */
	mgw_ctr_add(mgw_shm_block(&w, 0), MGW_CTR_RX_PACKETS, 1);
	atomic_store(&w.hdr->state, MGW_DP_RUNNING);
	ck_assert_uint_eq(mgw_ctr_read(mgw_shm_block(&r, 0), MGW_CTR_RX_PACKETS), 42);
	ck_assert_uint_eq(atomic_load(&r.hdr->state), MGW_DP_RUNNING);

	mgw_shm_close(&r);
	ck_assert_ptr_null(r.base);
	ck_assert(exists(in.path)); /* a reader never unlinks */
	mgw_shm_close(&w);
	ck_assert(!exists(in.path)); /* the owner does */
	mgw_shm_close(&w);           /* twice is harmless */
	struct mgw_shm zero;
	memset(&zero, 0, sizeof zero);
	mgw_shm_close(&zero);
}
END_TEST

START_TEST(test_layout)
{
	struct inst in;
	inst_init(&in, "layout");
	struct mgw_shm w;
	ck_assert_int_eq(create(&in, MGW_SHM_MAX_LCORES, &w), 0);
	const struct mgw_shm_hdr *h = w.hdr;
	/* regions in the documented order, aligned, not overlapping, inside the segment */
	ck_assert_uint_ge(h->desc_off, sizeof(struct mgw_shm_hdr));
	ck_assert_uint_ge(h->blocks_off, h->desc_off + MGW_CTR__COUNT * sizeof(struct mgw_shm_counter_desc));
	ck_assert_uint_ge(h->block_stride, MGW_CTR__COUNT * sizeof(uint64_t));
	ck_assert_uint_eq(h->block_stride % 64, 0);
	ck_assert_uint_eq(h->blocks_off % 64, 0);
	ck_assert_uint_ge(h->feed_off, h->blocks_off + (uint64_t)MGW_SHM_MAX_LCORES * h->block_stride);
	ck_assert_uint_ge(h->ports_off, h->feed_off + MGW_SHM_MAX_SESSIONS * sizeof(struct mgw_shm_feed_session));
	ck_assert_uint_ge(h->cmd_ring_off, h->ports_off + MGW_SHM_MAX_PORTS * sizeof(struct mgw_shm_port));
	ck_assert_uint_eq(h->cmd_ring_off % 64, 0);
	ck_assert_uint_ge(h->cmd_slots_off, h->cmd_ring_off + (uint64_t)rte_ring_get_memsize(MGW_SHM_CMD_RING_SIZE));
	ck_assert_uint_ge(h->cmd_slot_size, sizeof(struct mgw_cmd_slot));
	ck_assert_uint_eq(h->cmd_slot_size % 64, 0);
	ck_assert_uint_le(h->cmd_slots_off + (uint64_t)h->n_cmd_slots * h->cmd_slot_size, h->total_size);
	ck_assert_uint_eq(h->total_size % 4096, 0);
	/* no match lcore: no order path regions */
	ck_assert_uint_eq(h->match_cmd_ring_off, 0);
	ck_assert_uint_eq(h->order_ring_off, 0);
	ck_assert_uint_eq(h->report_ring_off, 0);
	ck_assert_ptr_null(mgw_shm_order_ring(&w));
	ck_assert_ptr_null(mgw_shm_cmd_ring_for(&w, MGW_CMD_KILL));
	ck_assert_ptr_eq(mgw_shm_cmd_ring_for(&w, MGW_CMD_BOOK_TOP), mgw_shm_cmd_ring(&w));

	/* the last counter of each block and the first of the next are distinct */
	for (uint32_t i = 0; i < MGW_SHM_MAX_LCORES; i++)
		mgw_ctr_set(mgw_shm_block(&w, i), MGW_CTR__COUNT - 1, UINT64_MAX);
	for (uint32_t i = 0; i < MGW_SHM_MAX_LCORES; i++)
		ck_assert_uint_eq(mgw_ctr_read(mgw_shm_block(&w, i), 0), 0);
	/* the whole segment is writable (and zero initially) up to its last byte */
	uint8_t *last = (uint8_t *)w.base + w.size - 1;
	ck_assert_uint_eq(*last, 0);
	*last = 1;
	mgw_shm_close(&w);
}
END_TEST

START_TEST(test_create_bad_params)
{
	struct inst in;
	inst_init(&in, "params");
	struct mgw_shm w;
	ck_assert_int_eq(create(&in, 0, &w), -EINVAL);
	ck_assert_int_eq(create(&in, MGW_SHM_MAX_LCORES + 1, &w), -EINVAL);
	struct mgw_shm_params p = {.instance = in.name, .n_lcores = 1, .n_ports = MGW_SHM_MAX_PORTS + 1};
	ck_assert_int_eq(mgw_shm_create(&p, &w), -EINVAL);
	ck_assert(!exists(in.path));

	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	p.instance = longname;
	p.n_ports = 0;
	ck_assert_int_eq(mgw_shm_create(&p, &w), -ENAMETOOLONG);
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(longname, &w, err, sizeof err), -ENAMETOOLONG);

	/* a NULL version is stored as empty */
	p.instance = in.name;
	p.version = NULL;
	ck_assert_int_eq(mgw_shm_create(&p, &w), 0);
	ck_assert_str_eq(w.hdr->version, "");
	mgw_shm_close(&w);
}
END_TEST

/* ---------------------------------------------------------- counter table */

static bool is_metric_name(const char *s)
{
	/* [a-zA-Z_:][a-zA-Z0-9_:]* */
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		bool digit = c >= '0' && c <= '9';
		if (!alpha && !(digit && p != s))
			return false;
	}
	return true;
}

/* Empty, or key="value"[,key="value"]... with Prometheus label names. */
static bool is_label_set(const char *s)
{
	const char *p = s;
	if (!*p)
		return true;
	for (;;) {
		const char *k = p;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
			return false;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		       (*p >= '0' && *p <= '9'))
			p++;
		if (p - k >= 2 && k[0] == '_' && k[1] == '_')
			return false; /* reserved */
		if (*p++ != '=' || *p++ != '"')
			return false;
		while (*p && *p != '"') {
			if (*p == '\n')
				return false;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return false;
			}
			p++;
		}
		if (*p++ != '"')
			return false;
		if (*p == '\0')
			return true;
		if (*p++ != ',')
			return false;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

START_TEST(test_label_checker)
{
	/* the checker itself must refuse what it is meant to refuse */
	ck_assert(is_label_set(""));
	ck_assert(is_label_set("reason=\"runt\""));
	ck_assert(is_label_set("a=\"1\",b_2=\"x y\""));
	ck_assert(!is_label_set("reason"));
	ck_assert(!is_label_set("reason=runt"));
	ck_assert(!is_label_set("reason=\"runt"));
	ck_assert(!is_label_set("reason=\"runt\","));
	ck_assert(!is_label_set("{reason=\"runt\"}"));
	ck_assert(!is_label_set("1x=\"a\""));
	ck_assert(!is_label_set("__name__=\"a\""));
	ck_assert(is_metric_name("mgw_a:b_total"));
	ck_assert(!is_metric_name("9mgw"));
	ck_assert(!is_metric_name("mgw-x"));
	ck_assert(!is_metric_name(""));
}
END_TEST

START_TEST(test_counter_table)
{
	struct inst in;
	inst_init(&in, "desc");
	struct mgw_shm w, r;
	ck_assert_int_eq(create(&in, 1, &w), 0);
	mgw_shm_publish(&w);
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	ck_assert_uint_eq(r.hdr->n_counters, MGW_CTR__COUNT);
	const struct mgw_shm_counter_desc *d = mgw_shm_desc(&r);

	for (uint32_t i = 0; i < MGW_CTR__COUNT; i++) {
		const char *name = d[i].name;
		ck_assert_uint_eq(d[i].id, i);
		ck_assert_uint_lt(strnlen(name, sizeof d[i].name), sizeof d[i].name);
		ck_assert_uint_lt(strnlen(d[i].labels, sizeof d[i].labels), sizeof d[i].labels);
		ck_assert_uint_lt(strnlen(d[i].help, sizeof d[i].help), sizeof d[i].help);
		ck_assert_msg(is_metric_name(name), "row %u: bad metric name '%s'", i, name);
		ck_assert_msg(strncmp(name, "mgw_", 4) == 0, "row %u: '%s' lacks mgw_", i, name);
		ck_assert_msg(d[i].kind == MGW_CTR_COUNTER || d[i].kind == MGW_CTR_GAUGE, "row %u kind", i);
		if (d[i].kind == MGW_CTR_COUNTER)
			ck_assert_msg(ends_with(name, "_total"), "counter '%s' must end in _total", name);
		else
			ck_assert_msg(!ends_with(name, "_total"), "gauge '%s' must not end in _total", name);
		ck_assert_msg(is_label_set(d[i].labels), "row %u (%s): bad labels '%s'", i, name,
			      d[i].labels);
		ck_assert_msg(d[i].help[0] != '\0', "row %u (%s): no help", i, name);
		ck_assert_msg(strchr(d[i].help, '\n') == NULL, "row %u: help spans lines", i);

		for (uint32_t j = 0; j < i; j++) {
			ck_assert_msg(strcmp(d[j].name, name) != 0 || strcmp(d[j].labels, d[i].labels) != 0,
				      "rows %u and %u are both %s{%s}", j, i, name, d[i].labels);
			/* one metric family has one TYPE and one HELP */
			if (strcmp(d[j].name, name) == 0) {
				ck_assert_msg(d[j].kind == d[i].kind, "%s: mixed kinds", name);
				ck_assert_msg(strcmp(d[j].help, d[i].help) == 0, "%s: different help", name);
				ck_assert_msg(d[j].labels[0] && d[i].labels[0],
					      "%s: a labelled family also has an unlabelled row", name);
			}
		}
	}
	/* spot checks that the table follows the enum */
	ck_assert_str_eq(d[MGW_CTR_PKT_DROP_RUNT].name, "mgw_pkt_dropped_total");
	ck_assert_str_eq(d[MGW_CTR_PKT_DROP_RUNT].labels, "reason=\"runt\"");
	ck_assert_str_eq(d[MGW_CTR_ITCH_h].labels, "type=\"h\"");
	ck_assert_uint_eq(d[MGW_CTR_BOOK_LIVE_ORDERS].kind, MGW_CTR_GAUGE);
	ck_assert_uint_eq(d[MGW_CTR_RX_PACKETS].kind, MGW_CTR_COUNTER);
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

START_TEST(test_counter_total)
{
	struct inst in;
	inst_init(&in, "total");
	struct mgw_shm w;
	ck_assert_int_eq(create(&in, 4, &w), 0);
	uint64_t v = 1;
	for (uint32_t i = 0; i < 4; i++, v *= 10)
		mgw_ctr_set(mgw_shm_block(&w, i), MGW_CTR_MOLD_GAPS, v);
	mgw_ctr_set(mgw_shm_block(&w, 3), MGW_CTR_BOOK_LIVE_ORDERS, 77);
	ck_assert_uint_eq(mgw_shm_counter_total(&w, MGW_CTR_MOLD_GAPS), 1111);
	ck_assert_uint_eq(mgw_shm_counter_total(&w, MGW_CTR_BOOK_LIVE_ORDERS), 77);
	ck_assert_uint_eq(mgw_shm_counter_total(&w, MGW_CTR_MOLD_GAP_MESSAGES), 0);
	ck_assert_uint_eq(mgw_shm_counter_total(&w, MGW_CTR__COUNT - 1), 0);

	/* a reader computes the same sums */
	mgw_shm_publish(&w);
	struct mgw_shm r;
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	mgw_ctr_add(mgw_shm_block(&w, 1), MGW_CTR_MOLD_GAPS, 5);
	ck_assert_uint_eq(mgw_shm_counter_total(&r, MGW_CTR_MOLD_GAPS), 1116);
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

/* ----------------------------------------------------------- refusals */

START_TEST(test_attach_not_ready)
{
	struct inst in;
	inst_init(&in, "notready");
	struct mgw_shm w, r;
	ck_assert_int_eq(create(&in, 1, &w), 0);
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EAGAIN);
	ck_assert_ptr_null(r.base);
	ck_assert_ptr_nonnull(strstr(err, "not ready"));
	mgw_shm_publish(&w);
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

START_TEST(test_attach_missing)
{
	struct inst in;
	inst_init(&in, "missing");
	struct mgw_shm r;
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -ENOENT);
	ck_assert_ptr_null(r.base);
	ck_assert_msg(strstr(err, in.path) != NULL, "message does not name the path: %s", err);
	ck_assert_msg(strstr(err, "mgw-dataplane") != NULL, "message gives no hint: %s", err);
}
END_TEST

START_TEST(test_attach_too_small)
{
	struct inst in;
	inst_init(&in, "small");
	int fd = open(in.path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
	ck_assert_int_ge(fd, 0);
	close(fd); /* zero bytes: a segment caught between shm_open and ftruncate */
	struct mgw_shm r;
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EAGAIN);
	ck_assert_ptr_null(r.base);
	unlink(in.path);
}
END_TEST

START_TEST(test_attach_bad_magic)
{
	struct inst in;
	inst_init(&in, "magic");
	write_fake(in.path, MGW_SHM_MAGIC ^ 0xFF, MGW_SHM_ABI_VERSION, getppid(), MGW_DP_RUNNING);
	struct mgw_shm r;
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EPROTO);
	ck_assert_ptr_null(r.base);
	ck_assert_msg(strstr(err, "magic") != NULL, "message: %s", err);
	unlink(in.path);
}
END_TEST

/* True if the decimal number n appears in s as a whole number. */
static bool has_number(const char *s, unsigned n)
{
	for (const char *p = s; *p;) {
		if (*p >= '0' && *p <= '9') {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			if (v == n)
				return true;
			p = end;
		} else {
			p++;
		}
	}
	return false;
}

START_TEST(test_attach_other_abi)
{
	struct inst in;
	inst_init(&in, "abi");
	write_fake(in.path, MGW_SHM_MAGIC, 4242, getppid(), MGW_DP_RUNNING);
	struct mgw_shm r;
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EPROTO);
	ck_assert_ptr_null(r.base);
	/* look for the versions in the message without the path (it holds a pid) */
	char *at = strstr(err, in.path);
	ck_assert_ptr_nonnull(at);
	memset(at, ' ', strlen(in.path));
	ck_assert_msg(has_number(err, 4242), "segment's version missing: %s", err);
	ck_assert_msg(has_number(err, MGW_SHM_ABI_VERSION), "own version missing: %s", err);
	unlink(in.path);
}
END_TEST

START_TEST(test_attach_inconsistent_layout)
{
	struct inst in;
	inst_init(&in, "incons");
	struct mgw_shm w, r;
	ck_assert_int_eq(create(&in, 2, &w), 0);
	mgw_shm_publish(&w);
	uint64_t keep = w.hdr->blocks_off;
	w.hdr->blocks_off = w.hdr->total_size; /* blocks would run past the end */
	char err[256] = "";
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "inconsistent"));
	w.hdr->blocks_off = keep;
	w.hdr->total_size += 4096; /* size no longer matches the file */
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), -EPROTO);
	w.hdr->total_size -= 4096;
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

/* ---------------------------------------------------- live / stale owners */

START_TEST(test_create_live_fake_owner)
{
	struct inst in;
	inst_init(&in, "busyfake");
	/* our parent (the check runner or ctest) is alive and not us */
	write_fake(in.path, MGW_SHM_MAGIC, MGW_SHM_ABI_VERSION, getppid(), MGW_DP_RUNNING);
	struct mgw_shm w;
	ck_assert_int_eq(create(&in, 1, &w), -EBUSY);
	ck_assert_ptr_null(w.base);
	/* the live segment was left alone */
	struct mgw_shm_hdr h;
	int fd = open(in.path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
	close(fd);
	ck_assert_int_eq(h.dp_pid, getppid());
	ck_assert_str_eq(h.instance, "fake");

	/* the same live pid, but the dataplane said it stopped: replaced */
	write_fake(in.path, MGW_SHM_MAGIC, MGW_SHM_ABI_VERSION, getppid(), MGW_DP_STOPPED);
	ck_assert_int_eq(create(&in, 1, &w), 0);
	ck_assert_int_eq(w.hdr->dp_pid, getpid());
	mgw_shm_close(&w);
	ck_assert(!exists(in.path));
}
END_TEST

START_TEST(test_create_stale_replaced)
{
	struct inst in;
	inst_init(&in, "stale");
	pid_t dead = dead_pid();
	write_fake(in.path, MGW_SHM_MAGIC, MGW_SHM_ABI_VERSION, dead, MGW_DP_RUNNING);
	struct mgw_shm w;
	ck_assert_int_eq(create(&in, 2, &w), 0);
	ck_assert_int_eq(w.hdr->dp_pid, getpid());
	ck_assert_str_eq(w.hdr->instance, in.name);
	ck_assert_uint_eq(w.hdr->n_lcores, 2);
	mgw_shm_publish(&w);
	struct mgw_shm r;
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	ck_assert_int_eq(r.hdr->dp_pid, getpid());
	mgw_shm_close(&r);
	mgw_shm_close(&w);

	/* a file that is not an mgw segment at all is replaced too */
	write_fake(in.path, 0, 0, getppid(), MGW_DP_RUNNING);
	ck_assert_int_eq(create(&in, 1, &w), 0);
	mgw_shm_close(&w);
}
END_TEST

/* A real second dataplane: a child creates the segment and stays alive. */
START_TEST(test_create_live_child_owner)
{
	struct inst in;
	inst_init(&in, "busychild");
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		struct mgw_shm cw;
		close(pfd[0]);
		char rc = (char)(create(&in, 1, &cw) == 0 ? 'y' : 'n');
		if (rc == 'y')
			atomic_store(&cw.hdr->state, MGW_DP_RUNNING);
		if (write(pfd[1], &rc, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char rc = 0;
	ck_assert_int_eq(read(pfd[0], &rc, 1), 1);
	close(pfd[0]);
	ck_assert_int_eq(rc, 'y');

	struct mgw_shm w;
	int crc = create(&in, 1, &w);
	/* stop the child the hard way: it leaves its segment behind, like a crash */
	kill(c, SIGKILL);
	ck_assert_int_eq(waitpid(c, NULL, 0), c);
	ck_assert_int_eq(crc, -EBUSY);
	ck_assert(exists(in.path));

	/* now the owner is dead: the segment is stale and is replaced */
	ck_assert_int_eq(create(&in, 1, &w), 0);
	ck_assert_int_eq(w.hdr->dp_pid, getpid());
	mgw_shm_close(&w);
	ck_assert(!exists(in.path));
}
END_TEST

/*
 * A live dataplane of another user: kill(pid, 0) then fails with EPERM, which
 * means "alive, not yours", not "dead". Run as root, the check is done in a
 * child that drops to an unprivileged uid and looks at its root parent.
 */
static int busy_other_user_check(const struct inst *in, pid_t live_other)
{
	write_fake(in->path, MGW_SHM_MAGIC, MGW_SHM_ABI_VERSION, live_other, MGW_DP_RUNNING);
	struct mgw_shm w;
	int rc = create(in, 1, &w);
	if (rc == 0)
		mgw_shm_close(&w);
	return rc;
}

START_TEST(test_create_live_owner_other_user)
{
	struct inst in;
	inst_init(&in, "busyuser");
	if (geteuid() != 0) {
		/* unprivileged: any live process of another user will do, e.g. pid 1 */
		if (!(kill(1, 0) != 0 && errno == EPERM)) {
			fprintf(stderr, "test_create_live_owner_other_user: no foreign pid, skipped\n");
			return;
		}
		ck_assert_int_eq(busy_other_user_check(&in, 1), -EBUSY);
		unlink(in.path);
		return;
	}
	pid_t parent = getpid();
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(100);
		if (!(kill(parent, 0) != 0 && errno == EPERM))
			_exit(101);
		int rc = busy_other_user_check(&in, parent);
		_exit(rc == -EBUSY ? 0 : rc == 0 ? 102 : 103);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(c, &status, 0), c);
	unlink(in.path);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 100 || WEXITSTATUS(status) == 101) {
		/* e.g. a user namespace without uid 65534: the case cannot be made here */
		fprintf(stderr, "test_create_live_owner_other_user: cannot run as another user, skipped\n");
		return;
	}
	ck_assert_msg(WEXITSTATUS(status) != 102,
		      "the segment of a live dataplane of another user was replaced");
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ------------------------------------------------------------ command ring */

START_TEST(test_cmd_ring_without_eal)
{
	struct inst in;
	inst_init(&in, "ring");
	struct mgw_shm w, r;
	ck_assert_int_eq(create(&in, 1, &w), 0);
	mgw_shm_publish(&w);
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);

	struct rte_ring *rw = mgw_shm_cmd_ring(&w); /* dataplane's mapping */
	struct rte_ring *rr = mgw_shm_cmd_ring(&r); /* control's mapping */
	ck_assert_uint_eq(rte_ring_get_size(rr), MGW_SHM_CMD_RING_SIZE);
	ck_assert_uint_ge(rte_ring_get_capacity(rr), MGW_SHM_CMD_SLOTS);
	ck_assert(rte_ring_empty(rw));

	/* control posts every slot index; the dataplane takes them in order */
	for (uintptr_t i = 0; i < MGW_SHM_CMD_SLOTS; i++) {
		struct mgw_cmd_slot *slot = mgw_shm_cmd_slot(&r, (uint32_t)i);
		slot->seq = (uint32_t)(1000 + i);
		atomic_store(&slot->state, MGW_CMD_POSTED);
		ck_assert_int_eq(rte_ring_enqueue(rr, (void *)i), 0);
	}
	ck_assert_uint_eq(rte_ring_count(rw), MGW_SHM_CMD_SLOTS);
	for (uintptr_t i = 0; i < MGW_SHM_CMD_SLOTS; i++) {
		void *obj = NULL;
		ck_assert_int_eq(rte_ring_dequeue(rw, &obj), 0);
		ck_assert_uint_eq((uintptr_t)obj, i);
		struct mgw_cmd_slot *slot = mgw_shm_cmd_slot(&w, (uint32_t)i);
		ck_assert_uint_eq(slot->seq, 1000 + i);
		ck_assert_uint_eq(atomic_load(&slot->state), MGW_CMD_POSTED);
	}
	void *obj;
	ck_assert_int_eq(rte_ring_dequeue(rw, &obj), -ENOENT);

	/* full: capacity is size - 1 without RING_F_EXACT_SZ */
	unsigned cap = rte_ring_get_capacity(rw);
	for (uintptr_t i = 0; i < cap; i++)
		ck_assert_int_eq(rte_ring_enqueue(rr, (void *)(i % MGW_SHM_CMD_SLOTS)), 0);
	ck_assert_int_eq(rte_ring_enqueue(rr, (void *)0), -ENOBUFS);
	ck_assert(rte_ring_full(rw));
	for (uintptr_t i = 0; i < cap; i++) {
		ck_assert_int_eq(rte_ring_dequeue(rw, &obj), 0);
		ck_assert_uint_eq((uintptr_t)obj, i % MGW_SHM_CMD_SLOTS);
	}
	ck_assert(rte_ring_empty(rr));
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

/* The order path regions (ABI 3): rings initialised in place, used through
   two mappings without EAL, 64-byte elements, the high-water mark. */
START_TEST(test_order_rings_without_eal)
{
	struct inst in;
	inst_init(&in, "orders");
	struct mgw_shm w, r;
	struct mgw_shm_params p = {.instance = in.name, .version = "ut", .n_lcores = 2, .n_ports = 1,
				   .order_ring_size = 256, .report_ring_size = 1024};
	ck_assert_int_eq(mgw_shm_create(&p, &w), 0);
	mgw_shm_publish(&w);
	char err[256];
	ck_assert_int_eq(mgw_shm_attach(in.name, &r, err, sizeof err), 0);
	const struct mgw_shm_hdr *h = r.hdr;
	ck_assert_uint_ge(h->match_cmd_ring_off, h->cmd_slots_off + (uint64_t)h->n_cmd_slots * h->cmd_slot_size);
	ck_assert_uint_ge(h->order_ring_off, h->match_cmd_ring_off + (uint64_t)rte_ring_get_memsize(MGW_SHM_CMD_RING_SIZE));
	ck_assert_uint_ge(h->report_ring_off, h->order_ring_off + (uint64_t)rte_ring_get_memsize_elem(64, 256));
	ck_assert_uint_le(h->report_ring_off + (uint64_t)rte_ring_get_memsize_elem(64, 1024), h->total_size);
	ck_assert_uint_eq(h->order_ring_size, 256);
	ck_assert_uint_eq(h->report_ring_size, 1024);
	ck_assert_uint_eq(h->report_hiwat, 1023 - mgw_report_headroom(1024));
	ck_assert_uint_eq(h->order_elem_size, 64);
	ck_assert_ptr_eq(mgw_shm_cmd_ring_for(&r, MGW_CMD_KILL), mgw_shm_match_cmd_ring(&r));
	ck_assert_ptr_ne(mgw_shm_match_cmd_ring(&r), mgw_shm_cmd_ring(&r));

	/* a client enqueues orders in one mapping, the match lcore reads them in the other */
	uint8_t msg[64], got[64];
	for (int i = 0; i < 255; i++) {
		memset(msg, i, sizeof msg);
		ck_assert_int_eq(rte_ring_enqueue_elem(mgw_shm_order_ring(&r), msg, 64), 0);
	}
	ck_assert_int_eq(rte_ring_enqueue_elem(mgw_shm_order_ring(&r), msg, 64), -ENOBUFS);
	for (int i = 0; i < 255; i++) {
		ck_assert_int_eq(rte_ring_dequeue_elem(mgw_shm_order_ring(&w), got, 64), 0);
		ck_assert_uint_eq(got[0], (uint8_t)i);
		ck_assert_uint_eq(got[63], (uint8_t)i);
	}
	/* reports the other way */
	memset(msg, 0xab, sizeof msg);
	ck_assert_uint_eq(rte_ring_enqueue_bulk_elem(mgw_shm_report_ring(&w), msg, 64, 1, NULL), 1);
	ck_assert_uint_eq(rte_ring_dequeue_burst_elem(mgw_shm_report_ring(&r), got, 64, 1, NULL), 1);
	ck_assert_mem_eq(got, msg, 64);
	mgw_shm_close(&r);
	mgw_shm_close(&w);
}
END_TEST

/* ------------------------------------------------------------------ main */

static void remove_leftovers(void)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "mgw.ut_%ld_", (long)runner_pid);
	DIR *dir = opendir("/dev/shm");
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			char p[512];
			snprintf(p, sizeof p, "/dev/shm/%s", e->d_name);
			fprintf(stderr, "test_shm: removing leftover %s\n", p);
			unlink(p);
		}
	}
	closedir(dir);
}

static Suite *shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("segment");
	tcase_add_test(tc, test_create_attach_same_header);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_order_rings_without_eal);
	tcase_add_test(tc, test_create_bad_params);
	tcase_add_test(tc, test_label_checker);
	tcase_add_test(tc, test_counter_table);
	tcase_add_test(tc, test_counter_total);
	tcase_add_test(tc, test_attach_not_ready);
	tcase_add_test(tc, test_attach_missing);
	tcase_add_test(tc, test_attach_too_small);
	tcase_add_test(tc, test_attach_bad_magic);
	tcase_add_test(tc, test_attach_other_abi);
	tcase_add_test(tc, test_attach_inconsistent_layout);
	tcase_add_test(tc, test_create_live_fake_owner);
	tcase_add_test(tc, test_create_stale_replaced);
	tcase_add_test(tc, test_create_live_child_owner);
	tcase_add_test(tc, test_create_live_owner_other_user);
	tcase_add_test(tc, test_cmd_ring_without_eal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "test_shm: no /dev/shm, skipping\n");
		return 77;
	}
	runner_pid = getpid();
	SRunner *sr = srunner_create(shm_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_leftovers();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
