#!/usr/bin/env bash
# The PostgreSQL role the test suite's PostgreSQL run logs in as (make test), in the
# cluster scripts/dachs.sh installs and starts. It may create databases: pytest-django
# makes its own test database and drops it after. Idempotent.
set -euo pipefail

ROLE=portal_test

psql_postgres() {   # as the postgres superuser, from / (runuser keeps the working directory)
	(cd / && runuser -u postgres -- psql -X -q -tA -c "$1")
}

if [ "$(psql_postgres "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
	psql_postgres "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$ROLE'"
fi
