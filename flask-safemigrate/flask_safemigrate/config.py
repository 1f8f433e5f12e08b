"""Resolve the config file named by SETTINGS, load it over the defaults, validate it."""
import ast
import os
import shlex
import sys
import traceback
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from .migrate_tools.errors import ToolkitError

DEFAULTS = {
    "PORT": 5000,
    # Only configs marked disposable may be reset (`db reset`) or downgraded without --yes.
    "ALLOW_DB_RESET": False,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    # Seconds a migration statement may wait for a table lock (PostgreSQL lock_timeout,
    # MariaDB lock_wait_timeout) before it fails, rather than queue the app's traffic.
    "MIGRATION_LOCK_TIMEOUT": 5,
    # Seconds a `db upgrade` waits for another one (another deploy host) to finish.
    "MIGRATION_WAIT_TIMEOUT": 60,
    # Before a non-disposable SQLite database is upgraded or downgraded, copy it into
    # MIGRATION_BACKUP_DIR (relative: to the conf's folder), by default the database's own
    # folder: a production database's copies never land in the code checkout.
    "MIGRATION_BACKUPS": True,
    "MIGRATION_BACKUP_DIR": None,
}


class ConfigError(ToolkitError):
    """The configuration cannot be used; the message says what to do."""


def from_env(name, example):
    """Read a required setting from the environment (for production.conf)."""
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{name} is not set in the environment; set it, e.g. {name}={example}")
    return value


def conf_dir(app):
    """The project's etc/conf folder: beside the app's package (<project>/<package>/)."""
    return Path(app.root_path).resolve().parent / "etc" / "conf"


def resolve(settings, confs_in):
    """Return the absolute path of the config file: `settings`, or else $SETTINGS."""
    settings = settings or os.environ.get("SETTINGS")
    if not settings:
        confs = ", ".join(shown(p) for p in sorted(confs_in.glob("*.conf")))
        raise ConfigError(
            "SETTINGS is not set: name a config file, e.g. "
            f"SETTINGS={shown(confs_in / 'dev.conf')} bin/manage.py db upgrade"
            f" (configs: {confs or 'none in ' + str(confs_in)})"
        )
    # Relative to the current directory, as a shell user expects (not to the package).
    path = Path(settings).expanduser().absolute()
    if not path.is_file():
        raise ConfigError(f"SETTINGS file {path} does not exist")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"SETTINGS file {path} is not readable")
    return path


def read(path):
    """Execute a Python-syntax config file and return its UPPERCASE names."""
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read SETTINGS file {path}: {e}") from None
    namespace = {"__file__": str(path), "__name__": "config"}
    try:
        exec(compile(source, str(path), "exec"), namespace)
    except SyntaxError as e:
        raise ConfigError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except Exception as e:
        lines = [f.lineno for f in traceback.extract_tb(sys.exc_info()[2]) if f.filename == str(path)]
        where = f"{path}:{lines[-1]}" if lines else str(path)
        raise ConfigError(f"{where}: {type(e).__name__}: {e}") from None
    return {k: v for k, v in namespace.items() if k.isupper()}


def load(app, settings=None, overrides=None):
    """Load defaults, then the SETTINGS file, then `overrides` into app.config."""
    confs = conf_dir(app)
    path = resolve(settings, confs)
    values = {"APP_NAME": app.name, **DEFAULTS, **read(path), **(overrides or {})}
    values["SQLALCHEMY_DATABASE_URI"] = database_url(values.get("SQLALCHEMY_DATABASE_URI"), path)
    if values["MIGRATION_BACKUP_DIR"]:
        values["MIGRATION_BACKUP_DIR"] = str(path.parent / Path(values["MIGRATION_BACKUP_DIR"]).expanduser())
    if not isinstance(values["PORT"], int):
        raise ConfigError(f"{path}: PORT must be a whole number, not {values['PORT']!r}")
    for key in ("MIGRATION_LOCK_TIMEOUT", "MIGRATION_WAIT_TIMEOUT"):
        if not isinstance(values[key], (int, float)) or values[key] < 0:
            raise ConfigError(f"{path}: {key} must be a number of seconds, not {values[key]!r}")
    if not values["ALLOW_DB_RESET"]:  # production: the disposable dev and testing confs may be weak
        problem = secret_key_problem(values.get("SECRET_KEY"), confs)
        if problem:
            raise ConfigError(f"{path}: SECRET_KEY {problem}; make a good one with"
                              f" {MAKE_SECRET_KEY} (production.conf reads it from $SECRET_KEY)")
    app.config.update(values)
    app.config["SETTINGS_FILE"] = str(path)


