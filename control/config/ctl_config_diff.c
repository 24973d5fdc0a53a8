/*
 * ctl_config_diff.c - config key list, live/restart classification and the
 * diff used by `config show|validate|reload` (see ctl_config_diff.h).
 *
 * The key list is written once here (ctl_config_walk) and both the display
 * and the diff come from it, so what an operator sees in `config show` is
 * exactly what a reload compares.
 */
#include "ctl_config_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rendering ------------------------------------------------------------ */

/* Append printf output to a bounded buffer; truncation keeps it terminated. */
static void app(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void app(char *out, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(out);
	if (len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + len, cap - len, fmt, ap);
	va_end(ap);
}

/* A JSON string literal (also a YAML double-quoted scalar). */
static void str_val(char *out, size_t cap, const char *s)
{
	app(out, cap, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			app(out, cap, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			app(out, cap, "\\u%04x", ch);
		else
			app(out, cap, "%c", ch);
	}
	app(out, cap, "\"");
}

static void ipv4_val(char *out, size_t cap, uint32_t ip)
{
	app(out, cap, "\"%u.%u.%u.%u\"", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static const char *huge_name(enum ctl_hugepages h)
{
	switch (h) {
	case CTL_HUGE_ON: return "on";
	case CTL_HUGE_OFF: return "off";
	default: return "auto";
	}
}

struct walker {
	ctl_config_visit_fn fn;
	void *arg;
	char key[CTL_CFG_KEY_MAX];
	char val[CTL_CFG_VAL_MAX];
};

static void emit(struct walker *w)
{
	w->fn(w->arg, w->key, w->val);
}

static void kv_u(struct walker *w, uint64_t v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv_u(struct walker *w, uint64_t v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->key, sizeof(w->key), fmt, ap);
	va_end(ap);
	snprintf(w->val, sizeof(w->val), "%llu", (unsigned long long)v);
	emit(w);
}

static void kv_s(struct walker *w, const char *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv_s(struct walker *w, const char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->key, sizeof(w->key), fmt, ap);
	va_end(ap);
	w->val[0] = '\0';
	str_val(w->val, sizeof(w->val), s);
	emit(w);
}

static void kv_b(struct walker *w, int b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv_b(struct walker *w, int b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->key, sizeof(w->key), fmt, ap);
	va_end(ap);
	snprintf(w->val, sizeof(w->val), "%s", b ? "true" : "false");
	emit(w);
}

/* The keys of one risk account, named with list index i. */
static void walk_account(struct walker *w, const struct ctl_account_cfg *a, uint32_t i)
{
	kv_u(w, a->id, "risk.accounts[%u].id", i);
	/* an absent limit is "off": shown as null so a change to or from it is seen */
	static const struct { uint32_t bit; const char *name; } lim[] = {
		{CTL_RISK_MAX_QTY, "max_order_qty"}, {CTL_RISK_MAX_NOTIONAL, "max_order_notional"},
		{CTL_RISK_COLLAR, "collar_bps"}, {CTL_RISK_CREDIT, "credit_limit"},
		{CTL_RISK_MAX_POSITION, "max_position"},
	};
	const uint64_t vals[] = {a->max_order_qty, a->max_order_notional, a->collar_bps,
				 a->credit_limit, a->max_position};
	for (size_t k = 0; k < sizeof(lim) / sizeof(lim[0]); k++) {
		snprintf(w->key, sizeof(w->key), "risk.accounts[%u].%s", i, lim[k].name);
		if (a->enabled & lim[k].bit)
			snprintf(w->val, sizeof(w->val), "%llu", (unsigned long long)vals[k]);
		else
			snprintf(w->val, sizeof(w->val), "null");
		emit(w);
	}
	kv_s(w, ctl_stp_name(a->stp), "risk.accounts[%u].stp", i);
	snprintf(w->key, sizeof(w->key), "risk.accounts[%u].restricted", i);
	snprintf(w->val, sizeof(w->val), "[");
	for (uint32_t k = 0; k < a->n_restricted && k < CTL_MAX_RESTRICTED; k++) {
		if (k)
			app(w->val, sizeof(w->val), ", ");
		str_val(w->val, sizeof(w->val), a->restricted[k]);
	}
	app(w->val, sizeof(w->val), "]");
	emit(w);
}

void ctl_config_walk(const struct mgw_config *c, ctl_config_visit_fn fn, void *arg)
{
	struct walker w = {.fn = fn, .arg = arg};
	kv_s(&w, c->instance, "instance");

	const struct ctl_dataplane_cfg *d = &c->dataplane;
	kv_s(&w, huge_name(d->hugepages), "dataplane.hugepages");
	kv_u(&w, d->memory_mb, "dataplane.memory_mb");
	kv_u(&w, d->main_lcore, "dataplane.main_lcore");
	kv_u(&w, d->burst, "dataplane.burst");
	kv_u(&w, d->ring_size, "dataplane.ring_size");
	for (uint32_t i = 0; i < d->n_lcores && i < CTL_MAX_LCORES; i++) {
		kv_u(&w, d->lcores[i].id, "dataplane.lcores[%u].id", i);
		kv_u(&w, d->lcores[i].cpu, "dataplane.lcores[%u].cpu", i);
		/* roles as a flow list of names, in the fixed bit order */
		static const char *const names[] = {"rx", "book", "match", "oe"};
		snprintf(w.key, sizeof(w.key), "dataplane.lcores[%u].roles", i);
		snprintf(w.val, sizeof(w.val), "[");
		int first = 1;
		for (unsigned b = 0; b < 4; b++)
			if (d->lcores[i].roles & (1u << b)) {
				app(w.val, sizeof(w.val), "%s\"%s\"", first ? "" : ", ", names[b]);
				first = 0;
			}
		app(w.val, sizeof(w.val), "]");
		emit(&w);
	}

	for (uint32_t i = 0; i < c->n_ports && i < CTL_MAX_PORTS; i++) {
		const struct ctl_port_cfg *p = &c->ports[i];
		kv_s(&w, p->name, "ports[%u].name", i);
		kv_s(&w, p->device, "ports[%u].device", i);
		kv_u(&w, p->rx_queues, "ports[%u].rx_queues", i);
		kv_u(&w, p->rx_desc, "ports[%u].rx_desc", i);
		kv_u(&w, p->mtu, "ports[%u].mtu", i);
		kv_b(&w, p->promiscuous, "ports[%u].promiscuous", i);
		kv_b(&w, p->all_multicast, "ports[%u].all_multicast", i);
	}

	const struct ctl_feed_cfg *f = &c->feed;
	snprintf(w.key, sizeof(w.key), "feed.udp_ports");
	snprintf(w.val, sizeof(w.val), "[");
	for (uint32_t i = 0; i < f->n_udp_ports && i < CTL_MAX_UDP_PORTS; i++)
		app(w.val, sizeof(w.val), "%s%u", i ? ", " : "", f->udp_ports[i]);
	app(w.val, sizeof(w.val), "]");
	emit(&w);
	snprintf(w.key, sizeof(w.key), "feed.groups");
	snprintf(w.val, sizeof(w.val), "[");
	for (uint32_t i = 0; i < f->n_groups && i < CTL_MAX_GROUPS; i++) {
		if (i)
			app(w.val, sizeof(w.val), ", ");
		ipv4_val(w.val, sizeof(w.val), f->groups[i]);
	}
	app(w.val, sizeof(w.val), "]");
	emit(&w);

	kv_u(&w, c->book.max_orders, "book.max_orders");
	kv_u(&w, c->book.max_levels, "book.max_levels");
	kv_u(&w, c->book.max_symbols, "book.max_symbols");
	kv_u(&w, c->book.ladders, "book.ladders");

	kv_s(&w, c->control.socket, "control.socket");
	snprintf(w.key, sizeof(w.key), "control.socket_mode");
	snprintf(w.val, sizeof(w.val), "\"%04o\"", c->control.socket_mode);
	emit(&w);
	if (c->control.socket_group_set)
		kv_u(&w, c->control.socket_group, "control.socket_group");
	kv_s(&w, c->control.metrics, "control.metrics");

	kv_s(&w, ctl_acl_role_name(c->access.default_role), "access.default_role");
	for (uint32_t i = 0; i < c->access.n_entries && i < CTL_MAX_ACL; i++) {
		const struct ctl_acl_entry *e = &c->access.entries[i];
		/* names as written, resolved ids otherwise: both say who it is */
		if (e->name[0])
			kv_s(&w, e->name, "access.grants[%u].%s", i, e->is_gid ? "group" : "user");
		else
			kv_u(&w, e->id, "access.grants[%u].%s", i, e->is_gid ? "gid" : "uid");
		kv_s(&w, ctl_acl_role_name(e->role), "access.grants[%u].role", i);
	}

	const struct ctl_matching_cfg *m = &c->matching;
	kv_u(&w, m->max_orders, "matching.max_orders");
	kv_u(&w, m->max_levels, "matching.max_levels");
	kv_u(&w, m->max_sessions, "matching.max_sessions");
	kv_s(&w, ctl_stp_name((int)m->stp), "matching.stp");
	kv_u(&w, m->order_ring_size, "matching.order_ring_size");
	kv_u(&w, m->report_ring_size, "matching.report_ring_size");

	kv_u(&w, c->risk.default_throttle, "risk.default_throttle");
	for (uint32_t i = 0; i < c->risk.n_accounts && i < CTL_MAX_ACCOUNTS; i++)
		walk_account(&w, &c->risk.accounts[i], i);

	kv_u(&w, c->reference.stale_after_ms, "reference.stale_after_ms");
}

/* ---- classification ---------------------------------------------------------- */

/*
 * The live keys; everything else needs a restart. The rx filter is live:
 * it is the one dataplane setting that does not size memory or set up
 * hardware, and the rx lcore can switch it between bursts (dp_feed.h).
 * Every key of an account (limits, STP mode, restricted symbols) is live:
 * a reload sends them as the `risk set` commands of the match lcore's
 * command ring (ctl_config_risk_plan). An account that goes away from the
 * file is a restart change (ctl_config_diff): risk cannot forget an account
 * live. risk.default_throttle sizes nothing, but no command changes it on
 * the match lcore, so it stays restart. Control-side keys join this table
 * as they become live.
 */
static const struct {
	const char *key;
	uint32_t side;
} live_keys[] = {
	{"feed.udp_ports", CTL_CFG_SIDE_DATAPLANE},
	{"feed.groups", CTL_CFG_SIDE_DATAPLANE},
	/* mgw-control looks the caller's role up on every command */
	{"access.", CTL_CFG_SIDE_CONTROL},
	{"risk.accounts[", CTL_CFG_SIDE_RISK},
};

enum ctl_cfg_apply ctl_config_key_apply(const char *key, uint32_t *side)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++) {
		/* an entry ending in '.' or '[' covers a whole section or list */
		size_t n = strlen(live_keys[i].key);
		char last = live_keys[i].key[n - 1];
		int match = last == '.' || last == '[' ? strncmp(key, live_keys[i].key, n) == 0
						      : strcmp(key, live_keys[i].key) == 0;
		if (match) {
			if (side)
				*side = live_keys[i].side;
			return CTL_CFG_LIVE;
		}
	}
	if (side)
		*side = 0;
	return CTL_CFG_RESTART;
}

const char *ctl_cfg_apply_name(enum ctl_cfg_apply a)
{
	return a == CTL_CFG_LIVE ? "live" : "restart";
}

/* ---- diff ---------------------------------------------------------------------- */

struct kv {
	char key[CTL_CFG_KEY_MAX];
	char val[CTL_CFG_VAL_MAX];
};

struct kv_list {
	struct kv *v;
	size_t n, cap;
	int oom;
};

static void collect(void *arg, const char *key, const char *value)
{
	struct kv_list *l = arg;
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 128;
		struct kv *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->oom = 1;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n].key, sizeof(l->v[l->n].key), "%s", key);
	snprintf(l->v[l->n].val, sizeof(l->v[l->n].val), "%s", value);
	l->n++;
}

