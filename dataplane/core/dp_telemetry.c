/*
 * dp_telemetry.c - the /mgw/... DPDK telemetry commands (see dp_telemetry.h).
 *
 *   /mgw/counters        {name: value} for unlabelled counters and
 *                        {name: {label value: value}} for labelled ones,
 *                        summed over lcores, from the segment's description
 *                        table (no second list of counters here)
 *   /mgw/counters,<id>   the same for one lcore's block only
 *   /mgw/status          instance, pid, version, state, uptime, heartbeat,
 *                        hugepages, lcores with their roles
 *   /mgw/ports           {port: {device, link, rx stats}}
 *
 * DPDK 22.11 limits dict keys to [A-Za-z0-9_/] and nesting to one level, so
 * labels become the inner keys rather than `name{reason="x"}` strings; other
 * characters are replaced with '_'.
 */
#include "dp_telemetry.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "ctl_config.h"

static const struct mgw_shm *tel_shm;
/* Stop protocol: a callback announces itself in `inflight` before reading
 * `closing`; stop sets `closing` then waits for `inflight` to drain. Both
 * sequentially consistent, so either the callback sees closing or stop sees
 * the callback. */
static atomic_int tel_inflight;
static atomic_int tel_closing;

static const struct mgw_shm *enter(void)
{
	atomic_fetch_add(&tel_inflight, 1);
	if (atomic_load(&tel_closing) || !tel_shm) {
		atomic_fetch_sub(&tel_inflight, 1);
		return NULL;
	}
	return tel_shm;
}

static void leave(void)
{
	atomic_fetch_sub(&tel_inflight, 1);
}

/* Copy a bounded field into a telemetry dict key. */
static void key(char *out, size_t cap, const char *in, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < max && in[i] && n + 1 < cap; i++) {
		char ch = in[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '_' || ch == '/';
		out[n++] = ok ? ch : '_';
	}
	out[n] = '\0';
}

/* Label values of `a="x",b="y"` as one key "x" or "x/y" ('/' is allowed, ',' is not). */
static void label_key(char *out, size_t cap, const char *labels, size_t max)
{
	char tmp[sizeof(((struct mgw_shm_counter_desc *)0)->labels) + 1], vals[sizeof(tmp)];
	size_t nv = 0;
	if (max >= sizeof(tmp))
		max = sizeof(tmp) - 1;
	memcpy(tmp, labels, max);
	tmp[max] = '\0';
	for (char *p = tmp; *p;) {
		char *q = strchr(p, '"');
		char *e = q ? strchr(q + 1, '"') : NULL;
		if (!e)
			break;
		size_t l = (size_t)(e - q - 1);
		if (nv && nv + 1 < sizeof(vals))
			vals[nv++] = '/';
		if (nv + l >= sizeof(vals))
			break;
		memcpy(vals + nv, q + 1, l);
		nv += l;
		p = e + 1;
	}
	vals[nv] = '\0';
	key(out, cap, vals, sizeof(vals));
}

static int tel_counters(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	const struct mgw_shm *s = enter();
	if (!s)
		return -EAGAIN;
	const struct mgw_shm_hdr *h = s->hdr;
	const struct mgw_shm_counter_desc *desc = mgw_shm_desc(s);
	uint32_t n = h->n_counters;
	uint32_t nl = h->n_lcores < MGW_SHM_MAX_LCORES ? h->n_lcores : MGW_SHM_MAX_LCORES;
	int slot = -1; /* -1: sum over all blocks */
	int rc = 0;

	if (params && *params) {
		char *end;
		unsigned long id = strtoul(params, &end, 10);
		for (uint32_t i = 0; i < nl && *end == '\0'; i++)
			if (h->lcores[i].lcore_id == id)
				slot = (int)i;
		if (slot < 0) {
			rc = -EINVAL; /* not an lcore of this dataplane */
			goto out;
		}
	}
	rte_tel_data_start_dict(d);
	const size_t nmax = sizeof(desc[0].name);
	for (uint32_t i = 0; i < n; i++) {
		bool seen = false;
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = strncmp(desc[j].name, desc[i].name, nmax) == 0;
		if (seen || desc[i].id >= n)
			continue;
		char name[RTE_TEL_MAX_STRING_LEN];
		key(name, sizeof(name), desc[i].name, nmax);
		struct rte_tel_data *inner = NULL;
		if (desc[i].labels[0]) {
			inner = rte_tel_data_alloc();
			if (!inner) {
				rc = -ENOMEM;
				goto out;
			}
			rte_tel_data_start_dict(inner);
		}
		for (uint32_t k = i; k < n; k++) {
			if (strncmp(desc[k].name, desc[i].name, nmax) != 0 || desc[k].id >= n)
				continue;
			uint64_t v = 0;
			for (uint32_t l = 0; l < nl; l++)
				if (slot < 0 || (int)l == slot)
					v += mgw_ctr_read(mgw_shm_block(s, l), desc[k].id);
			if (inner) {
				char lk[RTE_TEL_MAX_STRING_LEN];
				label_key(lk, sizeof(lk), desc[k].labels, sizeof(desc[k].labels));
				rte_tel_data_add_dict_u64(inner, lk, v);
			} else {
				rte_tel_data_add_dict_u64(d, name, v);
				break; /* an unlabelled name has one row */
			}
		}
		if (inner && rte_tel_data_add_dict_container(d, name, inner, 0) != 0)
			rte_tel_data_free(inner);
	}
out:
	leave();
	return rc;
}

