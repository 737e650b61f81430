# Fieldline developer entry points. Every target that needs the environment runs
# deploy/local/bootstrap.sh first (idempotent: venv, PostgreSQL+PostGIS, NATS JetStream)
# and sources the .run/env it writes (DATABASE_URL, NATS_URL).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.ONESHELL:

PY := .venv/bin/python
SERVICES := contracts requests dispatch notify
PYTEST_ARGS ?=
# Bootstrap, then load its environment into the recipe's shell.
ENV := deploy/local/bootstrap.sh && source .run/env

.PHONY: openapi web web-dev test-browser test-web-unit screenshots chaos
.PHONY: lock
.PHONY: help bootstrap up down run day migrate test test-slow test-day test-dates test-planning lint k8s-validate token bench-routing bench-horizon bench-replan bench-dispatch bench-import bench-web bench-run-start

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-15s %s\n", $$1, $$2 }'

lock: ## After a pyproject.toml change: requirements.lock (all extras: dev, CI, routing, bench) and requirements-prod.lock (the image's runtime dependencies, at the same versions, with their hashes)
	@$(if $(wildcard .venv/bin/uv),,deploy/local/bootstrap.sh)
	.venv/bin/uv pip compile -q pyproject.toml --extra dev --extra routing --extra bench -p 3.11 -o requirements.lock
	.venv/bin/uv pip compile -q pyproject.toml -p 3.11 -c requirements.lock --generate-hashes -o requirements-prod.lock
	.venv/bin/uv pip compile -q deploy/local/valhalla.in --python-version 3.12 --python-platform x86_64-manylinux_2_28 --no-deps --generate-hashes -o requirements-valhalla.lock

bootstrap: ## Venv synced to requirements.lock, PostgreSQL+PostGIS, NATS JetStream; writes .run/env
	@deploy/local/bootstrap.sh

up: ## Start the infrastructure alone (same as bootstrap)
	@$(ENV)

down: ## Stop what bootstrap started under .run/ (private nats-server / PostgreSQL); keeps data
	@deploy/local/stop.sh

run: ## Migrate, start the four services, seed demo data, print URLs (Ctrl-C stops)
	@$(ENV)
	exec $(PY) -m deploy.local.run_stack

SEED ?= 1
POLICY ?= both
day: ## Play a simulated day headless (SEED=1 POLICY=fieldline|nearest|both); writes reports/day-<seed>/report.{json,html}
	@$(ENV)
	$(PY) -m bench.day --seed $(SEED) --policy $(POLICY) $(DAY_ARGS)

web: ## Build the web apps (web/ workspaces) now, whatever the stamp says
	deploy/local/web.sh --force

web-dev: ## Vite dev server for the console (hot reload; APIs through the gateway of a running `make run`)
	deploy/local/web.sh
	cd web && npm run dev

test-browser: ## The browser tests alone (Playwright in Debian's Chromium against the real stack)
	@$(ENV)
	$(PY) -m pytest -q -p no:cacheprovider tests/browser $(PYTEST_ARGS)

.PHONY: fuzz
fuzz: ## schemathesis against the four services' OpenAPI documents as every role (part of make test too)
	@$(ENV)
	$(PY) -m pytest -q -p no:cacheprovider -m fuzz tests/fuzz $(PYTEST_ARGS)

screenshots: ## The browser tests, refreshing the README's screenshots in docs/ from what they see
	@$(ENV)
	FIELDLINE_DOCS_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/browser $(PYTEST_ARGS)

openapi: ## Each service's OpenAPI document (from create_app, no server) into web/shared/openapi/
	@$(if $(wildcard $(PY)),,deploy/local/bootstrap.sh)
	$(PY) -m deploy.local.openapi

migrate: ## Apply every service's migrations
	@$(ENV)
	for s in $(SERVICES); do $(PY) -m services.$$s migrate; done

# pytest exit code 5 (nothing collected) fails like any other: a test run must run tests.
test: ## Run the test suite: the web apps' unit tests (Vitest), then pytest (PYTEST_ARGS="-k name -x" to narrow it)
	@$(ENV)
	$(if $(PYTEST_ARGS),,(cd web && npm test --silent))
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" $(PYTEST_ARGS) || { rc=$$?; ((rc == 5)) && echo "make test: no tests collected" >&2; exit $$rc; }

test-slow: ## The suites too slow for `make test` (marker `slow`: the lifecycle's Hypothesis runs, the image's wheel on the production lock); CI runs it after make test
	@$(ENV)
	$(PY) -m pytest -q -p no:cacheprovider -m slow $(PYTEST_ARGS)

test-day: ## The short simulated day alone (both policies on the real stack; part of make test)
	@$(ENV)
	$(PY) -m pytest -q -p no:cacheprovider tests/day $(PYTEST_ARGS)

# Monday, Friday, Sunday, a month's last day, 31 December, and Europe/Berlin's two DST change days.
TEST_DATES ?= 2026-12-07T09:00:00+03:00 2026-12-04T16:45:00+03:00 2026-12-06T11:00:00+03:00 \
	2027-02-28T22:30:00+03:00 2026-12-31T23:10:00+03:00 2027-03-28T01:30:00+01:00 2026-10-25T02:30:00+02:00
