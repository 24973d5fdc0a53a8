/*
 * fuzz_config.c - libFuzzer harness for the YAML config loader: feeds
 * arbitrary bytes to ctl_config_parse, which must return 0 or -1 and never
 * crash, read out of bounds or leak. Seeds: corpus/fuzz_config/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mgw_config cfg;
	struct ctl_config_err err;
	char line[512];

	/* Give ${VAR:-...} and ${VAR} references something to resolve to both
	 * ways: one set variable, the rest unset. */
	setenv("MGW_DATA_DIR", "/fuzz/data", 0);
	if (ctl_config_parse((const char *)data, size, "fuzz.yaml", &cfg, &err) < 0) {
		/* Exercise the formatter on whatever the loader produced. */
		ctl_config_err_format(&err, line, sizeof line);
		if (strlen(line) >= sizeof line)
			abort();
	} else {
		ctl_roles_format(cfg.dataplane.lcores[0].roles, line, sizeof line);
		if (cfg.n_ports < 1 || cfg.n_ports > CTL_MAX_PORTS || cfg.dataplane.n_lcores < 1)
			abort();
	}
	return 0;
}
