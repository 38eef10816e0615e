#!/usr/bin/env bash
# scripts/browser-tools.sh -- what the browser tests load into pages: axe-core, the
# accessibility checker, from the npm registry at the version of
# tests/browser/package-lock.json (`npm ci`, so the lock file is the truth).
#
# Node and npm come from Debian when `npm` is missing (a fresh bookworm root has
# neither). Idempotent: when the locked axe-core is in place it only checks and returns.
set -euo pipefail

dir=tests/browser
axe=$dir/node_modules/axe-core/axe.min.js
export DEBIAN_FRONTEND=noninteractive

log() { printf '[browser-tools.sh] %s\n' "$*"; }

if ! command -v npm >/dev/null; then
	[[ $(id -u) == 0 ]] || { echo "browser-tools.sh: npm is missing; run as root" >&2; exit 2; }
	# a fresh image has empty apt lists: update only when the packages are unknown
	if ! apt-cache show nodejs npm >/dev/null 2>&1; then
		log "apt-get update"
		apt-get update -q
	fi
	log "installing nodejs npm"
	if ! apt-get install -y -q --no-install-recommends nodejs npm; then
		log "apt-get install failed; retrying after apt-get update"   # stale lists give 404s
		apt-get update -q
		apt-get install -y -q --no-install-recommends nodejs npm
	fi
fi

# npm ci writes node_modules/.package-lock.json: newer than the lock file means done.
installed=$dir/node_modules/.package-lock.json
if [[ -f $axe && -f $installed && $installed -nt $dir/package-lock.json ]]; then
	log "ready: axe-core $(node -p "require('./$dir/node_modules/axe-core/package.json').version")"
	exit 0
fi
log "npm ci --prefix $dir"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
[[ -f $axe ]] || { echo "browser-tools.sh: $axe is missing after npm ci" >&2; exit 1; }
log "ready: axe-core $(node -p "require('./$dir/node_modules/axe-core/package.json').version")"