static void add_change_as(struct ctl_config_diff *d, const char *key, const char *ov, const char *nv,
			  enum ctl_cfg_apply a, uint32_t side)
{
	d->n++;
	if (a == CTL_CFG_LIVE) {
		d->n_live++;
		d->live_sides |= side;
	} else {
		d->n_restart++;
	}
	if (d->n_kept >= CTL_DIFF_MAX)
		return;
	struct ctl_config_change *c = &d->ch[d->n_kept++];
	snprintf(c->key, sizeof(c->key), "%s", key);
	snprintf(c->old_value, sizeof(c->old_value), "%s", ov);
	snprintf(c->new_value, sizeof(c->new_value), "%s", nv);
	c->apply = a;
	c->side = side;
}

static void add_change(struct ctl_config_diff *d, const char *key, const char *ov, const char *nv)
{
	uint32_t side = 0;
	enum ctl_cfg_apply a = ctl_config_key_apply(key, &side);
	add_change_as(d, key, ov, nv, a, side);
}


static const struct kv *find(const struct kv_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

#define ACCT_PREFIX "risk.accounts["

static int find_account(const struct ctl_risk_cfg *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->n_accounts && i < CTL_MAX_ACCOUNTS; i++)
		if (r->accounts[i].id == id)
			return (int)i;
	return -1;
}

