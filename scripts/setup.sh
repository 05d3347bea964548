#!/usr/bin/env bash
# Installs what floatd's lab and tests need on a Debian machine (run as root), then builds.
# Safe to run repeatedly: apt-get runs only when a package is missing.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
pkgs=(iproute2 procps psmisc curl keepalived nginx-light etcd-server util-linux tshark chromium nftables haproxy wrk prometheus man-db)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "floatd setup: missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "floatd setup: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The packaged services must not run on the host: the lab starts its own copies.
  for s in keepalived nginx etcd prometheus haproxy; do systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true; done
fi
scripts/build.sh
