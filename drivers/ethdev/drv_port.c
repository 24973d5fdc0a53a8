/*
 * drv_port.c - ethdev port setup from config (see drv_port.h).
 */
#include "drv_port.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "ctl_config.h"

bool drv_device_is_pci(const char *d)
{
	/* [dddd:]bb:dd.f with hex digits */
	const char *p = d;
	int colons = 0, dots = 0;
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p == ':')
			colons++;
		else if (*p == '.')
			dots++;
		else if (!isxdigit((unsigned char)*p))
			return false;
	}
	return (colons == 1 || colons == 2) && dots == 1;
}

int drv_device_name(const char *device, char *out, size_t cap)
{
	size_t n = strcspn(device, ",");
	if (n + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, device, n);
	out[n] = '\0';
	return 0;
}

int drv_port_setup(const struct ctl_port_cfg *cfg, struct rte_mempool *mp,
		   struct drv_port *out, char *err, size_t errlen)
{
	int rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", cfg->name);
	if (drv_device_name(cfg->device, out->dev_name, sizeof(out->dev_name)) != 0) {
		snprintf(err, errlen, "port %s: device name too long", cfg->name);
		return -ENAMETOOLONG;
	}
	rc = rte_eth_dev_get_port_by_name(out->dev_name, &out->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: DPDK has no device '%s' (check ports[].device and that "
			 "its driver is available)", cfg->name, out->dev_name);
		return -ENODEV;
	}
	struct rte_eth_dev_info info;
	rc = rte_eth_dev_info_get(out->port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: cannot read device info: %s", cfg->name, strerror(-rc));
		return rc;
	}
	if (cfg->rx_queues > info.max_rx_queues) {
		snprintf(err, errlen, "port %s: %u rx queues asked, device %s supports %u",
			 cfg->name, cfg->rx_queues, out->dev_name, info.max_rx_queues);
		return -EINVAL;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint32_t mtu = cfg->mtu;
	if (info.max_mtu && mtu > info.max_mtu)
		mtu = info.max_mtu;
	if (mtu < info.min_mtu)
		mtu = info.min_mtu;
	conf.rxmode.mtu = mtu;
	if (cfg->rx_queues > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
		conf.rx_adv_conf.rss_conf.rss_hf &= info.flow_type_rss_offloads;
	}
	uint16_t ntx = info.max_tx_queues ? 1 : 0;
	rc = rte_eth_dev_configure(out->port_id, cfg->rx_queues, ntx, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: configure failed: %s", cfg->name, strerror(-rc));
		return rc;
	}
	uint16_t nb_rxd = cfg->rx_desc, nb_txd = 512;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(out->port_id, &nb_rxd, &nb_txd);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: descriptor counts refused: %s", cfg->name, strerror(-rc));
		return rc;
	}
	out->socket_id = rte_eth_dev_socket_id(out->port_id);
	unsigned int sock = out->socket_id < 0 ? (unsigned int)SOCKET_ID_ANY : (unsigned int)out->socket_id;
	for (uint16_t q = 0; q < cfg->rx_queues; q++) {
		rc = rte_eth_rx_queue_setup(out->port_id, q, nb_rxd, sock, NULL, mp);
		if (rc != 0) {
			snprintf(err, errlen, "port %s: rx queue %u setup failed: %s", cfg->name, q,
				 strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		rc = rte_eth_tx_queue_setup(out->port_id, q, nb_txd, sock, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "port %s: tx queue setup failed: %s", cfg->name, strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(out->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: start failed: %s", cfg->name, strerror(-rc));
		return rc;
	}
	out->started = true;
	out->rx_queues = cfg->rx_queues;
	out->mtu = (uint16_t)mtu;
	/* Virtual PMDs often cannot change these; the feed still flows. */
	if (cfg->promiscuous)
		(void)rte_eth_promiscuous_enable(out->port_id);
	if (cfg->all_multicast)
		(void)rte_eth_allmulticast_enable(out->port_id);
	return 0;
}

void drv_port_close(struct drv_port *p)
{
	if (!p || !p->started)
		return;
	(void)rte_eth_dev_stop(p->port_id);
	(void)rte_eth_dev_close(p->port_id);
	p->started = false;
}

int drv_port_stats(const struct drv_port *p, struct drv_port_stats *st)
{
	struct rte_eth_stats s;
	memset(st, 0, sizeof(*st));
	int rc = rte_eth_stats_get(p->port_id, &s);
	if (rc != 0)
		return rc;
	st->ipackets = s.ipackets;
	st->ibytes = s.ibytes;
	st->imissed = s.imissed;
	st->ierrors = s.ierrors;
	st->rx_nombuf = s.rx_nombuf;
	struct rte_eth_link link;
	if (rte_eth_link_get_nowait(p->port_id, &link) == 0) {
		st->link_up = link.link_status == RTE_ETH_LINK_UP;
		st->link_speed_mbps = link.link_speed;
	}
	return 0;
}