/*
 * Accounts are compared by id, not by list position: inserting an account
 * at the top of the list changes nothing for the others, and a reordered
 * list is no change at all. Keys carry the new file's index (the old one
 * for an account that went away). Returns -1 if out of memory.
 */
static int diff_accounts(const struct mgw_config *o, const struct mgw_config *n, struct ctl_config_diff *d)
{
	for (uint32_t i = 0; i < n->risk.n_accounts && i < CTL_MAX_ACCOUNTS; i++) {
		struct kv_list nk = {0}, ok = {0};
		struct walker w = {.fn = collect, .arg = &nk};
		walk_account(&w, &n->risk.accounts[i], i);
		int j = find_account(&o->risk, n->risk.accounts[i].id);
		if (j >= 0) {
			w.arg = &ok;
			walk_account(&w, &o->risk.accounts[j], i); /* named as in the new file */
		}
		if (nk.oom || ok.oom) {
			free(nk.v);
			free(ok.v);
			return -1;
		}
		for (size_t k = 0; k < nk.n; k++) {
			const struct kv *ov = find(&ok, nk.v[k].key);
			if (!ov)
				add_change(d, nk.v[k].key, "(absent)", nk.v[k].val);
			else if (strcmp(ov->val, nk.v[k].val) != 0)
				add_change(d, nk.v[k].key, ov->val, nk.v[k].val);
		}
		free(nk.v);
		free(ok.v);
	}
	for (uint32_t j = 0; j < o->risk.n_accounts && j < CTL_MAX_ACCOUNTS; j++) {
		if (find_account(&n->risk, o->risk.accounts[j].id) >= 0)
			continue;
		char key[CTL_CFG_KEY_MAX], val[32];
		snprintf(key, sizeof(key), ACCT_PREFIX "%u].id", j);
		snprintf(val, sizeof(val), "%u", o->risk.accounts[j].id);
		/* the risk tables cannot forget an account while trading */
		add_change_as(d, key, val, "(absent)", CTL_CFG_RESTART, 0);
	}
	return 0;
}

