/*
 * ctl_config_diff.h - the config as a flat list of keys, and the difference
 * between two configs, each changed key classified "live" or "restart".
 *
 * mgw-control uses it for `config show` (every key with its value),
 * `config validate` (what a file would change) and `config reload` (refuse
 * the whole reload if a restart-only key changed, else apply the live keys
 * as one epoch). Keys are paths as in error messages and docs/CONFIG.md
 * ("ports[0].mtu", "feed.udp_ports"); a list of scalars is one key. Values
 * are rendered as JSON fragments (numbers, true/false, "strings", [lists]),
 * which are also valid YAML flow values, so one rendering serves the text
 * and the JSON output.
 */
#ifndef CTL_CONFIG_DIFF_H
#define CTL_CONFIG_DIFF_H

#include <stdint.h>

#include "ctl_config.h"

#define CTL_CFG_KEY_MAX 96
#define CTL_CFG_VAL_MAX 640 /* 32 quoted dotted quads fit */
#define CTL_DIFF_MAX 64     /* changes kept in detail; the counts cover all */

enum ctl_cfg_apply {
	CTL_CFG_RESTART = 0, /* takes effect only when the process restarts */
	CTL_CFG_LIVE = 1,    /* `config reload` applies it */
};

/* Which process a live key is applied by (bits). */
enum ctl_cfg_side {
	CTL_CFG_SIDE_CONTROL = 1u << 0,
	CTL_CFG_SIDE_DATAPLANE = 1u << 1,
	CTL_CFG_SIDE_RISK = 1u << 2, /* the match lcore's risk state, by `risk set` commands */
};

/* Called once per key, in document order. */
typedef void (*ctl_config_visit_fn)(void *arg, const char *key, const char *value);

/* Every key of c with its value rendered (see above). */
void ctl_config_walk(const struct mgw_config *c, ctl_config_visit_fn fn, void *arg);

/* How a key takes effect; *side (may be NULL) gets the ctl_cfg_side bits of a live key. */
enum ctl_cfg_apply ctl_config_key_apply(const char *key, uint32_t *side);

struct ctl_config_change {
	char key[CTL_CFG_KEY_MAX];
	char old_value[CTL_CFG_VAL_MAX]; /* "(absent)" for a list entry that appeared */
	char new_value[CTL_CFG_VAL_MAX]; /* "(absent)" for a list entry that went away */
	enum ctl_cfg_apply apply;
	uint32_t side;                   /* ctl_cfg_side bits, live keys only */
};

struct ctl_config_diff {
	uint32_t n;           /* changed keys, all of them */
	uint32_t n_live;
	uint32_t n_restart;
	uint32_t live_sides;  /* union of the live changes' sides */
	uint32_t n_kept;      /* entries in ch[] (min(n, CTL_DIFF_MAX)) */
	struct ctl_config_change ch[CTL_DIFF_MAX];
};

/*
 * Changed keys from old to new (the `source` path is not a key). A field
 * the key list does not know yet is still caught: a section whose bytes
 * differ without a listed key changing counts as a restart-only change of
 * "<section> (unlisted key)", so an unknown change is never applied as live.
 * Returns 0, or -1 if out of memory (d then says nothing changed).
 */
int ctl_config_diff(const struct mgw_config *old_cfg, const struct mgw_config *new_cfg,
		    struct ctl_config_diff *d);

/*
 * Risk limits on reload. When a reload changes risk keys, mgw-control sends
 * the match lcore the `risk set` commands (MGW_CMD_RISK_SET, the same as
 * `mgwctl risk set`) that make every account of the new file hold the
 * file's limits and STP mode, compared with what the dataplane holds now
 * (from `risk show`): the file wins over earlier `risk set` changes of those
 * accounts. Restricted symbols follow the file's own change (restrict the
 * names added to an account's list, unrestrict those removed). Accounts
 * only the dataplane knows (created by `risk set`) are left alone.
 */
#define CTL_RISK_KEY_MAX 24
#define CTL_RISK_OPS_MAX (CTL_MAX_ACCOUNTS * (6 + 2 * CTL_MAX_RESTRICTED))

/* What the dataplane holds for one account (a `risk show` row; dollars). */
struct ctl_risk_have {
	uint32_t account;
	uint32_t enabled;            /* ctl_risk_chk bits */
	uint64_t max_order_qty;
	uint64_t max_order_notional; /* dollars */
	uint64_t collar_bps;
	uint64_t credit_limit;       /* dollars */
	uint64_t max_position;
	int stp;                     /* enum ctl_stp in force */
};

/* One `risk set` command, and how to take it back. */
struct ctl_risk_op {
	uint32_t account;
	char key[CTL_RISK_KEY_MAX];  /* max_order_qty .. max_position, stp, restrict, unrestrict */
	char symbol[9];              /* restrict / unrestrict */
	uint8_t creates;             /* 1: the account is new to the dataplane (this op creates it) */
	uint8_t new_account;         /* 1: any op of an account this plan creates */
	uint64_t value;              /* dollars for notional/credit, enum ctl_stp for stp, 0 = check off */
	uint64_t undo;               /* the value in force before (limits, stp) */
};

/*
 * The commands, in order: accounts the dataplane knows first (file order),
 * then new accounts (each one's first command creates it). have/n_have:
 * the dataplane's accounts; max_accounts: how many it can hold. Returns the
 * number of ops (0..cap), or -1 with err set (an account would not fit,
 * more ops than cap, an account removed from the file).
 */
int ctl_config_risk_plan(const struct mgw_config *old_cfg, const struct mgw_config *new_cfg,
			 const struct ctl_risk_have *have, uint32_t n_have, uint32_t max_accounts,
			 struct ctl_risk_op *ops, uint32_t cap, char *err, size_t errcap);

/* "live" or "restart". */
const char *ctl_cfg_apply_name(enum ctl_cfg_apply a);

#endif /* CTL_CONFIG_DIFF_H */
