/*
 * ctl_config.h - the appliance's one configuration file (YAML).
 *
 * Both processes read the same file: mgw-dataplane for what it sets up at
 * start (lcores, ports, pools), mgw-control for everything it serves. The
 * loader validates the whole document against the schema documented in
 * docs/CONFIG.md before returning anything: unknown keys, wrong types, out
 * of range values and missing required keys are errors that name the file,
 * the line and the key path ("ports[0].rx_queues"). Nothing is half loaded:
 * on error *out is left with defaults only.
 *
 * String values may use ${VAR} or ${VAR:-default}, expanded from the
 * environment when loaded; an unset VAR without a default is an error.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_LCORES 64
#define CTL_MAX_PORTS 8
#define CTL_MAX_UDP_PORTS 16
#define CTL_MAX_GROUPS 32
#define CTL_NAME_MAX 32
#define CTL_PATH_MAX 256

/* lcore roles, a bit set per lcore. */
enum ctl_role {
	CTL_ROLE_RX = 1u << 0,    /* receive and decode the feed */
	CTL_ROLE_BOOK = 1u << 1,  /* apply feed events to the L3 books */
	CTL_ROLE_MATCH = 1u << 2, /* matching engine + pre-trade risk (at most one lcore) */
	CTL_ROLE_OE = 1u << 3,    /* order entry sessions (later issue) */
};

enum ctl_hugepages {
	CTL_HUGE_AUTO = 0, /* use hugepages if the machine has free ones, else --no-huge */
	CTL_HUGE_ON,       /* require hugepages */
	CTL_HUGE_OFF,      /* always --no-huge */
};

struct ctl_lcore_cfg {
	uint32_t id;    /* DPDK lcore id */
	uint32_t cpu;   /* CPU core the lcore is pinned to; default = id. Two
			   lcores on one CPU work (tests on small machines) but
			   share its time. */
	uint32_t roles; /* enum ctl_role bits, at least one */
};

struct ctl_port_cfg {
	char name[CTL_NAME_MAX];     /* label used in counters and the CLI */
	char device[CTL_PATH_MAX];   /* PCI address (0000:01:00.0) or DPDK vdev spec
				        ("net_pcap0,rx_pcap=/path/file.pcap") */
	uint16_t rx_queues;          /* 1..16, default 1 */
	uint16_t rx_desc;            /* 64..16384, power of two, default 1024 */
	uint16_t mtu;                /* 68..9600, default 1500 */
	bool promiscuous;            /* default true */
	bool all_multicast;          /* default true */
};

struct ctl_feed_cfg {
	uint16_t udp_ports[CTL_MAX_UDP_PORTS]; /* destination ports accepted */
	uint32_t n_udp_ports;                  /* >= 1 */
	uint32_t groups[CTL_MAX_GROUPS];       /* IPv4 destinations accepted, host order */
	uint32_t n_groups;                     /* 0 = any destination */
};

struct ctl_book_cfg {
	uint32_t max_orders;  /* default 1048576 */
	uint32_t max_levels;  /* default 262144 */
	uint32_t max_symbols; /* default 65536, at most 65536 */
	uint32_t ladders;     /* price ladders, 0 = auto (dp_book_cfg.ladders), at most 65535 */
};

struct ctl_dataplane_cfg {
	enum ctl_hugepages hugepages; /* default auto */
	uint32_t memory_mb;           /* EAL memory, default 512 */
	uint32_t main_lcore;          /* EAL main lcore (runs no role), default 0 */
	struct ctl_lcore_cfg lcores[CTL_MAX_LCORES];
	uint32_t n_lcores;            /* >= 1; rx and book each on exactly one lcore */
	uint32_t burst;               /* rx burst and ring burst, 1..256, default 32 */
	uint32_t ring_size;           /* rx->book ring slots, power of two, default 16384 */
};

struct ctl_control_cfg {
	char socket[CTL_PATH_MAX];    /* CLI unix socket, default /run/mgw/<instance>.sock */
	/* Prometheus /metrics listener: "IP:PORT" on a loopback address, or "off".
	   Default "127.0.0.1:9464". Parsed into metrics_ip/port (both 0 when off). */
	char metrics[CTL_NAME_MAX];
	uint32_t metrics_ip;          /* host order, within 127.0.0.0/8 */
	uint16_t metrics_port;        /* 1..65535 */
	uint32_t socket_mode;         /* permission bits of the CLI socket, default 0660 */
	bool socket_group_set;        /* socket_group given: chown the socket to it */
	uint32_t socket_group;        /* gid (a group name is resolved at load) */
};

/*
 * CLI access roles (`access:` section, docs/CONFIG.md). The values equal
 * enum ctl_access in control/server/ctl_server.h, so a role compares
 * directly with a command's least access level; NONE (only as default_role)
 * may run nothing.
 */
enum ctl_acl_role {
	CTL_ACL_NONE = -1,
	CTL_ACL_VIEWER = 0,
	CTL_ACL_OPERATOR = 1,
	CTL_ACL_ADMIN = 2,
};

#define CTL_MAX_ACL 64

/* One access grant: a uid or a gid (names resolved at load) and its role. */
struct ctl_acl_entry {
	bool is_gid;                 /* false: matches a uid; true: a gid */
	uint32_t id;
	enum ctl_acl_role role;      /* viewer, operator or admin */
	char name[CTL_NAME_MAX];     /* user/group name as written, "" if numeric */
};

