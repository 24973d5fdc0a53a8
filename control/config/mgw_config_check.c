/*
 * mgw_config_check.c - `mgw-config-check FILE`: load a config file with the
 * same loader both processes use and say whether it is valid.
 *
 * Prints "OK" and a short summary (exit 0), or the loader's one-line error
 * "file:line: key: message" on stderr (exit 1). Meant for operators editing
 * the file and for tests; `mgwctl config validate` will supersede it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ctl_config.h"

static const char *huge_name(enum ctl_hugepages h)
{
	switch (h) {
	case CTL_HUGE_ON:
		return "on";
	case CTL_HUGE_OFF:
		return "off";
	default:
		return "auto";
	}
}

static void summary(const struct mgw_config *c)
{
	char roles[64];

	printf("OK %s\n", c->source);
	printf("instance   %s\n", c->instance);
	printf("dataplane  hugepages=%s memory_mb=%u main_lcore=%u burst=%u ring_size=%u\n",
	       huge_name(c->dataplane.hugepages), c->dataplane.memory_mb,
	       c->dataplane.main_lcore, c->dataplane.burst, c->dataplane.ring_size);
	for (uint32_t i = 0; i < c->dataplane.n_lcores; i++) {
		ctl_roles_format(c->dataplane.lcores[i].roles, roles, sizeof roles);
		printf("lcore      %u roles=%s\n", c->dataplane.lcores[i].id, roles);
	}
	for (uint32_t i = 0; i < c->n_ports; i++) {
		const struct ctl_port_cfg *p = &c->ports[i];
		printf("port       %s device=%s rx_queues=%u rx_desc=%u mtu=%u promiscuous=%s "
		       "all_multicast=%s\n",
		       p->name, p->device, p->rx_queues, p->rx_desc, p->mtu,
		       p->promiscuous ? "true" : "false", p->all_multicast ? "true" : "false");
	}
	printf("feed       udp_ports=");
	for (uint32_t i = 0; i < c->feed.n_udp_ports; i++)
		printf("%s%u", i ? "," : "", c->feed.udp_ports[i]);
	printf(" groups=");
	if (c->feed.n_groups == 0)
		printf("any");
	for (uint32_t i = 0; i < c->feed.n_groups; i++) {
		struct in_addr a = {.s_addr = htonl(c->feed.groups[i])};
		char txt[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, txt, sizeof txt);
		printf("%s%s", i ? "," : "", txt);
	}
	printf("\n");
	printf("book       max_orders=%u max_levels=%u max_symbols=%u ladders=%u%s\n",
	       c->book.max_orders, c->book.max_levels, c->book.max_symbols, c->book.ladders,
	       c->book.ladders ? "" : " (auto)");
	printf("control    socket=%s\n", c->control.socket);
}

int main(int argc, char **argv)
{
	struct mgw_config cfg;
	struct ctl_config_err err;
	char msg[1024];

	if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: mgw-config-check FILE\n"
				"Loads an mgw YAML config; prints OK and a summary, or the error.\n");
		return 1;
	}
	if (ctl_config_load(argv[1], &cfg, &err) < 0) {
		ctl_config_err_format(&err, msg, sizeof msg);
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	summary(&cfg);
	return 0;
}
