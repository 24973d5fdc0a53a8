/*
 * ctl_reload.c - config show / validate / reload as numbered epochs (see
 * ctl_reload.h and docs/CONFIG.md "Reloading").
 *
 * Epoch 1 is the file as read at start; each applied reload that changes
 * something is the next number. A reload touching dataplane keys is only
 * in force once the dataplane acknowledged the epoch (the rx lcore runs the
 * new filter); until then, and on any refusal or timeout, srv->cfg (the
 * config in force) is untouched, so the old config stays on both sides.
 */
#include "ctl_reload.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl_config_diff.h"

#define CFG_MAX_BYTES (1u << 20) /* the loader's own limit */

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fmt_time(char *out, size_t cap, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void done(struct ctl_conn *c, int32_t status)
{
	c->status = status;
	c->state = CTL_CONN_WRITE;
	if (ctl_buf_failed(&c->out)) {
		ctl_buf_reset(&c->out);
		ctl_buf_printf(&c->out, "error: mgw-control is out of memory\n");
		c->status = CTL_ERR;
	}
}

static void failv(struct ctl_conn *c, int32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void failv(struct ctl_conn *c, int32_t status, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_buf_reset(&c->out);
	if (c->json) {
		ctl_buf_printf(&c->out, "{\"error\":");
		ctl_buf_json_str(&c->out, msg);
		ctl_buf_printf(&c->out, ",\"status\":%d}\n", status);
	} else {
		ctl_buf_printf(&c->out, "error: %s\n", msg);
	}
	done(c, status);
}

/* The dataplane's epoch, 0 if not attached. */
static uint64_t dp_epoch(struct ctl_server *srv)
{
	if (!ctl_dp_check(&srv->dp))
		return 0;
	return atomic_load_explicit(&srv->dp.shm.hdr->config_epoch, memory_order_acquire);
}

/* ---- config show ------------------------------------------------------------ */

struct show_ctx {
	struct ctl_buf *b;
	bool json;
	int n;
};

static void show_key(void *arg, const char *key, const char *value)
{
	struct show_ctx *s = arg;
	enum ctl_cfg_apply ap = ctl_config_key_apply(key, NULL);
	if (s->json) {
		/* values are JSON fragments already (ctl_config_diff.h) */
		ctl_buf_printf(s->b, "%s{\"key\":\"%s\",\"value\":%s,\"reload\":\"%s\"}", s->n ? "," : "",
			       key, value, ctl_cfg_apply_name(ap));
	} else {
		char kv[CTL_CFG_KEY_MAX + CTL_CFG_VAL_MAX + 4];
		snprintf(kv, sizeof(kv), "%s: %s", key, value);
		ctl_buf_printf(s->b, "%-60s # %s\n", kv, ctl_cfg_apply_name(ap));
	}
	s->n++;
}

void ctl_config_show(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	if (a->npos) {
		failv(c, CTL_USAGE, "usage: config show [--json]");
		return;
	}
	char when[32];
	fmt_time(when, sizeof(when), srv->cfg_loaded_ns);
	uint64_t dpe = dp_epoch(srv);
	struct ctl_buf *b = &c->out;
	struct show_ctx s = {.b = b, .json = c->json};
	if (c->json) {
		ctl_buf_printf(b, "{\"source\":");
		ctl_buf_json_str(b, srv->cfg.source);
		ctl_buf_printf(b, ",\"epoch\":%" PRIu64 ",\"loaded_at\":\"%s\",\"loaded_ns\":%" PRIu64
			       ",\"dataplane_epoch\":", srv->cfg_epoch, when, srv->cfg_loaded_ns);
		if (dpe)
			ctl_buf_printf(b, "%" PRIu64, dpe);
		else
			ctl_buf_printf(b, "null");
		ctl_buf_printf(b, ",\"keys\":[");
		ctl_config_walk(&srv->cfg, show_key, &s);
		ctl_buf_printf(b, "]}\n");
	} else {
		ctl_buf_printf(b, "# config in force: epoch %" PRIu64 ", loaded %s from %s\n", srv->cfg_epoch,
			       when, srv->cfg.source);
		if (dpe)
			ctl_buf_printf(b, "# dataplane runs epoch %" PRIu64 "\n", dpe);
		else
			ctl_buf_printf(b, "# dataplane not attached\n");
		ctl_config_walk(&srv->cfg, show_key, &s);
	}
	done(c, CTL_OK);
}

/* ---- loading a candidate file ---------------------------------------------------- */

/*
 * May the peer read this file? mgw-control may run with more rights than
 * its caller, and a refused file's error quotes part of its content, so
 * `validate` only reads what the caller could read itself (owner, primary
 * group or others bits; root reads everything).
 */
static bool peer_may_read(const struct ctl_conn *c, const struct stat *st)
{
	if (c->fd < 0 || c->peer_uid == 0)
		return true; /* SIGHUP (our own file) or root */
	if (c->peer_uid == (uid_t)-1)
		return false;
	if (st->st_uid == c->peer_uid)
		return (st->st_mode & S_IRUSR) != 0;
	if (st->st_gid == c->peer_gid)
		return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

/*
 * Load path into *out. Returns 0, -1 with err filled (invalid file), or
 * -EACCES when the peer may not read it (err->msg says so).
 */
static int load_candidate(const struct ctl_conn *c, const char *path, struct mgw_config *out,
			  struct ctl_config_err *err)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg), "not a regular file");
		close(fd);
		return -1;
	}
	if (!peer_may_read(c, &st)) {
		snprintf(err->msg, sizeof(err->msg), "permission denied: the caller (uid %ld) cannot read it",
			 (long)(int32_t)c->peer_uid);
		close(fd);
		return -EACCES;
	}
	close(fd);
	/* The loader re-opens by path; the check above is about the caller's
	   rights, and a swap in between only gives a file the caller named. */
	return ctl_config_load(path, out, err);
}

