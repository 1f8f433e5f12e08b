"""Start a new app: flask-safemigrate scaffold NAME DEST [--bare] [--example PACKAGE_DIR].

DEST becomes the project template rendered for the package NAME: its own Makefile,
bin/manage.py, confs (with fresh secrets), package, migrations folder and tests, and a first
git commit. It holds none of the toolkit's source: requirements.txt pins Flask-SafeMigrate by
version, and while the toolkit is installed from a source checkout (not from a package index)
its wheel is built into DEST/wheels. --example copies an app's models and migrations (its
example domain) into the new one, renamed; --bare (or no --example) starts with none. Bad
input writes nothing.
"""
import importlib.util
import keyword
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from . import __version__
from .migrate_tools import snapshot
from .migrate_tools.errors import ToolkitError

TEMPLATE = Path(__file__).resolve().parent / "project_template"
# What `db adopt --cli` writes into an existing app: bin/manage.py and make targets.
ADOPTED_TEMPLATE = Path(__file__).resolve().parent / "adopted_template"
PLACEHOLDER = "__app__"
DISTRIBUTION = "Flask-SafeMigrate"
# The toolkit's extras an app installs: both production drivers and the test suite's needs.
EXTRAS = ("postgresql", "mysql", "test")
HOME = "https://pypi.org/project/Flask-SafeMigrate/"
# Not in sys.stdlib_module_names, yet a package of the standard library's own tests.
RESERVED = {"test", "tests", "bin", "etc", "var", "wheels"}
USAGE = "usage: scaffold NAME DEST [--bare]   (make scaffold NAME=blog DEST=../blog [BARE=1])"


class ScaffoldError(ToolkitError):
    """Bad input: the message says what is wrong."""


def check_name(name, example=None, project=None):
    """Refuse a NAME that is no package name, or would shadow a module or the example's own."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ScaffoldError(f"NAME {name!r} is not a valid Python package name")
    if name != name.lower():
        raise ScaffoldError(f"NAME {name!r}: use lowercase letters, digits and _ (PEP 8)")
    own = example.name if example else None
    if name == own:
        raise ScaffoldError(f"NAME {name!r} is this project's own package name; choose another")
    if name in sys.stdlib_module_names or name in sys.builtin_module_names or name == "test":
        raise ScaffoldError(f"NAME {name!r} would shadow the standard library module {name}")
    if name in RESERVED or (project and (project / name).exists()):
        raise ScaffoldError(f"NAME {name!r} is a folder of the project ({name}/)")
    if importlib.util.find_spec(name) is not None or name in _required_packages():
        raise ScaffoldError(f"NAME {name!r} would shadow the installed package {name}")


def _required_packages():
    """Import names of what an app installs (flask_sqlalchemy for Flask-SQLAlchemy)."""
    return {pin.split("==")[0].lower().replace("-", "_") for pin in pins()}


def check_dest(dest, project=None):
    if project and dest.is_relative_to(project):
        raise ScaffoldError(f"DEST {dest} is inside this project; choose a folder outside {project}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ScaffoldError(f"DEST {dest} exists and is not an empty folder")
    if not dest.parent.is_dir():
        raise ScaffoldError(f"DEST's parent folder {dest.parent} does not exist")


def renamed(text, old, new):
    """`text` with `old` (in any case) as `new`, in the case it is written in."""
    def swap(match):
        word = match.group(0)
        return new.upper() if word.isupper() else new.capitalize() if word[0].isupper() else new
    return re.sub(re.escape(old), swap, text, flags=re.IGNORECASE)


def _requirements_of(dist, extras=()):
    """(name, extras) of what `dist` requires with `extras`, read from its installed metadata."""
    found = []
    for line in metadata.requires(dist) or []:
        requirement, _, marker = line.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if extra and extra.group(1) not in extras:
            continue
        parsed = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", requirement)
        found.append((parsed.group(1), tuple(e.strip() for e in (parsed.group(2) or "").split(",") if e.strip())))
    return found


def pins():
    """Exact pins of the toolkit's installed requirements, its extras', and theirs: what this
    toolkit was installed (and tested) with."""
    # setuptools: the app's own editable install is built without network (no build isolation)
    seen, found, todo = set(), {}, [*_requirements_of(DISTRIBUTION, EXTRAS), ("setuptools", ())]
    while todo:
        name, extras = todo.pop()
        key = (name.lower().replace("_", "-"), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            found[name.lower()] = f"{metadata.distribution(name).metadata['Name']}=={metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue  # for another platform or Python (a marker we do not evaluate)
        todo += _requirements_of(name, extras)
    return sorted(found.values(), key=str.lower)


def toolkit_source():
    """The toolkit's source folder (its pyproject.toml) when installed from a checkout, else None."""
    folder = Path(__file__).resolve().parent.parent
    return folder if (folder / "pyproject.toml").is_file() else None


