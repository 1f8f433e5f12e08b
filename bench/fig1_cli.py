"""Figure 1: CLI latency, `db current` against bare `alembic current` and stock `flask db current`."""
from harness import MIGRATIONS, bare_alembic, conf, interleaved, ours, run, seconds, stock_flask


def measure(work, results):
    url = f"sqlite:///{work / 'cli.db'}"
    settings = conf(work / "cli.conf", url)
    run(*ours(["upgrade"], settings))
    bare = bare_alembic(work, url, MIGRATIONS / "versions")
    flask, flask_env, flask_dir = stock_flask(work, url, MIGRATIONS / "versions")
    command, env = ours(["current"], settings)
    mine = lambda: seconds(command, env)  # noqa: E731
    a, b = interleaved(mine, lambda: seconds(bare("current")))
    results.record("1. `db current` vs bare `alembic current`", a, b, goal=1.10)
    a, c = interleaved(mine, lambda: seconds(flask("current"), flask_env, flask_dir))
    results.record("1. `db current` vs stock `flask db current`", a, c, goal=1.00)