/* Keep what the command line overrode, so it is not seen as a change. */
static void keep_overrides(const struct ctl_server *srv, struct mgw_config *nc)
{
	if (srv->socket_overridden)
		memcpy(nc->control.socket, srv->cfg.control.socket, sizeof(nc->control.socket));
}

static void list_changes(struct ctl_buf *b, const struct ctl_config_diff *d, bool json)
{
	for (uint32_t i = 0; i < d->n_kept; i++) {
		const struct ctl_config_change *ch = &d->ch[i];
		if (json) {
			ctl_buf_printf(b, "%s{\"key\":\"%s\",\"old\":", i ? "," : "", ch->key);
			ctl_buf_json_str(b, ch->old_value);
			ctl_buf_printf(b, ",\"new\":");
			ctl_buf_json_str(b, ch->new_value);
			ctl_buf_printf(b, ",\"reload\":\"%s\"}", ctl_cfg_apply_name(ch->apply));
		} else {
			ctl_buf_printf(b, "  %-32s %s -> %s  (%s)\n", ch->key, ch->old_value, ch->new_value,
				       ctl_cfg_apply_name(ch->apply));
		}
	}
	if (!json && d->n > d->n_kept)
		ctl_buf_printf(b, "  ... and %u more\n", d->n - d->n_kept);
}

/* ---- config validate FILE ------------------------------------------------------------ */

void ctl_config_validate(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	if (a->npos != 1 || a->pos[0][0] != '/') {
		failv(c, CTL_USAGE, "usage: config validate FILE (an absolute path: mgw-control reads it "
		      "itself; mgwctl resolves relative paths)");
		return;
	}
	struct mgw_config *nc = malloc(sizeof(*nc));
	struct ctl_config_diff *d = malloc(sizeof(*d));
	if (!nc || !d) {
		free(nc);
		free(d);
		failv(c, CTL_ERR, "mgw-control is out of memory");
		return;
	}
	struct ctl_config_err err;
	int rc = load_candidate(c, a->pos[0], nc, &err);
	if (rc != 0) {
		char msg[1024];
		ctl_config_err_format(&err, msg, sizeof(msg));
		failv(c, rc == -EACCES ? CTL_DENIED : CTL_ERR, "%s", msg);
		free(nc);
		free(d);
		return;
	}
	keep_overrides(srv, nc);
	if (ctl_config_diff(&srv->cfg, nc, d) != 0)
		memset(d, 0, sizeof(*d));
	const char *verdict = !d->n ? "no_change" : d->n_restart ? "restart_needed" : "live";
	struct ctl_buf *b = &c->out;
	if (c->json) {
		ctl_buf_printf(b, "{\"valid\":true,\"file\":");
		ctl_buf_json_str(b, a->pos[0]);
		ctl_buf_printf(b, ",\"epoch\":%" PRIu64 ",\"reload\":\"%s\",\"changes\":[", srv->cfg_epoch,
			       verdict);
		list_changes(b, d, true);
		ctl_buf_printf(b, "]}\n");
	} else {
		ctl_buf_printf(b, "OK: %s is valid\n", a->pos[0]);
		if (!d->n)
			ctl_buf_printf(b, "same as the config in force (epoch %" PRIu64 ")\n", srv->cfg_epoch);
		else
			ctl_buf_printf(b, "against the config in force (epoch %" PRIu64 "): %u change%s, %s\n",
				       srv->cfg_epoch, d->n, d->n == 1 ? "" : "s",
				       d->n_restart ? "a reload would be refused (restart needed)"
						    : "a reload would apply them live");
		list_changes(b, d, false);
	}
	free(nc);
	free(d);
	done(c, CTL_OK);
}

