#!/usr/bin/env bash
# scripts/serve.sh VENV -- the portal and its background worker together, as make run and
# make serve start them: `manage.py watch` (the task library's worker; PORTAL_TASK_WORKERS of
# them, 1 by default), with PORTAL_LIVE_BIND the live server (uvicorn, portal/live.py: the streams
# that tell open pages of changes; make serve sets it), and gunicorn. Stopping one stops them all.
set -euo pipefail
bin=$1/bin
workers=${PORTAL_TASK_WORKERS:-1}
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
for _ in $(seq "$workers"); do
	"$bin/python" manage.py watch &
	pids+=($!)
done
if [[ -n ${PORTAL_LIVE_BIND:-} ]]; then
	# One process: its streams wait on the network, and one task a process reads the database for all.
	"$bin/uvicorn" portal.live:application --host "${PORTAL_LIVE_BIND%:*}" --port "${PORTAL_LIVE_BIND##*:}" \
		--http h11 --loop asyncio --no-access-log --timeout-graceful-shutdown 3 &
	pids+=($!)
fi
"$bin/gunicorn" -c portal/gunicorn.conf.py portal.wsgi &
pids+=($!)
wait -n "${pids[@]}"
