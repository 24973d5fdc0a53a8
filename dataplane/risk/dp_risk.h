/*
 * dp_risk.h - pre-trade risk for the client order path.
 *
 * Every NEW and REPLACE is checked (dp_risk_check) before the matcher sees
 * it, and every execution report is fed back (dp_risk_on_report), so the
 * credit and position checks see what is resting, what was filled and what
 * was cancelled. The match stage does both in one call, dp_risk_match,
 * which also drives the engine and keeps risk's part of each live order
 * beside the engine's record. The library keeps, per
 * account, the limits, the open exposure and the positions with their P&L;
 * per session, the message-rate throttle, the kill flag and the client order
 * ids used today.
 *
 * Memory is taken once at dp_risk_create(), sized from dp_risk_cfg, and
 * never again; every table is an open-addressing hash probed in O(1)
 * expected time (with a bitmap per session for ids and a direct index
 * for small account and session ids in front), so a check or a report
 * costs a handful of probes.
 * When a table is full the order is refused (fail closed) and counted.
 *
 * Money is integer. Prices are Price(4) ticks (1/10000 dollar), quantities
 * shares, so a notional price * qty is in 1/10000 dollar; sums are kept in
 * 128-bit integers and reported as int64 clamped to its range (9.2e14
 * dollars, out of reach in practice). No floating point anywhere.
 *
 * One dp_risk is owned by one lcore: no locking, not thread safe. Limit
 * changes and kill switches are applied by that lcore when it serves a
 * command from the command ring. docs/RISK.md describes every check.
 */
#ifndef DP_RISK_H
#define DP_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_mem.h"
#include "dp_order.h"

/* struct dp_ref_px (the reference BBO) is defined in dp_order.h. */

/* Which checks of an account are on (dp_risk_limits.enabled). */
enum dp_risk_chk {
	DP_RISK_CHK_MAX_QTY = 1u << 0,
	DP_RISK_CHK_MAX_NOTIONAL = 1u << 1,
	DP_RISK_CHK_COLLAR = 1u << 2,
	DP_RISK_CHK_CREDIT = 1u << 3,
	DP_RISK_CHK_MAX_POSITION = 1u << 4,
	DP_RISK_CHK_ALL = 0x1f,
};

/* Per-account limits. A limit is enforced only when its bit is in enabled. */
struct dp_risk_limits {
	uint32_t enabled;            /* dp_risk_chk bits */
	uint32_t max_order_qty;      /* shares per order (REPLACE: the new qty) */
	uint64_t max_order_notional; /* price * qty, 1/10000 dollar */
	uint32_t collar_bps;         /* limit price within this many bp of the reference mid */
	uint32_t pad;
	uint64_t credit_limit;       /* gross open exposure, 1/10000 dollar */
	uint64_t max_position;       /* |position + same-side open qty + order| per symbol, shares */
};

/* Sizes, fixed at create. */
struct dp_risk_cfg {
	uint32_t max_accounts;  /* accounts with limits */
	uint32_t max_sessions;  /* order entry sessions seen in a day */
	uint32_t max_symbols;   /* locates 0..max_symbols-1 accepted (<= 65536) */
	uint32_t max_positions; /* (account, symbol) pairs traded or restricted in a day */
	uint32_t max_orders;    /* orders live at once (pending or resting) */
	uint32_t max_ids;       /* client order ids remembered in a day, all sessions */
	uint32_t default_orders_per_sec; /* throttle of a session not set explicitly; 0 = none */
};

/* Kill switch levels. */
enum dp_risk_level { DP_RISK_GLOBAL = 0, DP_RISK_ACCOUNT = 1, DP_RISK_SESSION = 2 };

/* dp_risk_set_restricted() account value meaning "every account". */
#define DP_RISK_ALL_ACCOUNTS UINT32_MAX

/* Counters. Single writer (the owning lcore); readers take a copy. */
struct dp_risk_stats {
	uint64_t checked;        /* NEW and REPLACE seen by dp_risk_check */
	uint64_t passed;         /* of which passed */
	uint64_t cancels;        /* CANCEL and MASS_CANCEL passed through (never blocked) */
	uint64_t rejected[64];   /* by dp_reject_reason code */
	uint64_t ids_full;       /* refused (DP_RJ_BOOK_FULL): id table full */
	uint64_t orders_full;    /* refused (DP_RJ_BOOK_FULL): order table full */
	uint64_t positions_full; /* refused (DP_RJ_BOOK_FULL): position table full */
	uint64_t sessions_full;  /* refused (DP_RJ_BOOK_FULL): session table full */
	uint64_t kill_on[3];     /* kill switch activations, by dp_risk_level */
	uint64_t kill_off[3];    /* releases, by dp_risk_level */
	uint64_t reports;        /* reports seen by dp_risk_on_report */
	uint64_t reports_untracked; /* about an order or account risk does not know */
	uint64_t fills_untracked;   /* fills whose position could not be kept (table full, unknown account) */
	uint64_t limit_changes;  /* successful set_limits / set_restricted / set_throttle calls */
};

