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

/* "live" or "restart". */
const char *ctl_cfg_apply_name(enum ctl_cfg_apply a);

#endif /* CTL_CONFIG_DIFF_H */
