#!/usr/bin/env bash
# scripts/chromium.sh -- Debian's Chromium for the browser tests (tests/browser).
#
# Playwright drives /usr/bin/chromium; `playwright install` is never run (it would
# download a browser of its own).  Fonts: without any, headless Chromium draws
# text as empty boxes in screenshots.
#
# Run as root on Debian bookworm.  Idempotent: when everything is installed it
# only checks and returns.
set -euo pipefail

PACKAGES=(chromium fonts-dejavu-core fonts-liberation)
export DEBIAN_FRONTEND=noninteractive

log() { printf '[chromium.sh] %s\n' "$*"; }

pkg_ok() {   # installed *and* configured
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do pkg_ok "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || { echo "chromium.sh: ${missing[*]} missing; run as root" >&2; exit 2; }
	# a fresh image has empty apt lists: update only when a package is unknown
	for p in "${missing[@]}"; do
		if ! apt-cache show "$p" >/dev/null 2>&1; then
			log "apt-get update"
			apt-get update -q
			break
		fi
	done
	log "installing ${missing[*]}"
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		log "apt-get install failed; retrying after apt-get update"   # stale lists give 404s
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
fi
# Debian's launcher (/etc/chromium.d/dev-shm) complains on stderr when /dev/shm is
# mounted twice, as in some containers: harmless, so shown only if Chromium fails.
if ! version=$(/usr/bin/chromium --version 2>&1); then
	printf '%s\n' "$version" >&2
	echo "chromium.sh: /usr/bin/chromium does not run" >&2
	exit 1
fi
log "ready: ${version##*$'\n'}"
