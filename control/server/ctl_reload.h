/*
 * ctl_reload.h - `config show`, `config validate FILE` and `config reload`
 * (also on SIGHUP): the config in force as numbered epochs.
 *
 * Reload re-reads mgw-control's own config file, validates the whole
 * document, diffs it against the config in force (ctl_config_diff.h) and
 * either refuses it whole (syntax or schema error, a restart-only key
 * changed, the dataplane refused or did not answer) or applies every live
 * change as one epoch: dataplane keys through MGW_CMD_CONFIG_EPOCH, then
 * control keys here. Each applied or refused reload prints one audit line.
 */
#ifndef CTL_RELOAD_H
#define CTL_RELOAD_H

#include "ctl_server.h"

void ctl_config_show(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_config_validate(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);
void ctl_config_reload(struct ctl_server *srv, struct ctl_conn *c, struct ctl_args *a);

/* The same reload for SIGHUP, on an internal connection (fd -1, no peer). */
void ctl_config_reload_sighup(struct ctl_server *srv, struct ctl_conn *c);

#endif /* CTL_RELOAD_H */
