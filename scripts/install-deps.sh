#!/usr/bin/env bash
# Installs the Debian 12 packages shardshift needs to build, test and run its sandbox.
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libpq-dev postgresql-15 postgresql-contrib postgresql-15-hypopg postgresql-15-pg-qualstats
  libmariadb-dev mariadb-server mariadb-client
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libboost-dev libboost-filesystem-dev
  libxxhash-dev nlohmann-json3-dev libpg-query-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  sysbench
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "shardshift needs these Debian packages; run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start system-wide servers: the sandbox starts its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