/* Position and P&L of one account in one symbol. */
struct dp_risk_pos {
	int64_t qty;            /* shares, > 0 long, < 0 short */
	uint32_t avg_px;        /* average cost, Price(4), rounded half up; 0 when flat */
	uint32_t pad;
	int64_t cost;           /* |qty| * average cost, 1/10000 dollar (exact, unrounded) */
	int64_t realized;       /* realized P&L, 1/10000 dollar */
	int64_t unrealized;     /* against the mid passed in, 1/10000 dollar, rounded toward 0 */
	uint64_t open_buy_qty;  /* leaves of live buy orders */
	uint64_t open_sell_qty; /* leaves of live sell orders */
	bool restricted;        /* restricted for this account (not counting all-accounts) */
};

/* Exposure of one account. */
struct dp_risk_acct {
	int64_t open_notional;  /* sum of leaves * price of live orders */
	int64_t position_cost;  /* sum over symbols of |qty| * average cost */
	int64_t exposure;       /* the two added: what the credit limit bounds */
	int64_t realized;       /* realized P&L over all symbols */
	uint32_t live_orders;
	bool killed;
};

struct dp_risk;

/* Bytes dp_risk_create() allocates for cfg (sizing and docs); 0 if cfg is bad. */
size_t dp_risk_mem_size(const struct dp_risk_cfg *cfg);

/*
 * Create. Returns 0 and *out; -EINVAL for a bad cfg (a zero size,
 * max_symbols > 65536, a size >= 2^30); -ENOMEM if allocation failed.
 * One allocation through mem (or calloc), nothing after.
 */
int dp_risk_create(struct dp_risk **out, const struct dp_risk_cfg *cfg,
		   const struct dp_mem *mem);
void dp_risk_destroy(struct dp_risk *r); /* accepts NULL */

/*
 * Limits of an account; the first call makes the account known (an order
 * from an account never given limits is refused). Returns 0, -EINVAL (NULL,
 * or account == DP_RISK_ALL_ACCOUNTS), -ENOSPC (account table full).
 */
int dp_risk_set_limits(struct dp_risk *r, uint32_t account, const struct dp_risk_limits *l);
/* Returns 0 and *l, -ENOENT for an unknown account. */
int dp_risk_get_limits(const struct dp_risk *r, uint32_t account, struct dp_risk_limits *l);

/*
 * Restrict (or release) a symbol for one account or for DP_RISK_ALL_ACCOUNTS.
 * Returns 0, -EINVAL (symbol out of range), -ENOENT (unknown account),
 * -ENOSPC (position table full: the restriction lives in the account's
 * position entry for the symbol).
 */
int dp_risk_set_restricted(struct dp_risk *r, uint32_t account, uint16_t symbol, bool on);

/*
 * Orders per second a session may send (NEW and REPLACE; 0 = unlimited).
 * Makes the session known. Returns 0, -ENOSPC (session table full).
 */
int dp_risk_set_throttle(struct dp_risk *r, uint32_t session, uint32_t orders_per_sec);

/*
 * Check one message before it goes to the matcher. now_ns is the caller's
 * clock (read once per loop pass), used only by the throttle. Returns
 * DP_RJ_NONE if the order may go on, else the reason to reject it with.
 * CANCEL and MASS_CANCEL always pass, even under a kill switch. A NEW or
 * REPLACE that passes is recorded as a pending order (its exposure counts
 * from now on): the caller must later feed the matcher's reports about it
 * (ACCEPTED then FILL / CANCELLED, or REJECTED) to dp_risk_on_report(); an
 * order that passed but was never given to the matcher must be closed with
 * a synthetic REJECTED report. Order of checks: docs/RISK.md.
 */
enum dp_reject_reason dp_risk_check(struct dp_risk *r, const struct dp_order_msg *m,
				    const struct dp_ref_px *ref, uint64_t now_ns);

/*
 * Hint: m will be checked soon; start loading the table slots it touches
 * (ids, live orders, session, account, position). Call it a few messages
 * ahead of dp_risk_check in a burst; it changes nothing.
 */
void dp_risk_prefetch(const struct dp_risk *r, const struct dp_order_msg *m);

/*
 * Learn from one execution report: live order leaves and prices (open
 * exposure), positions and realized P&L from fills. Reports must carry the
 * session and the order's current cl_ord_id (for REPLACED, and for the
 * REJECTED / CANCEL_REJECTED of a replace, the replace's new id). Never
 * fails; reports about unknown orders are counted.
 */
void dp_risk_on_report(struct dp_risk *r, const struct dp_exec_report *rep);

