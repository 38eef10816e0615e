#!/usr/bin/env bash
# scripts/serve.sh VENV -- the portal and its background worker together, as make run and
# make serve start them: `manage.py watch` (the task library's worker; PORTAL_TASK_WORKERS of
# them, 1 by default) in the background, gunicorn in the foreground. Stopping one stops both.
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
"$bin/gunicorn" -c portal/gunicorn.conf.py portal.wsgi &
pids+=($!)
wait -n "${pids[@]}"
