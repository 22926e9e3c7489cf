# The front door: `make run` serves the registry, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export REGISTRY_DATA_DIR ?= var
REGISTRY_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres fuzz lint typecheck format openapi syslibs node-modules bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The Debian packages of system-packages.txt (shared with .ci/run): installed when missing, as root
# or with passwordless sudo; otherwise the exact apt-get command is printed and make stops.
syslibs:
	@bash .ci/install-system-packages
	@bash .ci/start-redis

run: $(STAMP) syslibs
	$(BIN)/registry db upgrade
	$(BIN)/registry admin bootstrap
	$(BIN)/registry keys init
	$(BIN)/registry criteria publish --builtin
	$(BIN)/registry serve

# The suite on SQLite, then on PostgreSQL when one answers at REGISTRY_TEST_POSTGRES_URL.
# Each pass runs on PYTEST_WORKERS processes (pytest-xdist; 0 runs it in one process), each
# with its own data directory and database (tests/conftest.py). On 2 cores, the two passes one
# after the other with -n 2 each measured fastest: 2m45s, against 2m52s with -n 3 and 2m54s for
# both passes at once (-n 1 each). `pytest -m slow --collect-only -q` lists the slow tests.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS)

# axe-core (package.json, pinned in package-lock.json) for the browser tests' accessibility checks:
# `npm ci` again whenever the lock file is newer than the last install.
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

node-modules: $(NODE_STAMP)

test: $(STAMP) syslibs $(NODE_STAMP) test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(PYTEST)

test-postgres: $(STAMP)
	@if $(BIN)/python -c 'import asyncio, asyncpg, sys; asyncio.run(asyncpg.connect(sys.argv[1], timeout=3))' \
		'$(REGISTRY_TEST_POSTGRES_URL)' 2>/dev/null; then \
		echo "== PostgreSQL pass: $(REGISTRY_TEST_POSTGRES_URL)"; \
		REGISTRY_TEST_DATABASE_URL='$(REGISTRY_TEST_POSTGRES_URL)' $(PYTEST); \
	else \
		echo "== PostgreSQL pass skipped: nothing answers at $(REGISTRY_TEST_POSTGRES_URL)"; \
	fi

# The suite's schemathesis run (tests/fuzz) bounds examples per operation, role and mode to
# REGISTRY_FUZZ_EXAMPLES=8, drawn alike on every run; this runs the same checks with FUZZ_EXAMPLES
# each, drawn afresh (on SQLite; REGISTRY_TEST_DATABASE_URL=… for PostgreSQL).
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	REGISTRY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) REGISTRY_FUZZ_EXPLORE=1 $(PYTEST) tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

openapi: $(STAMP)
	$(BIN)/registry openapi --out openapi/openapi.json

# Speed bars of DESIGN §10: each benchmark prints its ratio against a ceiling measured in the
# same run (see bench/README.md). Not part of `make test`.
bench: $(STAMP) syslibs
	$(BIN)/python -m bench.issuance
	$(BIN)/python -m bench.pdf_verify
	$(BIN)/python -m bench.verify_by_id
	$(BIN)/python -m bench.directory

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