def build_wheel(source, into):
    """Build the toolkit's wheel from `source` into the folder `into`; its file name."""
    into.mkdir(parents=True, exist_ok=True)
    # Built from a clean copy: setuptools' build/ in the checkout keeps files long deleted.
    with tempfile.TemporaryDirectory(prefix="safemigrate-wheel-") as folder:
        clean = Path(folder) / "source"
        shutil.copytree(source, clean, ignore=shutil.ignore_patterns(
            "build", "dist", "*.egg-info", "__pycache__", "tests", ".pytest_cache", ".hypothesis"))
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                                 "-w", str(into), str(clean)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ScaffoldError(f"cannot build the toolkit's wheel from {source}: "
                            f"{(result.stderr.strip().splitlines() or ['pip failed'])[-1]}")
    return sorted(into.glob("*.whl"))[-1].name


def requirements(wheel):
    """The app's requirements.txt: the toolkit by version, then the exact pins under it."""
    lines = ["# Exact pins: what `make` installs into .venv. Upgrading Flask-SafeMigrate is a version",
             "# change here (the new wheel in wheels/ while it is not on a package index)."]
    if wheel:
        lines.append("--find-links wheels")
    lines.append(f"{DISTRIBUTION}[{','.join(EXTRAS)}]=={__version__}")
    return "\n".join([*lines, *pins(), ""])


def render(name, work):
    """The project template, rendered for `name`, into `work`."""
    for source in sorted(TEMPLATE.rglob("*")):
        if "__pycache__" in source.parts or source.suffix == ".pyc":
            continue
        relative = source.relative_to(TEMPLATE)
        target = work / Path(*(part.replace(PLACEHOLDER, name) for part in relative.parts))
        if relative.name == "gitignore":
            target = target.with_name(".gitignore")  # a dotfile would not ship in the wheel
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text().replace(PLACEHOLDER, name)
        text = text.replace("__toolkit_requirement__", f"{DISTRIBUTION}=={__version__}")
        text = text.replace("__toolkit_home__", HOME)
        while "__secret_key__" in text:  # each conf its own
            text = text.replace("__secret_key__", secrets.token_hex(32), 1)
        target.write_text(text)
        shutil.copymode(source, target)


def copy_example(example, name, work):
    """The example app's models and migrations, renamed, in place of the template's none."""
    for folder in ("models", "migrations/versions"):
        for source in sorted((example / folder).glob("*.py")):
            target = work / name / folder / source.name
            target.write_text(renamed(source.read_text(), example.name, name))
    (work / name / "migrations" / "versions" / ".gitkeep").unlink(missing_ok=True)
    found = snapshot.read(example / "migrations")
    if found is not None:  # the same schema; the digest is of the renamed files
        versions = sorted((work / name / "migrations" / "versions").glob("*.py"))
        snapshot.write(work / name / "migrations", found.sealed_for(versions))


def git_commit(dest, name):
    identity = ["-c", "user.name=scaffold", "-c", "user.email=scaffold@localhost"]
    configured = subprocess.run(["git", "config", "user.email"], cwd=dest, capture_output=True)
    for args in (["init", "-q"], ["add", "-A"],
                 [*([] if configured.returncode == 0 else identity), "commit", "-q", "-m",
                  f"New project: {name}"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)


def scaffold(name, dest, example=None, project=None):
    """Write the new app `name` into `dest` (built beside it, moved in at the end)."""
    check_name(name, example, project)
    check_dest(dest, project)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-scaffold-", dir=dest.parent))
    try:
        render(name, work)
        if example:
            copy_example(example, name, work)
        source = toolkit_source()
        wheel = build_wheel(source, work / "wheels") if source else None
        (work / "requirements.txt").write_text(requirements(wheel))
        git_commit(work, name)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def main(argv=None, example=None, project=None):
    """The command line: scaffold NAME DEST [--bare]; `example` and `project` come from a
    project's own bin/scaffold (its example domain, and where it lives)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["scaffold"]:
        argv = argv[1:]
    try:
        flags = [a for a in argv if a.startswith("-")]
        args = [a for a in argv if not a.startswith("-")]
        if len(args) != 2 or set(flags) - {"--bare"}:
            raise ScaffoldError(USAGE)
        name, given = args
        dest = Path(given).expanduser().resolve()
        bare = "--bare" in flags or example is None
        scaffold(name, dest, None if bare else example, project)
    except ScaffoldError as e:
        sys.exit(f"Error: {e}")
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"Error: cannot create the project: {e}")
    print(f"created {dest}: package {name}{' (bare: no example models or migrations)' if bare else ''}")
    print(f"next: cd {given} && make db && make test && make server")


if __name__ == "__main__":
    main()