def init_defaults(app):
    """The toolkit's settings for an app that loads its config its own way (an adopted app):
    the defaults, under whatever the app set."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("SETTINGS_FILE", None)


def config_name(config):
    """The config a command acts on, as its first line names it: the SETTINGS file, or for an
    app that loads its config its own way, that."""
    return config["SETTINGS_FILE"] or "the app's own (no SETTINGS file)"


def command_line(config, app_name):
    """How to run a `db` command against this config, as printed advice."""
    if config["SETTINGS_FILE"]:
        return f"SETTINGS={config['SETTINGS_FILE']} bin/manage.py"
    return f"flask --app {shlex.quote(app_name)}"


# The make target of each db command advice names, in an app that has the scaffold's Makefile.
MAKE_TARGETS = {"newmigration": ('newmigration MSG="..."', 'newmigration -m "..."'),
                "upgrade": ("migrate", "upgrade"),
                "merge": ('merge MSG="merge heads"', 'merge -m "merge heads" heads'),
                "snapshot": ("snapshot", "snapshot")}


def advice(config, app_name, command):
    """How to run `db COMMAND`, as printed advice: its make target in an app run with SETTINGS on
    a disposable config (a developer's: the Makefile is there), else the command line (an
    adopted app, production: no make targets)."""
    target, args = MAKE_TARGETS[command]
    if config["SETTINGS_FILE"] and config["ALLOW_DB_RESET"]:
        return f"make {target}"
    return f"{command_line(config, app_name)} db {args}"


MAKE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
SECRET_KEY_BYTES = 32


def secret_key_problem(key, confs):
    """Why `key` may not sign a production app's sessions, or None when it may."""
    if not key:
        return "is not set"
    raw = key.encode() if isinstance(key, str) else key
    if not isinstance(raw, bytes):
        return f"must be a string, not {type(key).__name__}"
    if raw in shipped_secret_keys(confs):
        return "is the public key of a conf shipped in etc/conf"
    # Length alone lets "a" * 32 through: a key of few distinct characters is no key either.
    if len(raw) < SECRET_KEY_BYTES or len(set(raw)) < 8:
        return f"is too weak ({len(raw)} bytes; at least {SECRET_KEY_BYTES}, of random characters)"
    return None


def shipped_secret_keys(confs):
    """The SECRET_KEY literals of the confs in etc/conf: committed, so public."""
    keys = set()
    for conf in confs.glob("*.conf"):
        try:
            tree = ast.parse(conf.read_text())
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue  # a broken conf is reported when it is the one loaded
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, (str, bytes))
                    and any(isinstance(t, ast.Name) and t.id == "SECRET_KEY" for t in node.targets)):
                value = node.value.value
                keys.add(value.encode() if isinstance(value, str) else value)
    return keys


# Plain URLs get the drivers that requirements.txt installs.
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
                   "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}


def with_driver(url):
    """The URL (a string or URL object) with our driver when it names only the backend."""
    parsed = make_url(url)
    return parsed.set(drivername=DEFAULT_DRIVERS.get(parsed.drivername, parsed.drivername))


def database_url(url, path):
    """Validate the database URL: pick our drivers for plain URLs, check the driver is
    installed, make a relative SQLite path absolute to the conf's folder."""
    if not url:
        raise ConfigError(f"{path}: SQLALCHEMY_DATABASE_URI is not set")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{path}: SQLALCHEMY_DATABASE_URI is not a database URL") from None
    parsed = with_driver(parsed)
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ConfigError(f"{path}: unknown database kind {parsed.drivername!r} in the database URL;"
                          " use sqlite:///, postgresql:// or mysql://") from None
    except ImportError as e:
        raise ConfigError(f"{path}: the driver for {parsed.drivername} is not installed ({e});"
                          " use postgresql+psycopg:// or mysql+pymysql://, or install it") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        if not os.path.isabs(parsed.database) and not parsed.database.startswith("file:"):
            parsed = parsed.set(database=str(path.parent / parsed.database))
    return parsed.render_as_string(hide_password=False)


def shown(path):
    """A path relative to the current directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
