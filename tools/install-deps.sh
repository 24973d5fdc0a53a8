#!/usr/bin/env bash
# install-deps.sh - install every Debian package mgw needs to build, run and test.
# Idempotent: only calls apt-get when something is missing. Needs root (or sudo).
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libdpdk-dev dpdk
  libnuma-dev liburing-dev libbpf-dev libsqlite3-dev sqlite3
  libyaml-dev check libpcap-dev
  tshark iproute2 procps python3 tcpreplay
  libmicrohttpd-dev prometheus
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
