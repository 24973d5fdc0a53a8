/*
 * ctl_dp.c - attach/re-attach to the dataplane segment and post commands
 * (see ctl_dp.h). Uses only the rte_ring inline functions on the ring that
 * the dataplane initialised inside the segment: no EAL in this process.
 */
#include "ctl_dp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_ring.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ctl_dp_init(struct ctl_dp *d, const char *instance)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->instance, sizeof(d->instance), "%s", instance);
	snprintf(d->last_err, sizeof(d->last_err), "not attached yet");
}

void ctl_dp_detach(struct ctl_dp *d)
{
	if (!d->attached)
		return;
	mgw_shm_close(&d->shm);
	d->attached = false;
	memset(d->abandoned, 0, sizeof(d->abandoned));
}

static bool still_valid(struct ctl_dp *d)
{
	struct stat st;
	if (stat(d->shm.path, &st) != 0 || st.st_ino != d->ino || st.st_dev != d->dev) {
		snprintf(d->last_err, sizeof(d->last_err), "dataplane segment %s went away", d->shm.path);
		return false;
	}
	uint32_t state = atomic_load(&d->shm.hdr->state);
	if (state == MGW_DP_STOPPED) {
		snprintf(d->last_err, sizeof(d->last_err), "dataplane stopped");
		return false;
	}
	if (d->shm.hdr->dp_pid > 0 && kill(d->shm.hdr->dp_pid, 0) != 0 && errno == ESRCH) {
		snprintf(d->last_err, sizeof(d->last_err), "dataplane pid %d died", d->shm.hdr->dp_pid);
		return false;
	}
	return true;
}

bool ctl_dp_check(struct ctl_dp *d)
{
	if (d->attached) {
		if (still_valid(d))
			return true;
		ctl_dp_detach(d);
	}
	int rc = mgw_shm_attach(d->instance, &d->shm, d->last_err, sizeof(d->last_err));
	if (rc != 0)
		return false;
	struct stat st;
	if (stat(d->shm.path, &st) != 0) {
		mgw_shm_close(&d->shm);
		return false;
	}
	d->ino = st.st_ino;
	d->dev = st.st_dev;
	d->attached = true;
	if (!still_valid(d)) {
		ctl_dp_detach(d);
		return false;
	}
	d->attaches++;
	d->last_err[0] = '\0';
	/* Slots left POSTED by an earlier control instance are unknown to us: leave them. */
	for (uint32_t i = 0; i < d->shm.hdr->n_cmd_slots && i < MGW_SHM_CMD_SLOTS; i++)
		if (atomic_load(&mgw_shm_cmd_slot(&d->shm, i)->state) == MGW_CMD_POSTED)
			d->abandoned[i] = true;
	return true;
}

uint64_t ctl_dp_heartbeat_age_ms(const struct ctl_dp *d)
{
	if (!d->attached)
		return UINT64_MAX;
	uint64_t hb = atomic_load(&d->shm.hdr->heartbeat_ns), now = now_ns();
	return now > hb ? (now - hb) / 1000000 : 0;
}

int ctl_dp_post(struct ctl_dp *d, uint32_t type, const void *req, size_t req_len, uint32_t *seq)
{
	if (!d->attached)
		return -ENOTCONN;
	/* Book commands go to the book lcore, order-path ones to the match lcore. */
	struct rte_ring *ring = mgw_shm_cmd_ring_for(&d->shm, type);
	if (!ring)
		return -ENODEV; /* no match lcore configured: nobody would answer */
	uint32_t n = d->shm.hdr->n_cmd_slots;
	if (n > MGW_SHM_CMD_SLOTS)
		n = MGW_SHM_CMD_SLOTS;
	for (uint32_t i = 0; i < n; i++) {
		struct mgw_cmd_slot *s = mgw_shm_cmd_slot(&d->shm, i);
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
		if (d->abandoned[i]) {
			if (st != MGW_CMD_DONE)
				continue;
			d->abandoned[i] = false;
			atomic_store(&s->state, MGW_CMD_FREE);
			st = MGW_CMD_FREE;
		}
		if (st != MGW_CMD_FREE)
			continue;
		if (req_len > sizeof(s->req))
			return -EINVAL;
		s->type = type;
		s->seq = ++d->next_seq;
		s->result = 0;
		memset(&s->req, 0, sizeof(s->req));
		memcpy(&s->req, req, req_len);
		/* Pairs with the dataplane's acquire load in dp_cmd_poll(). */
		atomic_store_explicit(&s->state, MGW_CMD_POSTED, memory_order_release);
		if (rte_ring_enqueue(ring, (void *)(uintptr_t)i) != 0) {
			atomic_store(&s->state, MGW_CMD_FREE);
			return -EBUSY;
		}
		*seq = s->seq;
		return (int)i;
	}
	return -EBUSY;
}

struct mgw_cmd_slot *ctl_dp_poll(struct ctl_dp *d, int slot)
{
	if (!d->attached)
		return NULL;
	struct mgw_cmd_slot *s = mgw_shm_cmd_slot(&d->shm, (uint32_t)slot);
	/* Pairs with the dataplane's release store of DONE. */
	if (atomic_load_explicit(&s->state, memory_order_acquire) != MGW_CMD_DONE)
		return NULL;
	return s;
}

void ctl_dp_release(struct ctl_dp *d, int slot)
{
	if (d->attached)
		atomic_store(&mgw_shm_cmd_slot(&d->shm, (uint32_t)slot)->state, MGW_CMD_FREE);
}

void ctl_dp_abandon(struct ctl_dp *d, int slot)
{
	if (d->attached && slot >= 0 && slot < MGW_SHM_CMD_SLOTS)
		d->abandoned[slot] = true;
}