/* ---- config reload ---------------------------------------------------------------- */

/* Who asked, for the audit line. */
static void caller(const struct ctl_conn *c, char *out, size_t cap)
{
	if (c->sighup)
		snprintf(out, cap, "SIGHUP");
	else
		snprintf(out, cap, "uid=%ld gid=%ld pid=%ld user=%s", (long)(int32_t)c->peer_uid,
			 (long)(int32_t)c->peer_gid, (long)c->peer_pid, c->peer_user[0] ? c->peer_user : "-");
}

/* Changed keys as "k1,k2" (restart_only: only those) for the audit line. */
static void keys_text(const struct ctl_config_diff *d, bool restart_only, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < d->n_kept && n + 1 < cap; i++) {
		if (restart_only && d->ch[i].apply != CTL_CFG_RESTART)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", d->ch[i].key);
	}
	if (n >= cap)
		n = cap - 1;
	if (d->n > d->n_kept && n + 5 < cap)
		snprintf(out + n, cap - n, ",...");
	if (!out[0])
		snprintf(out, cap, "-");
}

static void audit(const struct ctl_conn *c, const char *result, uint64_t epoch, const char *keys,
		  const char *detail)
{
	char who[160];
	caller(c, who, sizeof(who));
	/* One line per reload; the journal issue will make it durable. */
	printf("audit: config reload by %s result=%s epoch=%" PRIu64 " keys=%s detail=\"%s\"\n", who,
	       result, epoch, keys, detail);
}

static void refuse(struct ctl_conn *c, int32_t status, uint64_t epoch, const char *keys,
		   const char *why)
{
	audit(c, "refused", epoch, keys, why);
	failv(c, status, "config reload refused: %s; epoch %" PRIu64 " stays in force", why, epoch);
}

/* Put nc in force as the next epoch (control side) and answer. risk_cmds:
   `risk set` commands the match lcore applied for it. */
static void apply(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_config *nc,
		  const struct ctl_config_diff *d, uint64_t epoch, uint32_t risk_cmds)
{
	srv->cfg = *nc; /* control-side live keys (access) are read from here per command */
	srv->cfg_epoch = epoch;
	srv->cfg_loaded_ns = realtime_ns();
	char keys[1024];
	keys_text(d, false, keys, sizeof(keys));
	audit(c, "applied", epoch, keys, "");
	struct ctl_buf *b = &c->out;
	ctl_buf_reset(b);
	if (c->json) {
		ctl_buf_printf(b, "{\"applied\":true,\"epoch\":%" PRIu64 ",\"risk_commands\":%u,\"changes\":[",
			       epoch, risk_cmds);
		list_changes(b, d, true);
		ctl_buf_printf(b, "]}\n");
	} else {
		ctl_buf_printf(b, "config reloaded: epoch %" PRIu64 ", %u change%s applied\n", epoch, d->n,
			       d->n == 1 ? "" : "s");
		list_changes(b, d, false);
		if (risk_cmds)
			ctl_buf_printf(b, "risk: %u `risk set` command%s applied on the match lcore "
				       "(mgwctl risk show)\n", risk_cmds, risk_cmds == 1 ? "" : "s");
	}
	done(c, CTL_OK);
}

