#!/usr/bin/env bash
# scripts/dachs.sh -- a local GAVO DaCHS 2.7 TAP/UWS server for the portal's tests.
#
#   scripts/dachs.sh [start]    install if needed, configure, import the test
#                               table, start, wait until TAP answers (default)
#   scripts/dachs.sh stop       stop the DaCHS server (PostgreSQL keeps running)
#   scripts/dachs.sh clean-jobs delete all TAP/UWS jobs (dachs admin cleantap --all)
#
# Run as root on Debian bookworm; no systemd needed.  Idempotent: when all is
# already up, `start` only checks and returns within a few seconds.
# Server: http://127.0.0.1:8080 (TAP at /tap); test data: schema portaltest
# (tables objects and slow), see scripts/dachs/portaltest.rd; TAP examples
# (/tap/examples), see scripts/dachs/userconfig.rd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RD_SRC=$HERE/dachs/portaltest.rd
RD_DIR=/var/gavo/inputs/portaltest
RD_DST=$RD_DIR/q.rd
RD_STAMP=$RD_DIR/.imported.sha256   # checksum of the RD last imported successfully
USERCONFIG_SRC=$HERE/dachs/userconfig.rd
USERCONFIG_DST=/var/gavo/etc/userconfig.rd
PG_VERSION=15
BASE_URL=http://127.0.0.1:8080
WAIT_SECS=60
# DaCHS must not see the caller's environment (a virtualenv's python/PYTHONPATH
# would break it), so every dachs call goes through this.
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin)
export DEBIAN_FRONTEND=noninteractive

log() { printf '[dachs.sh] %s\n' "$*"; }

