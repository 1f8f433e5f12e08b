"""Figure 5: newmigration on a 200-table model against stock `flask db migrate`."""
import shutil

from harness import FEWER, MIGRATIONS, PY, ROOT, conf, interleaved, run, seconds, stock_flask

TABLES = 200


def many_tables(count=TABLES):
    lines = ["", "import sqlalchemy as sa", ""]
    for i in range(count):
        lines.append(f"t{i} = sa.Table('bench_t{i}', db.metadata,"
                     " sa.Column('id', sa.Integer, primary_key=True),"
                     " sa.Column('name', sa.String(50)), sa.Column('n', sa.Integer))")
    return "\n".join(lines) + "\n"


def measure(work, results):
    project = work / "proj"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "__pycache__", ".pytest_cache", "*.egg-info", "bench"))
    models = project / "myapp" / "models" / "__init__.py"
    models.write_text(models.read_text() + "\nfrom ..extensions import db  # noqa: E402\n" + many_tables())
    settings = conf(work / "model.conf", f"sqlite:///{work / 'model.db'}")
    env = {"SETTINGS": str(settings), "PYTHONPATH": str(project)}
    manage = [PY, str(project / "bin" / "manage.py"), "db"]
    run([*manage, "upgrade"], env)
    flask, flask_env, flask_dir = stock_flask(work, f"sqlite:///{work / 'stock.db'}",
                                              MIGRATIONS / "versions", many_tables())
    run(flask("upgrade"), flask_env, flask_dir)

    def remove_new(folder):
        return lambda: [p.unlink() for p in folder.glob("*big_model*.py")]

    a, b = interleaved(
        lambda: seconds([*manage, "newmigration", "-m", "big model"], env,
                        before=remove_new(project / "myapp" / "migrations" / "versions")),
        lambda: seconds(flask("migrate", "-m", "big model"), flask_env, flask_dir,
                        before=remove_new(flask_dir / "migrations" / "versions")), runs=FEWER)
    results.record(f"5. newmigration with a {TABLES}-table model vs stock `flask db migrate`", a, b, goal=1.00)
