# quartermaster: `make run` serves the API, `make test` runs both tiers of tests (unit, then lab).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
APT_PACKAGES := python3 python3-venv python3-pip docker.io busybox-static iproute2 iptables \
	docker-registry apache2-utils openssl curl util-linux debootstrap nginx-light wrk \
	postgresql chromium tzdata
STAMP := $(VENV)/.installed
# `make image`: the tag it builds, its base (made locally by scripts/base-image.sh, as no public
# registry may be reachable), a CA bundle pip trusts in the build stage only (a BuildKit secret).
IMAGE ?= quartermaster:test
NGINX_IMAGE ?= qm/nginx:test
POSTGRES_IMAGE ?= qm/postgres:test
BASE_IMAGE ?= qm/python-base:bookworm
BUILD_CA ?= /etc/ssl/certs/ca-certificates.crt
# The docker.io package's client: it has BuildKit built in (a newer client may need buildx).
DOCKER_BUILD ?= /usr/bin/docker

.PHONY: help install run test test-unit test-lab lab lab-down lab-status lint format image bench

help:
	@echo "make run         serve the API on PORT (default 9090); TOKEN or a generated one"
	@echo "make test        install, run the unit tier, bring the lab swarm up, run the lab tier"
	@echo "make test-unit   the unit tier: no Docker, seconds (tests/unit)"
	@echo "make test-lab    the lab tier: against the lab swarm, minutes (tests/lab)"
	@echo "make install     apt packages (Debian 12, as root), .venv and requirements"
	@echo "make lab         bring the lab swarm up (idempotent); lab-down, lab-status"
	@echo "make lint        ruff check and format check, mypy"
	@echo "make image       build the image IMAGE (default quartermaster:test) on a local base,"
	@echo "                and the stack's NGINX_IMAGE and POSTGRES_IMAGE (qm/nginx:test, qm/postgres:test)"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml Makefile
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT_PACKAGES); }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

run: install
	@scripts/run.sh

test: test-unit test-lab

# The unit tier's Docker host does not exist: whatever reaches for Docker fails at once. Its
# tests wait on nothing: UNIT_PROCESSES run them, one a CPU here.
UNIT_PROCESSES ?= 2
test-unit: install
	DOCKER_HOST=unix:///nonexistent $(VENV)/bin/pytest tests/unit -n $(UNIT_PROCESSES)

# Most lab tests wait on the swarm, so LAB_PROCESSES run them at once, a module (or an xdist_group)
# per process at a time, each process a deployment of its own (tests/support/lab.py); those marked
# `alone` change the whole swarm or host and run after, one at a time. Each part's 15 slowest
# tests, then the tier's wall time: it is meant to stay under 10 minutes.
LAB_PROCESSES ?= 5
test-lab: install lab image
	@started=$$(date +%s); \
	echo "$(VENV)/bin/pytest tests/lab -m 'not alone' -n $(LAB_PROCESSES) --dist loadgroup --durations=40 --tb=short"; \
	$(VENV)/bin/pytest tests/lab -m 'not alone' -n $(LAB_PROCESSES) --dist loadgroup --durations=40 --tb=short; \
	together=$$?; \
	echo "$(VENV)/bin/pytest tests/lab -m alone --durations=15 --tb=short"; \
	$(VENV)/bin/pytest tests/lab -m alone --durations=15 --tb=short; alone=$$?; \
	elapsed=$$(( $$(date +%s) - started )); \
	echo "lab tier: $$(( elapsed / 60 )) min $$(( elapsed % 60 )) s wall time"; \
	[ $$together -eq 0 ] && [ $$alone -eq 0 ]

image: install
	@BASE_IMAGE=$(BASE_IMAGE) scripts/base-image.sh
	DOCKER_BUILDKIT=1 $(DOCKER_BUILD) build --force-rm --build-arg BASE=$(BASE_IMAGE) \
		$$(test -r $(BUILD_CA) && echo --secret id=ca,src=$(BUILD_CA)) -t $(IMAGE) .
	DOCKER_BUILDKIT=1 $(DOCKER_BUILD) build --force-rm --build-arg BASE=$(BASE_IMAGE) \
		-f deploy/nginx.Dockerfile -t $(NGINX_IMAGE) deploy
	DOCKER_BUILDKIT=1 $(DOCKER_BUILD) build --force-rm --build-arg BASE=$(BASE_IMAGE) \
		-f deploy/postgres.Dockerfile -t $(POSTGRES_IMAGE) deploy

lab: install
	@scripts/lab.sh up

lab-down:
	@scripts/lab.sh down

lab-status:
	@scripts/lab.sh status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Figures against the raw Docker API, in one run (a few minutes; needs the lab, loopback only);
# then the record store's, on SQLite and PostgreSQL, BENCH_JOBS short jobs run to completion;
# then the quotas' and the templates' (bench_quotas.py, bench_templates.py).
BENCH_JOBS ?= 2000
bench: install lab
	$(VENV)/bin/python scripts/bench.py
	$(VENV)/bin/python scripts/bench_store.py --jobs $(BENCH_JOBS)
	$(VENV)/bin/python scripts/bench_quotas.py
	$(VENV)/bin/python scripts/bench_templates.py