/*
 * A reload that changes the dataplane is a short sequence of commands on
 * the command rings, one at a time, each answered before the next:
 *
 *   risk keys changed:  risk show (what the match lcore holds now), then
 *                       one risk set per difference (ctl_config_risk_plan)
 *   then, if the feed or risk changed: MGW_CMD_CONFIG_EPOCH (the filter,
 *                       whole; the dataplane's epoch number moves)
 *
 * All or nothing: when the dataplane refuses a step or does not answer,
 * the risk sets already applied are taken back in reverse order (old
 * values from the risk show; an account the reload created cannot be
 * removed, so its kill switch is turned on instead) and the reload is
 * refused; srv->cfg changes only when every step was acknowledged.
 */
enum job_phase { JOB_SHOW, JOB_SET, JOB_EPOCH, JOB_UNDO };

struct ctl_reload_job {
	struct mgw_config *nc;
	uint64_t epoch;           /* the number this reload gets */
	bool send_epoch;          /* end with MGW_CMD_CONFIG_EPOCH */
	bool risk;                /* risk keys changed and there is a match lcore */
	enum job_phase phase;
	struct ctl_risk_op *ops;
	uint32_t n_ops, next;     /* ops[0..next) were posted */
	uint32_t n_applied;
	int undo;                 /* next op to take back, counting down */
	uint32_t n_undone;
	int32_t why_status;
	char why[1200];           /* why the reload is refused (being rolled back) */
	char undo_fail[800];      /* what could not be taken back */
};

static void reload_finish(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	if (j) {
		free(j->ops);
		if (j->nc != c->reload_cfg)
			free(j->nc);
		free(j);
	}
	c->reload_job = NULL;
	free(c->reload_cfg);
	c->reload_cfg = NULL;
	c->on_timeout = NULL;
	srv->reload_busy = false;
}

static void next_set(struct ctl_server *srv, struct ctl_conn *c);
static void next_undo(struct ctl_server *srv, struct ctl_conn *c);
static void start_epoch(struct ctl_server *srv, struct ctl_conn *c);

/* Post one step; on failure to post, returns the negative errno. */
static int post_step(struct ctl_server *srv, struct ctl_conn *c, uint32_t type, const void *req, size_t len,
		     ctl_complete_fn on_done, void (*timeout)(struct ctl_server *, struct ctl_conn *))
{
	int slot = ctl_dp_post(&srv->dp, type, req, len, &c->seq);
	if (slot < 0)
		return slot;
	c->slot = slot;
	c->complete = on_done;
	c->on_timeout = timeout;
	c->state = CTL_CONN_PENDING;
	c->deadline_ms = ctl_now_ms() + CTL_CMD_TIMEOUT_MS;
	return 0;
}

static const char *post_err(int rc)
{
	return rc == -EBUSY ? "all command slots busy" : rc == -ENODEV ? "the dataplane has no match lcore"
								   : strerror(-rc);
}

/* "risk set 7 max_order_qty 500" as the CLI would write it. */
static void op_text(const struct ctl_risk_op *op, bool inverse, char *out, size_t cap)
{
	const char *key = op->key;
	if (inverse && strcmp(key, "restrict") == 0)
		key = "unrestrict";
	else if (inverse && strcmp(key, "unrestrict") == 0)
		key = "restrict";
	uint64_t v = inverse ? op->undo : op->value;
	if (op->symbol[0])
		snprintf(out, cap, "risk set %u %s %s", op->account, key, op->symbol);
	else if (strcmp(key, "stp") == 0)
		snprintf(out, cap, "risk set %u stp %s", op->account, ctl_stp_name((int)v));
	else
		snprintf(out, cap, "risk set %u %s %" PRIu64, op->account, key, v);
}

/* One audit line per risk change the reload made (or took back). */
static void audit_op(const struct ctl_conn *c, uint64_t epoch, const char *cmd, const char *via,
		     const struct mgw_cmd_slot *slot)
{
	char who[160];
	caller(c, who, sizeof(who));
	printf("audit: %s cmd=\"%s\" via=\"config reload epoch=%" PRIu64 "%s\" result=ok old=%" PRIu64
	       " new=%" PRIu64 "\n", who, cmd, epoch, via, slot->resp.risk_set.old_value,
	       slot->resp.risk_set.new_value);
}