/* Did any change so far name a key under prefix (a section)? */
static int section_listed(const struct kv_list *a, const struct kv_list *b, const char *prefix)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < a->n; i++) {
		if (strncmp(a->v[i].key, prefix, pl) != 0)
			continue;
		const struct kv *o = find(b, a->v[i].key);
		if (!o || strcmp(o->val, a->v[i].val) != 0)
			return 1;
	}
	for (size_t i = 0; i < b->n; i++)
		if (strncmp(b->v[i].key, prefix, pl) == 0 && !find(a, b->v[i].key))
			return 1;
	return 0;
}

int ctl_config_diff(const struct mgw_config *old_cfg, const struct mgw_config *new_cfg,
		    struct ctl_config_diff *d)
{
	memset(d, 0, sizeof(*d));
	struct kv_list a = {0}, b = {0};
	ctl_config_walk(old_cfg, collect, &a);
	ctl_config_walk(new_cfg, collect, &b);
	if (a.oom || b.oom) {
		free(a.v);
		free(b.v);
		return -1;
	}
	/* Keys in the new document order, then keys that went away; risk
	   accounts by id (diff_accounts), where the risk keys stand. */
	const size_t apl = strlen(ACCT_PREFIX);
	int accounts_done = 0;
	for (size_t i = 0; i < b.n; i++) {
		if (strncmp(b.v[i].key, ACCT_PREFIX, apl) == 0 || strcmp(b.v[i].key, "reference.stale_after_ms") == 0) {
			if (!accounts_done && diff_accounts(old_cfg, new_cfg, d) != 0) {
				free(a.v);
				free(b.v);
				memset(d, 0, sizeof(*d));
				return -1;
			}
			accounts_done = 1;
			if (strncmp(b.v[i].key, ACCT_PREFIX, apl) == 0)
				continue;
		}
		const struct kv *o = find(&a, b.v[i].key);
		if (!o)
			add_change(d, b.v[i].key, "(absent)", b.v[i].val);
		else if (strcmp(o->val, b.v[i].val) != 0)
			add_change(d, b.v[i].key, o->val, b.v[i].val);
	}
	if (!accounts_done && diff_accounts(old_cfg, new_cfg, d) != 0) {
		free(a.v);
		free(b.v);
		memset(d, 0, sizeof(*d));
		return -1;
	}
	for (size_t i = 0; i < a.n; i++)
		if (strncmp(a.v[i].key, ACCT_PREFIX, apl) != 0 && !find(&b, a.v[i].key))
			add_change(d, a.v[i].key, a.v[i].val, "(absent)");