struct ctl_access_cfg {
	enum ctl_acl_role default_role; /* peers matching nothing: viewer (default) or none */
	struct ctl_acl_entry entries[CTL_MAX_ACL];
	uint32_t n_entries;
};

/* `matching:` - the client matching engine's pools and defaults (restart). */
enum ctl_stp {                 /* values equal enum dp_stp_mode (dp_match.h) */
	CTL_STP_NONE = 0,
	CTL_STP_CANCEL_NEWEST = 1,
	CTL_STP_CANCEL_OLDEST = 2,
	CTL_STP_CANCEL_BOTH = 3,
};

struct ctl_matching_cfg {
	uint32_t max_orders;        /* client orders resting at once, default 65536 */
	uint32_t max_levels;        /* client price levels at once, default 16384 */
	uint32_t max_sessions;      /* session ids 0..max_sessions-1, default 256 */
	enum ctl_stp stp;           /* default self-trade prevention, default cancel_newest */
	uint32_t order_ring_size;   /* slots of the order ring, power of two, default 4096 */
	uint32_t report_ring_size;  /* slots of the report ring, power of two, default 16384 */
};

#define CTL_MAX_ACCOUNTS 64
#define CTL_MAX_RESTRICTED 16

/* Which limits an account sets (bits equal enum dp_risk_chk in dp_risk.h). */
enum ctl_risk_chk {
	CTL_RISK_MAX_QTY = 1u << 0,
	CTL_RISK_MAX_NOTIONAL = 1u << 1,
	CTL_RISK_COLLAR = 1u << 2,
	CTL_RISK_CREDIT = 1u << 3,
	CTL_RISK_MAX_POSITION = 1u << 4,
};

/* `risk.accounts[i]`: an account's limits. Absent limits are not checked. */
struct ctl_account_cfg {
	uint32_t id;
	uint32_t enabled;             /* ctl_risk_chk bits of the limits given */
	uint32_t max_order_qty;       /* shares */
	uint64_t max_order_notional;  /* whole dollars (x 10000 for the engine's units) */
	uint32_t collar_bps;          /* basis points of the reference mid */
	uint64_t credit_limit;        /* whole dollars */
	uint64_t max_position;        /* shares */
	int stp;                      /* enum ctl_stp, or -1 = matching.stp */
	uint32_t n_restricted;
	char restricted[CTL_MAX_RESTRICTED][9]; /* ITCH stock names, 1 to 8 characters */
};

/* `risk:` - pre-trade risk (docs/RISK.md). */
struct ctl_risk_cfg {
	uint32_t default_throttle;    /* orders/s per session, 0 = unlimited (restart) */
	uint32_t n_accounts;
	struct ctl_account_cfg accounts[CTL_MAX_ACCOUNTS];
};

/* `reference:` - the exchange reference prices the matching engine is protected by. */
struct ctl_reference_cfg {
	/* Feed silence (no MoldUDP64 packet, heartbeats included) after which the
	   reference table is stale, in ms; 0 = never for silence; default 2000 (restart). */
	uint32_t stale_after_ms;
};

struct mgw_config {
	char source[CTL_PATH_MAX];    /* file it was loaded from */
	char instance[CTL_NAME_MAX];  /* [A-Za-z0-9_-]+, names /dev/shm/mgw.<instance>; default "mgw" */
	struct ctl_dataplane_cfg dataplane;
	struct ctl_port_cfg ports[CTL_MAX_PORTS];
	uint32_t n_ports;             /* >= 1 */
	struct ctl_feed_cfg feed;
	struct ctl_book_cfg book;
	struct ctl_control_cfg control;
	struct ctl_access_cfg access;
	struct ctl_matching_cfg matching;
	struct ctl_risk_cfg risk;
	struct ctl_reference_cfg reference;
	uint32_t match_lcore_set;     /* 1 if an lcore has role match (the order path exists) */
};

/* Where and why a load failed. */
struct ctl_config_err {
	char file[CTL_PATH_MAX];
	int line;      /* 1-based, 0 if not tied to a line */
	char key[128]; /* key path, e.g. "ports[0].mtu"; empty if none */
	char msg[256];
};

/* Fill c with every default (no lcores, no ports). */
void ctl_config_defaults(struct mgw_config *c);

/*
 * Load and validate a YAML file. Returns 0, or -1 with *err filled
 * (including I/O errors such as a missing file).
 */
int ctl_config_load(const char *path, struct mgw_config *out, struct ctl_config_err *err);

/* Same from memory; `name` is used as the file name in errors. */
int ctl_config_parse(const char *buf, size_t len, const char *name,
		     struct mgw_config *out, struct ctl_config_err *err);

/* "file:line: key: msg" (parts omitted when empty) into out. */
int ctl_config_err_format(const struct ctl_config_err *err, char *out, size_t cap);

/* "viewer", "operator", "admin" or "none". */
const char *ctl_acl_role_name(enum ctl_acl_role r);

/* "none", "cancel_newest", "cancel_oldest", "cancel_both". */
const char *ctl_stp_name(int stp);

/* Role bits to text "rx,book"; names of single roles. */
int ctl_roles_format(uint32_t roles, char *out, size_t cap);

#endif /* CTL_CONFIG_H */