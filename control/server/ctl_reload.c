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

/* Put nc in force as the next epoch (control side) and answer. */
static void apply(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_config *nc,
		  const struct ctl_config_diff *d, uint64_t epoch)
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
		ctl_buf_printf(b, "{\"applied\":true,\"epoch\":%" PRIu64 ",\"changes\":[", epoch);
		list_changes(b, d, true);
		ctl_buf_printf(b, "]}\n");
	} else {
		ctl_buf_printf(b, "config reloaded: epoch %" PRIu64 ", %u change%s applied\n", epoch, d->n,
			       d->n == 1 ? "" : "s");
		list_changes(b, d, false);
	}
	done(c, CTL_OK);
}

static void reload_finish(struct ctl_server *srv, struct ctl_conn *c)
{
	free(c->reload_cfg);
	c->reload_cfg = NULL;
	c->on_timeout = NULL;
	srv->reload_busy = false;
}

/* The dataplane answered MGW_CMD_CONFIG_EPOCH. */
static void reload_dp_done(struct ctl_server *srv, struct ctl_conn *c, const struct mgw_cmd_slot *slot)
{
	struct ctl_config_diff *d = malloc(sizeof(*d));
	if (!d || ctl_config_diff(&srv->cfg, c->reload_cfg, d) != 0) {
		/* cannot happen in practice; the dataplane already runs the epoch */
		free(d);
		failv(c, CTL_ERR, "mgw-control is out of memory after the dataplane applied epoch %" PRIu64,
		      slot->req.epoch.epoch);
		reload_finish(srv, c);
		return;
	}
	char keys[1024];
	keys_text(d, false, keys, sizeof(keys));
	if (slot->result != 0) {
		char why[400];
		snprintf(why, sizeof(why), "the dataplane refused epoch %" PRIu64 ": %s (%s)",
			 slot->req.epoch.epoch,
			 slot->resp.epoch.reason[0] ? slot->resp.epoch.reason : "no reason given",
			 strerror(-slot->result));
		refuse(c, CTL_ERR, srv->cfg_epoch, keys, why);
	} else {
		apply(srv, c, c->reload_cfg, d, slot->req.epoch.epoch);
	}
	free(d);
	reload_finish(srv, c);
}

/* The dataplane did not answer in time (slot abandoned by ctl_cmd_timeout). */
static void reload_dp_timeout(struct ctl_server *srv, struct ctl_conn *c)
{
	char why[200];
	snprintf(why, sizeof(why), "the dataplane did not answer the config epoch within %d ms%s",
		 CTL_CMD_TIMEOUT_MS, srv->dp.attached ? "" : " (it detached)");
	refuse(c, CTL_TIMEOUT, srv->cfg_epoch, "-", why);
	reload_finish(srv, c);
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
	if (d->live_sides & CTL_CFG_SIDE_DATAPLANE) {
		if (!ctl_dp_check(&srv->dp)) {
			snprintf(msg, sizeof(msg), "feed keys changed but the dataplane is not attached (%s)",
				 srv->dp.last_err);
			refuse(c, CTL_NO_DATAPLANE, epoch, keys, msg);
			goto out;
		}
		/* Never go backwards on either side (one of them may have restarted). */
		uint64_t dpe = dp_epoch(srv);
		if (dpe >= next)
			next = dpe + 1;
		struct mgw_cmd_config_epoch req;
		memset(&req, 0, sizeof(req));
		_Static_assert(MGW_EPOCH_MAX_UDP_PORTS == CTL_MAX_UDP_PORTS, "ports fit");
		_Static_assert(MGW_EPOCH_MAX_GROUPS == CTL_MAX_GROUPS, "groups fit");
		req.epoch = next;
		req.n_udp_ports = nc->feed.n_udp_ports;
		memcpy(req.udp_ports, nc->feed.udp_ports, sizeof(req.udp_ports));
		req.n_groups = nc->feed.n_groups;
		memcpy(req.groups, nc->feed.groups, sizeof(req.groups));
		int slot = ctl_dp_post(&srv->dp, MGW_CMD_CONFIG_EPOCH, &req, sizeof(req), &c->seq);
		if (slot < 0) {
			snprintf(msg, sizeof(msg), "cannot post to the dataplane: %s",
				 slot == -EBUSY ? "all command slots busy" : strerror(-slot));
			refuse(c, CTL_ERR, epoch, keys, msg);
			goto out;
		}
		/* In force only when the dataplane acknowledges (reload_dp_done). */
		c->slot = slot;
		c->complete = reload_dp_done;
		c->on_timeout = reload_dp_timeout;
		c->reload_cfg = nc;
		c->state = CTL_CONN_PENDING;
		c->deadline_ms = ctl_now_ms() + CTL_CMD_TIMEOUT_MS;
		srv->reload_busy = true;
		free(d);
		return;
	}
	apply(srv, c, nc, d, next); /* control-side keys only */
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
