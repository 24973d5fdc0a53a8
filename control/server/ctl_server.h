/*
 * ctl_server.h - mgw-control's state and the CLI command table.
 *
 * A connection carries one request. A command either answers at once
 * (status, counters) or posts a command to the dataplane and answers when
 * the slot is DONE or its deadline passes (book, top): the event loop in
 * ctl_main.c drives both through ctl_conn.
 */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl_access.h"
#include "ctl_baseline.h"
#include "ctl_buf.h"
#include "ctl_config.h"
#include "ctl_dp.h"
#include "ctl_proto.h"

#define CTL_CMD_TIMEOUT_MS 2000

struct ctl_server;
struct ctl_conn;
struct ctl_reload_job;

typedef void (*ctl_complete_fn)(struct ctl_server *srv, struct ctl_conn *c,
				const struct mgw_cmd_slot *slot);

enum ctl_conn_state { CTL_CONN_READ, CTL_CONN_PENDING, CTL_CONN_WRITE };

struct ctl_conn {
	int fd;
	enum ctl_conn_state state;
	/* The peer, from SO_PEERCRED at accept (uid/gid -1 if unknown). */
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
	/* Access: the peer's role and name, set by dispatch; `audit` asks for
	 * one audit line when the response is final (ctl_cmd_audit). */
	enum ctl_acl_role role;
	char peer_user[CTL_NAME_MAX];
	bool audit;
	char audit_cmd[256];
	uint8_t in[8 + CTL_PROTO_MAX_REQ];
	size_t in_len;
	uint64_t deadline_ms;   /* for READ (slow client) and PENDING (dataplane) */
	/* pending dataplane command */
	int slot;
	uint32_t seq;
	ctl_complete_fn complete;
	bool json;
	uint16_t depth;
	/* response */
	int32_t status;
	struct ctl_buf out;
	uint8_t hdr[12];
	size_t sent;
	/* config reload (ctl_reload.c): the candidate and its steps on the
	   dataplane (risk commands, epoch), the timeout hook that answers for a
	   step, and whether SIGHUP asked */
	struct mgw_config *reload_cfg;
	struct ctl_reload_job *reload_job;
	void (*on_timeout)(struct ctl_server *srv, struct ctl_conn *c);
	bool sighup;
};

struct ctl_server {
	struct mgw_config cfg;
	struct ctl_dp dp;
	uint64_t start_ns;
	int listen_fd;
	/* Config epochs (ctl_reload.c): cfg is the config in force, epoch cfg_epoch. */
	uint64_t cfg_epoch;
	uint64_t cfg_loaded_ns;      /* CLOCK_REALTIME when it came into force */
	bool socket_overridden;      /* --socket given: not a config change on reload */
	bool reload_busy;            /* a reload waits for the dataplane */
	/* `counters clear` baseline and the file it persists in (ctl_baseline.h). */
	struct ctl_baseline baseline;
	char baseline_path[CTL_PATH_MAX + 16];
};

/* Who may run a command: the caller's role must be at least this. */
enum ctl_access {
	CTL_ACCESS_VIEWER = 0,   /* read-only views */
	CTL_ACCESS_OPERATOR = 1, /* risk limits, kill switches */
	CTL_ACCESS_ADMIN = 2,    /* config reload and everything else */
};

/* A request's words after dispatch split them. */
struct ctl_args {
	const char *cmd;
	int npos;
	char *pos[CTL_PROTO_MAX_ARGS];   /* positional words (sub-command removed) */
	int nopt;
	char *opt[CTL_PROTO_MAX_ARGS];   /* "--name"; NULL once a command took it */
	char *optval[CTL_PROTO_MAX_ARGS];/* its value, for options that take one */
};

typedef void (*ctl_cmd_fn)(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);

struct ctl_cmd_def {
	const char *name;
	const char *sub;          /* second word ("config show"), or NULL */
	enum ctl_access access;   /* least role allowed */
	ctl_cmd_fn fn;
	const char *usage;
	const char *help;
};

/* Option helpers for command handlers (ctl_cmd.c). -1 means a usage error was replied. */
int ctl_opt_uint(struct ctl_conn *c, struct ctl_args *a, const char *name, unsigned long max,
		 unsigned long *out);
int ctl_opt_flag(struct ctl_args *a, const char *name);
int ctl_args_done(struct ctl_conn *c, const struct ctl_args *a);

/* For command files other than ctl_cmd.c: finish c with a status; post a
   dataplane command and complete with `done` (or a timeout / error reply). */
void ctl_cmd_reply(struct ctl_conn *c, int32_t status);
void ctl_cmd_post(struct ctl_server *srv, struct ctl_conn *c, uint32_t type, const void *req,
		  size_t len, ctl_complete_fn done);

/* Order path commands (ctl_orders.c). */
void ctl_risk_show(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_risk_set(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_kill_on(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_kill_off(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_orders_book(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_positions(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);

/* Run argv for c: fills c->out/status and sets WRITE, or sets PENDING. */
void ctl_cmd_dispatch(struct ctl_server *srv, struct ctl_conn *c, int argc, char **argv);

/* Print the audit line of c if its command asked for one (response final). */
void ctl_cmd_audit(const struct ctl_conn *c);

/*
 * Load the persisted baseline (at start) / drop it when the attached
 * dataplane is another run than the baseline's. Both log what they did.
 */
void ctl_baseline_init(struct ctl_server *srv);
void ctl_baseline_check(struct ctl_server *srv);

/* Finish a PENDING conn whose deadline passed. */
void ctl_cmd_timeout(struct ctl_server *srv, struct ctl_conn *c);

uint64_t ctl_now_ms(void);

#endif /* CTL_SERVER_H */
