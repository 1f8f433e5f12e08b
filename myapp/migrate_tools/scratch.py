"""Throwaway databases, built from the migrations, that autogenerate compares against."""
import contextlib
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url


@contextlib.contextmanager
def scratch_database(url):
    """Yield the URL of an empty database of the same kind as `url`; remove it afterwards."""
    target = make_url(url)
    if target.get_backend_name() != "sqlite":
        raise NotImplementedError(
            f"scratch databases for {target.get_backend_name()} are not supported yet"
        )
    with tempfile.TemporaryDirectory(prefix="myapp-scratch-") as folder:
        yield target.set(database=str(Path(folder) / "scratch.db")).render_as_string(
            hide_password=False
        )
