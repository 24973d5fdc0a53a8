/*
 * test_config_diff.c - Check unit tests for ctl_config_diff: the key list
 * behind `config show`, and the live/restart classification that decides
 * whether `config reload` may apply a file (unchanged, live-only,
 * restart-only, mixed, list entries appearing and going away).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config_diff.h"

#define DP "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book]\n"
#define PORTS "ports:\n  - name: feed0\n    device: dev0\n"
#define BASE DP PORTS "feed:\n  udp_ports: [26477]\n  groups: [233.54.12.111]\n"

/* The diff is large (detail for 64 keys): keep it off the stack. */
static struct ctl_config_diff d;
static struct mgw_config a, b;

static void load(const char *yaml, struct mgw_config *c)
{
	struct ctl_config_err e;
	int rc = ctl_config_parse(yaml, strlen(yaml), "t.yaml", c, &e);
	ck_assert_msg(rc == 0, "%d: %s: %s", e.line, e.key, e.msg);
}

static const struct ctl_config_change *change(const char *key)
{
	for (uint32_t i = 0; i < d.n_kept; i++)
		if (strcmp(d.ch[i].key, key) == 0)
			return &d.ch[i];
	return NULL;
}

START_TEST(test_unchanged)
{
	load(BASE, &a);
	load(BASE, &b);
	/* The file name is not a key: the same document from elsewhere is unchanged. */
	strcpy(b.source, "/elsewhere.yaml");
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(d.n_live, 0);
	ck_assert_uint_eq(d.n_restart, 0);
}
END_TEST

START_TEST(test_live_only)
{
	load(BASE, &a);
	load(DP PORTS "feed:\n  udp_ports: [26478, 26479]\n  groups: [233.54.12.111, 233.1.1.1]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.n_live, 2);
	ck_assert_uint_eq(d.n_restart, 0);
	ck_assert_uint_eq(d.live_sides, CTL_CFG_SIDE_DATAPLANE);
	const struct ctl_config_change *c = change("feed.udp_ports");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->old_value, "[26477]");
	ck_assert_str_eq(c->new_value, "[26478, 26479]");
	ck_assert_int_eq(c->apply, CTL_CFG_LIVE);
	c = change("feed.groups");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->new_value, "[\"233.54.12.111\", \"233.1.1.1\"]");
}
END_TEST

START_TEST(test_restart_only)
{
	load(BASE, &a);
	load(BASE "book:\n  max_orders: 1000\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.n_restart, 1);
	ck_assert_uint_eq(d.n_live, 0);
	const struct ctl_config_change *c = change("book.max_orders");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->apply, CTL_CFG_RESTART);
	ck_assert_str_eq(c->old_value, "1048576");
	ck_assert_str_eq(c->new_value, "1000");
}
END_TEST

