/*
 * test_config.c - unit tests for the YAML config loader (control/config):
 * the bundled mgw.yaml, a document using every key, defaults, a table of bad
 * documents (each checked for the exact line and key path of its error), the
 * error/role formatters, and a random-mutation loop that must never crash.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_config.h"

#define BUNDLED MGW_SOURCE_DIR "/control/config/mgw.yaml"

/* Building blocks of a minimal valid document (line counts matter below). */
#define DP "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book]\n" /* lines 1-4 */
#define PORTS "ports:\n  - name: feed0\n    device: dev0\n"                 /* 3 lines */
#define FEED "feed:\n  udp_ports: [26477]\n"                               /* 2 lines */
#define MINIMAL DP PORTS FEED

static int parse(const char *yaml, struct mgw_config *c, struct ctl_config_err *e)
{
	return ctl_config_parse(yaml, strlen(yaml), "t.yaml", c, e);
}

static bool is_defaults(const struct mgw_config *c)
{
	struct mgw_config d;

	ctl_config_defaults(&d);
	return memcmp(&d, c, sizeof d) == 0;
}

/* ---- good documents ---------------------------------------------------- */

/* access: every form of grant; names resolve through NSS (root is uid/gid 0 everywhere). */
START_TEST(test_access_section)
{
	struct mgw_config c;
	struct ctl_config_err e;
	const char *doc = MINIMAL "control:\n  socket_mode: 0666\n  socket_group: root\n"
			  "access:\n  default_role: none\n  grants:\n"
			  "    - uid: 1000\n      role: operator\n"
			  "    - user: root\n      role: admin\n"
			  "    - gid: 100\n      role: viewer\n"
			  "    - group: root\n      role: operator\n";

	ck_assert_msg(parse(doc, &c, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(c.control.socket_mode, 0666);
	ck_assert(c.control.socket_group_set);
	ck_assert_uint_eq(c.control.socket_group, 0);
	ck_assert_int_eq(c.access.default_role, CTL_ACL_NONE);
	ck_assert_uint_eq(c.access.n_entries, 4);
	ck_assert(!c.access.entries[0].is_gid);
	ck_assert_uint_eq(c.access.entries[0].id, 1000);
	ck_assert_int_eq(c.access.entries[0].role, CTL_ACL_OPERATOR);
	ck_assert_str_eq(c.access.entries[1].name, "root");
	ck_assert_uint_eq(c.access.entries[1].id, 0);
	ck_assert_int_eq(c.access.entries[1].role, CTL_ACL_ADMIN);
	ck_assert(c.access.entries[2].is_gid);
	ck_assert_uint_eq(c.access.entries[2].id, 100);
	ck_assert(c.access.entries[3].is_gid);
	ck_assert_str_eq(c.access.entries[3].name, "root");

	/* Defaults: 0660, no group change, viewer for unknown peers, no grants. */
	ck_assert_int_eq(parse(MINIMAL, &c, &e), 0);
	ck_assert_uint_eq(c.control.socket_mode, 0660);
	ck_assert(!c.control.socket_group_set);
	ck_assert_int_eq(c.access.default_role, CTL_ACL_VIEWER);
	ck_assert_uint_eq(c.access.n_entries, 0);
	ck_assert_str_eq(ctl_acl_role_name(CTL_ACL_OPERATOR), "operator");
	ck_assert_str_eq(ctl_acl_role_name(CTL_ACL_NONE), "none");
}
END_TEST

/* matching: and risk: with every key; the match role; defaults when absent. */
START_TEST(test_order_path_sections)
{
	struct mgw_config c;
	struct ctl_config_err e;
	ck_assert_int_eq(parse(MINIMAL, &c, &e), 0);
	ck_assert_uint_eq(c.match_lcore_set, 0);
	ck_assert_uint_eq(c.matching.max_orders, 65536);
	ck_assert_int_eq(c.matching.stp, CTL_STP_CANCEL_NEWEST);
	ck_assert_uint_eq(c.matching.report_ring_size, 16384);
	ck_assert_uint_eq(c.risk.n_accounts, 0);
	const char *doc = "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book, match]\n" PORTS FEED
			  "matching:\n  max_orders: 1000\n  max_levels: 100\n  max_sessions: 4\n"
			  "  stp: cancel_both\n  order_ring_size: 256\n  report_ring_size: 1024\n"
			  "risk:\n  default_throttle: 50\n  accounts:\n"
			  "    - id: 7\n      max_order_qty: 100\n      max_order_notional: 25000\n"
			  "      collar_bps: 300\n      credit_limit: 1000000\n      max_position: 5000\n"
			  "      stp: none\n      restricted: [AAPL, \"BRK.A\"]\n"
			  "    - id: 8\n";
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_uint_eq(c.match_lcore_set, 1);
	ck_assert_uint_eq(c.dataplane.lcores[0].roles, CTL_ROLE_RX | CTL_ROLE_BOOK | CTL_ROLE_MATCH);
	ck_assert_uint_eq(c.matching.max_orders, 1000);
	ck_assert_uint_eq(c.matching.max_sessions, 4);
	ck_assert_int_eq(c.matching.stp, CTL_STP_CANCEL_BOTH);
	ck_assert_uint_eq(c.matching.order_ring_size, 256);
	ck_assert_uint_eq(c.risk.default_throttle, 50);
	ck_assert_uint_eq(c.risk.n_accounts, 2);
	const struct ctl_account_cfg *a = &c.risk.accounts[0];
	ck_assert_uint_eq(a->id, 7);
	ck_assert_uint_eq(a->enabled, 0x1f);
	ck_assert_uint_eq(a->max_order_notional, 25000); /* dollars */
	ck_assert_uint_eq(a->credit_limit, 1000000);
	ck_assert_int_eq(a->stp, CTL_STP_NONE);
	ck_assert_uint_eq(a->n_restricted, 2);
	ck_assert_str_eq(a->restricted[0], "AAPL");
	ck_assert_str_eq(a->restricted[1], "BRK.A");
	ck_assert_uint_eq(c.risk.accounts[1].enabled, 0); /* no limit given: none checked */
	ck_assert_int_eq(c.risk.accounts[1].stp, -1);
}
END_TEST

START_TEST(test_bundled_loads)
{
	struct mgw_config c;
	struct ctl_config_err e;
	char roles[32];

	unsetenv("MGW_DATA_DIR");
	unsetenv("MGW_RUN_DIR");
	ck_assert_msg(ctl_config_load(BUNDLED, &c, &e) == 0, "%s:%d: %s: %s", e.file, e.line,
		      e.key, e.msg);
	ck_assert_str_eq(c.source, BUNDLED);
	ck_assert_str_eq(c.instance, "mgw");
	ck_assert_int_eq(c.dataplane.hugepages, CTL_HUGE_AUTO);
	ck_assert_uint_eq(c.dataplane.memory_mb, 256);
	ck_assert_uint_eq(c.dataplane.n_lcores, 1);
	ck_assert_uint_eq(c.dataplane.lcores[0].id, 1);
	ctl_roles_format(c.dataplane.lcores[0].roles, roles, sizeof roles);
	ck_assert_str_eq(roles, "rx,book");
	ck_assert_uint_eq(c.n_ports, 1);
	ck_assert_str_eq(c.ports[0].name, "feed0");
	ck_assert_str_eq(c.ports[0].device, "net_pcap0,rx_pcap=/var/lib/mgw/demo.pcap");
	ck_assert_uint_eq(c.feed.n_udp_ports, 1);
	ck_assert_uint_eq(c.feed.udp_ports[0], 26477);
	ck_assert_uint_eq(c.feed.n_groups, 1);
	ck_assert_uint_eq(c.feed.groups[0], (233u << 24) | (54u << 16) | (12u << 8) | 111u);
	ck_assert_uint_eq(c.book.max_orders, 1048576);
	ck_assert_uint_eq(c.book.max_levels, 262144);
	ck_assert_str_eq(c.control.socket, "/run/mgw/mgw.sock");

	setenv("MGW_DATA_DIR", "/srv/data", 1);
	setenv("MGW_RUN_DIR", "/tmp/run", 1);
	ck_assert_int_eq(ctl_config_load(BUNDLED, &c, &e), 0);
	ck_assert_str_eq(c.ports[0].device, "net_pcap0,rx_pcap=/srv/data/demo.pcap");
	ck_assert_str_eq(c.control.socket, "/tmp/run/mgw.sock");
}
END_TEST

static const char full_doc[] =
	"# every key\n"
	"instance: gw-test_1\n"
	"dataplane:\n"
	"  hugepages: off\n"
	"  memory_mb: 1048576\n"
	"  main_lcore: 2\n"
	"  burst: 256\n"
	"  ring_size: 1024\n"
	"  lcores:\n"
	"    - id: 3\n"
	"      roles: [rx]\n"
	"    - id: 1023\n"
	"      roles:\n"
	"        - book\n"
	"        - match\n"
	"    - {id: 0, roles: [oe]}\n"
	"ports:\n"
	"  - name: feed0\n"
	"    device: \"0000:01:00.0\"\n"
	"    rx_queues: 16\n"
	"    rx_desc: 16384\n"
	"    mtu: 9600\n"
	"    promiscuous: false\n"
	"    all_multicast: false\n"
	"  - name: FEED-1\n"
	"    device: net_pcap1,rx_pcap=/tmp/x.pcap\n"
	"    rx_queues: 1\n"
	"    rx_desc: 64\n"
	"    mtu: 68\n"
	"    promiscuous: true\n"
	"    all_multicast: true\n"
	"feed:\n"
	"  udp_ports: [1, 65535, 26477]\n"
	"  groups: [\"233.54.12.111\", 0.0.0.0, 255.255.255.255]\n"
	"book:\n"
	"  max_orders: 2147483647\n"
	"  max_levels: 1\n"
	"  max_symbols: 65536\n"
	"  ladders: 65535\n"
	"control:\n"
	"  socket: '/tmp/mgw test.sock'\n";

START_TEST(test_full_document)
{
	struct mgw_config c;
	struct ctl_config_err e;

	ck_assert_msg(parse(full_doc, &c, &e) == 0, "%d: %s: %s", e.line, e.key, e.msg);
	ck_assert_str_eq(c.source, "t.yaml");
	ck_assert_str_eq(c.instance, "gw-test_1");
	ck_assert_int_eq(c.dataplane.hugepages, CTL_HUGE_OFF);
	ck_assert_uint_eq(c.dataplane.memory_mb, 1048576);
	ck_assert_uint_eq(c.dataplane.main_lcore, 2);
	ck_assert_uint_eq(c.dataplane.burst, 256);
	ck_assert_uint_eq(c.dataplane.ring_size, 1024);
	ck_assert_uint_eq(c.dataplane.n_lcores, 3);
	ck_assert_uint_eq(c.dataplane.lcores[0].id, 3);
	ck_assert_uint_eq(c.dataplane.lcores[0].roles, CTL_ROLE_RX);
	ck_assert_uint_eq(c.dataplane.lcores[1].id, 1023);
	ck_assert_uint_eq(c.dataplane.lcores[1].roles, CTL_ROLE_BOOK | CTL_ROLE_MATCH);
	ck_assert_uint_eq(c.dataplane.lcores[2].id, 0);
	ck_assert_uint_eq(c.dataplane.lcores[2].roles, CTL_ROLE_OE);
	ck_assert_uint_eq(c.n_ports, 2);
	ck_assert_str_eq(c.ports[0].name, "feed0");
	ck_assert_str_eq(c.ports[0].device, "0000:01:00.0");
	ck_assert_uint_eq(c.ports[0].rx_queues, 16);
	ck_assert_uint_eq(c.ports[0].rx_desc, 16384);
	ck_assert_uint_eq(c.ports[0].mtu, 9600);
	ck_assert(!c.ports[0].promiscuous);
	ck_assert(!c.ports[0].all_multicast);
	ck_assert_str_eq(c.ports[1].name, "FEED-1");
	ck_assert_str_eq(c.ports[1].device, "net_pcap1,rx_pcap=/tmp/x.pcap");
	ck_assert_uint_eq(c.ports[1].rx_queues, 1);
	ck_assert_uint_eq(c.ports[1].rx_desc, 64);
	ck_assert_uint_eq(c.ports[1].mtu, 68);
	ck_assert(c.ports[1].promiscuous);
	ck_assert(c.ports[1].all_multicast);
	ck_assert_uint_eq(c.feed.n_udp_ports, 3);
	ck_assert_uint_eq(c.feed.udp_ports[0], 1);
	ck_assert_uint_eq(c.feed.udp_ports[1], 65535);
	ck_assert_uint_eq(c.feed.udp_ports[2], 26477);
	ck_assert_uint_eq(c.feed.n_groups, 3);
	ck_assert_uint_eq(c.feed.groups[0], 0xE9360C6Fu);
	ck_assert_uint_eq(c.feed.groups[1], 0);
	ck_assert_uint_eq(c.feed.groups[2], 0xFFFFFFFFu);
	ck_assert_uint_eq(c.book.max_orders, 2147483647u);
	ck_assert_uint_eq(c.book.max_levels, 1);
	ck_assert_uint_eq(c.book.max_symbols, 65536);
	ck_assert_uint_eq(c.book.ladders, 65535);
	ck_assert_str_eq(c.control.socket, "/tmp/mgw test.sock");
}
END_TEST

START_TEST(test_defaults_applied)
{
	struct mgw_config c, d;
	struct ctl_config_err e;

	ck_assert_msg(parse(MINIMAL, &c, &e) == 0, "%d: %s: %s", e.line, e.key, e.msg);
	ctl_config_defaults(&d);
	ck_assert_str_eq(c.instance, "mgw");
	ck_assert_int_eq(c.dataplane.hugepages, CTL_HUGE_AUTO);
	ck_assert_uint_eq(c.dataplane.memory_mb, 512);
	ck_assert_uint_eq(c.dataplane.main_lcore, 0);
	ck_assert_uint_eq(c.dataplane.burst, 32);
	ck_assert_uint_eq(c.dataplane.ring_size, 16384);
	ck_assert_uint_eq(c.ports[0].rx_queues, 1);
	ck_assert_uint_eq(c.ports[0].rx_desc, 1024);
	ck_assert_uint_eq(c.ports[0].mtu, 1500);
	ck_assert(c.ports[0].promiscuous);
	ck_assert(c.ports[0].all_multicast);
	ck_assert_uint_eq(c.feed.n_groups, 0);
	ck_assert_uint_eq(c.book.max_orders, 1048576);
	ck_assert_uint_eq(c.book.max_levels, 262144);
	ck_assert_uint_eq(c.book.max_symbols, 65536);
	ck_assert_uint_eq(c.book.ladders, 0);
	ck_assert_str_eq(c.control.socket, "/run/mgw/mgw.sock");
	ck_assert_mem_eq(&c.book, &d.book, sizeof d.book);

	/* The default socket follows the instance name. */
	ck_assert_int_eq(parse("instance: east-1\n" MINIMAL, &c, &e), 0);
	ck_assert_str_eq(c.control.socket, "/run/mgw/east-1.sock");

	/* cpu defaults to the lcore id, and may pin two lcores to one CPU. */
	ck_assert_uint_eq(c.dataplane.lcores[0].cpu, 1);
	ck_assert_int_eq(parse("dataplane:\n  lcores:\n    - id: 1\n      roles: [rx]\n"
			       "    - id: 2\n      cpu: 1\n      roles: [book]\n" PORTS FEED, &c, &e), 0);
	ck_assert_uint_eq(c.dataplane.n_lcores, 2);
	ck_assert_uint_eq(c.dataplane.lcores[1].id, 2);
	ck_assert_uint_eq(c.dataplane.lcores[1].cpu, 1);

	/* Empty groups list means "any destination". */
	ck_assert_int_eq(parse(DP PORTS "feed:\n  udp_ports: [1]\n  groups: []\n", &c, &e), 0);
	ck_assert_uint_eq(c.feed.n_groups, 0);
}
END_TEST

START_TEST(test_env_expansion)
{
	struct mgw_config c;
	struct ctl_config_err e;
	const char *doc = DP "ports:\n  - name: feed0\n    device: \"${MGW_T_DEV:-def}/${MGW_T_B}\"\n" FEED
			     "control:\n  socket: ${MGW_T_DIR:-/run/x}/s.sock\n";

	unsetenv("MGW_T_DEV");
	unsetenv("MGW_T_DIR");
	setenv("MGW_T_B", "b$x${", 1); /* expanded text is never re-expanded */
	ck_assert_msg(parse(doc, &c, &e) == 0, "%d: %s: %s", e.line, e.key, e.msg);
	ck_assert_str_eq(c.ports[0].device, "def/b$x${");
	ck_assert_str_eq(c.control.socket, "/run/x/s.sock");

	setenv("MGW_T_DEV", "", 1); /* empty counts as unset for :- (as in sh) */
	setenv("MGW_T_DIR", "/d", 1);
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_str_eq(c.ports[0].device, "def/b$x${");
	ck_assert_str_eq(c.control.socket, "/d/s.sock");

	setenv("MGW_T_DEV", "0000:02:00.0", 1);
	ck_assert_int_eq(parse(doc, &c, &e), 0);
	ck_assert_str_eq(c.ports[0].device, "0000:02:00.0/b$x${");

	/* Expansion also feeds numbers; a lone $ is literal. */
	setenv("MGW_T_MEM", "1024", 1);
	ck_assert_int_eq(parse("dataplane:\n  memory_mb: ${MGW_T_MEM}\n  lcores:\n"
			       "    - id: 1\n      roles: [rx, book]\n" PORTS FEED
			       "instance: a$b\n",
			       &c, &e),
			 -1); /* '$' is not a name character */
	ck_assert_str_eq(e.key, "instance");
	ck_assert_int_eq(parse("dataplane:\n  memory_mb: ${MGW_T_MEM}\n  lcores:\n"
			       "    - id: 1\n      roles: [rx, book]\n" PORTS FEED,
			       &c, &e),
			 0);
	ck_assert_uint_eq(c.dataplane.memory_mb, 1024);
}
END_TEST

START_TEST(test_load_file)
{
	char path[] = "/tmp/mgw-test-config-XXXXXX";
	int fd = mkstemp(path);
	struct mgw_config c;
	struct ctl_config_err e;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(MINIMAL, f);
	fclose(f);
	ck_assert_int_eq(ctl_config_load(path, &c, &e), 0);
	ck_assert_str_eq(c.source, path);

	/* Just over 1 MiB: refused before parsing. */
	f = fopen(path, "w");
	fputs(MINIMAL, f);
	for (int i = 0; i < (1 << 20); i++)
		fputc('#', f);
	fclose(f);
	ck_assert_int_eq(ctl_config_load(path, &c, &e), -1);
	ck_assert_str_eq(e.file, path);
	ck_assert_ptr_nonnull(strstr(e.msg, "larger than"));
	ck_assert(is_defaults(&c));
	unlink(path);

	ck_assert_int_eq(ctl_config_load("/nonexistent/mgw.yaml", &c, &e), -1);
	ck_assert_str_eq(e.file, "/nonexistent/mgw.yaml");
	ck_assert_int_eq(e.line, 0);
	ck_assert_str_eq(e.key, "");
	ck_assert_ptr_nonnull(strstr(e.msg, "No such file"));
	ck_assert(is_defaults(&c));
}
END_TEST

/* ---- bad documents ------------------------------------------------------ */

struct bad {
	const char *what;
	const char *yaml;
	int line;
	const char *key;
	const char *msg; /* substring expected in the message */
};

#define S256 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
static const struct bad bad_docs[] = {
	{"unknown top-level key", MINIMAL "bogus: 1\n", 10, "bogus", "unknown key"},
	{"unknown nested key", DP "ports:\n  - name: feed0\n    device: dev0\n    speed: 10\n" FEED,
	 8, "ports[0].speed", "unknown key"},
	{"duplicate key", "dataplane:\n  burst: 8\n  burst: 9\n  lcores:\n    - id: 1\n"
			  "      roles: [rx, book]\n" PORTS FEED,
	 3, "dataplane.burst", "duplicate key (first on line 2)"},
	{"duplicate top-level key", MINIMAL "feed:\n  udp_ports: [1]\n", 10, "feed", "duplicate key"},
	{"mapping where sequence expected", DP "ports:\n  name: feed0\n" FEED, 6, "ports",
	 "must be a sequence"},
	{"scalar where mapping expected", "dataplane: 5\n" PORTS FEED, 1, "dataplane",
	 "must be a mapping, got a scalar"},
	{"sequence where scalar expected", MINIMAL "book:\n  max_orders: [1]\n", 11,
	 "book.max_orders", "got a sequence"},
	{"top level not a mapping", "- a\n- b\n", 1, "", "top level must be a mapping"},
	{"memory_mb below range", "dataplane:\n  memory_mb: 63\n  lcores:\n    - id: 1\n"
				  "      roles: [rx, book]\n" PORTS FEED,
	 2, "dataplane.memory_mb", "must be an integer between 64 and 1048576, got 63"},
	{"burst above range", "dataplane:\n  burst: 257\n  lcores:\n    - id: 1\n"
			      "      roles: [rx, book]\n" PORTS FEED,
	 2, "dataplane.burst", "between 1 and 256, got 257"},
	{"ring_size not power of two", "dataplane:\n  ring_size: 3000\n  lcores:\n    - id: 1\n"
				       "      roles: [rx, book]\n" PORTS FEED,
	 2, "dataplane.ring_size", "must be a power of two between 1024 and 1048576, got 3000"},
	{"rx_desc not power of two", DP "ports:\n  - name: feed0\n    device: dev0\n    rx_desc: 1000\n" FEED,
	 8, "ports[0].rx_desc", "must be a power of two between 64 and 16384, got 1000"},
	{"rx_queues zero", DP "ports:\n  - name: feed0\n    rx_queues: 0\n    device: dev0\n" FEED, 7,
	 "ports[0].rx_queues", "between 1 and 16, got 0"},
	{"mtu too small", DP "ports:\n  - name: feed0\n    device: dev0\n    mtu: 67\n" FEED, 8,
	 "ports[0].mtu", "between 68 and 9600"},
	{"u16 value far too big", DP "ports:\n  - name: feed0\n    device: dev0\n    mtu: 70000\n" FEED, 8,
	 "ports[0].mtu", "got 70000"},
	{"integer overflow", MINIMAL "book:\n  max_orders: 99999999999999999999999\n", 11,
	 "book.max_orders", "between 1 and 2147483647"},
	{"max_orders 2^31", MINIMAL "book:\n  max_orders: 2147483648\n", 11, "book.max_orders",
	 "got 2147483648"},
	{"max_symbols above range", MINIMAL "book:\n  max_symbols: 65537\n", 11, "book.max_symbols",
	 "between 1 and 65536"},
	{"max_levels zero", MINIMAL "book:\n  max_levels: 0\n", 11, "book.max_levels", "got 0"},
	{"ladders above range", MINIMAL "book:\n  ladders: 65536\n", 11, "book.ladders",
	 "between 0 and 65535, got 65536"},
	{"udp port out of range", DP PORTS "feed:\n  udp_ports: [26477, 65536]\n", 9,
	 "feed.udp_ports[1]", "between 1 and 65535, got 65536"},
	{"negative integer", DP PORTS "feed:\n  udp_ports: [-1]\n", 9, "feed.udp_ports[0]", "got -1"},
	{"hex integer", DP PORTS "feed:\n  udp_ports: [0x10]\n", 9, "feed.udp_ports[0]", "got 0x10"},
	{"leading zero", DP PORTS "feed:\n  udp_ports: [010]\n", 9, "feed.udp_ports[0]", "got 010"},
	{"quoted integer", DP PORTS "feed:\n  udp_ports: [\"1\"]\n", 9, "feed.udp_ports[0]",
	 "(unquoted)"},
	{"duplicate udp port", DP PORTS "feed:\n  udp_ports:\n    - 5\n    - 5\n", 11,
	 "feed.udp_ports[1]", "duplicate UDP port 5"},
	{"lcore id above range", "dataplane:\n  lcores:\n    - id: 1024\n      roles: [rx, book]\n" PORTS FEED,
	 3, "dataplane.lcores[0].id", "between 0 and 1023"},
	{"bad IPv4 octet", DP PORTS FEED "  groups: [\"233.54.12.256\"]\n", 10, "feed.groups[0]",
	 "must be an IPv4 address"},
	{"bad IPv4 three parts", DP PORTS FEED "  groups:\n    - 239.1.2.3\n    - 1.2.3\n", 12,
	 "feed.groups[1]", "got \"1.2.3\""},
	{"IPv4 leading zero", DP PORTS FEED "  groups: [01.2.3.4]\n", 10, "feed.groups[0]",
	 "IPv4"},
	{"duplicate group", DP PORTS FEED "  groups: [1.2.3.4, 1.2.3.4]\n", 10, "feed.groups[1]",
	 "duplicate group"},
	{"bad instance chars", "instance: \"a b\"\n" MINIMAL, 1, "instance", "A-Z a-z 0-9 _ -"},
	{"bad port name chars", DP "ports:\n  - name: feed/0\n    device: dev0\n" FEED, 6,
	 "ports[0].name", "got \"feed/0\""},
	{"name too long", "instance: abcdefghijabcdefghijabcdefghij12\n" MINIMAL, 1, "instance",
	 "1 to 31 characters"},
	{"null instance", "instance:\n" MINIMAL, 1, "instance", "got an empty value"},
	{"missing lcores", "dataplane:\n  burst: 8\n" PORTS FEED, 2, "dataplane.lcores",
	 "required key missing"},
	{"missing dataplane", PORTS FEED, 1, "dataplane", "required section missing"},
	{"missing ports", DP FEED, 1, "ports", "required key missing"},
	{"missing feed", DP PORTS, 1, "feed", "required section missing"},
	{"missing udp_ports", DP PORTS "feed:\n  groups: []\n", 9, "feed.udp_ports",
	 "required key missing"},
	{"missing device", DP "ports:\n  - name: feed0\n    mtu: 1500\n" FEED, 6, "ports[0].device",
	 "required key missing"},
	{"missing roles", "dataplane:\n  lcores:\n    - id: 1\n" PORTS FEED, 3,
	 "dataplane.lcores[0].roles", "required key missing"},
	{"empty lcores", "dataplane:\n  lcores: []\n" PORTS FEED, 2, "dataplane.lcores",
	 "must list 1 to 64 lcores, got 0"},
	{"too many ports", DP "ports: [{name: a, device: d}, {name: b, device: d}, {name: c, device: d},"
			      " {name: d, device: d}, {name: e, device: d}, {name: f, device: d},"
			      " {name: g, device: d}, {name: h, device: d}, {name: i, device: d}]\n" FEED,
	 5, "ports", "must list 1 to 8 ports, got 9"},
	{"no rx lcore", "dataplane:\n  lcores:\n    - id: 1\n      roles: [book]\n" PORTS FEED, 3,
	 "dataplane.lcores", "no lcore has role rx"},
	{"no book lcore", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, match]\n" PORTS FEED, 3,
	 "dataplane.lcores", "no lcore has role book"},
	{"two book lcores", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book]\n"
			    "    - id: 2\n      roles: [book]\n" PORTS FEED,
	 6, "dataplane.lcores[1].roles", "role book is already on dataplane.lcores[0]"},
	{"two rx lcores", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book]\n"
			  "    - id: 2\n      roles:\n        - rx\n" PORTS FEED,
	 7, "dataplane.lcores[1].roles", "role rx is already on"},
	{"duplicate lcore id", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx]\n"
			       "    - id: 1\n      roles: [book]\n" PORTS FEED,
	 5, "dataplane.lcores[1].id", "duplicate lcore id 1"},
	{"lcore is main_lcore", "dataplane:\n  main_lcore: 1\n  lcores:\n    - id: 1\n"
				"      roles: [rx, book]\n" PORTS FEED,
	 4, "dataplane.lcores[0].id", "main_lcore"},
	{"duplicate port name", DP "ports:\n  - name: feed0\n    device: a\n  - name: feed0\n"
				   "    device: b\n" FEED,
	 8, "ports[1].name", "duplicate port name \"feed0\""},
	{"unknown role", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book, foo]\n" PORTS FEED,
	 4, "dataplane.lcores[0].roles[2]", "unknown role \"foo\""},
	{"duplicate role", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book, rx]\n" PORTS FEED,
	 4, "dataplane.lcores[0].roles[2]", "listed twice"},
	{"empty roles", "dataplane:\n  lcores:\n    - id: 1\n      roles: []\n" PORTS FEED, 4,
	 "dataplane.lcores[0].roles", "must list 1 to 4 roles"},
	{"env var unset", DP "ports:\n  - name: feed0\n    device: \"${MGW_T_UNSET}/x\"\n" FEED, 7,
	 "ports[0].device", "environment variable MGW_T_UNSET is not set"},
	{"env reference unterminated", DP "ports:\n  - name: feed0\n    device: \"${MGW_T_UNSET:-x\"\n" FEED,
	 7, "ports[0].device", "bad ${...} reference"},
	{"env reference without name", DP "ports:\n  - name: feed0\n    device: \"${1X}\"\n" FEED,
	 7, "ports[0].device", "expected a variable name"},
	{"yaml syntax error", "instance: mgw\nfoo: bar: baz\n", 2, "", "YAML syntax error"},
	{"yaml unclosed flow", DP PORTS "feed:\n  udp_ports: [1, 2\n", 10, "", "YAML syntax error"},
	{"alias refused", "instance: *name\n" MINIMAL, 1, "instance", "aliases are not allowed"},
	{"anchor refused", DP PORTS "feed:\n  udp_ports: &p [1]\n", 9, "feed.udp_ports",
	 "anchors are not allowed"},
	{"two documents", MINIMAL "---\n" MINIMAL, 10, "", "only one YAML document"},
	{"empty file", "", 1, "", "empty"},
	{"cpu out of range", "dataplane:\n  lcores:\n    - id: 1\n      cpu: 5000\n      roles: [rx, book]\n"
			     PORTS FEED, 4, "dataplane.lcores[0].cpu", "5000"},
	{"comments only", "# nothing here\n\n", 1, "", "empty"},
	{"too-long device", DP "ports:\n  - name: feed0\n    device: " S256 S256 S256 S256 "\n" FEED,
	 7, "ports[0].device", "at most 255 characters"},
	{"too-long socket", MINIMAL "control:\n  socket: /" S256 S256 "\n", 11, "control.socket",
	 "at most 107 characters"},
	{"metrics not loopback", MINIMAL "control:\n  metrics: 10.0.0.1:9464\n", 11, "control.metrics",
	 "only loopback addresses are allowed"},
	{"metrics any address", MINIMAL "control:\n  metrics: 0.0.0.0:9464\n", 11, "control.metrics",
	 "only loopback addresses are allowed"},
	{"metrics hostname", MINIMAL "control:\n  metrics: localhost:9464\n", 11, "control.metrics",
	 "bad IPv4 address"},
	{"metrics no port", MINIMAL "control:\n  metrics: 127.0.0.1\n", 11, "control.metrics",
	 "no :PORT"},
	{"metrics port 0", MINIMAL "control:\n  metrics: 127.0.0.1:0\n", 11, "control.metrics",
	 "bad port"},
	{"metrics port too big", MINIMAL "control:\n  metrics: 127.0.0.1:65536\n", 11,
	 "control.metrics", "bad port"},
	{"metrics port junk", MINIMAL "control:\n  metrics: \"127.0.0.1:80x\"\n", 11,
	 "control.metrics", "bad port"},
	{"metrics not a string", MINIMAL "control:\n  metrics: [1]\n", 11, "control.metrics",
	 "must be \"off\" or IP:PORT"},
	{"access unknown user", MINIMAL "access:\n  grants:\n    - user: no_such_user_mgw\n      role: viewer\n",
	 12, "access.grants[0].user", "unknown user \"no_such_user_mgw\""},
	{"access unknown group", MINIMAL "access:\n  grants:\n    - uid: 7\n      role: admin\n"
	 "    - group: no_such_group_mgw\n      role: viewer\n", 14, "access.grants[1].group",
	 "unknown group"},
	{"access bad role", MINIMAL "access:\n  grants:\n    - uid: 1000\n      role: root\n", 13,
	 "access.grants[0].role", "must be viewer, operator or admin, got root"},
	{"access two identities", MINIMAL "access:\n  grants:\n    - uid: 1\n      gid: 2\n      role: viewer\n",
	 12, "access.grants[0]", "exactly one of uid, user, gid, group"},
	{"access no identity", MINIMAL "access:\n  grants:\n    - role: viewer\n", 12, "access.grants[0]",
	 "exactly one of"},
	{"access missing role", MINIMAL "access:\n  grants:\n    - uid: 5\n", 12, "access.grants[0].role",
	 "required key missing"},
	{"access default operator", MINIMAL "access:\n  default_role: operator\n", 11,
	 "access.default_role", "must be none or viewer"},
	{"access unknown key", MINIMAL "access:\n  roles: []\n", 11, "access.roles", "unknown key"},
	{"socket_mode executable", MINIMAL "control:\n  socket_mode: \"0777\"\n", 11,
	 "control.socket_mode", "from 0600 to 0666"},
	{"socket_mode owner cannot write", MINIMAL "control:\n  socket_mode: \"0466\"\n", 11,
	 "control.socket_mode", "from 0600 to 0666"},
	{"socket_mode not octal", MINIMAL "control:\n  socket_mode: 0690\n", 11, "control.socket_mode",
	 "got \"0690\""},
	{"socket_group unknown", MINIMAL "control:\n  socket_group: no_such_group_mgw\n", 11,
	 "control.socket_group", "unknown group"},
	{"empty device", DP "ports:\n  - name: feed0\n    device: \"\"\n" FEED, 7, "ports[0].device",
	 "got an empty string"},
	{"bool yes refused", DP "ports:\n  - name: feed0\n    device: d\n    promiscuous: yes\n" FEED,
	 8, "ports[0].promiscuous", "must be true or false, got yes"},
	{"bool quoted refused", DP "ports:\n  - name: feed0\n    device: d\n    all_multicast: \"true\"\n" FEED,
	 8, "ports[0].all_multicast", "(unquoted)"},
	{"bad hugepages", "dataplane:\n  hugepages: maybe\n  lcores:\n    - id: 1\n"
			  "      roles: [rx, book]\n" PORTS FEED,
	 2, "dataplane.hugepages", "must be auto, on or off, got maybe"},
	{"two match lcores", "dataplane:\n  lcores:\n    - id: 1\n      roles: [rx, book, match]\n"
	 "    - id: 2\n      roles: [match]\n" PORTS FEED, 6, "dataplane.lcores[1].roles",
	 "role match is already on dataplane.lcores[0]"},
	{"matching bad stp", MINIMAL "matching:\n  stp: cancel_all\n", 11, "matching.stp",
	 "must be none, cancel_newest, cancel_oldest or cancel_both"},
	{"report ring not pow2", MINIMAL "matching:\n  report_ring_size: 1000\n", 11,
	 "matching.report_ring_size", "power of two"},
	{"account without id", MINIMAL "risk:\n  accounts:\n    - max_order_qty: 5\n", 12,
	 "risk.accounts[0].id", "required key missing"},
	{"duplicate account", MINIMAL "risk:\n  accounts:\n    - id: 1\n    - id: 1\n", 13,
	 "risk.accounts[1].id", "duplicate account 1"},
	{"restricted name too long", MINIMAL "risk:\n  accounts:\n    - id: 1\n      restricted: [TOOLONGNAME]\n",
	 13, "risk.accounts[0].restricted[0]", "1 to 8 printable"},
	{"collar out of range", MINIMAL "risk:\n  accounts:\n    - id: 1\n      collar_bps: 0\n", 13,
	 "risk.accounts[0].collar_bps", "between 1 and 10000"},
	{"NUL in string", "instance: \"a\\0b\"\n" MINIMAL, 1, "instance", "NUL byte"},
	{"non-scalar key", "? [a]\n: 1\n" MINIMAL, 1, "", "keys must be plain words"},
	{"control chars", "instance: a\x01\n", 1, "", "YAML syntax error"},
	{"deep nesting", "a: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]\n", 1, "a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
	 "nested deeper"},
};
#define N_BAD (int)(sizeof bad_docs / sizeof bad_docs[0])