/* dp_risk_on_report for each of rep[0..n), in order. */
void dp_risk_on_reports(struct dp_risk *r, const struct dp_exec_report *rep, uint32_t n);

struct dp_match;

/*
 * Risk and the matching engine m in one call, what the match stage does
 * with a message: a NEW or REPLACE is checked (dp_risk_check) and, if it
 * passes, given to the engine (dp_match_process); CANCEL, MASS_CANCEL and
 * other kinds go to the engine unchecked (cancels only reduce risk; the
 * engine rejects a bad kind); every report the engine writes to out is fed
 * back (dp_risk_on_reports). The kind is told apart once and the ids are
 * hashed once for both libraries.
 *
 * Returns the reports written to out[0..cap). *refused is DP_RJ_NONE, or
 * the reason the risk check refused a NEW or REPLACE: then nothing was
 * written, the engine never saw the message, and the caller reports the
 * refusal (REJECTED, CANCEL_REJECTED for a replace). Pausing as
 * dp_match_process: while dp_match_pending(m), continue with
 * dp_risk_match_resume (never dp_match_resume: its reports must reach
 * risk). cap < DP_MATCH_MIN_CAP or a call while paused: the engine refuses
 * it (stats.misuse) and risk records nothing; 0 is returned.
 */
uint32_t dp_risk_match(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
		       const struct dp_ref_px *ref, uint64_t now_ns, struct dp_exec_report *out,
		       uint32_t cap, uint8_t *refused);
/*
 * Hints for dp_risk_match in two stages (what dp_risk_prefetch and
 * dp_match_prefetch do, split so that no hint waits on a load of its
 * own): _early about 2K messages ahead of the message's dp_risk_match,
 * _late about K ahead (the match lcore and mgw-bench-match use K = 3).
 * The late stage also loads risk's record of a cancel's or replace's
 * target, and of the first resting order a marketable new order would
 * meet, whose position it loads two calls later. Change nothing risk or
 * the engine holds (the late stage keeps those two guesses in r); any
 * message is accepted.
 */
void dp_risk_match_prefetch_early(const struct dp_risk *r, const struct dp_match *m,
				  const struct dp_order_msg *msg);
void dp_risk_match_prefetch_late(struct dp_risk *r, const struct dp_match *m,
				 const struct dp_order_msg *msg);
/* dp_match_resume, its reports fed to risk. */
uint32_t dp_risk_match_resume(struct dp_risk *r, struct dp_match *m, struct dp_exec_report *out,
			      uint32_t cap);

/*
 * Position and P&L of (account, symbol); mid_px is the reference mid in
 * Price(4) for the unrealized P&L (0: unrealized reported as 0). Returns 0,
 * -ENOENT (unknown account, or nothing ever traded or restricted there).
 */
int dp_risk_position(const struct dp_risk *r, uint32_t account, uint16_t symbol,
		     uint32_t mid_px, struct dp_risk_pos *out);

/* Exposure of an account. Returns 0, -ENOENT. */
int dp_risk_account(const struct dp_risk *r, uint32_t account, struct dp_risk_acct *out);

/* Reference mid, Price(4), rounded half up; 0 if the reference is not usable. */
uint32_t dp_risk_mid(const struct dp_ref_px *ref);

/*
 * Kill switch on or off at a level (key: account or session id; ignored for
 * GLOBAL). While on, NEW and REPLACE are refused with DP_RJ_KILL_SWITCH.
 * Risk cannot cancel resting orders itself: when switching on, it fills
 * *cancel (if not NULL) with the DP_ORD_MASS_CANCEL message (DP_MASS_ALL /
 * ACCOUNT / SESSION) that the match stage glue must feed to the matcher.
 * Returns 1 when *cancel was filled (switched on), 0 when switched off,
 * -EINVAL (bad level), -ENOENT (unknown account), -ENOSPC (session table
 * full). A session may be killed before it has sent anything.
 */
int dp_risk_kill(struct dp_risk *r, enum dp_risk_level level, uint32_t key, bool on,
		 struct dp_order_msg *cancel);
/* Whether a kill switch is on: 1 on, 0 off, -ENOENT unknown key. */
int dp_risk_killed(const struct dp_risk *r, enum dp_risk_level level, uint32_t key);

/*
 * Start a new trading day: forget client order ids and throttle windows.
 * Limits, kill switches, positions and live orders stay.
 */
void dp_risk_new_day(struct dp_risk *r);

void dp_risk_stats(const struct dp_risk *r, struct dp_risk_stats *out);

/*
 * Recompute open exposure and open quantities from the live orders and
 * compare with the running sums. Returns 0 if consistent, else a negative
 * number naming the first mismatch (tests and debug builds). O(table size).
 */
int dp_risk_verify(const struct dp_risk *r);

#endif /* DP_RISK_H */
