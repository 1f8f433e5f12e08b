#!/usr/bin/env python3
"""__app__'s command line: Flask's click CLI over __app__.create_app; `db help` lists the db commands."""
import os
import sys
from pathlib import Path

try:
    from flask_safemigrate.cli import manage_group

    from __app__ import create_app
except ImportError:
    # Run outside the project's virtualenv (e.g. `bin/manage.py` from a deploy script):
    # re-run under .venv's Python, which has __app__ and its requirements installed.
    venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    if not venv_python.exists() or Path(sys.executable) == venv_python:
        sys.exit("error: __app__ is not installed; run `make install` in the project first")
    os.execv(venv_python, [str(venv_python), *sys.argv])

cli = manage_group(create_app, "__app__")

if __name__ == "__main__":
    cli()
