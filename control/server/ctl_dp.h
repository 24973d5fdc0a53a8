/*
 * ctl_dp.h - mgw-control's link to the dataplane's shared segment.
 *
 * Attach when the segment appears, notice when the dataplane went away or
 * was restarted (state, pid, heartbeat, a different segment file), and
 * re-attach. Commands are posted into free slots and polled, never waited
 * for: the control event loop stays responsive and a stuck dataplane only
 * costs the CLI caller a timeout.
 */
#ifndef CTL_DP_H
#define CTL_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mgw_shm.h"

struct ctl_dp {
	char instance[32];
	bool attached;
	struct mgw_shm shm;
	dev_t dev;
	ino_t ino;                 /* identity of the mapped segment file */
	char last_err[256];        /* why we are not attached */
	uint32_t next_seq;
	bool abandoned[MGW_SHM_CMD_SLOTS]; /* timed out: wait for DONE before reuse */
	uint64_t attaches;         /* successful attaches since start */
};

void ctl_dp_init(struct ctl_dp *d, const char *instance);

/*
 * Called periodically: attach if detached; detach if the segment is gone,
 * replaced, stopped or its pid is dead. Returns true if attached afterwards.
 */
bool ctl_dp_check(struct ctl_dp *d);

void ctl_dp_detach(struct ctl_dp *d);

/* Heartbeat age in ms (UINT64_MAX if detached). */
uint64_t ctl_dp_heartbeat_age_ms(const struct ctl_dp *d);

/*
 * Post a command: fills a free slot with type and request (copied from
 * req, req_len bytes into slot->req), enqueues it. Returns the slot index
 * (>= 0) with *seq set, or -ENOTCONN (detached), -EBUSY (no free slot or
 * ring full), -ENODEV (a match command but the dataplane has no match
 * lcore). The ring is chosen by type (mgw_shm_cmd_ring_for): the slots are
 * shared, the book and match lcores each consume their own ring.
 */
int ctl_dp_post(struct ctl_dp *d, uint32_t type, const void *req, size_t req_len, uint32_t *seq);

/*
 * Poll a posted slot: returns the slot if DONE (caller reads the response,
 * then calls ctl_dp_release), NULL if not yet.
 */
struct mgw_cmd_slot *ctl_dp_poll(struct ctl_dp *d, int slot);
void ctl_dp_release(struct ctl_dp *d, int slot);
/* Give up on a slot (timeout): it is reused only after the dataplane answers. */
void ctl_dp_abandon(struct ctl_dp *d, int slot);

#endif /* CTL_DP_H */