START_TEST(test_mixed)
{
	load(BASE, &a);
	load("instance: other\n" DP PORTS "feed:\n  udp_ports: [1]\n  groups: [233.54.12.111]\n"
	     "control:\n  socket: /tmp/other.sock\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.n_live, 1);
	ck_assert_uint_eq(d.n_restart, 2);
	ck_assert_int_eq(change("feed.udp_ports")->apply, CTL_CFG_LIVE);
	ck_assert_int_eq(change("instance")->apply, CTL_CFG_RESTART);
	ck_assert_int_eq(change("control.socket")->apply, CTL_CFG_RESTART);
	ck_assert_ptr_null(change("feed.groups"));
}
END_TEST

START_TEST(test_list_entries_appear_and_go)
{
	load(BASE, &a);
	load(DP PORTS "  - name: feed1\n    device: dev1\n"
	     "feed:\n  udp_ports: [26477]\n  groups: [233.54.12.111]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n_live, 0);
	ck_assert_uint_eq(d.n, 7); /* every key of ports[1] */
	const struct ctl_config_change *c = change("ports[1].device");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->old_value, "(absent)");
	ck_assert_str_eq(c->new_value, "\"dev1\"");
	/* and the other way round */
	ck_assert_int_eq(ctl_config_diff(&b, &a, &d), 0);
	ck_assert_uint_eq(d.n, 7);
	ck_assert_str_eq(change("ports[1].name")->new_value, "(absent)");
}
END_TEST

START_TEST(test_access_is_live_on_control)
{
	load(BASE, &a);
	load(BASE "access:\n  default_role: none\n  grants:\n    - uid: 1000\n      role: operator\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.n_live, 3);
	ck_assert_uint_eq(d.live_sides, CTL_CFG_SIDE_CONTROL);
	ck_assert_str_eq(change("access.default_role")->new_value, "\"none\"");
	ck_assert_str_eq(change("access.grants[0].uid")->new_value, "1000");
}
END_TEST

/* matching and risk keys are listed; all restart (risk limits change live
   through `mgwctl risk set`, not through a reload). */
START_TEST(test_order_path_keys_restart)
{
	load(BASE "risk:\n  accounts:\n    - id: 1\n      max_order_qty: 10\n", &a);
	load(BASE "matching:\n  max_orders: 99\n"
	     "risk:\n  accounts:\n    - id: 1\n      max_order_qty: 20\n      restricted: [AB]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_uint_eq(d.n_restart, 3);
	ck_assert_str_eq(change("risk.accounts[0].max_order_qty")->new_value, "20");
	ck_assert_str_eq(change("risk.accounts[0].restricted")->new_value, "[\"AB\"]");
	ck_assert_str_eq(change("matching.max_orders")->old_value, "65536");
	ck_assert_int_eq(ctl_config_key_apply("risk.accounts[0].collar_bps", NULL), CTL_CFG_RESTART);
}
END_TEST

START_TEST(test_unlisted_field_is_restart)
{
	/* A field the key list does not know (simulated by poking the bytes of a
	   section) must still be refused as restart-only, never applied live. */
	load(BASE, &a);
	load(BASE, &b);
	b.control.socket[CTL_PATH_MAX - 1] = 'x'; /* after the NUL: not visible as a value */
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.n_restart, 1);
	ck_assert_ptr_nonnull(change("control (unlisted key)"));
}
END_TEST

static int keys_seen;
static void count_key(void *arg, const char *key, const char *value)
{
	(void)arg;
	ck_assert(key[0] != '\0');
	ck_assert(value[0] != '\0');
	keys_seen++;
}

START_TEST(test_walk_and_classes)
{
	load(BASE, &a);
	keys_seen = 0;
	ctl_config_walk(&a, count_key, NULL);
	/* instance + 5 dataplane + 3 lcore + 7 port + 2 feed + 3 book + socket */
	ck_assert_int_ge(keys_seen, 22);
	uint32_t side = 99;
	ck_assert_int_eq(ctl_config_key_apply("feed.groups", &side), CTL_CFG_LIVE);
	ck_assert_uint_eq(side, CTL_CFG_SIDE_DATAPLANE);
	ck_assert_int_eq(ctl_config_key_apply("dataplane.burst", &side), CTL_CFG_RESTART);
	ck_assert_uint_eq(side, 0);
	ck_assert_int_eq(ctl_config_key_apply("ports[0].mtu", NULL), CTL_CFG_RESTART);
	ck_assert_int_eq(ctl_config_key_apply("access.grants[3].role", &side), CTL_CFG_LIVE);
	ck_assert_uint_eq(side, CTL_CFG_SIDE_CONTROL);
	ck_assert_int_eq(ctl_config_key_apply("control.metrics", NULL), CTL_CFG_RESTART);
	ck_assert_str_eq(ctl_cfg_apply_name(CTL_CFG_LIVE), "live");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config_diff");
	TCase *tc = tcase_create("diff");
	tcase_add_test(tc, test_unchanged);
	tcase_add_test(tc, test_order_path_keys_restart);
	tcase_add_test(tc, test_live_only);
	tcase_add_test(tc, test_restart_only);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_list_entries_appear_and_go);
	tcase_add_test(tc, test_access_is_live_on_control);
	tcase_add_test(tc, test_unlisted_field_is_restart);
	tcase_add_test(tc, test_walk_and_classes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