START_TEST(test_bad_document)
{
	const struct bad *b = &bad_docs[_i];
	struct mgw_config c;
	struct ctl_config_err e;
	char line[1024];

	unsetenv("MGW_T_UNSET");
	/* Poison the output: a failed load must leave exactly the defaults. */
	memset(&c, 0xA5, sizeof c);
	ck_assert_msg(parse(b->yaml, &c, &e) == -1, "%s: accepted", b->what);
	ctl_config_err_format(&e, line, sizeof line);
	ck_assert_msg(e.line == b->line, "%s: line %d, want %d (%s)", b->what, e.line, b->line, line);
	ck_assert_msg(strcmp(e.key, b->key) == 0, "%s: key '%s', want '%s' (%s)", b->what, e.key,
		      b->key, line);
	ck_assert_msg(strstr(e.msg, b->msg) != NULL, "%s: message '%s' lacks '%s'", b->what, e.msg,
		      b->msg);
	ck_assert_str_eq(e.file, "t.yaml");
	ck_assert_msg(is_defaults(&c), "%s: output not reset to defaults", b->what);
}
END_TEST

START_TEST(test_env_value_too_long)
{
	char big[400];
	struct mgw_config c;
	struct ctl_config_err e;

	memset(big, 'd', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	setenv("MGW_T_BIG", big, 1);
	ck_assert_int_eq(parse(DP "ports:\n  - name: feed0\n    device: \"${MGW_T_BIG}\"\n" FEED, &c, &e),
			 -1);
	ck_assert_int_eq(e.line, 7);
	ck_assert_str_eq(e.key, "ports[0].device");
	ck_assert_ptr_nonnull(strstr(e.msg, "after ${} expansion"));
	/* Same through a default that is too long for a name. */
	ck_assert_int_eq(parse("instance: ${MGW_T_NONE:-abcdefghijabcdefghijabcdefghijXYZ}\n" MINIMAL, &c,
			       &e),
			 -1);
	ck_assert_str_eq(e.key, "instance");
}
END_TEST

START_TEST(test_size_limit_in_memory)
{
	size_t n = (1u << 20) + 1;
	char *buf = malloc(n);
	struct mgw_config c;
	struct ctl_config_err e;

	memset(buf, '#', n);
	ck_assert_int_eq(ctl_config_parse(buf, n, "big.yaml", &c, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "larger than"));
	free(buf);
	ck_assert_int_eq(ctl_config_parse(NULL, 0, NULL, &c, &e), -1);
	ck_assert_str_eq(e.file, "<memory>");
	ck_assert_int_eq(ctl_config_parse(MINIMAL, strlen(MINIMAL), "x", NULL, &e), -1);
}
END_TEST

/* ---- formatters --------------------------------------------------------- */

START_TEST(test_err_format)
{
	struct ctl_config_err e;
	char out[256], small[8];

	memset(&e, 0, sizeof e);
	strcpy(e.file, "mgw.yaml");
	e.line = 12;
	strcpy(e.key, "ports[0].rx_desc");
	strcpy(e.msg, "must be a power of two between 64 and 16384, got 1000");
	ck_assert_int_eq(ctl_config_err_format(&e, out, sizeof out), (int)strlen(out));
	ck_assert_str_eq(out, "mgw.yaml:12: ports[0].rx_desc: must be a power of two between 64 "
			      "and 16384, got 1000");
	e.key[0] = '\0';
	ctl_config_err_format(&e, out, sizeof out);
	ck_assert_str_eq(out, "mgw.yaml:12: must be a power of two between 64 and 16384, got 1000");
	e.line = 0;
	strcpy(e.msg, "cannot open: x");
	ctl_config_err_format(&e, out, sizeof out);
	ck_assert_str_eq(out, "mgw.yaml: cannot open: x");
	/* Truncation keeps a terminated string and reports the full length. */
	ck_assert_int_eq(ctl_config_err_format(&e, small, sizeof small), (int)strlen("mgw.yaml: cannot open: x"));
	ck_assert_str_eq(small, "mgw.yam");
	ck_assert_int_eq(ctl_config_err_format(NULL, out, sizeof out), -1);
}
END_TEST

START_TEST(test_roles_format)
{
	char out[64], small[4];

	ck_assert_int_eq(ctl_roles_format(CTL_ROLE_RX | CTL_ROLE_BOOK, out, sizeof out), 7);
	ck_assert_str_eq(out, "rx,book");
	ctl_roles_format(CTL_ROLE_BOOK, out, sizeof out);
	ck_assert_str_eq(out, "book");
	ctl_roles_format(CTL_ROLE_RX | CTL_ROLE_BOOK | CTL_ROLE_MATCH | CTL_ROLE_OE, out, sizeof out);
	ck_assert_str_eq(out, "rx,book,match,oe");
	ck_assert_int_eq(ctl_roles_format(0, out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	ctl_roles_format(CTL_ROLE_OE | 0x100, out, sizeof out);
	ck_assert_str_eq(out, "oe,0x100");
	ck_assert_int_eq(ctl_roles_format(CTL_ROLE_RX | CTL_ROLE_BOOK, small, sizeof small), 7);
	ck_assert_str_eq(small, "rx,");
}
END_TEST

/* ---- robustness ---------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic so a crash reproduces from the iteration. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

START_TEST(test_random_mutations)
{
	static const char *const inserts[] = {"${", "}", ":-", "&a ", "*a", ": ", "- ", "[", "]",
					      "{", "\n", "  ", "\"", "'", "#", "?", "!!", "\\",
					      "99999999999999999999", "\0", "\xff", "---\n"};
	const size_t base_len = sizeof full_doc - 1;
	int accepted = 0;

	setenv("MGW_DATA_DIR", "/data", 1);
	for (int iter = 0; iter < 20000; iter++) {
		size_t cap = base_len + 64, len = base_len;
		char *work = malloc(cap);
		char *buf;
		struct mgw_config c;
		struct ctl_config_err e;
		int muts = 1 + (int)(rnd() % 4), rc;

		memcpy(work, full_doc, base_len);
		for (int m = 0; m < muts; m++) {
			size_t pos = len ? rnd() % len : 0;

			switch (rnd() % 5) {
			case 0: /* flip bits of one byte */
				if (len)
					work[pos] ^= (char)(1u << (rnd() % 8));
				break;
			case 1: /* random byte */
				if (len)
					work[pos] = (char)rnd();
				break;
			case 2: /* truncate */
				len = pos;
				break;
			case 3: { /* insert a YAML-significant token */
				const char *ins = inserts[rnd() % (sizeof inserts / sizeof inserts[0])];
				size_t n = ins[0] ? strlen(ins) : 1;

				if (len + n <= cap) {
					memmove(work + pos + n, work + pos, len - pos);
					memcpy(work + pos, ins, n);
					len += n;
				}
				break;
			}
			default: /* delete a span */
				if (len) {
					size_t n = rnd() % 16;
					if (n > len - pos)
						n = len - pos;
					memmove(work + pos, work + pos + n, len - pos - n);
					len -= n;
				}
				break;
			}
		}
		/* Exact-size copy, no terminator: ASan catches any overread. */
		buf = malloc(len ? len : 1);
		memcpy(buf, work, len);
		free(work);
		memset(&c, 0x5A, sizeof c);
		rc = ctl_config_parse(buf, len, "fuzz.yaml", &c, &e);
		free(buf);
		ck_assert_msg(rc == 0 || rc == -1, "iteration %d: rc %d", iter, rc);
		if (rc == 0) {
			accepted++;
			ck_assert_uint_ge(c.n_ports, 1);
			ck_assert_uint_ge(c.dataplane.n_lcores, 1);
		} else {
			ck_assert_msg(e.msg[0] != '\0', "iteration %d: empty error message", iter);
			ck_assert_msg(memchr(e.key, '\0', sizeof e.key) && memchr(e.msg, '\0', sizeof e.msg),
				      "iteration %d: unterminated error", iter);
			ck_assert_msg(is_defaults(&c), "iteration %d: output not reset", iter);
		}
	}
	/* Some mutations (comments, whitespace) keep the document valid. */
	ck_assert_int_gt(accepted, 0);
}
END_TEST

