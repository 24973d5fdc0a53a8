/*
 * mgw_shm.c - create, lay out and attach the dataplane's shared segment.
 *
 * The dataplane creates and fills the segment, then publishes it by storing
 * hdr.ready last with release order; readers check magic, ABI version and
 * size before they trust any offset, and only then wait for `ready`.
 */
#include "mgw_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ring.h>

/* The description table, generated from the one counter list. */
static const struct {
	const char *name, *labels, *help;
	uint32_t kind;
} ctr_table[MGW_CTR__COUNT] = {
#define MGW_KIND_C MGW_CTR_COUNTER
#define MGW_KIND_G MGW_CTR_GAUGE
#define MGW_X_DESC(id, kind, name, labels, help) [MGW_CTR_##id] = {name, labels, help, MGW_KIND_##kind},
	MGW_COUNTERS(MGW_X_DESC)
#undef MGW_X_DESC
};

#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))

int mgw_shm_path(const char *instance, char *out, size_t cap)
{
	int n = snprintf(out, cap, "/dev/shm/mgw.%s", instance);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static const char *shm_name(const char *path)
{
	return path + strlen("/dev/shm"); /* "/mgw.<instance>" for shm_open */
}

/* Refuse to replace the segment of a dataplane that is still alive. */
static int check_stale(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	struct mgw_shm_hdr h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || h.magic != MGW_SHM_MAGIC)
		return 0;
	/* kill() fails with EPERM for a live process of another user: alive too. */
	if (h.dp_pid > 0 && h.dp_pid != getpid() &&
	    (kill(h.dp_pid, 0) == 0 || errno == EPERM) &&
	    atomic_load(&h.state) != MGW_DP_STOPPED)
		return -EBUSY;
	return 0;
}

int mgw_shm_create(const struct mgw_shm_params *p, struct mgw_shm *out)
{
	memset(out, 0, sizeof(*out));
	if (p->n_lcores == 0 || p->n_lcores > MGW_SHM_MAX_LCORES || p->n_ports > MGW_SHM_MAX_PORTS)
		return -EINVAL;
	int rc = mgw_shm_path(p->instance, out->path, sizeof(out->path));
	if (rc)
		return rc;
	rc = check_stale(out->path);
	if (rc)
		return rc;

	uint64_t off = ALIGN_UP(sizeof(struct mgw_shm_hdr), 4096);
	uint64_t desc_off = off;
	off = ALIGN_UP(off + MGW_CTR__COUNT * sizeof(struct mgw_shm_counter_desc), 64);
	uint32_t stride = (uint32_t)ALIGN_UP(MGW_CTR__COUNT * sizeof(uint64_t), 64);
	uint64_t blocks_off = off;
	off = ALIGN_UP(off + (uint64_t)p->n_lcores * stride, 64);
	uint64_t feed_off = off;
	off = ALIGN_UP(off + MGW_SHM_MAX_SESSIONS * sizeof(struct mgw_shm_feed_session), 64);
	uint64_t ports_off = off;
	off = ALIGN_UP(off + MGW_SHM_MAX_PORTS * sizeof(struct mgw_shm_port), 64);
	uint64_t ring_off = off;
	ssize_t ring_sz = rte_ring_get_memsize(MGW_SHM_CMD_RING_SIZE);
	if (ring_sz < 0)
		return (int)ring_sz;
	off = ALIGN_UP(off + (uint64_t)ring_sz, 64);
	uint64_t slots_off = off;
	uint32_t slot_size = (uint32_t)ALIGN_UP(sizeof(struct mgw_cmd_slot), 64);
	off = ALIGN_UP(off + (uint64_t)MGW_SHM_CMD_SLOTS * slot_size, 64);
	/* The order path exists only with a match lcore: without one nobody
	   would consume the order ring or answer match commands. */
	uint64_t mcmd_off = 0, order_off = 0, report_off = 0;
	if (p->order_ring_size || p->report_ring_size) {
		const uint32_t es = 64; /* sizeof(struct dp_order_msg) == sizeof(struct dp_exec_report) */
		ssize_t osz = rte_ring_get_memsize_elem(es, p->order_ring_size);
		ssize_t rsz = rte_ring_get_memsize_elem(es, p->report_ring_size);
		if (osz < 0 || rsz < 0 || p->order_ring_size < 64 || p->report_ring_size < 64)
			return -EINVAL;
		mcmd_off = off;
		off = ALIGN_UP(off + (uint64_t)ring_sz, 64);
		order_off = off;
		off = ALIGN_UP(off + (uint64_t)osz, 64);
		report_off = off;
		off = ALIGN_UP(off + (uint64_t)rsz, 64);
	}
	off = ALIGN_UP(off, 4096);

	shm_unlink(shm_name(out->path));
	int fd = shm_open(shm_name(out->path), O_CREAT | O_EXCL | O_RDWR, 0640);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)off) != 0) {
		rc = -errno;
		goto fail_fd;
	}
	void *base = mmap(NULL, off, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		goto fail_fd;
	}
	close(fd);

	out->base = base;
	out->size = off;
	out->owner = 1;
	struct mgw_shm_hdr *h = out->hdr = base;
	h->magic = MGW_SHM_MAGIC;
	h->abi_version = MGW_SHM_ABI_VERSION;
	h->hdr_size = sizeof(*h);
	h->total_size = off;
	snprintf(h->instance, sizeof(h->instance), "%s", p->instance);
	snprintf(h->version, sizeof(h->version), "%s", p->version ? p->version : "");
	h->dp_pid = getpid();
	atomic_store(&h->state, MGW_DP_STARTING);
	h->n_lcores = p->n_lcores;
	h->n_counters = MGW_CTR__COUNT;
	h->block_stride = stride;
	h->desc_off = desc_off;
	h->blocks_off = blocks_off;
	h->feed_off = feed_off;
	h->n_sessions_max = MGW_SHM_MAX_SESSIONS;
	h->n_ports = p->n_ports;
	h->ports_off = ports_off;
	h->cmd_ring_off = ring_off;
	h->cmd_slots_off = slots_off;
	h->n_cmd_slots = MGW_SHM_CMD_SLOTS;
	h->cmd_slot_size = slot_size;
	h->match_cmd_ring_off = mcmd_off;
	h->order_ring_off = order_off;
	h->report_ring_off = report_off;
	h->order_ring_size = order_off ? p->order_ring_size : 0;
	h->report_ring_size = report_off ? p->report_ring_size : 0;
	h->report_hiwat = report_off ? p->report_ring_size - 1 - mgw_report_headroom(p->report_ring_size) : 0;
	h->order_elem_size = 64;

	struct mgw_shm_counter_desc *d = (struct mgw_shm_counter_desc *)((char *)base + desc_off);
	for (uint32_t i = 0; i < MGW_CTR__COUNT; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", ctr_table[i].name);
		snprintf(d[i].labels, sizeof(d[i].labels), "%s", ctr_table[i].labels);
		snprintf(d[i].help, sizeof(d[i].help), "%s", ctr_table[i].help);
		d[i].id = i;
		d[i].kind = ctr_table[i].kind;
	}
	/* Single producer (control), single consumer (the book lcore). */
	rc = rte_ring_init(mgw_shm_cmd_ring(out), "mgw_cmd", MGW_SHM_CMD_RING_SIZE,
			   RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rc) {
		mgw_shm_close(out);
		return rc;
	}
	if (mcmd_off) {
		/* Control (single producer) -> the match lcore (single consumer). */
		rc = rte_ring_init(mgw_shm_match_cmd_ring(out), "mgw_mcmd", MGW_SHM_CMD_RING_SIZE,
				   RING_F_SP_ENQ | RING_F_SC_DEQ);
		/* Orders: any number of producers (tests, order entry, tools), the match
		   lcore consumes. Reports: the match lcore produces, consumers may be several. */
		if (!rc)
			rc = rte_ring_init(mgw_shm_order_ring(out), "mgw_orders", p->order_ring_size,
					   RING_F_SC_DEQ);
		if (!rc)
			rc = rte_ring_init(mgw_shm_report_ring(out), "mgw_reports", p->report_ring_size,
					   RING_F_SP_ENQ);
		if (rc) {
			mgw_shm_close(out);
			return rc;
		}
	}
	return 0;

