/*
 * test_ctl_access.c - unit tests for CLI roles (control/server/ctl_access.c):
 * which role a peer gets from the config's access grants. The rules decide
 * who may change the appliance, so each one is pinned here: uid 0 is admin,
 * a uid grant beats group grants (even when lower), the highest matching
 * grant wins, primary and supplementary gids both match, and peers that
 * match nothing get default_role.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_access.h"

static struct ctl_access_cfg acl;

static void grant(bool is_gid, uint32_t id, enum ctl_acl_role role)
{
	struct ctl_acl_entry *e = &acl.entries[acl.n_entries++];
	memset(e, 0, sizeof(*e));
	e->is_gid = is_gid;
	e->id = id;
	e->role = role;
}

static struct ctl_peer peer(uid_t uid, gid_t gid, int n, const gid_t *groups)
{
	struct ctl_peer p;
	memset(&p, 0, sizeof(p));
	p.uid = uid;
	p.gid = gid;
	p.n_groups = n;
	for (int i = 0; i < n; i++)
		p.groups[i] = groups[i];
	return p;
}

static void setup(void)
{
	memset(&acl, 0, sizeof(acl));
	acl.default_role = CTL_ACL_VIEWER;
}

START_TEST(test_uid0_always_admin)
{
	struct ctl_peer p = peer(0, 0, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_ADMIN);
	/* even when a grant or the default says less */
	grant(false, 0, CTL_ACL_VIEWER);
	acl.default_role = CTL_ACL_NONE;
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_ADMIN);
}
END_TEST

START_TEST(test_default_role)
{
	struct ctl_peer p = peer(1000, 1000, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_VIEWER);
	acl.default_role = CTL_ACL_NONE;
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_NONE);
	/* grants for others do not apply */
	grant(false, 1001, CTL_ACL_ADMIN);
	grant(true, 1001, CTL_ACL_ADMIN);
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_NONE);
	/* a peer whose credentials are unknown gets the default, never a grant */
	grant(false, (uint32_t)-1, CTL_ACL_ADMIN);
	struct ctl_peer unknown = peer((uid_t)-1, (gid_t)-1, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &unknown), CTL_ACL_NONE);
}
END_TEST

START_TEST(test_uid_grant_highest_wins)
{
	grant(false, 1000, CTL_ACL_VIEWER);
	grant(false, 1000, CTL_ACL_OPERATOR);
	grant(false, 1000, CTL_ACL_VIEWER);
	struct ctl_peer p = peer(1000, 50, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_OPERATOR);
}
END_TEST

START_TEST(test_uid_grant_beats_groups)
{
	/* A uid grant is about one person: their groups do not raise it. */
	grant(true, 50, CTL_ACL_ADMIN);
	grant(false, 1000, CTL_ACL_VIEWER);
	struct ctl_peer p = peer(1000, 50, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &p), CTL_ACL_VIEWER);
	/* without the uid grant, the group applies */
	struct ctl_peer q = peer(1001, 50, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &q), CTL_ACL_ADMIN);
}
END_TEST

START_TEST(test_gid_primary_and_supplementary)
{
	grant(true, 50, CTL_ACL_OPERATOR);
	grant(true, 60, CTL_ACL_ADMIN);
	grant(true, 70, CTL_ACL_VIEWER);
	gid_t g70[] = {70};
	gid_t g70_60[] = {70, 60};
	struct ctl_peer prim = peer(1000, 50, 0, NULL);
	struct ctl_peer supp = peer(1000, 10, 1, g70);
	struct ctl_peer both = peer(1000, 50, 2, g70_60);
	struct ctl_peer none = peer(1000, 10, 0, NULL);
	ck_assert_int_eq(ctl_access_role(&acl, &prim), CTL_ACL_OPERATOR);
	ck_assert_int_eq(ctl_access_role(&acl, &supp), CTL_ACL_VIEWER);
	ck_assert_int_eq(ctl_access_role(&acl, &both), CTL_ACL_ADMIN); /* highest of all groups */
	acl.default_role = CTL_ACL_NONE;
	ck_assert_int_eq(ctl_access_role(&acl, &none), CTL_ACL_NONE);
	/* a group grant below the default still decides (it matched) */
	acl.default_role = CTL_ACL_VIEWER;
	ck_assert_int_eq(ctl_access_role(&acl, &supp), CTL_ACL_VIEWER);
}
END_TEST

START_TEST(test_peer_lookup)
{
	struct ctl_peer p;
	ctl_peer_lookup(&p, 0, 0);
	ck_assert_str_eq(p.user, "root");
	ck_assert_int_ge(p.n_groups, 1); /* getgrouplist includes the primary gid */
	ctl_peer_lookup(&p, (uid_t)-1, (gid_t)-1);
	ck_assert_str_eq(p.user, "");
	ck_assert_int_eq(p.n_groups, 0);
	/* a uid without a passwd entry keeps only its SO_PEERCRED gid */
	ctl_peer_lookup(&p, 4000000001u, 77);
	ck_assert_str_eq(p.user, "");
	ck_assert_int_eq(p.gid, 77);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl_access");
	TCase *tc = tcase_create("roles");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_uid0_always_admin);
	tcase_add_test(tc, test_default_role);
	tcase_add_test(tc, test_uid_grant_highest_wins);
	tcase_add_test(tc, test_uid_grant_beats_groups);
	tcase_add_test(tc, test_gid_primary_and_supplementary);
	tcase_add_test(tc, test_peer_lookup);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
