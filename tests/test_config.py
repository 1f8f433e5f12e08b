"""Config resolution: SETTINGS, defaults, validation, and the errors users see."""
import re
import secrets
import shutil
import subprocess

import pytest
from flask import Flask

from flask_safemigrate import config
from flask_safemigrate.config import ConfigError
from flask_safemigrate.migrate_tools.masking import masked

from .conftest import CONF_DIR, ROOT, write_conf


GOOD_KEY = secrets.token_hex(32)


def load(settings=None, overrides=None):
    app = Flask("myapp")  # its etc/conf: beside the package, in this project
    config.load(app, settings, overrides)
    return app.config


def test_settings_relative_to_the_current_directory(tmp_path, monkeypatch):
    write_conf(tmp_path / "mine.conf", "sqlite:////x/app.db", extra="PORT = 7777\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SETTINGS", "mine.conf")
    cfg = load()
    assert cfg["PORT"] == 7777
    assert cfg["SETTINGS_FILE"] == str(tmp_path / "mine.conf")


def test_defaults_and_overrides(tmp_path):
    cfg = load(write_conf(tmp_path / "a.conf", "sqlite:////x/a.db"), {"PORT": 1234})
    assert cfg["APP_NAME"] == "myapp" and cfg["PORT"] == 1234
    assert cfg["ALLOW_DB_RESET"] is True


def test_not_disposable_unless_marked(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(f"SQLALCHEMY_DATABASE_URI = 'sqlite:////x/p.db'\nSECRET_KEY = {GOOD_KEY!r}\n")
    assert load(conf)["ALLOW_DB_RESET"] is False


def test_dev_database_is_under_var_computed_from_the_conf_location(tmp_path):
    cfg = load(CONF_DIR / "dev.conf")
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{ROOT / 'var' / 'dev.db'}"
    # A copy of the project finds its own var/, whatever the current directory.
    copy = tmp_path / "proj" / "etc" / "conf"
    copy.mkdir(parents=True)
    shutil.copy(CONF_DIR / "dev.conf", copy)
    cfg = load(copy / "dev.conf")
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'proj' / 'var' / 'dev.db'}"


def test_only_dev_and_testing_are_disposable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h/d")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    assert load(CONF_DIR / "dev.conf")["ALLOW_DB_RESET"] is True
    assert load(CONF_DIR / "testing.conf")["ALLOW_DB_RESET"] is True
    assert load(CONF_DIR / "production.conf")["ALLOW_DB_RESET"] is False


def test_relative_sqlite_path_is_relative_to_the_conf(tmp_path):
    cfg = load(write_conf(tmp_path / "r.conf", "sqlite:///data/r.db"))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'data' / 'r.db'}"


def test_production_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    cfg = load(CONF_DIR / "production.conf")
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/prod"
    assert cfg["SECRET_KEY"] == GOOD_KEY


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY"])
def test_production_names_the_missing_variable(monkeypatch, missing):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=f"{missing} is not set in the environment"):
        load(CONF_DIR / "production.conf")


def shipped_key(name):
    return re.search(r"^SECRET_KEY = ['\"](.*)['\"]$", (CONF_DIR / name).read_text(), re.M).group(1)


@pytest.mark.parametrize("key, problem", [
    (None, "is not set"), ("", "is not set"), ("a", "is too weak (1 bytes"), (" ", "is too weak"),
    ("a" * 64, "is too weak (64 bytes"), (" " * 40, "is too weak"), ("0123456789abcdef" * 2 + "x", None),
    ("0123456789abcdef0123456789abcd", "is too weak (30 bytes"), (bytes(range(32)), None),
    ("kT3-vQ8_zL1pW6xN4rB7yH2mC5sJ9dF0gA", None), (12345, "must be a string, not int"),
])
def test_production_refuses_a_weak_secret_key(monkeypatch, tmp_path, key, problem):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
        conf = tmp_path / "mine.conf"  # a production conf of one's own that sets no key
        conf.write_text("SQLALCHEMY_DATABASE_URI = 'sqlite:////x/p.db'\n")
    else:
        conf = tmp_path / "mine.conf"
        conf.write_text(f"SQLALCHEMY_DATABASE_URI = 'sqlite:////x/p.db'\nSECRET_KEY = {key!r}\n")
    if problem is None:
        assert load(conf)["SECRET_KEY"] == key
        return
    with pytest.raises(ConfigError) as e:
        load(conf)
    assert str(e.value).startswith(f"{conf}: SECRET_KEY {problem}") and "\n" not in str(e.value)
    assert "python3 -c 'import secrets; print(secrets.token_hex(32))'" in str(e.value)


@pytest.mark.parametrize("shipped", ["dev.conf", "testing.conf"])
@pytest.mark.parametrize("scaffolded", [False, True])
def test_production_refuses_the_keys_shipped_in_etc_conf(monkeypatch, tmp_path, shipped, scaffolded):
    """A committed key is public, however strong (bin/scaffold writes 64 random hex digits)."""
    if scaffolded:
        conf_dir = tmp_path / "conf"
        shutil.copytree(CONF_DIR, conf_dir)
        strong = secrets.token_hex(32)
        (conf_dir / shipped).write_text((CONF_DIR / shipped).read_text().replace(
            shipped_key(shipped), strong))
        monkeypatch.setattr(config, "conf_dir", lambda app: conf_dir)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", strong if scaffolded else shipped_key(shipped))
    with pytest.raises(ConfigError, match="SECRET_KEY is the public key of a conf shipped in etc/conf"):
        load(CONF_DIR / "production.conf")


@pytest.mark.parametrize("name", ["dev.conf", "testing.conf"])
def test_the_disposable_confs_keep_their_keys(name):
    assert load(CONF_DIR / name)["SECRET_KEY"] == shipped_key(name)