	/*
	 * Safety net for fields added to struct mgw_config before this key list
	 * learns them: compare the sections' bytes (both configs start from the
	 * same memset defaults, so equal values mean equal bytes). A difference
	 * no listed key explains is a restart-only change, never a silent live one.
	 */
#define SECTION(name, field)                                                                  \
	do {                                                                                  \
		if (memcmp(&old_cfg->field, &new_cfg->field, sizeof(old_cfg->field)) != 0 &&   \
		    !section_listed(&b, &a, name))                                            \
			add_change(d, name " (unlisted key)", "?", "?");                      \
	} while (0)
	SECTION("instance", instance);
	SECTION("dataplane", dataplane);
	SECTION("ports", ports);
	SECTION("feed", feed);
	SECTION("book", book);
	SECTION("control", control);
	SECTION("access", access);
	SECTION("matching", matching);
	SECTION("risk", risk);
	SECTION("reference", reference);
#undef SECTION
	/* Fields after `risk` (added later): compare the tail of the struct.
	   match_lcore_set follows from dataplane.lcores, which is listed. */
	size_t tail = offsetof(struct mgw_config, match_lcore_set) + sizeof(old_cfg->match_lcore_set);
	if (tail < sizeof(*old_cfg) &&
	    memcmp((const char *)old_cfg + tail, (const char *)new_cfg + tail, sizeof(*old_cfg) - tail) != 0) {
		int listed = 0;
		for (uint32_t i = 0; i < d->n_kept; i++)
			if (strncmp(d->ch[i].key, "instance", 8) && strncmp(d->ch[i].key, "dataplane", 9) &&
			    strncmp(d->ch[i].key, "ports", 5) && strncmp(d->ch[i].key, "feed", 4) &&
			    strncmp(d->ch[i].key, "book", 4) && strncmp(d->ch[i].key, "control", 7) &&
			    strncmp(d->ch[i].key, "access", 6) && strncmp(d->ch[i].key, "matching", 8) &&
			    strncmp(d->ch[i].key, "risk", 4) && strncmp(d->ch[i].key, "reference", 9))
				listed = 1;
		if (!listed)
			add_change(d, "(unlisted section)", "?", "?");
	}
	free(a.v);
	free(b.v);
	return 0;
}

/* ---- risk limits on reload ------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t bit;
} risk_lim[] = {
	{"max_order_qty", CTL_RISK_MAX_QTY},   {"max_order_notional", CTL_RISK_MAX_NOTIONAL},
	{"collar_bps", CTL_RISK_COLLAR},       {"credit_limit", CTL_RISK_CREDIT},
	{"max_position", CTL_RISK_MAX_POSITION},
};

static uint64_t file_limit(const struct ctl_account_cfg *a, size_t k)
{
	if (!(a->enabled & risk_lim[k].bit))
		return 0; /* absent: check off */
	const uint64_t v[] = {a->max_order_qty, a->max_order_notional, a->collar_bps, a->credit_limit,
			      a->max_position};
	return v[k];
}

static uint64_t have_limit(const struct ctl_risk_have *h, size_t k)
{
	if (!(h->enabled & risk_lim[k].bit))
		return 0;
	const uint64_t v[] = {h->max_order_qty, h->max_order_notional, h->collar_bps, h->credit_limit,
			      h->max_position};
	return v[k];
}

struct plan {
	struct ctl_risk_op *ops;
	uint32_t n, cap;
	int full;
};

static struct ctl_risk_op *plan_add(struct plan *p, uint32_t account, const char *key, uint64_t value,
				    uint64_t undo)
{
	if (p->n == p->cap) {
		p->full = 1;
		return NULL;
	}
	struct ctl_risk_op *op = &p->ops[p->n++];
	memset(op, 0, sizeof(*op));
	op->account = account;
	snprintf(op->key, sizeof(op->key), "%s", key);
	op->value = value;
	op->undo = undo;
	return op;
}

static int has_name(const struct ctl_account_cfg *a, const char *name)
{
	for (uint32_t k = 0; a && k < a->n_restricted && k < CTL_MAX_RESTRICTED; k++)
		if (strcmp(a->restricted[k], name) == 0)
			return 1;
	return 0;
}