fail_fd:
	close(fd);
	shm_unlink(shm_name(out->path));
	return rc;
}

void mgw_shm_publish(struct mgw_shm *s)
{
	/* Pairs with the acquire load in mgw_shm_attach(). */
	atomic_store_explicit(&s->hdr->ready, 1, memory_order_release);
}

void mgw_shm_close(struct mgw_shm *s)
{
	if (!s || !s->base)
		return;
	if (s->owner)
		shm_unlink(shm_name(s->path));
	munmap(s->base, s->size);
	s->base = NULL;
	s->hdr = NULL;
}

int mgw_shm_attach(const char *instance, struct mgw_shm *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc = mgw_shm_path(instance, out->path, sizeof(out->path));
	if (rc) {
		snprintf(err, errlen, "instance name too long");
		return rc;
	}
	int fd = open(out->path, O_RDWR);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "no dataplane segment %s (%s): is mgw-dataplane running?",
			 out->path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(struct mgw_shm_hdr)) {
		close(fd);
		snprintf(err, errlen, "segment %s is too small: not an mgw segment, or still being created",
			 out->path);
		return -EAGAIN;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = -errno;
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", out->path, strerror(-rc));
		return rc;
	}
	struct mgw_shm_hdr *h = base;
	if (h->magic != MGW_SHM_MAGIC) {
		snprintf(err, errlen, "%s is not an mgw segment (bad magic)", out->path);
		rc = -EPROTO;
		goto fail;
	}
	if (h->abi_version != MGW_SHM_ABI_VERSION) {
		snprintf(err, errlen,
			 "%s has shared-memory ABI version %u, this program speaks %u: run matching "
			 "mgw-dataplane and mgw-control versions",
			 out->path, h->abi_version, MGW_SHM_ABI_VERSION);
		rc = -EPROTO;
		goto fail;
	}
	/* Pairs with the release store in mgw_shm_publish(). */
	if (!atomic_load_explicit(&h->ready, memory_order_acquire)) {
		snprintf(err, errlen, "dataplane segment %s is not ready yet", out->path);
		rc = -EAGAIN;
		goto fail;
	}
	if (h->total_size != (uint64_t)st.st_size || h->n_counters > MGW_CTR__COUNT * 4 ||
	    h->blocks_off + (uint64_t)h->n_lcores * h->block_stride > h->total_size ||
	    h->cmd_slots_off + (uint64_t)h->n_cmd_slots * h->cmd_slot_size > h->total_size ||
	    h->match_cmd_ring_off >= h->total_size || h->order_ring_off >= h->total_size ||
	    h->report_ring_off >= h->total_size ||
	    (h->order_ring_off && h->order_elem_size != 64)) {
		snprintf(err, errlen, "%s has an inconsistent layout", out->path);
		rc = -EPROTO;
		goto fail;
	}
	out->base = base;
	out->size = (size_t)st.st_size;
	out->hdr = h;
	return 0;
fail:
	munmap(base, (size_t)st.st_size);
	return rc;
}

uint64_t mgw_shm_counter_total(const struct mgw_shm *s, uint32_t id)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < s->hdr->n_lcores; i++)
		sum += mgw_ctr_read(mgw_shm_block(s, i), id);
	return sum;
}
