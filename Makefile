# make run    set up and serve the portal and its background worker on http://127.0.0.1:8000 (ESO's services)
# make serve  serve it in production, behind an HTTPS proxy (PORTAL_SECRET_KEY required)
# make test   set up everything the tests need (DaCHS included) and run them all
# make lint   ruff over the code
# make loadtest  a slow service under 200 clients, on loopback, about a minute (docs/loadtest.md)
# make bench  the portal's own cost against a fast service and DaCHS, about 5 minutes (docs/benchmarks.md)

VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run serve loadtest bench test test-python dachs vollt test-tools chromium browser-tools lint

run: .secret_key
	bash scripts/python-env.sh $(VENV) requirements.txt
	export PORTAL_SECRET_KEY="$$(cat .secret_key)" PORTAL_BIND=127.0.0.1:$(PORT) && \
		$(BIN)/python manage.py migrate --noinput -v0 && \
		$(BIN)/python manage.py collectstatic --noinput -v0 && \
		exec bash scripts/serve.sh $(VENV)

# Production: its own key, https through the proxy (README: "Serve it in production").
serve:
	@test -n "$$PORTAL_SECRET_KEY" || { echo "make serve: set PORTAL_SECRET_KEY to this deployment's own secret key" \
		"(never the .secret_key of make run; e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))')" >&2; exit 1; }
	bash scripts/python-env.sh $(VENV) requirements.txt
	export PORTAL_PRODUCTION=1 PORTAL_LIVE_BIND="$${PORTAL_LIVE_BIND:-127.0.0.1:8001}" && \
		$(BIN)/python manage.py migrate --noinput -v0 && \
		$(BIN)/python manage.py collectstatic --noinput -v0 && \
		exec bash scripts/serve.sh $(VENV)

loadtest:
	bash scripts/python-env.sh $(VENV) requirements.txt
	$(BIN)/python -m bench.loadtest

# py-spy (for --profile) comes with the test requirements; wrk from Debian (bench/wrk.sh); nginx in front of
# the open pages of section 8 (scripts/test-tools.sh).
bench: test-python dachs test-tools
	bash bench/wrk.sh
	$(BIN)/python -m bench.benchmarks

# A key of this checkout's own for `make run`; production sets PORTAL_SECRET_KEY.
.secret_key:
	python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

test-python:
	bash scripts/python-env.sh $(VENV) requirements-test.txt

dachs:
	bash scripts/dachs.sh start

# CDS VOLLT, the software of ESO's services, from ../shared (its tests are skipped without it).
VOLLT_UP := ../shared/tools/vollt-up.sh
vollt:
	@if [ -f $(VOLLT_UP) ]; then bash $(VOLLT_UP); \
	else echo "make vollt: $(VOLLT_UP) is absent: the VOLLT tests will be skipped"; fi

# nginx (tests/test_cluster.py), curl and wget (tests/test_commands_real.py), from Debian.
test-tools:
	bash scripts/test-tools.sh

chromium:
	bash scripts/chromium.sh

browser-tools:
	bash scripts/browser-tools.sh

# The whole suite on SQLite (the default), then the tests of what the portal keeps
# (remembered jobs, sessions) again on PostgreSQL, DaCHS's cluster (DATABASE_URL).
TEST_DATABASE_URL := postgres://portal_test:portal_test@127.0.0.1:5432/portal_test
POSTGRES_TESTS := tests/test_database.py tests/test_remembered.py tests/test_tokens.py tests/test_health.py tests/test_home.py tests/test_job_page.py tests/test_job_actions.py tests/test_job_list.py tests/test_new_job.py tests/test_results.py tests/test_following.py tests/test_remembering.py tests/watching

test: test-python dachs vollt test-tools chromium browser-tools
	$(BIN)/ruff check .
	$(BIN)/python manage.py check --settings=tests.settings
	bash scripts/test-postgres.sh
	$(BIN)/pytest
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -p no:cacheprovider $(POSTGRES_TESTS)

lint: test-python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
