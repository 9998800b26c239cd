# The README's two commands: `make certify` (main job) and `make test` (the toolkit's tests).
# Both do their own set-up on a fresh machine: Python venv + deps, Docker engine + base image.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
REPORT_DIR ?= reports/latest
PYTEST_ARGS ?=

.PHONY: setup engine browser hosttools certify test test-corpus test-varnish lint drill bench down clean doapi-realistic

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[test]'
	@touch $@

setup: $(VENV)/.installed engine browser hosttools

engine:
	@bash scripts/bootstrap-engine.sh

# haproxy on the host: the DO simulator's real-LB backend test runs a private one.
hosttools:
	@bash scripts/debian-tool.sh haproxy haproxy

# Headless Chromium (Debian's package) renders report.html in the report test and `greenlight report --png`.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }

# A cutover certification of the local replica, ending in a report (reports/latest/report.{json,html}).
certify: setup
	@$(VENV)/bin/greenlight certify --report-dir $(REPORT_DIR)

# The toolkit's own tests: lint, unit tests, the storefront through the replica, infra, and real cutovers.
# The long tail of the known-bad corpus runs with `make test-corpus` (TEST_MARKERS= runs everything).
TEST_MARKERS ?= not fullcorpus and not varnish
test: setup lint
	@$(VENV)/bin/pytest -m "$(TEST_MARKERS)" --gl-chaos --durations=40 $(PYTEST_ARGS)

# Every known-bad release, each a full certification that must be stopped for its reason.
test-corpus: setup
	@$(VENV)/bin/pytest -m badrelease tests/e2e/test_bad_releases.py $(PYTEST_ARGS)

# Cutovers through the optional Varnish in front of both colours (replica profile "varnish", Debian's package): the
# tests restart the replica with it, and without it again afterwards.
test-varnish: setup
	@$(VENV)/bin/pytest -m varnish tests/e2e/test_varnish.py $(PYTEST_ARGS)

lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .

# The nightly chaos drills: every fault of the catalogue during a real cutover, each judged by its hypothesis.
# Reports per drill, JUnit and a history line per drill under reports/drills (exit 1 when a hypothesis fails).
drill: setup
	@$(VENV)/bin/greenlight drill plans/nightly.toml --report-dir reports/drills --history reports/drill-history.jsonl

# Benchmarks (not tests): each prints its figures with their aims, as ratios measured in one run. Installs what
# the benches need beyond `make setup` (nginx for the ledger-overhead bench). replica_up takes the replica down and up.
bench: setup
	@bash scripts/debian-tool.sh nginx nginx-light nginx
	@for b in bench/analysis.py bench/report.py bench/ledger_overhead.py bench/cutover_walltime.py bench/rollback_speed.py bench/capacity.py; do echo "== $$b"; $(PY) $$b || exit 1; done
	@echo "== bench/replica_up.py"; $(PY) bench/replica_up.py --force

# Good releases only, 20 certifications in a row (alternating, a same-release one, some heavy): false alarms / runs.
# About 25 minutes on 2 cores, so not part of `make bench`.
false-alarms: setup
	@$(PY) bench/false_alarms.py

# The DigitalOcean path at DO's real LB timing (5 checks x 10 s): the overlap switch takes about a minute; the
# naive one shows ~50 s of 503. `make test` runs the same tests at a tenth of that.
doapi-realistic: setup
	@GREENLIGHT_DOAPI_TIME_SCALE=1 $(VENV)/bin/pytest -s tests/e2e/test_do_cutover.py tests/test_do_switch_gap.py $(PYTEST_ARGS)

down:
	@$(VENV)/bin/greenlight down
