#!/usr/bin/env bash
# Debian's nginx, the load balancer of the test of several instances (tests/test_cluster.py).
# Only the binary is used, with a configuration of the test's own on a loopback port: the
# package's own service is stopped and kept from starting at boot. Idempotent; run as root.
set -euo pipefail
if command -v nginx >/dev/null; then
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# No service starts from the package's scripts (policy-rc.d 101: "action forbidden").
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -q nginx-light >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q nginx-light; }
command -v nginx >/dev/null