show_logs() {
	local f
	for f in /var/gavo/logs/*; do
		[[ -f $f && -s $f ]] || continue
		printf '\n----- tail of %s -----\n' "$f"
		tail -n 20 "$f"
	done
	f=/var/log/postgresql/postgresql-$PG_VERSION-main.log
	[[ -s $f ]] && { printf '\n----- tail of %s -----\n' "$f"; tail -n 15 "$f"; }
	return 0
}

die() {
	log "ERROR: $*"
	show_logs >&2
	exit 1
}

http_code() {   # http_code URL -> status code ("000" when nothing answers)
	curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --max-time 3 "$1" 2>/dev/null || true
}

as_dachsroot() {   # DaCHS admin commands; cwd / because dachsroot cannot read /root
	(cd / && runuser -u dachsroot -- "${CLEAN_ENV[@]}" "$@")
}

psql_gavo() {   # clean env: a caller's PGHOST/PGPORT/PGDATABASE must not leak in
	(cd / && runuser -u postgres -- "${CLEAN_ENV[@]}" psql -X -q -d gavo -tA -c "$1")
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------
pkg_ok() {   # installed *and* configured
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

APT_UPDATED=0
apt_install() {   # apt_install PKG...: install those not yet installed
	local p missing=()
	for p in "$@"; do pkg_ok "$p" || missing+=("$p"); done
	((${#missing[@]})) || return 0
	# a fresh image has empty apt lists; stale lists give 404s -- update once
	if ((!APT_UPDATED)); then
		for p in "${missing[@]}"; do
			if ! apt-cache show "$p" >/dev/null 2>&1; then
				log "apt-get update"
				apt-get update -q
				APT_UPDATED=1
				break
			fi
		done
	fi
	log "installing ${missing[*]}"
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		((APT_UPDATED)) && return 1
		log "apt-get install failed; retrying after apt-get update"
		apt-get update -q
		APT_UPDATED=1
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

# PostgreSQL 15.20+ rejects pgsphere 1.1.1's extension script ("commutator
# operator @> is already the commutator of operator <@"): the two legacy
# `@` operators kept for DaCHS re-declare COMMUTATOR/NEGATOR pairs that the
# new operators already own.  Dropping just those two lines from the two
# operators in that section makes `CREATE EXTENSION pg_sphere` (run by
# `dachs init`) work again; the operators themselves stay.
patch_pgsphere() {
	local f tmp
	for f in /usr/share/postgresql/$PG_VERSION/extension/pg_sphere--*.sql; do
		[[ -f $f ]] || continue
		# already patched (or nothing to patch)?
		awk '/backwards-compatible operators for GAVO DaCHS/ {s=1}
			s && /^[[:space:]]*(COMMUTATOR[[:space:]]*=[[:space:]]*'"'@>'"'|NEGATOR[[:space:]]*=[[:space:]]*'"'!<@'"'),?[[:space:]]*$/ {found=1}
			s && /^\);/ && ++n == 2 {s=0}
			END {exit !found}' "$f" || continue
		log "patching $f (legacy pgsphere operators vs. PostgreSQL >= 15.20)"
		tmp=$(mktemp "$f.XXXXXX")
		awk '/backwards-compatible operators for GAVO DaCHS/ {s=1}
			s && /^[[:space:]]*(COMMUTATOR[[:space:]]*=[[:space:]]*'"'@>'"'|NEGATOR[[:space:]]*=[[:space:]]*'"'!<@'"'),?[[:space:]]*$/ {next}
			s && /^\);/ && ++n == 2 {s=0}
			{print}' "$f" >"$tmp"
		chmod 644 "$tmp"
		mv -f "$tmp" "$f"
	done
}

ensure_cluster() {
	if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {f=1} END {exit !f}'; then
		log "creating PostgreSQL cluster $PG_VERSION/main"
		pg_createcluster "$PG_VERSION" main
	fi
	# policy-rc.d (exit 101) and the missing systemd mean nobody started it
	if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" && $4 == "online" {f=1} END {exit !f}'; then
		log "starting PostgreSQL cluster $PG_VERSION/main"
		pg_ctlcluster "$PG_VERSION" main start
	fi
}

install_dachs() {
	# postgresql first: gavodachs2-server's postinst runs `dachs init`, which
	# needs a running cluster with a loadable pg_sphere.
	apt_install postgresql-$PG_VERSION postgresql-$PG_VERSION-pgsphere postgresql-$PG_VERSION-q3c curl
	patch_pgsphere
	ensure_cluster
	if ! pkg_ok gavodachs2-server; then
		case $(dpkg-query -W -f='${db:Status-Status}' gavodachs2-server 2>/dev/null || true) in
		unpacked | half-configured | triggers-*)
			# its postinst failed earlier (cluster down or unpatched pgsphere)
			log "finishing the interrupted gavodachs2-server configuration"
			dpkg --configure -a || true
			;;
		*) apt_install gavodachs2-server || true ;;
		esac
		# its postinst may fail (e.g. `dachs init` before the patch); once more
		pkg_ok gavodachs2-server || { log "re-running dpkg --configure -a"; dpkg --configure -a || true; }
		pkg_ok gavodachs2-server || die "gavodachs2-server is not configured (see the dpkg output above)"
	fi
	# the init script would only work with policy-rc.d allowing it; we start
	# the server ourselves below.
}

# ---------------------------------------------------------------------------
# Configuration and data
# ---------------------------------------------------------------------------
CONFIG_CHANGED=0
write_config() {
	local want
	want=$(cat <<-'EOF'
	# written by scripts/dachs.sh -- local DaCHS for the portal's tests
	[web]
	sitename: Local DaCHS test server
	bindAddress: 127.0.0.1
	serverPort: 8080
	serverURL: http://127.0.0.1:8080

	[async]
	maxTAPRunning: 4
	EOF
	)
	if [[ ! -f /etc/gavo.rc ]] || [[ $(cat /etc/gavo.rc) != "$want" ]]; then
		log "writing /etc/gavo.rc"
		printf '%s\n' "$want" >/etc/gavo.rc
		chmod 644 /etc/gavo.rc
		CONFIG_CHANGED=1
	fi
}

# DaCHS's TAP service takes its examples from the tapexamples STREAM of
# etc/userconfig.rd (the _example meta items), read when the //tap RD is loaded.
EXAMPLES_CHANGED=0
install_examples() {
	[[ -f $USERCONFIG_SRC ]] || die "missing $USERCONFIG_SRC"
	if ! cmp -s "$USERCONFIG_SRC" "$USERCONFIG_DST"; then
		log "installing $USERCONFIG_DST (TAP examples)"
		install -o dachsroot -g gavo -m 644 "$USERCONFIG_SRC" "$USERCONFIG_DST"
		EXAMPLES_CHANGED=1
	fi
}

IMPORTED=0
import_rd() {
	[[ -f $RD_SRC ]] || die "missing $RD_SRC"
	install -d -o dachsroot -g gavo -m 2775 "$RD_DIR"
	if ! cmp -s "$RD_SRC" "$RD_DST"; then
		log "installing $RD_DST"
		install -o dachsroot -g gavo -m 644 "$RD_SRC" "$RD_DST"
	fi
	local sum have
	sum=$(sha256sum <"$RD_DST" | cut -d' ' -f1)
	have=$(psql_gavo "SELECT to_regclass('portaltest.objects') IS NOT NULL
		AND to_regclass('portaltest.slow') IS NOT NULL" 2>/dev/null || true)
	if [[ $have == t && -f $RD_STAMP && $(cat "$RD_STAMP") == "$sum" ]]; then
		return 0
	fi
	log "importing portaltest/q (dachs imp)"
	rm -f "$RD_STAMP"
	as_dachsroot dachs imp portaltest/q || die "dachs imp portaltest/q failed"
	echo "$sum" >"$RD_STAMP"
	IMPORTED=1
}

# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
server_pid() {   # prints the PID of a live DaCHS server, if any
	local pid state cmd
	pid=$(cat /var/gavo/state/web.pid 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 0
	# a killed daemon can linger as a zombie (PID 1 of a container may not
	# reap); a stale PID may belong to something else after a reboot
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
	[[ $state != Z && $cmd == *dachs* ]] && echo "$pid"
	return 0
}

sync_count() {   # rows in portaltest.objects as the TAP sync endpoint sees them
	curl -s --noproxy '*' --max-time 10 "$BASE_URL/tap/sync" \
		-d REQUEST=doQuery -d LANG=ADQL -d FORMAT=csv \
		--data-urlencode 'QUERY=SELECT COUNT(*) AS n FROM portaltest.objects' 2>/dev/null |
		tr -d '\r' | sed -n 2p || true
}

start_server() {
	local up=0 pid i t
	[[ $(http_code "$BASE_URL/tap/availability") == 200 ]] && up=1
	if ((up && (CONFIG_CHANGED || IMPORTED))); then
		# gavo.rc is only read at start-up; after a re-import the cached RD
		# must go too (`dachs serve reload` is broken in 2.7: the SIGHUP
		# handler dies on a missing root.loadUserVanity)
		log "restarting DaCHS ($( ((CONFIG_CHANGED)) && echo configuration changed || echo data re-imported))"
		"${CLEAN_ENV[@]}" dachs serve restart || die "dachs serve restart failed"
		return 0
	fi
	if ((up && EXAMPLES_CHANGED)); then
		# SIGHUP clears DaCHS's caches first, so the //tap RD is read again with the
		# new examples; the handler then fails on the missing root.loadUserVanity,
		# but the server goes on serving, and the jobs under way go on running.
		log "reloading DaCHS (TAP examples changed)"
		"${CLEAN_ENV[@]}" dachs serve reload || die "dachs serve reload failed"
		return 0
	fi
	((up)) && return 0
	pid=$(server_pid)
	if [[ -n $pid ]]; then
		log "DaCHS (pid $pid) is running but does not answer yet; waiting"
		t=$((SECONDS + 15))
		while ((SECONDS < t)); do
			[[ $(http_code "$BASE_URL/tap/availability") == 200 ]] && return 0
			[[ -n $(server_pid) ]] || break
			sleep 0.5
		done
		if [[ -n $(server_pid) ]]; then
			# `dachs serve stop` would wait minutes for a hung server
			log "killing the unresponsive DaCHS (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			for i in $(seq 10); do [[ -n $(server_pid) ]] || break; sleep 0.5; done
			[[ -z $(server_pid) ]] || kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
	fi
	rm -f /var/gavo/state/web.pid   # stale after a crash or a killed chroot
	log "starting DaCHS on $BASE_URL"
	"${CLEAN_ENV[@]}" dachs serve start || die "dachs serve start failed"
}

wait_ready() {
	local deadline=$((SECONDS + WAIT_SECS)) n= gone=0
	until [[ $(http_code "$BASE_URL/tap/availability") == 200 ]]; do
		((SECONDS < deadline)) || die "$BASE_URL/tap/availability did not answer 200 within ${WAIT_SECS}s"
		# the daemon exits at once e.g. when port 8080 is taken (server.stderr)
		if [[ -z $(server_pid) ]]; then
			((++gone < 10)) || die "the DaCHS server is not running"
		else
			gone=0
		fi
		sleep 0.5
	done
	until n=$(sync_count) && [[ $n == 500 ]]; do
		((SECONDS < deadline)) || die "TAP sync COUNT(*) on portaltest.objects gave '${n}', not 500, within ${WAIT_SECS}s"
		sleep 0.5
	done
	until [[ $(http_code "$BASE_URL/tap/examples") == 200 ]]; do
		((SECONDS < deadline)) || die "$BASE_URL/tap/examples did not answer 200 within ${WAIT_SECS}s"
		sleep 0.5
	done
	log "ready: $BASE_URL/tap (portaltest.objects has $n rows; examples at /tap/examples)"
}

# ---------------------------------------------------------------------------
cmd_start() {
	local t0=$SECONDS
	install_dachs
	write_config
	install_examples
	import_rd
	start_server
	wait_ready
	log "done in $((SECONDS - t0))s"
}

cmd_stop() {
	if [[ -n $(server_pid) ]] && command -v dachs >/dev/null; then
		log "stopping DaCHS"
		"${CLEAN_ENV[@]}" dachs serve stop
	else
		log "DaCHS is not running"
	fi
}

cmd_clean_jobs() {
	command -v dachs >/dev/null || die "DaCHS is not installed"
	# `cleantap --all` skips EXECUTING jobs, so abort those through UWS first
	local id ids i list
	ids=$(curl -s --noproxy '*' --max-time 5 "$BASE_URL/tap/async?PHASE=EXECUTING" 2>/dev/null |
		grep -o 'uws:jobref id="[^"]*"' | cut -d'"' -f2 || true)
	for id in $ids; do
		log "aborting executing job $id"
		curl -s -o /dev/null --noproxy '*' --max-time 5 "$BASE_URL/tap/async/$id/phase" -d PHASE=ABORT || true
	done
	for i in $(seq 20); do   # the abort is asynchronous
		[[ -n $ids ]] || break
		list=$(curl -s --noproxy '*' --max-time 5 "$BASE_URL/tap/async?PHASE=EXECUTING" || true)
		[[ $list == *uws:jobref* ]] || break
		sleep 0.5
	done
	log "removing all TAP jobs"
	"${CLEAN_ENV[@]}" dachs admin cleantap --all
}

[[ $(id -u) == 0 ]] || { echo "dachs.sh: must run as root" >&2; exit 2; }
case ${1:-start} in
start) cmd_start ;;
stop) cmd_stop ;;
clean-jobs) cmd_clean_jobs ;;
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' ;;
*) echo "usage: $0 [start|stop|clean-jobs]" >&2; exit 2 ;;
esac