# A key literal: SECRET_KEY = "...", app.secret_key = '...', "SECRET_KEY": "..." (JSON, YAML).
KEY_LITERAL = re.compile(r"""\bsecret_key\b["']?\s*[:=]\s*[rbuRBU]?(["'])(.*?)\1""", re.IGNORECASE)


def committed_files(root):
    """Every file git tracks under `root`, or would add (not ignored); every file without .git."""
    if (root / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, check=True).stdout.decode().split("\0")
        return [root / name for name in listed if name and (root / name).is_file()]
    skip = {".venv", "var", ".git", "__pycache__", ".pytest_cache"}
    return [p for p in root.rglob("*") if p.is_file() and not skip & set(p.relative_to(root).parts)]


def committed_secrets(root, conf_dir):
    """(file, what) for every secret a commit would publish: a key literal that production would
    accept, outside the disposable confs; a disposable conf's key anywhere else."""
    disposable = {c for c in conf_dir.glob("*.conf") if "ALLOW_DB_RESET = True" in c.read_text()}
    shipped = {m.group(2) for c in disposable for m in KEY_LITERAL.finditer(c.read_text())}
    found = []
    for path in committed_files(root):
        if path in disposable:
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue  # not text
        found += [(path, f"key literal {m.group(2)[:8]}...") for m in KEY_LITERAL.finditer(text)
                  if config.secret_key_problem(m.group(2), CONF_DIR) is None]
        found += [(path, f"the key of a disposable conf {key[:8]}...") for key in shipped if key in text]
    return found


def test_no_secret_is_committed():
    assert 'SECRET_KEY = from_env("SECRET_KEY"' in (CONF_DIR / "production.conf").read_text()
    assert committed_secrets(ROOT, CONF_DIR) == []


@pytest.mark.parametrize("where, line", [
    ("etc/conf/production.conf", f"SECRET_KEY = {secrets.token_hex(32)!r}"),
    ("myapp/settings.py", f"app.secret_key = b'{secrets.token_urlsafe(32)}'"),
    ("deploy/values.yaml", f'secret_key: "{secrets.token_hex(32)}"'),
    ("docs/deploy.md", "SECRET_KEY = ..."),  # filled in below: the dev conf's own key, copied
])
def test_the_secret_scan_finds_a_planted_key(tmp_path, where, line):
    """The scan above can fail: a copy of the project with one secret planted in it."""
    conf_dir = tmp_path / "etc" / "conf"
    conf_dir.mkdir(parents=True)
    for name in ("dev.conf", "testing.conf", "production.conf"):
        shutil.copy(CONF_DIR / name, conf_dir)
    assert committed_secrets(tmp_path, conf_dir) == []
    if line.endswith("..."):
        line = f"export SECRET_KEY='{shipped_key('dev.conf')}'"
    planted = tmp_path / where
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text((planted.read_text() if planted.exists() else "") + line + "\n")
    assert [path for path, _ in committed_secrets(tmp_path, conf_dir)] == [planted]


def test_settings_unset_lists_the_confs(monkeypatch):
    monkeypatch.delenv("SETTINGS", raising=False)
    with pytest.raises(ConfigError) as e:
        load()
    message = str(e.value)
    assert "SETTINGS is not set" in message and "SETTINGS=" in message
    for name in ("dev.conf", "testing.conf", "production.conf"):
        assert name in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.conf")


def test_unreadable_file(tmp_path):
    conf = tmp_path / "binary.conf"
    conf.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read SETTINGS file"):
        load(conf)


def test_syntax_error_names_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("A = 1\nB = (\n")
    with pytest.raises(ConfigError, match=rf"^{conf}:2: syntax error"):
        load(conf)


def test_runtime_error_names_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("A = 1\n\nB = nothing_here\n")
    with pytest.raises(ConfigError, match=rf"^{conf}:3: NameError"):
        load(conf)


@pytest.mark.parametrize("line, message", [
    ("", "SQLALCHEMY_DATABASE_URI is not set"),
    ("SQLALCHEMY_DATABASE_URI = 'not a url'", "is not a database URL"),
    ("SQLALCHEMY_DATABASE_URI = 'sqlite://'\nPORT = 'eighty'", "PORT must be a whole number"),
])
def test_invalid_values(tmp_path, line, message):
    conf = tmp_path / "v.conf"
    conf.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        load(conf)


def test_masked_hides_the_password():
    assert masked("postgresql://bob:s3cret@db/x") == "postgresql://bob:***@db/x"


@pytest.mark.parametrize("given, used", [
    ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
    ("postgres://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
    ("mysql://u:p@h/d?charset=utf8mb4", "mysql+pymysql://u:p@h/d?charset=utf8mb4"),
    ("mariadb://u:p@h/d", "mariadb+pymysql://u:p@h/d"),
    ("postgresql+psycopg://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
    ("mysql+pymysql://u:p@h/d", "mysql+pymysql://u:p@h/d"),
])
def test_plain_server_urls_get_our_drivers(tmp_path, given, used):
    assert load(write_conf(tmp_path / "u.conf", given))["SQLALCHEMY_DATABASE_URI"] == used


def test_a_production_conf_copied_before_the_library_move_still_loads(tmp_path, monkeypatch):
    """/etc/production.conf copied from an earlier release imports from_env from myapp.config."""
    old = tmp_path / "production.conf"
    old.write_text((CONF_DIR / "production.conf").read_text().replace(
        "from flask_safemigrate.config import from_env", "from myapp.config import from_env"))
    assert "from myapp.config import from_env" in old.read_text()
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    assert load(old)["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/prod"