static void job_refuse(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	struct ctl_config_diff *d = malloc(sizeof(*d));
	char keys[1024] = "-";
	if (d && ctl_config_diff(&srv->cfg, j->nc, d) == 0)
		keys_text(d, false, keys, sizeof(keys));
	free(d);
	char msg[2100];
	if (j->undo_fail[0])
		snprintf(msg, sizeof(msg), "%s; ROLLBACK INCOMPLETE (%u of the risk changes taken back): %s",
			 j->why, j->n_undone, j->undo_fail);
	else if (j->n_undone)
		snprintf(msg, sizeof(msg), "%s; the %u risk change%s already applied %s rolled back", j->why,
			 j->n_undone, j->n_undone == 1 ? "" : "s", j->n_undone == 1 ? "was" : "were");
	else
		snprintf(msg, sizeof(msg), "%s", j->why);
	refuse(c, j->why_status, srv->cfg_epoch, keys, msg);
	reload_finish(srv, c);
}

static void job_apply(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	struct ctl_config_diff *d = malloc(sizeof(*d));
	if (!d || ctl_config_diff(&srv->cfg, j->nc, d) != 0) {
		/* cannot happen in practice; the dataplane already runs the epoch */
		free(d);
		failv(c, CTL_ERR, "mgw-control is out of memory after the dataplane applied epoch %" PRIu64,
		      j->epoch);
		reload_finish(srv, c);
		return;
	}
	apply(srv, c, j->nc, d, j->epoch, j->n_applied);
	free(d);
	reload_finish(srv, c);
}

/* Refuse: take back ops[0..last] (last = -1: nothing to take back). */
static void start_undo(struct ctl_server *srv, struct ctl_conn *c, int last)
{
	struct ctl_reload_job *j = c->reload_job;
	j->phase = JOB_UNDO;
	j->undo = last;
	next_undo(srv, c);
}

static void undo_note(struct ctl_reload_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void undo_note(struct ctl_reload_job *j, const char *fmt, ...)
{
	size_t n = strlen(j->undo_fail);
	if (n + 4 >= sizeof(j->undo_fail))
		return;
	if (n)
		n += (size_t)snprintf(j->undo_fail + n, sizeof(j->undo_fail) - n, "; ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->undo_fail + n, sizeof(j->undo_fail) - n, fmt, ap);
	va_end(ap);
}

static void undo_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	struct ctl_reload_job *j = c->reload_job;
	const struct ctl_risk_op *op = &j->ops[j->undo];
	char cmd[96];
	if (op->creates)
		snprintf(cmd, sizeof(cmd), "kill on account %u", op->account);
	else
		op_text(op, true, cmd, sizeof(cmd));
	if (slot->result) {
		const char *why = slot->type == MGW_CMD_KILL ? slot->resp.kill.reason : slot->resp.risk_set.reason;
		undo_note(j, "%s refused: %s", cmd, why[0] ? why : strerror(-slot->result));
	} else {
		j->n_undone++;
		if (op->creates) {
			char who[160];
			caller(c, who, sizeof(who));
			printf("audit: %s cmd=\"%s\" via=\"config reload epoch=%" PRIu64 " rollback: the refused "
			       "reload created account %u, which cannot be removed live\" result=ok\n", who, cmd,
			       j->epoch, op->account);
		} else {
			audit_op(c, j->epoch, cmd, " rollback", slot);
		}
	}
	j->undo--;
	next_undo(srv, c);
}

static void undo_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	char cmd[96];
	op_text(&j->ops[j->undo], true, cmd, sizeof(cmd));
	undo_note(j, "%s: no answer within %d ms", j->ops[j->undo].creates ? "kill on account" : cmd,
		  CTL_CMD_TIMEOUT_MS);
	j->undo--;
	next_undo(srv, c);
}

static void next_undo(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	for (; j->undo >= 0; j->undo--) {
		const struct ctl_risk_op *op = &j->ops[j->undo];
		int rc;
		if (op->new_account && !op->creates)
			continue; /* the account itself is fenced off below (its creating op) */
		if (op->creates) {
			struct mgw_cmd_slot probe;
			__typeof__(probe.req.kill) req;
			memset(&req, 0, sizeof(req));
			req.level = 1; /* DP_RISK_ACCOUNT */
			req.on = 1;
			req.key = op->account;
			rc = post_step(srv, c, MGW_CMD_KILL, &req, sizeof(req), undo_done, undo_timeout);
		} else {
			struct mgw_cmd_slot probe;
			__typeof__(probe.req.risk_set) req;
			memset(&req, 0, sizeof(req));
			req.account = op->account;
			const char *key = op->key;
			if (strcmp(key, "restrict") == 0)
				key = "unrestrict";
			else if (strcmp(key, "unrestrict") == 0)
				key = "restrict";
			snprintf(req.key, sizeof(req.key), "%s", key);
			memcpy(req.symbol, op->symbol, sizeof(req.symbol));
			req.value = op->undo;
			rc = post_step(srv, c, MGW_CMD_RISK_SET, &req, sizeof(req), undo_done, undo_timeout);
		}
		if (rc == 0)
			return;
		char cmd[96];
		op_text(op, true, cmd, sizeof(cmd));
		undo_note(j, "%s: cannot post (%s)", op->creates ? "kill on account" : cmd, post_err(rc));
	}
	job_refuse(srv, c);
}

