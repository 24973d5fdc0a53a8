/*
 * drv_port.h - DPDK ethdev ports from the config: EAL arguments that make
 * the device exist (PCI allow-list or --vdev), then configure, queue setup,
 * start, promiscuous/all-multicast and stats for the CLI.
 *
 * Works the same for real NICs and for the virtual PMDs used in tests and
 * the demo (net_pcap replay, net_ring, net_null, net_af_xdp, net_tap).
 */
#ifndef DRV_PORT_H
#define DRV_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_port_cfg;
struct rte_mempool;

struct drv_port {
	uint16_t port_id;
	uint16_t rx_queues;
	uint16_t mtu;      /* MTU actually configured */
	int socket_id;     /* NUMA node of the device, -1 if unknown */
	bool started;
	char name[32];
	char dev_name[64]; /* DPDK device name (vdev name or PCI address) */
};

/* True if `device` is a PCI address such as 0000:01:00.0 or 01:00.0. */
bool drv_device_is_pci(const char *device);

/*
 * The DPDK device name of a config device string: the PCI address, or the
 * vdev name before the first ','. Returns 0 or -ENAMETOOLONG.
 */
int drv_device_name(const char *device, char *out, size_t cap);

/*
 * Set up one port after rte_eal_init: find it by device name, configure
 * cfg->rx_queues rx queues (descriptors from cfg->rx_desc, adjusted to what
 * the PMD accepts) fed from mp, one tx queue, the MTU (capped to the PMD's
 * maximum), start it, enable promiscuous and all-multicast as configured
 * (PMDs that cannot are noted, not fatal). Returns 0, or -errno with one
 * line in err naming the port and the step that failed.
 */
int drv_port_setup(const struct ctl_port_cfg *cfg, struct rte_mempool *mp,
		   struct drv_port *out, char *err, size_t errlen);

/* Stop and close; accepts a port that never started. */
void drv_port_close(struct drv_port *p);

struct drv_port_stats {
	uint64_t ipackets, ibytes, imissed, ierrors, rx_nombuf;
	bool link_up;
	uint32_t link_speed_mbps;
};

/* Read ethdev stats and link state without waiting. Returns 0 or -errno. */
int drv_port_stats(const struct drv_port *p, struct drv_port_stats *st);

#endif /* DRV_PORT_H */
