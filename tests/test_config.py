"""Config resolution: SETTINGS, defaults, validation, and the errors users see."""
import shutil

import pytest
from flask import Flask

from myapp import config
from myapp.config import ConfigError
from myapp.migrate_tools.masking import masked

from .conftest import CONF_DIR, ROOT, write_conf


def load(settings=None, overrides=None):
    app = Flask("t")
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
    conf.write_text("SQLALCHEMY_DATABASE_URI = 'sqlite:////x/p.db'\n")
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
    monkeypatch.setenv("SECRET_KEY", "s")
    assert load(CONF_DIR / "dev.conf")["ALLOW_DB_RESET"] is True
    assert load(CONF_DIR / "testing.conf")["ALLOW_DB_RESET"] is True
    assert load(CONF_DIR / "production.conf")["ALLOW_DB_RESET"] is False


def test_relative_sqlite_path_is_relative_to_the_conf(tmp_path):
    cfg = load(write_conf(tmp_path / "r.conf", "sqlite:///data/r.db"))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'data' / 'r.db'}"


def test_production_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    cfg = load(CONF_DIR / "production.conf")
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/prod"
    assert cfg["SECRET_KEY"] == "from-env"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY"])
def test_production_names_the_missing_variable(monkeypatch, missing):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/prod")
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=f"{missing} is not set in the environment"):
        load(CONF_DIR / "production.conf")


def test_no_secret_is_committed():
    text = (CONF_DIR / "production.conf").read_text()
    assert "SECRET_KEY = from_env(" in text


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