static void set_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	struct ctl_reload_job *j = c->reload_job;
	const struct ctl_risk_op *op = &j->ops[j->next - 1];
	char cmd[96];
	op_text(op, false, cmd, sizeof(cmd));
	if (slot->result) {
		snprintf(j->why, sizeof(j->why), "the match lcore refused `%s` (account %u, %s): %s", cmd,
			 op->account, op->key,
			 slot->resp.risk_set.reason[0] ? slot->resp.risk_set.reason : strerror(-slot->result));
		j->why_status = slot->result == -ENOENT ? CTL_NOT_FOUND : CTL_ERR;
		start_undo(srv, c, (int)j->next - 2); /* this one was not applied */
		return;
	}
	j->n_applied++;
	audit_op(c, j->epoch, cmd, "", slot);
	next_set(srv, c);
}

static void set_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	char cmd[96];
	op_text(&j->ops[j->next - 1], false, cmd, sizeof(cmd));
	snprintf(j->why, sizeof(j->why), "the match lcore did not answer `%s` within %d ms%s", cmd,
		 CTL_CMD_TIMEOUT_MS, srv->dp.attached ? "" : " (the dataplane detached)");
	j->why_status = CTL_TIMEOUT;
	start_undo(srv, c, (int)j->next - 1); /* it may have been applied: take it back too */
}

static void next_set(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	j->phase = JOB_SET;
	if (j->next == j->n_ops) {
		if (j->send_epoch)
			start_epoch(srv, c);
		else
			job_apply(srv, c);
		return;
	}
	const struct ctl_risk_op *op = &j->ops[j->next];
	struct mgw_cmd_slot probe;
	__typeof__(probe.req.risk_set) req;
	memset(&req, 0, sizeof(req));
	req.account = op->account;
	snprintf(req.key, sizeof(req.key), "%s", op->key);
	memcpy(req.symbol, op->symbol, sizeof(req.symbol));
	req.value = op->value;
	int rc = post_step(srv, c, MGW_CMD_RISK_SET, &req, sizeof(req), set_done, set_timeout);
	if (rc) {
		char cmd[96];
		op_text(op, false, cmd, sizeof(cmd));
		snprintf(j->why, sizeof(j->why), "cannot post `%s` to the dataplane: %s", cmd, post_err(rc));
		j->why_status = CTL_ERR;
		start_undo(srv, c, (int)j->next - 1);
		return;
	}
	j->next++;
}

/* The match lcore's accounts now: plan the risk sets against them. */
static void show_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	struct ctl_reload_job *j = c->reload_job;
	if (slot->result) {
		snprintf(j->why, sizeof(j->why), "the match lcore refused risk show: %s", strerror(-slot->result));
		j->why_status = CTL_ERR;
		start_undo(srv, c, -1);
		return;
	}
	static struct ctl_risk_have have[MGW_RISK_SHOW_MAX];
	uint32_t n = slot->resp.risk_show.n > MGW_RISK_SHOW_MAX ? MGW_RISK_SHOW_MAX : slot->resp.risk_show.n;
	for (uint32_t i = 0; i < n; i++) {
		const struct mgw_risk_acct *a = &slot->resp.risk_show.accts[i];
		have[i] = (struct ctl_risk_have){
			.account = a->account,
			.enabled = a->enabled,
			.max_order_qty = a->max_order_qty,
			.max_order_notional = a->max_order_notional / 10000, /* 1/10000 dollar -> dollars */
			.collar_bps = a->collar_bps,
			.credit_limit = a->credit_limit / 10000,
			.max_position = a->max_position,
			.stp = a->stp,
		};
	}
	j->ops = malloc(CTL_RISK_OPS_MAX * sizeof(*j->ops));
	if (!j->ops) {
		snprintf(j->why, sizeof(j->why), "mgw-control is out of memory");
		j->why_status = CTL_ERR;
		start_undo(srv, c, -1);
		return;
	}
	int k = ctl_config_risk_plan(&srv->cfg, j->nc, have, n, MGW_RISK_SHOW_MAX, j->ops, CTL_RISK_OPS_MAX,
				     j->why, sizeof(j->why));
	if (k < 0) {
		j->why_status = CTL_ERR;
		start_undo(srv, c, -1);
		return;
	}
	j->n_ops = (uint32_t)k;
	j->next = 0;
	next_set(srv, c);
}

