/*
 * ctl_access.h - which CLI role a socket peer has.
 *
 * mgw-control knows each peer's uid and primary gid from SO_PEERCRED. The
 * `access:` section of the config (ctl_config.h) grants roles to uids and
 * gids; this module turns a peer into one role. Kept apart from the event
 * loop so the rules can be unit tested without sockets or NSS.
 */
#ifndef CTL_ACCESS_H
#define CTL_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "ctl_config.h"

/* Supplementary groups looked at per peer; more are ignored (documented). */
#define CTL_ACCESS_MAX_GROUPS 64

/* A peer as the role rules see it. */
struct ctl_peer {
	uid_t uid;
	gid_t gid;                              /* primary gid from SO_PEERCRED */
	gid_t groups[CTL_ACCESS_MAX_GROUPS];    /* supplementary groups (from NSS) */
	int n_groups;
	char user[CTL_NAME_MAX];                /* user name, or "" if unknown */
};

/*
 * The role of a peer under acl:
 *   1. uid 0 is always admin (root can bypass the socket anyway);
 *   2. otherwise the highest role among grants matching the uid;
 *   3. otherwise the highest role among grants matching the primary gid or
 *      any supplementary group;
 *   4. otherwise acl->default_role.
 * A uid grant is deliberate about one person, so it wins over (and may be
 * lower than) what that person's groups would give.
 */
enum ctl_acl_role ctl_access_role(const struct ctl_access_cfg *acl, const struct ctl_peer *p);

/*
 * Fill a peer from SO_PEERCRED values: the user name and supplementary
 * groups come from NSS (getpwuid_r + getgrouplist). A uid without a passwd
 * entry keeps an empty name and only its primary gid.
 */
void ctl_peer_lookup(struct ctl_peer *p, uid_t uid, gid_t gid);

#endif /* CTL_ACCESS_H */
