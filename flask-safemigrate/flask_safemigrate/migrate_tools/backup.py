"""Copies of a SQLite database taken before it is migrated (SQLite's online backup API)."""
import contextlib
import datetime
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def backup_sqlite(url, folder, label):
    """Copy the SQLite database at `url` into `folder` (None: the database's own folder);
    return the copy's absolute path (None if there was nothing to copy)."""
    source = make_url(url).database
    if not source or source == ":memory:" or not Path(source).exists() or not Path(source).stat().st_size:
        return None
    folder = Path(folder or Path(source).parent).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{Path(source).stem}-{stamp}-{label}.db"
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target
