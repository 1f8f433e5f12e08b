"""Figure 7: a long history (two models plus N migrations that create and drop a table in pairs):
newmigration and db status against Django's makemigrations and showmigrations on the same
history, and each of newmigration, db check, db status and make db (db reset) at N=1000 against
N=10, on SQLite and (with TEST_POSTGRESQL_URL) PostgreSQL."""
import os
import secrets
import shutil
import textwrap

from harness import MIGRATIONS, PY, RUNS, conf, interleaved, migrations_folder, ours, run, seconds

SIZES = (10, 1000)


def generated(versions, count):
    """Our history: myapp's migrations, then `count` more that create and drop a table in pairs."""
    shutil.copytree(MIGRATIONS / "versions", versions, ignore=shutil.ignore_patterns("__pycache__"))
    down = run([PY, "-c", "from alembic.script import ScriptDirectory; import sys;"
                f" print(ScriptDirectory({str(MIGRATIONS)!r}).get_current_head())"]).stdout.strip()
    for i in range(count):
        revision, table = f"g{i:05d}", f"gen_{i // 2}"
        create = (f"op.create_table({table!r}, sa.Column('id', sa.Integer(), nullable=False),"
                  f" sa.PrimaryKeyConstraint('id', name=op.f('pk_{table}')))")
        drop = f"op.drop_table({table!r})"
        up, undo = (create, drop) if i % 2 == 0 else (drop, create)
        (versions / f"{revision}_step_{i}.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\n'
            f"down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {undo}\n")
        down = revision


DJANGO_MODELS = '''
from django.db import models


class Role(models.Model):
    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=255, null=True)


class User(models.Model):
    email = models.CharField(max_length=255, unique=True)
    password = models.CharField(max_length=255, null=True)
    active = models.BooleanField(default=True)
    confirmed_at = models.DateTimeField(null=True)
    current_login_at = models.DateTimeField(null=True)
    current_login_ip = models.CharField(max_length=45, null=True)
    last_login_at = models.DateTimeField(null=True)
    last_login_ip = models.CharField(max_length=45, null=True)
    login_count = models.IntegerField(null=True)
    roles = models.ManyToManyField(Role)
'''


def django_project(folder, count, database):
    """The same history in Django: the two models' initial migration, then `count` migrations
    that create and drop a model in pairs; migrated, so showmigrations has a database to read."""
    (folder / "shop" / "migrations").mkdir(parents=True)
    (folder / "shop" / "__init__.py").write_text("")
    (folder / "shop" / "migrations" / "__init__.py").write_text("")
    (folder / "shop" / "models.py").write_text(DJANGO_MODELS)
    (folder / "settings.py").write_text(textwrap.dedent(f"""\
        SECRET_KEY = "bench"
        INSTALLED_APPS = ["shop"]
        DATABASES = {{"default": {database!r}}}
        DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
        USE_TZ = True
        """))
    (folder / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n")
    manage = lambda *args: [PY, str(folder / "manage.py"), *args]  # noqa: E731
    run(manage("makemigrations", "shop"), cwd=folder)
    previous = "0001_initial"
    for i in range(count):
        name = f"{i + 2:04d}_step_{i}"
        model = f"Gen{i // 2}"
        operation = (f"migrations.CreateModel(name={model!r}, fields=[('id', models.AutoField("
                     "primary_key=True, serialize=False))])" if i % 2 == 0 else
                     f"migrations.DeleteModel(name={model!r})")
        (folder / "shop" / "migrations" / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
            f"    dependencies = [('shop', {previous!r})]\n    operations = [{operation}]\n")
        previous = name
    run(manage("migrate"), cwd=folder)
    return manage


def backends():
    yield "SQLite", lambda work, name: (f"sqlite:///{work / (name + '.db')}",
                                        {"ENGINE": "django.db.backends.sqlite3", "NAME": str(work / (name + "-django.db"))})
    server = os.environ.get("TEST_POSTGRESQL_URL")
    if server:
        from sqlalchemy.engine import make_url

        from flask_safemigrate.migrate_tools.databases import create_database

        def databases(work, name):
            ours_name, django_name = (f"bench_{name}_{secrets.token_hex(3)}" for _ in range(2))
            url = create_database(server, ours_name)
            create_database(server, django_name)
            target = make_url(server)
            return url, {"ENGINE": "django.db.backends.postgresql", "NAME": django_name,
                         "USER": target.username or "", "PASSWORD": target.password or "",
                         "HOST": target.host or "", "PORT": str(target.port or "")}
        yield "PostgreSQL", databases


def measure(work, results):
    for label, databases in backends():
        mine, django = {}, {}
        for count in SIZES:
            folder = work / f"{label}-{count}"
            folder.mkdir()
            url, django_database = databases(folder, f"n{count}")
            generated(folder / "versions", count)
            directory = migrations_folder(folder / "migrations", folder / "versions")
            settings = conf(folder / "bench.conf", url)
            for setup in (["snapshot"], ["reset", "--no-seed"]):
                command, env = ours(setup, settings, directory)
                run(command, env)
            mine[count] = {name: ours(args, settings, directory) for name, args in (
                ("newmigration", ["newmigration", "-m", "nothing"]), ("db check", ["check"]),
                ("db status", ["status"]), ("make db", ["reset"]))}
            django[count] = django_project(folder / "django", count, django_database)
        top = SIZES[-1]
        for name, theirs in (("newmigration", "makemigrations"), ("db status", "showmigrations")):
            command, env = mine[top][name]
            other = django[top](theirs)
            a, b = interleaved(lambda: seconds(command, env, check=False),
                               lambda: seconds(other, cwd=work), runs=RUNS)
            results.record(f"7. {label}: {name} vs Django's {theirs}, {top} migrations", a, b, goal=1.5)
        for name in ("newmigration", "db check", "db status", "make db"):
            (big, big_env), (small, small_env) = mine[top][name], mine[SIZES[0]][name]
            a, b = interleaved(lambda: seconds(big, big_env, check=False),
                               lambda: seconds(small, small_env, check=False), runs=RUNS)
            results.record(f"7. {label}: {name}, {top} migrations vs {SIZES[0]}", a, b, goal=1.2)
