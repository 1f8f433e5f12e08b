"""`db squash REV`: one baseline migration in place of the history up to REV, proved first.

The baseline keeps REV's revision id, so a database at REV or beyond is where it was (its
alembic_version row names a revision the history still has), and records the revisions it
replaces (`squashes`) and the checksum REV's file had (`squashed_checksum`), so the journal's
checksums stay true. The old files move to migrations/squashed/REV/ (git keeps them too); a
database still before REV is refused with the release to upgrade it with first.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from alembic.util import to_tuple

from . import revision_index
from .checksum import file_checksum
from .journal import MigrationRefused

FOLDER = "squashed"
# A migration that runs SQL or queries may insert or change rows: a baseline built from the
# schema does not (as in the migration suite's stairway).
DATA_STEPS = ("op.execute(", "get_bind(", "bulk_insert(", "get_context(")


class SquashRefused(MigrationRefused):
    """The history cannot be squashed at that revision, or the baseline was not proved equal."""


def replaced(script_directory, revision):
    """The scripts a squash at `revision` replaces: it and all below it, oldest first."""
    try:
        script = script_directory.get_revision(revision)
    except Exception as e:  # Alembic's CommandError, ResolutionError...
        raise SquashRefused(f"cannot squash at {revision!r}: {e}") from None
    if script is None:
        raise SquashRefused(f"cannot squash at {revision!r}: no migration has it")
    scripts = list(reversed(list(script_directory.iterate_revisions(script.revision, "base"))))
    ids = {s.revision for s in scripts}
    outside = [s.revision for s in script_directory.walk_revisions() if s.revision not in ids
               and set(to_tuple(s.down_revision, default=())) & ids - {script.revision}]
    if outside:
        raise SquashRefused(f"cannot squash at {script.revision}: {', '.join(outside)} branch off below it"
                            " (merge the branches first, or squash at a revision above them)")
    if len(scripts) < 2:
        raise SquashRefused(f"{script.revision} is the first migration: there is nothing to squash")
    return script, scripts


def changes_data(script):
    """Whether the migration runs SQL or queries: it may insert or change rows on purpose."""
    source = Path(script.path).read_text(encoding="utf-8")
    return any(step in source for step in DATA_STEPS)


def data_migrations(scripts):
    """The scripts that run SQL or queries (their rows are not in a baseline built from the schema)."""
    return [script for script in scripts if changes_data(script)]


def mark_baseline(text, scripts):
    """The baseline's source with what it squashes: the revisions (those an earlier baseline in
    the range replaced too), and REV's old checksum."""
    marker = "\ndepends_on = "
    at = text.index(marker)
    end = text.index("\n", at + 1)
    earlier = squashed_into([s.path for s in scripts])
    squashes = tuple(dict.fromkeys([*earlier, *(s.revision for s in scripts)]))
    lines = (f"\n# db squash: this baseline replaces these revisions (their files are in"
             f" migrations/{FOLDER}/{scripts[-1].revision}/).\n"
             f"squashes = {squashes!r}\n"
             f"squashed_checksum = {file_checksum(scripts[-1].path)!r}")
    return text[:end] + lines + text[end:]


@contextlib.contextmanager
def staging_folder(migrations_folder, files=()):
    """A migrations folder of its own (the project's env.py and template, `files` as its
    versions) beside the real one, removed afterwards: where a baseline is written and proved."""
    folder = Path(tempfile.mkdtemp(prefix=".squash-", dir=migrations_folder))
    try:
        (folder / "versions").mkdir()
        for name in ("env.py", "script.py.mako"):
            shutil.copy(Path(migrations_folder) / name, folder / name)
        for file in files:
            shutil.copy(file, folder / "versions" / Path(file).name)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def differences(history, baseline, path=()):
    """Lines naming where two reflected schemas (reflected.schema) differ."""
    if history == baseline:
        return []
    where = " ".join(str(p) for p in path) or "schema"
    if isinstance(history, dict) and isinstance(baseline, dict):
        found = []
        for key in sorted(set(history) | set(baseline), key=str):
            if key not in baseline:
                found.append(f"{where} {key}: built by the history, not by the baseline")
            elif key not in history:
                found.append(f"{where} {key}: built by the baseline, not by the history")
            else:
                found += differences(history[key], baseline[key], (*path, key))
        return found
    return [f"{where}: {history!r} from the history, {baseline!r} from the baseline"]


def move_into_place(baseline, scripts, migrations_folder):
    """Move the replaced files to migrations/squashed/REV/, then the baseline into versions/;
    return the squashed folder."""
    folder = Path(migrations_folder) / FOLDER / scripts[-1].revision
    folder.mkdir(parents=True, exist_ok=False)
    versions = Path(scripts[-1].path).parent
    for script in scripts:
        shutil.move(script.path, folder / Path(script.path).name)
    os.replace(baseline, versions / Path(baseline).name)
    return folder


def squashed_into(paths):
    """{revision: the baseline that replaced it} from the migration files' headers."""
    into = {}
    for path in paths:
        names = revision_index.names(path) or {}
        squashes = names.get("squashes")
        if isinstance(squashes, (list, tuple)) and isinstance(names.get("revision"), str):
            into.update({old: names["revision"] for old in squashes})
    return into


def squashed_checksum(path):
    """The checksum REV's file had before a squash made `path` its baseline (None otherwise)."""
    value = (revision_index.names(path) or {}).get("squashed_checksum")
    return value if isinstance(value, str) else None


def squashed_folders(script_directory):
    """(baseline revision, the folder of the files it replaced) for each squash of the history."""
    from .history import migration_files

    root = Path(script_directory.dir) / FOLDER
    baselines = set(squashed_into(migration_files(script_directory)).values())
    return [(revision, root / revision) for revision in sorted(baselines) if (root / revision).is_dir()]

