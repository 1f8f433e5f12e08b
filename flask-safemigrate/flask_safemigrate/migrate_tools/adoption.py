"""An existing Flask-Migrate history under the toolkit: its files run as stock Alembic ran them.

`db adopt` records the history's heads in alembic.ini (`safemigrate_adopted_at`): those
revisions and every one below them were written before adoption. Their unnamed constraints got
the names the backend (or SQLAlchemy's default convention) gave them under stock Flask-Migrate,
and later files of theirs drop constraints by those names; so they run without the toolkit's
naming convention. Migrations written after adoption get the convention like any other."""
import configparser
import functools
import os
import traceback
from pathlib import Path

from alembic.runtime.migration import RevisionStep
from alembic.util import CommandError
from sqlalchemy import MetaData

from . import naming
from .errors import ToolkitError, advice, named

OPTION = "safemigrate_adopted_at"


class AdoptionError(ToolkitError):
    """alembic.ini's adoption record does not fit the history."""


def adopted_heads(config):
    """The revisions `db adopt` recorded as the history's heads, if it ran."""
    return tuple((config.get_main_option(OPTION) or "").split())


def adopted_revisions(config, script):
    """The revisions written before adoption: the recorded heads and all below them."""
    heads = adopted_heads(config)
    if not heads:
        return frozenset()
    try:
        return frozenset(s.revision for s in script.iterate_revisions(heads, "base"))
    except CommandError as e:
        raise AdoptionError(
            f"alembic.ini's {OPTION} = {' '.join(heads)} names a revision the history does not"
            f" have ({e}); set it to the revisions that were the heads when the app was adopted")


def with_stock_names(fn, adopted, target_metadata):
    """Alembic's `fn` (the steps a command runs), each step written before adoption run under
    the names stock Alembic gave it.

    Only an app whose metadata now carries the toolkit's convention needs this: an app that kept
    its own convention (or none) runs its old files under the names they were written for."""
    if not adopted or target_metadata.naming_convention != naming.NAMING_CONVENTION:
        return fn

    def steps(revision, context):
        planned = list(fn(revision, context))
        for step in planned:
            if isinstance(step, RevisionStep) and step.revision.revision in adopted:
                step.migration_fn = _stock_names(step.migration_fn, context)
        return planned
    return steps


def _stock_names(function, context):
    @functools.wraps(function)
    def run(*args, **kwargs):
        # op.* names an unnamed constraint by the configured target metadata's convention
        # (Alembic's schemaobj reads it at each call): stock's default, for this step only.
        own = context.opts["target_metadata"]
        context.opts["target_metadata"] = MetaData()
        try:
            return function(*args, **kwargs)
        finally:
            context.opts["target_metadata"] = own
    return run


# The files of a Flask-Migrate migrations folder that the toolkit's own replace.
REPLACED = ("env.py", "script.py.mako")


def adopt(directory, template, script):
    """Put the Flask-Migrate migrations folder `directory` under the toolkit: env.py and
    script.py.mako from `template` (the old ones kept beside them as .orig), and the
    history's heads recorded in alembic.ini. The versions are not touched. Return what was done,
    in lines; adopting twice changes nothing."""
    ini = directory / "alembic.ini"
    if not ini.is_file() or not (directory / "env.py").is_file():
        raise AdoptionError(f"{directory} is not a Flask-Migrate migrations folder (it has no"
                            " alembic.ini and env.py); point `db --directory DIR adopt` at the one `flask db init` made")
    # Everything is read and checked before anything is written, and the record goes first:
    # the toolkit's env.py without it would run the old files under the naming convention.
    try:
        heads = tuple(script.get_heads())  # reads every version file's header
        for revision in script.walk_revisions():
            getattr(revision.module, "upgrade", None)  # and runs each (revision_index defers them)
    except Exception as e:  # a version file that does not load: an import, a syntax error
        raise AdoptionError(f"the history in {directory} does not load: {_where(e, directory)}"
                            f"{named(e)}; {advice(e) or 'fix that'}; then run db adopt again"
                            " (nothing was changed)") from e
    recorded = _recorded(ini)
    done = []
    if recorded is not None:
        done.append(f"already adopted at {recorded or 'an empty history'}: alembic.ini is unchanged")
    else:
        _record(ini, heads)
        done.append(f"recorded in alembic.ini: revisions up to {' '.join(heads) or '(none yet)'} were"
                    " written before adoption and keep the constraint names stock Alembic gave them")
    for name in REPLACED:
        ours, theirs = (template / name).read_text(), directory / name
        if theirs.is_file() and theirs.read_text() == ours:
            continue
        written = theirs.with_name(name + ".new")
        written.write_text(ours)
        if theirs.is_file():
            kept = _unused(theirs.with_name(name + ".orig"))  # an older .orig is never overwritten
            os.link(theirs, kept)
            done.append(f"replaced {name} with the toolkit's (yours is kept as {kept.name})")
        else:
            done.append(f"wrote the toolkit's {name}")
        os.replace(written, theirs)  # at no moment is there no env.py
    return done


def _where(error, directory):
    """'versions/x.py:4: ', the innermost line of the migrations folder the error came from."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}:{error.lineno}: "
    inside = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve().is_relative_to(directory.resolve())]
    return f"{inside[-1].filename}:{inside[-1].lineno}: " if inside else ""


def _unused(path):
    """`path`, or path.1, path.2, ... : the first that does not exist."""
    n, candidate = 0, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _recorded(ini):
    """What alembic.ini's [alembic] section records of an adoption: None when nothing."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    return parser.get("alembic", OPTION, fallback=None)


def _record(ini, heads):
    """Add the adoption record at the top of [alembic], keeping the rest of the file as it is."""
    lines = ini.read_text().splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.strip() == "[alembic]"), None)
    if at is None:
        raise AdoptionError(f"{ini} has no [alembic] section; add one (`flask db init` writes it)")
    record = ("# Flask-SafeMigrate (db adopt): these revisions and all before them were written before\n"
              "# adoption; they run with the constraint names stock Alembic gives. Change it only to\n"
              "# correct it: a revision moved out of it would run under the naming convention.\n"
              f"{OPTION} = {' '.join(heads)}\n")
    lines.insert(at + 1, record)
    written = ini.with_name(ini.name + ".new")
    written.write_text("".join(lines))
    os.replace(written, ini)


def write_cli(root, template, app_path):
    """bin/manage.py and safemigrate.mk (make targets) from `template` into the project folder
    `root` (where `flask --app` runs), for the app `flask --app APP_PATH` loads; a file already
    there is left as it is. A project without a Makefile gets one that includes safemigrate.mk. Return what was done."""
    done = []
    for name in ("bin/manage.py", "safemigrate.mk"):
        target = root / name
        if target.exists():
            done.append(f"left {target} as it is (it exists)")
            continue
        target.parent.mkdir(exist_ok=True)
        target.write_text((template / name).read_text().replace("__app__", app_path))
        target.chmod((template / name).stat().st_mode & 0o777)
        done.append(f"wrote {target}")
    makefile = root / "Makefile"
    if not makefile.exists():
        makefile.write_text("include safemigrate.mk\n")
        done.append(f"wrote {makefile} (it includes safemigrate.mk: make migrate, newmigration MSG=..., check, ...)")
    elif "safemigrate.mk" not in makefile.read_text():
        done.append(f"to get the make targets, add `include safemigrate.mk` to {makefile}")
    return done
