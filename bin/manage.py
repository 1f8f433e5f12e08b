#!/usr/bin/env python3
"""myapp's command line: Flask's click CLI over myapp.create_app; `db help` lists the db commands."""
import os
import sys
from pathlib import Path

try:
    from flask_safemigrate.cli import manage_group

    from myapp import create_app
except ImportError:
    # Run outside the project's virtualenv (e.g. `bin/manage.py` from a deploy script):
    # re-run under .venv's Python, which has myapp and its requirements installed.
    venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
    if not venv_python.exists() or Path(sys.executable) == venv_python:
        sys.exit("error: myapp is not installed; run `make install` in the project first")
    os.execv(venv_python, [str(venv_python), *sys.argv])

cli = manage_group(create_app, "myapp")

if __name__ == "__main__":
    cli()
