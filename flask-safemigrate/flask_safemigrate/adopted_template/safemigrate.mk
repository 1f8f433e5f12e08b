# Flask-SafeMigrate's make targets (written by `db adopt --cli`): each is one bin/manage.py
# db command on the app's own config. Include this file from your Makefile:
#     include safemigrate.mk
# SAFEMIGRATE_PYTHON is the interpreter that has the app and Flask-SafeMigrate installed (its own
# name: a project's PYTHON may be set for other tools).

SAFEMIGRATE_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SAFEMIGRATE_PYTHON ?= python3
SAFEMIGRATE := cd $(SAFEMIGRATE_ROOT) && $(SAFEMIGRATE_PYTHON) bin/manage.py
# MSG may hold any character: make must not expand it, and the recipe reads it from the
# environment.
override MSG := $(value MSG)
export MSG

.PHONY: newmigration migrate status check merge snapshot downgrade journal lint

newmigration: ## write a migration for your model changes: make newmigration MSG="..."
	@if [ -z "$$MSG" ]; then echo 'usage: make newmigration MSG="add login tracking"' >&2; exit 2; fi
	@$(SAFEMIGRATE) db newmigration -m "$$MSG"

migrate: ## apply the pending migrations
	@$(SAFEMIGRATE) db upgrade

status: ## where the database stands: pending migrations (linted), last runs, model drift
	@$(SAFEMIGRATE) db status

check: ## fail if the models and the migrations disagree
	@$(SAFEMIGRATE) db check

merge: ## join two heads (two branches' migrations) with a merge migration: make merge MSG="merge heads"
	@if [ -z "$$MSG" ]; then echo 'usage: make merge MSG="merge heads"' >&2; exit 2; fi
	@$(SAFEMIGRATE) db merge -m "$$MSG" heads

snapshot: ## write migrations/schema.txt again from the whole history (newmigration keeps it up to date)
	@$(SAFEMIGRATE) db snapshot

downgrade: ## revert the last migration
	@$(SAFEMIGRATE) db downgrade

journal: ## every migration run: when, by whom, how long, with what checksum
	@$(SAFEMIGRATE) db journal

lint: ## flag operations in the pending migrations that lose data or lock busy tables
	@$(SAFEMIGRATE) db lint
