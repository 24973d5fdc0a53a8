#!/bin/sh
# mgw-hugepages.sh - reserve the hugepages mgw-dataplane needs before it starts
# (ExecStartPre of mgw-dataplane.service).
#
#   mgw-hugepages.sh [CONFIG]     default /etc/mgw/mgw.yaml
#
# The need comes from the config (dataplane.hugepages and dataplane.memory_mb,
# read through mgw-config-check so this script never parses YAML itself), or
# from MGW_HUGEPAGES_MB in the unit's environment, which wins. The pool is only
# ever grown, never shrunk: other programs on the host may hold hugepages too.
# hugepages: off needs nothing; auto warns and lets the dataplane fall back to
# --no-huge; on fails the start (exit 1) when the pages cannot be reserved.
set -eu

CONFIG=${1:-/etc/mgw/mgw.yaml}
CHECK=${MGW_CONFIG_CHECK:-mgw-config-check}
SYSFS=${MGW_HUGEPAGES_SYSFS:-/proc/sys/vm/nr_hugepages}
MEMINFO=${MGW_MEMINFO:-/proc/meminfo}

say() { echo "mgw-hugepages: $*"; }

line=$("$CHECK" "$CONFIG" | grep '^dataplane ') || {
	say "cannot read $CONFIG (mgw-config-check failed: run it by hand to see why)"
	exit 1
}
mode=$(echo "$line" | sed -n 's/.*hugepages=\([a-z]*\).*/\1/p')
mb=$(echo "$line" | sed -n 's/.*memory_mb=\([0-9]*\).*/\1/p')
if [ -n "${MGW_HUGEPAGES_MB:-}" ]; then
	mb=$MGW_HUGEPAGES_MB
fi
if [ "$mode" = off ]; then
	say "dataplane.hugepages is off: nothing to reserve"
	exit 0
fi
case "$mb" in ''|*[!0-9]*) say "no memory size (got '$mb')"; exit 1 ;; esac

page_kb=$(awk '/^Hugepagesize:/ {print $2}' "$MEMINFO")
total=$(awk '/^HugePages_Total:/ {print $2}' "$MEMINFO")
free=$(awk '/^HugePages_Free:/ {print $2}' "$MEMINFO")
# Pages for memory_mb, rounded up, plus what is in use by others already.
need=$(( (mb * 1024 + page_kb - 1) / page_kb ))
want=$(( total - free + need ))
if [ "$free" -lt "$need" ]; then
	say "reserving $want hugepages of ${page_kb} kB ($mb MB for the dataplane)"
	echo "$want" > "$SYSFS" 2>/dev/null || true
	free=$(awk '/^HugePages_Free:/ {print $2}' "$MEMINFO")
fi
if [ "$free" -lt "$need" ]; then
	if [ "$mode" = on ]; then
		say "only $free of $need hugepages free (dataplane.hugepages: on): fragmented memory? reserve at boot (hugepages= on the kernel command line)"
		exit 1
	fi
	say "only $free of $need hugepages free: the dataplane will run with --no-huge (dataplane.hugepages: auto)"
	exit 0
fi
say "$free hugepages of ${page_kb} kB free, $need needed"
