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

/* matching keys and risk.default_throttle are restart; every key of a risk
   account is live (sent as `risk set` commands), on the risk side. */
START_TEST(test_order_path_keys)
{
	load(BASE "risk:\n  accounts:\n    - id: 1\n      max_order_qty: 10\n", &a);
	load(BASE "matching:\n  max_orders: 99\n"
	     "risk:\n  default_throttle: 5\n  accounts:\n    - id: 1\n      max_order_qty: 20\n"
	     "      restricted: [AB]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 4);
	ck_assert_uint_eq(d.n_restart, 2);
	ck_assert_uint_eq(d.n_live, 2);
	ck_assert_uint_eq(d.live_sides, CTL_CFG_SIDE_RISK);
	ck_assert_str_eq(change("risk.accounts[0].max_order_qty")->new_value, "20");
	ck_assert_int_eq(change("risk.accounts[0].max_order_qty")->apply, CTL_CFG_LIVE);
	ck_assert_str_eq(change("risk.accounts[0].restricted")->new_value, "[\"AB\"]");
	ck_assert_str_eq(change("matching.max_orders")->old_value, "65536");
	ck_assert_int_eq(change("matching.max_orders")->apply, CTL_CFG_RESTART);
	ck_assert_int_eq(change("risk.default_throttle")->apply, CTL_CFG_RESTART);
	uint32_t side = 0;
	ck_assert_int_eq(ctl_config_key_apply("risk.accounts[0].collar_bps", &side), CTL_CFG_LIVE);
	ck_assert_uint_eq(side, CTL_CFG_SIDE_RISK);
	ck_assert_int_eq(ctl_config_key_apply("risk.accounts[3].stp", NULL), CTL_CFG_LIVE);
	ck_assert_int_eq(ctl_config_key_apply("risk.default_throttle", NULL), CTL_CFG_RESTART);
	ck_assert_int_eq(ctl_config_key_apply("reference.stale_after_ms", NULL), CTL_CFG_RESTART);
}
END_TEST

#define ACCTS2 "risk:\n  accounts:\n    - id: 1\n      max_order_qty: 10\n      stp: none\n" \
	"    - id: 2\n      collar_bps: 50\n      restricted: [AB, CD]\n"

/* Accounts are matched by id: a limit turned off, a limit added, STP, restrictions. */
START_TEST(test_risk_limit_changes)
{
	load(BASE ACCTS2, &a);
	load(BASE "risk:\n  accounts:\n    - id: 1\n      stp: cancel_both\n      credit_limit: 5000\n"
	     "    - id: 2\n      collar_bps: 75\n      restricted: [CD, EF]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n_restart, 0);
	ck_assert_uint_eq(d.n, 5);
	ck_assert_str_eq(change("risk.accounts[0].max_order_qty")->old_value, "10");
	ck_assert_str_eq(change("risk.accounts[0].max_order_qty")->new_value, "null");
	ck_assert_str_eq(change("risk.accounts[0].credit_limit")->new_value, "5000");
	ck_assert_str_eq(change("risk.accounts[0].stp")->new_value, "\"cancel_both\"");
	ck_assert_str_eq(change("risk.accounts[1].collar_bps")->old_value, "50");
	ck_assert_str_eq(change("risk.accounts[1].restricted")->new_value, "[\"CD\", \"EF\"]");
}
END_TEST

/* A new account is live (keys from "(absent)"); one that went away is restart. */
START_TEST(test_risk_accounts_added_removed_reordered)
{
	load(BASE ACCTS2, &a);
	/* account 3 inserted at the top: accounts 1 and 2 moved, unchanged */
	load(BASE "risk:\n  accounts:\n    - id: 3\n      max_position: 100\n"
	     "    - id: 1\n      max_order_qty: 10\n      stp: none\n"
	     "    - id: 2\n      collar_bps: 50\n      restricted: [AB, CD]\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n_restart, 0);
	ck_assert_uint_eq(d.n, 8); /* every key of account 3, nothing else */
	ck_assert_str_eq(change("risk.accounts[0].id")->old_value, "(absent)");
	ck_assert_str_eq(change("risk.accounts[0].id")->new_value, "3");
	ck_assert_str_eq(change("risk.accounts[0].max_position")->new_value, "100");
	ck_assert_int_eq(change("risk.accounts[0].max_position")->apply, CTL_CFG_LIVE);
	/* the other way round: account 3 removed is a restart change, by name */
	ck_assert_int_eq(ctl_config_diff(&b, &a, &d), 0);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.n_restart, 1);
	const struct ctl_config_change *c = change("risk.accounts[0].id");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->old_value, "3");
	ck_assert_str_eq(c->new_value, "(absent)");
	ck_assert_int_eq(c->apply, CTL_CFG_RESTART);
	/* the same accounts in another order: no change */
	load(BASE "risk:\n  accounts:\n    - id: 2\n      collar_bps: 50\n      restricted: [AB, CD]\n"
	     "    - id: 1\n      max_order_qty: 10\n      stp: none\n", &b);
	ck_assert_int_eq(ctl_config_diff(&a, &b, &d), 0);
	ck_assert_uint_eq(d.n, 0);
}
END_TEST

static struct ctl_risk_op ops[CTL_RISK_OPS_MAX];

static const struct ctl_risk_op *op(int n, uint32_t acct, const char *key, const char *sym)
{
	for (int i = 0; i < n; i++)
		if (ops[i].account == acct && strcmp(ops[i].key, key) == 0 && (!sym || !strcmp(ops[i].symbol, sym)))
			return &ops[i];
	return NULL;
}

/* The commands a reload sends: against what the dataplane holds, file wins. */
START_TEST(test_risk_plan)
{
	load(BASE ACCTS2, &a);
	load(BASE "risk:\n  accounts:\n    - id: 4\n      restricted: [ZZ]\n"
	     "    - id: 1\n      max_order_qty: 10\n      stp: none\n"
	     "    - id: 2\n      collar_bps: 75\n      restricted: [CD, EF]\n    - id: 5\n", &b);
	/* the dataplane: account 1 had its qty changed by `risk set` to 5, account 2 as in
	   the old file, account 9 created by `risk set` only */
	struct ctl_risk_have have[3] = {
		{.account = 1, .enabled = CTL_RISK_MAX_QTY, .max_order_qty = 5, .stp = CTL_STP_NONE},
		{.account = 2, .enabled = CTL_RISK_COLLAR, .collar_bps = 50, .stp = CTL_STP_CANCEL_NEWEST},
		{.account = 9, .enabled = CTL_RISK_MAX_QTY, .max_order_qty = 1, .stp = CTL_STP_CANCEL_NEWEST},
	};
	char err[256];
	int n = ctl_config_risk_plan(&a, &b, have, 3, 64, ops, CTL_RISK_OPS_MAX, err, sizeof(err));
	ck_assert_msg(n >= 0, "%s", err);
	ck_assert_int_eq(n, 7);
	/* known accounts first, in file order: 1 then 2 */
	ck_assert_uint_eq(ops[0].account, 1);
	ck_assert_str_eq(ops[0].key, "max_order_qty"); /* the file wins over risk set */
	ck_assert_uint_eq(ops[0].value, 10);
	ck_assert_uint_eq(ops[0].undo, 5);
	ck_assert(!ops[0].creates && !ops[0].new_account);
	const struct ctl_risk_op *o = op(n, 2, "collar_bps", NULL);
	ck_assert_uint_eq(o->value, 75);
	ck_assert_uint_eq(o->undo, 50);
	ck_assert_uint_eq(op(n, 2, "restrict", "EF")->value, 1);
	ck_assert_ptr_nonnull(op(n, 2, "unrestrict", "AB"));
	ck_assert_ptr_null(op(n, 2, "restrict", "CD")); /* unchanged name: nothing sent */
	/* new accounts last: 4 (created with its checks off, then its restriction), 5 */
	ck_assert_uint_eq(ops[4].account, 4);
	ck_assert_str_eq(ops[4].key, "max_order_qty");
	ck_assert_uint_eq(ops[4].value, 0);
	ck_assert(ops[4].creates && ops[4].new_account);
	ck_assert_str_eq(ops[5].key, "restrict");
	ck_assert_str_eq(ops[5].symbol, "ZZ");
	ck_assert(!ops[5].creates && ops[5].new_account);
	ck_assert_uint_eq(ops[6].account, 5);
	ck_assert(ops[6].creates);
	ck_assert_ptr_null(op(n, 9, "max_order_qty", NULL)); /* not in the file: left alone */

	/* nothing to do when the dataplane already holds the file */
	struct ctl_risk_have same[2] = {have[0], have[1]};
	same[0].max_order_qty = 10;
	n = ctl_config_risk_plan(&a, &a, same, 2, 64, ops, CTL_RISK_OPS_MAX, err, sizeof(err));
	ck_assert_int_eq(n, 0);

	/* an STP back to the default (matching.stp) and limits turned off */
	load(BASE "risk:\n  accounts:\n    - id: 1\n", &b);
	load(BASE "risk:\n  accounts:\n    - id: 1\n", &a);
	n = ctl_config_risk_plan(&a, &b, have, 1, 64, ops, CTL_RISK_OPS_MAX, err, sizeof(err));
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ops[0].key, "max_order_qty");
	ck_assert_uint_eq(ops[0].value, 0); /* off */
	ck_assert_str_eq(ops[1].key, "stp");
	ck_assert_uint_eq(ops[1].value, CTL_STP_CANCEL_NEWEST);
	ck_assert_uint_eq(ops[1].undo, CTL_STP_NONE);
}
END_TEST

