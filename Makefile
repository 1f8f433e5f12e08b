# Each target is one bin/manage.py command with SETTINGS set; `make help` lists them.
# The first target you run creates .venv and installs requirements.txt and the package.

ROOT    := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV    ?= $(ROOT)/.venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MANAGE  := $(PY) $(ROOT)/bin/manage.py
DEV     := SETTINGS=$(ROOT)/etc/conf/dev.conf
TESTING := SETTINGS=$(ROOT)/etc/conf/testing.conf
# MSG may hold any character: make must not expand it ($(value): "$USD" stays "$USD", and
# "$(shell ...)" is text, not a command), and the recipe reads it from the environment.
# RENAMES likewise (newmigration checks its value).
override MSG := $(value MSG)
override RENAMES := $(value RENAMES)
export MSG RENAMES

.DEFAULT_GOAL := help
.PHONY: help install db newmigration migrate status check merge snapshot downgrade server shell test fuzz scaffold bench clean distclean

help: ## list the targets
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

TOOLKIT := $(ROOT)/flask-safemigrate

$(STAMP): $(ROOT)/requirements.txt $(ROOT)/setup.py $(TOOLKIT)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r $(ROOT)/requirements.txt
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e $(TOOLKIT) -e $(ROOT)
	@# Editable packages get no bytecode from pip; where PYTHONDONTWRITEBYTECODE is set, Python
	@# would compile them from source on every command.
	$(VENV)/bin/python -m compileall -q $(TOOLKIT)/flask_safemigrate $(ROOT)/myapp
	touch $@

install: $(STAMP) ## create .venv with the pinned requirements, the toolkit and the app (both editable)

db: $(STAMP) ## throw the dev database away, rebuild it from the migrations, add starter data
	@$(DEV) $(MANAGE) db reset

newmigration: $(STAMP) ## write a migration for your model changes: make newmigration MSG="..." [RENAMES=yes]
	@if [ -z "$$MSG" ]; then echo 'usage: make newmigration MSG="add login tracking"  (MSG summarises the model change)' >&2; exit 2; fi
	@$(DEV) $(MANAGE) db newmigration -m "$$MSG" $${RENAMES:+--renames "$$RENAMES"}

migrate: $(STAMP) ## apply pending migrations to the dev database
	@$(DEV) $(MANAGE) db upgrade

status: $(STAMP) ## where the dev database stands: pending migrations (linted), last runs, model drift
	@$(DEV) $(MANAGE) db status

check: $(STAMP) ## fail if the models and the migrations disagree (db check)
	@$(DEV) $(MANAGE) db check

merge: $(STAMP) ## join two heads (two branches' migrations) with a merge migration: make merge MSG="merge heads"
	@if [ -z "$$MSG" ]; then echo 'usage: make merge MSG="merge heads"' >&2; exit 2; fi
	@$(DEV) $(MANAGE) db merge -m "$$MSG" heads

snapshot: $(STAMP) ## write migrations/schema.txt again from the whole history (newmigration keeps it up to date)
	@$(DEV) $(MANAGE) db snapshot

downgrade: $(STAMP) ## revert the dev database's last migration
	@$(DEV) $(MANAGE) db downgrade

server: $(STAMP) ## serve the app on the dev database (PORT from the config)
	@$(DEV) $(MANAGE) runserver

shell: $(STAMP) ## a Python shell with app, db and the models loaded
	@$(DEV) $(MANAGE) shell

test: $(STAMP) ## run both suites, myapp's (tests/) and the toolkit's (flask-safemigrate/tests/) (ARGS="-k name")
	@cd $(ROOT) && status=0; \
	echo "== myapp: tests/"; $(TESTING) $(PY) -m pytest tests $(ARGS) || status=1; \
	echo "== Flask-SafeMigrate: flask-safemigrate/tests/"; \
	(cd $(TOOLKIT) && $(PY) -m pytest tests $(ARGS)) || status=1; exit $$status

fuzz: $(STAMP) ## random model histories through newmigration, each pair of backends (EXAMPLES=200, PAIRS="sqlite-to-mysql ...", SEED=n)
	@cd $(TOOLKIT) && seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} && \
	echo "fuzz: $(or $(EXAMPLES),200) examples per pair of backends ($(or $(PAIRS),all 9 pairs)), seed $$seed (rerun it: make fuzz SEED=$$seed)" && \
	FUZZ_EXAMPLES=$(or $(EXAMPLES),200) FUZZ_CROSS_EXAMPLES=$(or $(EXAMPLES),200) FUZZ_PAIRS='$(PAIRS)' \
		$(PY) -m pytest tests/fuzz --hypothesis-seed=$$seed --hypothesis-show-statistics $(ARGS)

scaffold: ## start a new project from this one: NAME=blog DEST=../blog [BARE=1]
	@test -n "$(NAME)" -a -n "$(DEST)" || { echo 'usage: make scaffold NAME=blog DEST=../blog [BARE=1]' >&2; exit 2; }
	@$(ROOT)/bin/scaffold "$(NAME)" "$(DEST)" $(if $(BARE),--bare)

bench: $(STAMP) ## benchmarks against bare Alembic, stock Flask-Migrate and Django -> bench/results.md (slow)
	@$(VENV)/bin/pip install -q -r $(ROOT)/bench/requirements.txt
	@cd $(ROOT) && $(PY) bench/run.py

clean: ## remove the dev database, logs and caches (keeps .venv)
	rm -rf $(ROOT)/var $(ROOT)/.pytest_cache
	find $(ROOT) -path $(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV) $(ROOT)/*.egg-info
