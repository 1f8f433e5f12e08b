#!/usr/bin/env python3
"""__app__'s command line (written by `db adopt --cli`): Flask's CLI over the app that
`flask --app __app__` loads, with one-line errors; `db help` lists the db commands."""
import os

from flask_safemigrate.cli import manage_group

os.environ.setdefault("FLASK_APP", "__app__")
cli = manage_group(None, "__app__")

if __name__ == "__main__":
    cli()