START_TEST(test_risk_plan_refusals)
{
	char err[256];
	load(BASE ACCTS2, &a);
	load(BASE "risk:\n  accounts:\n    - id: 1\n", &b);
	/* account 2 removed */
	ck_assert_int_eq(ctl_config_risk_plan(&a, &b, NULL, 0, 64, ops, CTL_RISK_OPS_MAX, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "account 2 was removed"));
	/* no room for a new account */
	load(BASE "risk:\n  accounts:\n    - id: 1\n    - id: 7\n", &a);
	struct ctl_risk_have have[2] = {{.account = 1}, {.account = 9}};
	load(BASE "risk:\n  accounts:\n    - id: 1\n", &b);
	ck_assert_int_eq(ctl_config_risk_plan(&b, &a, have, 2, 2, ops, CTL_RISK_OPS_MAX, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "account 7 (risk.accounts[1]) cannot be added"));
	ck_assert_int_eq(ctl_config_risk_plan(&b, &a, have, 2, 3, ops, CTL_RISK_OPS_MAX, err, sizeof(err)), 2);
	/* more commands than room */
	ck_assert_int_eq(ctl_config_risk_plan(&b, &a, have, 2, 3, ops, 1, err, sizeof(err)), -1);
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
	tcase_add_test(tc, test_order_path_keys);
	tcase_add_test(tc, test_risk_limit_changes);
	tcase_add_test(tc, test_risk_accounts_added_removed_reordered);
	tcase_add_test(tc, test_risk_plan);
	tcase_add_test(tc, test_risk_plan_refusals);
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
