#!/usr/bin/env bash
# The programs the tests run besides Python, from Debian: nginx, the load balancer of the test
# of several instances (tests/test_cluster.py), and curl and wget, which run the command lines
# the portal shows (tests/test_commands_real.py). nginx runs with a configuration of the test's
# own on a loopback port: the package's own service is kept from starting. Idempotent; as root.
set -euo pipefail
if command -v nginx >/dev/null && command -v curl >/dev/null && command -v wget >/dev/null; then
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# No service starts from the package's scripts (policy-rc.d 101: "action forbidden").
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
packages=(nginx-light curl wget)
apt-get install -y -q "${packages[@]}" >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q "${packages[@]}"; }
command -v nginx >/dev/null && command -v curl >/dev/null && command -v wget >/dev/null
