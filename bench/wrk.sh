#!/usr/bin/env bash
# bench/wrk.sh -- the load generator of the benchmarks: Debian's wrk, installed when
# missing (as root; a fresh bookworm root has empty apt lists). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '[wrk.sh] %s\n' "$*"; }

if ! command -v wrk >/dev/null; then
	[[ $(id -u) == 0 ]] || { echo "wrk.sh: wrk is missing; run as root or apt-get install wrk" >&2; exit 2; }
	if ! apt-cache show wrk >/dev/null 2>&1; then
		log "apt-get update"
		apt-get update -q
	fi
	log "installing wrk"
	if ! apt-get install -y -q --no-install-recommends wrk; then
		log "apt-get install failed; retrying after apt-get update"   # stale lists give 404s
		apt-get update -q
		apt-get install -y -q --no-install-recommends wrk
	fi
fi
log "ready: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
