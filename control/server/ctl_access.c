/*
 * ctl_access.c - CLI roles from the peer's credentials (see ctl_access.h).
 */
#define _GNU_SOURCE
#include "ctl_access.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "ctl_server.h"

/* The config's role values are compared directly with command access levels. */
_Static_assert((int)CTL_ACL_VIEWER == (int)CTL_ACCESS_VIEWER, "role values");
_Static_assert((int)CTL_ACL_OPERATOR == (int)CTL_ACCESS_OPERATOR, "role values");
_Static_assert((int)CTL_ACL_ADMIN == (int)CTL_ACCESS_ADMIN, "role values");

static int peer_in_group(const struct ctl_peer *p, uint32_t gid)
{
	if ((uint32_t)p->gid == gid)
		return 1;
	for (int i = 0; i < p->n_groups && i < CTL_ACCESS_MAX_GROUPS; i++)
		if ((uint32_t)p->groups[i] == gid)
			return 1;
	return 0;
}

enum ctl_acl_role ctl_access_role(const struct ctl_access_cfg *acl, const struct ctl_peer *p)
{
	enum ctl_acl_role by_uid = CTL_ACL_NONE, by_gid = CTL_ACL_NONE;
	int uid_hit = 0, gid_hit = 0;

	if (p->uid == 0)
		return CTL_ACL_ADMIN;
	/* An unknown peer (SO_PEERCRED failed) matches no grant. */
	if (p->uid == (uid_t)-1)
		return acl->default_role;
	for (uint32_t i = 0; i < acl->n_entries && i < CTL_MAX_ACL; i++) {
		const struct ctl_acl_entry *e = &acl->entries[i];
		if (!e->is_gid && (uint32_t)p->uid == e->id) {
			uid_hit = 1;
			if (e->role > by_uid)
				by_uid = e->role;
		} else if (e->is_gid && peer_in_group(p, e->id)) {
			gid_hit = 1;
			if (e->role > by_gid)
				by_gid = e->role;
		}
	}
	if (uid_hit)
		return by_uid;
	if (gid_hit)
		return by_gid;
	return acl->default_role;
}

void ctl_peer_lookup(struct ctl_peer *p, uid_t uid, gid_t gid)
{
	char buf[16384];
	struct passwd pw, *res = NULL;

	memset(p, 0, sizeof(*p));
	p->uid = uid;
	p->gid = gid;
	if (uid == (uid_t)-1)
		return;
	/* NSS may be slow (LDAP); it runs once per connection, and a site that
	 * cannot afford that uses numeric uid/gid grants and local files. */
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return;
	snprintf(p->user, sizeof(p->user), "%s", res->pw_name);
	int n = CTL_ACCESS_MAX_GROUPS;
	/* getgrouplist returns -1 when there are more groups than fit, with n
	 * set to the full count: the first CTL_ACCESS_MAX_GROUPS are kept. */
	if (getgrouplist(res->pw_name, gid, p->groups, &n) < 0 && n > CTL_ACCESS_MAX_GROUPS)
		n = CTL_ACCESS_MAX_GROUPS;
	p->n_groups = n < 0 ? 0 : n;
}