static void show_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	snprintf(j->why, sizeof(j->why), "the match lcore did not answer risk show within %d ms%s",
		 CTL_CMD_TIMEOUT_MS, srv->dp.attached ? "" : " (the dataplane detached)");
	j->why_status = CTL_TIMEOUT;
	start_undo(srv, c, -1);
}

/* The dataplane answered MGW_CMD_CONFIG_EPOCH. */
static void epoch_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	struct ctl_reload_job *j = c->reload_job;
	if (slot->result != 0) {
		snprintf(j->why, sizeof(j->why), "the dataplane refused epoch %" PRIu64 ": %s (%s)",
			 slot->req.epoch.epoch,
			 slot->resp.epoch.reason[0] ? slot->resp.epoch.reason : "no reason given",
			 strerror(-slot->result));
		j->why_status = CTL_ERR;
		start_undo(srv, c, (int)j->n_ops - 1);
		return;
	}
	job_apply(srv, c);
}

/* The dataplane did not answer in time (slot abandoned by ctl_cmd_timeout). */
static void epoch_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	snprintf(j->why, sizeof(j->why), "the dataplane did not answer the config epoch within %d ms%s",
		 CTL_CMD_TIMEOUT_MS, srv->dp.attached ? "" : " (it detached)");
	j->why_status = CTL_TIMEOUT;
	start_undo(srv, c, (int)j->n_ops - 1);
}

static void start_epoch(struct ctl_server *srv, struct ctl_conn *c)
{
	struct ctl_reload_job *j = c->reload_job;
	const struct mgw_config *nc = j->nc;
	j->phase = JOB_EPOCH;
	struct mgw_cmd_config_epoch req;
	memset(&req, 0, sizeof(req));
	_Static_assert(MGW_EPOCH_MAX_UDP_PORTS == CTL_MAX_UDP_PORTS, "ports fit");
	_Static_assert(MGW_EPOCH_MAX_GROUPS == CTL_MAX_GROUPS, "groups fit");
	req.epoch = j->epoch;
	req.n_udp_ports = nc->feed.n_udp_ports;
	memcpy(req.udp_ports, nc->feed.udp_ports, sizeof(req.udp_ports));
	req.n_groups = nc->feed.n_groups;
	memcpy(req.groups, nc->feed.groups, sizeof(req.groups));
	int rc = post_step(srv, c, MGW_CMD_CONFIG_EPOCH, &req, sizeof(req), epoch_done, epoch_timeout);
	if (rc) {
		snprintf(j->why, sizeof(j->why), "cannot post the config epoch to the dataplane: %s", post_err(rc));
		j->why_status = CTL_ERR;
		start_undo(srv, c, (int)j->n_ops - 1);
	}
}

