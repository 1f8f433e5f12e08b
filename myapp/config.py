"""Kept for confs copied before the toolkit became a library: `from myapp.config import from_env`
in an /etc/production.conf still works (the toolkit's config loading does the rest)."""
from flask_safemigrate.config import from_env

__all__ = ["from_env"]