/* restrict what the new list added, unrestrict what it dropped (old: NULL = none) */
static void plan_restricted(struct plan *p, const struct ctl_account_cfg *o, const struct ctl_account_cfg *a,
			    uint8_t new_account)
{
	for (uint32_t k = 0; k < a->n_restricted && k < CTL_MAX_RESTRICTED; k++)
		if (!has_name(o, a->restricted[k])) {
			struct ctl_risk_op *op = plan_add(p, a->id, "restrict", 1, 0);
			if (op) {
				snprintf(op->symbol, sizeof(op->symbol), "%s", a->restricted[k]);
				op->new_account = new_account;
			}
		}
	for (uint32_t k = 0; o && k < o->n_restricted && k < CTL_MAX_RESTRICTED; k++)
		if (!has_name(a, o->restricted[k])) {
			struct ctl_risk_op *op = plan_add(p, a->id, "unrestrict", 0, 1);
			if (op)
				snprintf(op->symbol, sizeof(op->symbol), "%s", o->restricted[k]);
		}
}

int ctl_config_risk_plan(const struct mgw_config *old_cfg, const struct mgw_config *new_cfg,
			 const struct ctl_risk_have *have, uint32_t n_have, uint32_t max_accounts,
			 struct ctl_risk_op *ops, uint32_t cap, char *err, size_t errcap)
{
	struct plan p = {ops, 0, cap, 0};
	const struct ctl_risk_cfg *nr = &new_cfg->risk;
	err[0] = '\0';
	for (uint32_t j = 0; j < old_cfg->risk.n_accounts && j < CTL_MAX_ACCOUNTS; j++)
		if (find_account(nr, old_cfg->risk.accounts[j].id) < 0) {
			snprintf(err, errcap, "account %u was removed from risk.accounts: the risk tables cannot "
				 "forget an account live (turn its limits off, or kill it, or restart)",
				 old_cfg->risk.accounts[j].id);
			return -1;
		}
	uint32_t n_new = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < nr->n_accounts && i < CTL_MAX_ACCOUNTS; i++) {
			const struct ctl_account_cfg *a = &nr->accounts[i];
			const struct ctl_risk_have *h = NULL;
			for (uint32_t k = 0; k < n_have; k++)
				if (have[k].account == a->id)
					h = &have[k];
			int oi = find_account(&old_cfg->risk, a->id);
			const struct ctl_account_cfg *o = oi >= 0 ? &old_cfg->risk.accounts[oi] : NULL;
			int want_stp = a->stp >= 0 ? a->stp : (int)new_cfg->matching.stp;
			if (pass == 0 && h) {
				for (size_t k = 0; k < sizeof(risk_lim) / sizeof(risk_lim[0]); k++)
					if (file_limit(a, k) != have_limit(h, k))
						plan_add(&p, a->id, risk_lim[k].name, file_limit(a, k), have_limit(h, k));
				if (want_stp != h->stp)
					plan_add(&p, a->id, "stp", (uint64_t)want_stp, (uint64_t)h->stp);
				plan_restricted(&p, o, a, 0);
			} else if (pass == 1 && !h) {
				if (n_have + ++n_new > max_accounts) {
					snprintf(err, errcap, "account %u (risk.accounts[%u]) cannot be added: the "
						 "dataplane holds %u accounts already, at most %u (those of the file "
						 "and those created by `risk set`)", a->id, i, n_have, max_accounts);
					return -1;
				}
				/* The first command creates the account; a file account with no
				   limit at all is created with every check off, as at start. */
				uint32_t first = p.n;
				for (size_t k = 0; k < sizeof(risk_lim) / sizeof(risk_lim[0]); k++)
					if (file_limit(a, k) || k == 0)
						plan_add(&p, a->id, risk_lim[k].name, file_limit(a, k), 0);
				if (want_stp != (int)new_cfg->matching.stp)
					plan_add(&p, a->id, "stp", (uint64_t)want_stp, (uint64_t)new_cfg->matching.stp);
				plan_restricted(&p, NULL, a, 1);
				for (uint32_t k = first; k < p.n; k++)
					p.ops[k].new_account = 1;
				if (first < p.n)
					p.ops[first].creates = 1;
			}
		}
	}
	if (p.full) {
		snprintf(err, errcap, "more than %u risk commands", cap);
		return -1;
	}
	return (int)p.n;
}