/* control.metrics: default, loopback addresses, "off". */
START_TEST(test_metrics_addr)
{
	struct mgw_config c;
	struct ctl_config_err e;

	ck_assert_int_eq(parse(MINIMAL, &c, &e), 0);
	ck_assert_str_eq(c.control.metrics, "127.0.0.1:9464");
	ck_assert_uint_eq(c.control.metrics_ip, 0x7f000001u);
	ck_assert_uint_eq(c.control.metrics_port, 9464);

	ck_assert_msg(parse(MINIMAL "control:\n  metrics: 127.1.2.3:65535\n", &c, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(c.control.metrics, "127.1.2.3:65535");
	ck_assert_uint_eq(c.control.metrics_ip, 0x7f010203u);
	ck_assert_uint_eq(c.control.metrics_port, 65535);

	ck_assert_int_eq(parse(MINIMAL "control:\n  metrics: \"127.0.0.1:1\"\n", &c, &e), 0);
	ck_assert_uint_eq(c.control.metrics_port, 1);

	ck_assert_int_eq(parse(MINIMAL "control:\n  metrics: off\n", &c, &e), 0);
	ck_assert_str_eq(c.control.metrics, "off");
	ck_assert_uint_eq(c.control.metrics_ip, 0);
	ck_assert_uint_eq(c.control.metrics_port, 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("good");

	tcase_add_test(tc, test_bundled_loads);
	tcase_add_test(tc, test_order_path_sections);
	tcase_add_test(tc, test_full_document);
	tcase_add_test(tc, test_defaults_applied);
	tcase_add_test(tc, test_env_expansion);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_metrics_addr);
	tcase_add_test(tc, test_access_section);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad_document, 0, N_BAD);
	tcase_add_test(tc, test_env_value_too_long);
	tcase_add_test(tc, test_size_limit_in_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_err_format);
	tcase_add_test(tc, test_roles_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_random_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
