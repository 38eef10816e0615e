# make run    set up and serve the portal on http://127.0.0.1:8000 (ESO's services)
# make test   set up everything the tests need (DaCHS included) and run them all
# make lint   ruff over the code

VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test test-python dachs chromium lint

run: .secret_key
	bash scripts/python-env.sh $(VENV) requirements.txt
	export PORTAL_SECRET_KEY="$$(cat .secret_key)" PORTAL_BIND=127.0.0.1:$(PORT) && \
		$(BIN)/python manage.py migrate --noinput -v0 && \
		$(BIN)/python manage.py collectstatic --noinput -v0 && \
		exec $(BIN)/gunicorn -c portal/gunicorn.conf.py portal.wsgi

# A key of this checkout's own for `make run`; production sets PORTAL_SECRET_KEY.
.secret_key:
	python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	chmod 600 $@

test-python:
	bash scripts/python-env.sh $(VENV) requirements-test.txt

dachs:
	bash scripts/dachs.sh start

chromium:
	bash scripts/chromium.sh

test: test-python dachs chromium
	$(BIN)/ruff check .
	$(BIN)/python manage.py check --settings=tests.settings
	$(BIN)/pytest

lint: test-python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
