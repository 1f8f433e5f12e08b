"""Fixtures: Flask-SafeMigrate's plugin gives each test the app on a database of its own, on
each backend (SQLite always; PostgreSQL and MariaDB through TEST_POSTGRESQL_URL, TEST_MYSQL_URL)."""
import pytest

# The plugin and the migration suite's asserts explain themselves (pytest rewrites them).
pytest.register_assert_rewrite("flask_safemigrate.testing")

from __app__ import create_app

pytest_plugins = ["flask_safemigrate.testing.plugin"]


def pytest_configure(config):
    # Deprecations surface as failures, not as noise.
    config.addinivalue_line("filterwarnings", "error")


@pytest.fixture(scope="session")
def app_factory():
    """The factory the plugin's `app` fixture and the migration suite build apps with."""
    return create_app
