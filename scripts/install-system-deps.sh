#!/usr/bin/env bash
# Installs the Debian packages Tabby's test suites use: iproute2 for network namespaces, BIRD 2
# and GoBGP as interop peers, Redis and etcd as datastore servers, ping for traffic checks,
# util-linux (setpriv: helper processes die with their daemon), nftables (the BFD TTL check),
# chromium (the cluster map's browser test, driven by puppeteer-core).
# `--bench` adds FRR, which only the benchmarks use. Re-runs itself with sudo when not root.
set -euo pipefail

packages=(iproute2 iputils-ping bird2 gobgpd redis-server etcd-server etcd-client procps util-linux nftables chromium)
if [[ "${1:-}" == "--bench" ]]; then packages+=(frr); fi

if [[ $(id -u) -ne 0 ]]; then
  exec sudo "$0" "$@"
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts some of these as system services where an init system runs; the tests start
# their own instances on free ports, so the system ones are not needed.
for svc in bird redis-server etcd gobgpd frr; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
echo "system packages: done"