static const char *state_name(uint32_t st)
{
	switch (st) {
	case MGW_DP_STARTING: return "starting";
	case MGW_DP_RUNNING: return "running";
	case MGW_DP_STOPPING: return "stopping";
	case MGW_DP_STOPPED: return "stopped";
	default: return "unknown";
	}
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	const struct mgw_shm *s = enter();
	if (!s)
		return -EAGAIN;
	const struct mgw_shm_hdr *h = s->hdr;
	char buf[64];
	uint64_t now = realtime_ns(), hb = atomic_load(&h->heartbeat_ns);

	rte_tel_data_start_dict(d);
	snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(h->instance), h->instance);
	rte_tel_data_add_dict_string(d, "instance", buf);
	rte_tel_data_add_dict_int(d, "pid", h->dp_pid);
	snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(h->version), h->version);
	rte_tel_data_add_dict_string(d, "version", buf);
	rte_tel_data_add_dict_int(d, "abi", (int)h->abi_version);
	rte_tel_data_add_dict_string(d, "state", state_name(atomic_load(&h->state)));
	rte_tel_data_add_dict_u64(d, "start_time_s", h->start_ns / 1000000000ull);
	rte_tel_data_add_dict_u64(d, "uptime_s", now > h->start_ns ? (now - h->start_ns) / 1000000000ull : 0);
	rte_tel_data_add_dict_u64(d, "heartbeat_age_ms", now > hb ? (now - hb) / 1000000 : 0);
	rte_tel_data_add_dict_string(d, "hugepages", h->hugepages ? "yes" : "no (--no-huge)");
	rte_tel_data_add_dict_u64(d, "tsc_hz", (uint64_t)h->tsc_hz_hi << 32 | h->tsc_hz_lo);

	/* {lcore id: roles}: a dict, since DPDK allows one level of nesting only. */
	struct rte_tel_data *lc = rte_tel_data_alloc();
	if (lc) {
		rte_tel_data_start_dict(lc);
		uint32_t nl = h->n_lcores < MGW_SHM_MAX_LCORES ? h->n_lcores : MGW_SHM_MAX_LCORES;
		for (uint32_t i = 0; i < nl; i++) {
			char id[16], roles[64];
			snprintf(id, sizeof(id), "%u", h->lcores[i].lcore_id);
			if (i == 0)
				snprintf(roles, sizeof(roles), "main");
			else
				ctl_roles_format(h->lcores[i].roles, roles, sizeof(roles));
			rte_tel_data_add_dict_string(lc, id, roles);
		}
		if (rte_tel_data_add_dict_container(d, "lcores", lc, 0) != 0)
			rte_tel_data_free(lc);
	}
	leave();
	return 0;
}

static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	const struct mgw_shm *s = enter();
	if (!s)
		return -EAGAIN;
	const struct mgw_shm_port *ports = mgw_shm_ports(s);
	uint32_t np = s->hdr->n_ports < MGW_SHM_MAX_PORTS ? s->hdr->n_ports : MGW_SHM_MAX_PORTS;

	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; i < np; i++) {
		const struct mgw_shm_port *p = &ports[i];
		struct rte_tel_data *pd = rte_tel_data_alloc();
		if (!pd)
			break;
		char name[RTE_TEL_MAX_STRING_LEN], dev[RTE_TEL_MAX_STRING_LEN];
		key(name, sizeof(name), p->name, sizeof(p->name));
		snprintf(dev, sizeof(dev), "%.*s", (int)sizeof(p->device), p->device);
		rte_tel_data_start_dict(pd);
		rte_tel_data_add_dict_string(pd, "device", dev);
		rte_tel_data_add_dict_int(pd, "port_id", p->port_id);
		rte_tel_data_add_dict_int(pd, "rx_queues", p->rx_queues);
		rte_tel_data_add_dict_int(pd, "mtu", p->mtu);
		rte_tel_data_add_dict_int(pd, "link_up", __atomic_load_n(&p->link_up, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(pd, "link_speed_mbps", p->link_speed_mbps);
		rte_tel_data_add_dict_u64(pd, "rx_packets", __atomic_load_n(&p->ipackets, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(pd, "rx_bytes", __atomic_load_n(&p->ibytes, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(pd, "rx_missed", __atomic_load_n(&p->imissed, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(pd, "rx_errors", __atomic_load_n(&p->ierrors, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(pd, "rx_nombuf", __atomic_load_n(&p->rx_nombuf, __ATOMIC_RELAXED));
		if (rte_tel_data_add_dict_container(d, name, pd, 0) != 0)
			rte_tel_data_free(pd);
	}
	leave();
	return 0;
}

int dp_telemetry_init(const struct mgw_shm *shm)
{
	tel_shm = shm;
	atomic_store(&tel_closing, 0);
	int rc = rte_telemetry_register_cmd("/mgw/counters", tel_counters,
					    "Dataplane counters summed over lcores; parameter: an lcore id "
					    "for that lcore's block only");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/mgw/status", tel_status,
						"Dataplane instance, pid, state, heartbeat, hugepages, lcores "
						"and roles. Takes no parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/mgw/ports", tel_ports,
						"Ports with device, link and rx statistics. Takes no parameters");
	return rc;
}

void dp_telemetry_stop(void)
{
	atomic_store(&tel_closing, 1);
	while (atomic_load(&tel_inflight) > 0)
		usleep(1000);
}
