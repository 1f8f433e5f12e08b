"""The migration toolkit: generic helpers for running Alembic migrations safely.

It knows nothing of the app's domain (it never imports an app's models or views):
env.py asks it for the migration connection and hooks, the commands for scratch
databases, resets and reports.
"""