static void reload_run(struct ctl_server *srv, struct ctl_conn *c)
{
	uint64_t epoch = srv->cfg_epoch;
	c->audit = false; /* this command writes its own, more detailed audit line */
	if (srv->reload_busy) {
		refuse(c, CTL_ERR, epoch, "-", "another reload is in progress");
		return;
	}
	struct mgw_config *nc = malloc(sizeof(*nc));
	struct ctl_config_diff *d = malloc(sizeof(*d));
	if (!nc || !d) {
		free(nc);
		free(d);
		refuse(c, CTL_ERR, epoch, "-", "mgw-control is out of memory");
		return;
	}
	char msg[1400];
	struct ctl_config_err err;
	if (load_candidate(c, srv->cfg.source, nc, &err) != 0) {
		char e[1024];
		ctl_config_err_format(&err, e, sizeof(e));
		snprintf(msg, sizeof(msg), "%s", e);
		refuse(c, CTL_ERR, epoch, "-", msg);
		goto out;
	}
	keep_overrides(srv, nc);
	if (ctl_config_diff(&srv->cfg, nc, d) != 0) {
		refuse(c, CTL_ERR, epoch, "-", "mgw-control is out of memory");
		goto out;
	}
	char keys[1024];
	keys_text(d, d->n_restart > 0, keys, sizeof(keys));
	if (d->n_restart) {
		int n = snprintf(msg, sizeof(msg), "restart-only key%s changed: ", d->n_restart == 1 ? "" : "s");
		for (uint32_t i = 0, k = 0; i < d->n_kept && n > 0 && (size_t)n < sizeof(msg); i++) {
			if (d->ch[i].apply != CTL_CFG_RESTART)
				continue;
			n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s%s (%s -> %s)", k++ ? ", " : "",
				      d->ch[i].key, d->ch[i].old_value, d->ch[i].new_value);
			if (strncmp(d->ch[i].key, "risk.accounts[", 14) == 0 && n > 0 && (size_t)n < sizeof(msg))
				n += snprintf(msg + n, sizeof(msg) - (size_t)n, " [account %s cannot be removed "
					      "live: the risk tables keep it; turn its limits off or kill it]",
					      d->ch[i].old_value);
		}
		if (n > 0 && (size_t)n < sizeof(msg))
			snprintf(msg + n, sizeof(msg) - (size_t)n, "; a restart is needed to apply %s",
				 d->n_restart == 1 ? "it" : "them");
		refuse(c, CTL_ERR, epoch, keys, msg);
		goto out;
	}
	if (!d->n) {
		audit(c, "unchanged", epoch, "-", "");
		if (c->json)
			ctl_buf_printf(&c->out, "{\"applied\":false,\"epoch\":%" PRIu64 ",\"changes\":[]}\n", epoch);
		else
			ctl_buf_printf(&c->out, "config unchanged; epoch %" PRIu64 " stays in force\n", epoch);
		done(c, CTL_OK);
		goto out;
	}
	uint64_t next = epoch + 1;
	bool risk = (d->live_sides & CTL_CFG_SIDE_RISK) && nc->match_lcore_set;
	if (d->live_sides & (CTL_CFG_SIDE_DATAPLANE | CTL_CFG_SIDE_RISK)) {
		if (!ctl_dp_check(&srv->dp)) {
			snprintf(msg, sizeof(msg), "%s keys changed but the dataplane is not attached (%s)",
				 d->live_sides & CTL_CFG_SIDE_DATAPLANE ? "feed" : "risk", srv->dp.last_err);
			refuse(c, CTL_NO_DATAPLANE, epoch, keys, msg);
			goto out;
		}
		/* Never go backwards on either side (one of them may have restarted). */
		uint64_t dpe = dp_epoch(srv);
		if (dpe >= next)
			next = dpe + 1;
		struct ctl_reload_job *j = calloc(1, sizeof(*j));
		if (!j) {
			refuse(c, CTL_ERR, epoch, keys, "mgw-control is out of memory");
			goto out;
		}
		j->nc = nc;
		j->epoch = next;
		j->send_epoch = true; /* the dataplane's epoch number moves with its changes */
		j->risk = risk;
		c->reload_job = j;
		c->reload_cfg = nc; /* freed by reload_finish */
		srv->reload_busy = true;
		free(d);
		/* In force only when every step was acknowledged (job_apply). */
		if (risk) {
			j->phase = JOB_SHOW;
			struct { uint32_t account; uint8_t all; } req = {0, 1};
			int rc = post_step(srv, c, MGW_CMD_RISK_SHOW, &req, sizeof(req), show_done, show_timeout);
			if (rc) {
				snprintf(j->why, sizeof(j->why), "cannot post risk show to the dataplane: %s",
					 post_err(rc));
				j->why_status = CTL_ERR;
				start_undo(srv, c, -1);
			}
		} else {
			start_epoch(srv, c);
		}
		return;
	}
	apply(srv, c, nc, d, next, 0); /* control-side keys only */
	goto out;
out:
	free(nc);
	free(d);
}

void ctl_config_reload(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a)
{
	if (ctl_args_done(c, a))
		return;
	if (a->npos) {
		failv(c, CTL_USAGE, "usage: config reload (re-reads %s)", srv->cfg.source);
		return;
	}
	reload_run(srv, c);
}

void ctl_config_reload_sighup(struct ctl_server *srv, struct ctl_conn *c)
{
	c->sighup = true;
	reload_run(srv, c);
}