test-dates: ## The date-sensitive suites with the clock at each of TEST_DATES (every date runs; fails if any failed)
	@$(ENV)
	failed=""
	for at in $(TEST_DATES); do
		echo "== FIELDLINE_TEST_NOW=$$at"
		FIELDLINE_TEST_NOW=$$at $(PY) -m pytest -q -p no:cacheprovider -m date_sensitive $(PYTEST_ARGS) || failed="$$failed $$at"
	done
	if [ -n "$$failed" ]; then echo "test-dates: failed at$$failed" >&2; exit 1; fi

test-web-unit: ## The web apps' unit tests alone (Vitest over their pure modules, no browser)
	@$(ENV)
	cd web && npm test --silent

test-planning: ## The planner's unit tests alone (pure code, no infrastructure)
	$(PY) -m pytest -q -p no:cacheprovider tests/planning $(PYTEST_ARGS)

lint: ## ruff (rules and format) over the whole tree; mypy over services/, shared/, bench/, deploy/ (strict on shared/ and domain/)
	@$(if $(wildcard $(PY)),,$(ENV))
	rc=0
	.venv/bin/ruff check . || rc=1
	.venv/bin/ruff format --check . || rc=1
	.venv/bin/mypy services shared bench deploy || rc=1
	exit $$rc

k8s-validate: ## Render deploy/k8s (kustomize build / kubectl kustomize, else a built-in renderer) and validate every object (kubernetes-validate, strict, offline)
	@$(if $(wildcard $(PY)),,$(ENV))
	$(PY) -m deploy.k8s_validate

token: ## Mint a JWT: make token ROLE=dispatcher SUB=alice [CUSTOMER_ID=..] [TECHNICIAN_ID=..]
	@$(if $(and $(ROLE),$(SUB)),,$(error usage: make token ROLE=<role> SUB=<subject> [CUSTOMER_ID=<uuid>] [TECHNICIAN_ID=<uuid>]))
	# the venv and .run/env are enough to sign a token: bootstrap only when they are missing
	if [[ -x $(PY) && -f .run/env ]]; then source .run/env; else $(ENV); fi
	$(PY) -m shared.auth.cli mint --role "$(ROLE)" --sub "$(SUB)" \
		$(if $(CUSTOMER_ID),--customer-id "$(CUSTOMER_ID)") \
		$(if $(TECHNICIAN_ID),--technician-id "$(TECHNICIAN_ID)")

bench-routing: ## Planner vs PyVRP and VROOM: Solomon at 1 s and 10 s, Gehring-Homberger 1000 at 60 s, reactive insertion, field day, search speed
	@$(ENV)
	$(PY) -m bench.routing --instances ../shared/bench/vrptw/solomon --time-limit 1 \
		--solvers fieldline,pyvrp,vroom --out bench/results/solomon-1s.json
	$(PY) -m bench.routing --instances ../shared/bench/vrptw/solomon --time-limit 10 \
		--solvers fieldline,pyvrp,vroom --out bench/results/solomon-10s.json
	$(PY) -m bench.routing --instances ../shared/bench/vrptw/homberger --only R1_10_1 --time-limit 60 \
		--solvers fieldline,pyvrp,vroom --out bench/results/homberger-1000-60s.json
	$(PY) -m bench.routing.reactive --technicians 1000 --visits 10000 --emergencies 1000 \
		--out bench/results/reactive-1000x10000.json
	$(PY) -m bench.fieldday --technicians 120 --visits 1000 --seed 1 --time-limit 60 \
		--solvers fieldline,vroom --out bench/results/fieldday-120x1000-60s.json
	$(PY) -m bench.routing.search_rate --out bench/results/search-rate.json

bench-horizon: ## Multi-day horizon: 40 technicians x 3 days, 1,000 visits, day by day vs jointly in the same 60 s, then re-planned both ways
	@$(ENV)
	$(PY) -m bench.fieldday.horizon --technicians 40 --visits 1000 --days 3 --seed 1 --time-limit 60 --replan \
		--out bench/results/horizon-40x3x1000-60s.json

bench-replan: ## Re-plan of the 120 x 1,000 field day after 10 % of its visits changed (10 s) vs a fresh 60 s plan; pure planner, no services
	$(PY) -m bench.replan --technicians 120 --visits 1000 --seeds 1,2,3 --replan-limit 10 --fresh-limit 60 \
		--before --out bench/results/replan-120x1000.json

bench-dispatch: ## Reactive dispatch latency benchmark
	@$(ENV)
	$(PY) -m bench.dispatch

bench-web: ## The console with 120 technicians and 1,000 jobs in Chromium: time to usable, live frame to screen, bundles
	@$(ENV)
	$(PY) -m bench.web $(BENCH_ARGS)

PROFILE ?= short
chaos: ## Load + faults + invariants on a private stack (PROFILE=short|long, CHAOS_ARGS=...); writes bench/results/chaos-<profile>.{json,md}
	@$(ENV)
	$(PY) -m bench.chaos --profile $(PROFILE) $(CHAOS_ARGS)

bench-run-start: ## Seconds from `make run` to a company at work (console up, company seeded, day planned, a technician moving), two runs
	@$(ENV)
	$(PY) -m bench.run_start $(BENCH_ARGS)

bench-import: ## Contracts bulk import benchmark
	@$(ENV)
	$(PY) -m bench.contracts_import
