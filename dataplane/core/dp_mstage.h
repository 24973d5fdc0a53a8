/*
 * dp_mstage.h - the match stage's per-message logic, without rings.
 *
 * One order message in, execution reports out: reference price from the
 * reference table, then risk check (NEW, REPLACE), the matching engine and
 * every engine report back to risk in one dp_risk_match call, so exposure
 * and positions follow what happened. Counters for every outcome go to the
 * lcore's counter block. The match lcore (dp_lcore.c) wraps this with the
 * order and report rings and the backpressure rule; unit tests drive it
 * over plain arrays. No DPDK, no allocation, no syscalls.
 */
#ifndef DP_MSTAGE_H
#define DP_MSTAGE_H

#include <stdint.h>

#include "dp_match.h"
#include "dp_order.h"
#include "dp_ref.h"
#include "dp_risk.h"

#define DP_MSTAGE_MAX_SYMBOLS 65536
#define DP_MSTAGE_MAX_RESTRICT 1024 /* (account, name) pairs: accounts x restricted symbols */

/* A restricted symbol named in the config (or by `risk set ... restrict`),
   applied to the locate once the feed has named it. */
struct dp_mstage_restrict {
	uint32_t account;
	uint8_t on;       /* 1 restrict, 0 release */
	char name[9];
};

struct dp_mstage {
	struct dp_match *m;
	struct dp_risk *r;
	const struct dp_ref_table *ref;
	uint64_t *ctr;                 /* counter block (mgw_counters.h ids) */
	uint32_t max_symbols;
	/* a message put in by a command (kill switch mass cancel), taken before
	   the next order from the ring */
	uint32_t has_inject;
	struct dp_order_msg inject;
	/* restricted names and the locates already matched against them */
	uint32_t n_restrict;
	struct dp_mstage_restrict restrict_[DP_MSTAGE_MAX_RESTRICT];
	uint64_t named[DP_MSTAGE_MAX_SYMBOLS / 64];  /* locate looked up against restrict_[] */
	uint64_t traded[DP_MSTAGE_MAX_SYMBOLS / 64]; /* locate had a fill (positions command) */
};

/* Fill s (caller-owned memory, zeroed here). */
void dp_mstage_init(struct dp_mstage *s, struct dp_match *m, struct dp_risk *r,
		    const struct dp_ref_table *ref, uint64_t *ctr, uint32_t max_symbols);

/*
 * Add a restricted (on = 1) or released (on = 0) symbol name for an
 * account; it applies to the locate carrying that name as soon as the feed
 * has named it (checked at the first order on each locate, and again for
 * every locate after each call). Returns 0 or -ENOSPC.
 */
int dp_mstage_restrict(struct dp_mstage *s, uint32_t account, const char *name, int on);

/*
 * Handle one message. backpressure != 0 refuses a NEW or REPLACE at once
 * with DP_RJ_BACKPRESSURE (cancels still go through: they only reduce
 * risk). cap >= DP_MATCH_MIN_CAP. Returns the reports written to out;
 * if dp_mstage_pending() is then non-zero the engine paused and the caller
 * must call dp_mstage_resume() (with room for cap more) before the next
 * message.
 */
uint32_t dp_mstage_msg(struct dp_mstage *s, const struct dp_order_msg *msg, uint64_t now_ns,
		       int backpressure, struct dp_exec_report *out, uint32_t cap);
uint32_t dp_mstage_resume(struct dp_mstage *s, struct dp_exec_report *out, uint32_t cap);

static inline int dp_mstage_pending(const struct dp_mstage *s)
{
	return dp_match_pending(s->m);
}

/* Queue a message (a kill switch's mass cancel) ahead of the order ring. -EBUSY if one waits. */
int dp_mstage_inject(struct dp_mstage *s, const struct dp_order_msg *msg);

/* Counter id of a reject reason (mgw_order_rejects_total). */
uint32_t dp_mstage_reason_ctr(uint8_t reason);

#endif /* DP_MSTAGE_H */
