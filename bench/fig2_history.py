"""Figure 2: a long history (300 revisions): upgrade from empty against bare Alembic, with and
without each tool's start-up (its `current` on the same database), and `db history`/`db check`."""
import statistics

from harness import FEWER, bare_alembic, conf, interleaved, migrations_folder, ours, run, seconds

COUNT = 300


def long_history(folder, count=COUNT):
    """`count` revisions, each adding a table or a column to the last table."""
    folder.mkdir(parents=True)
    down, table = None, None
    for i in range(count):
        revision = f"r{i:04d}"
        if i % 10 == 0:
            table = f"t{i:04d}"
            up = f"op.create_table({table!r}, sa.Column('id', sa.Integer, primary_key=True))"
            undo = f"op.drop_table({table!r})"
        else:
            up = f"op.add_column({table!r}, sa.Column('c{i:04d}', sa.Integer))"
            undo = f"op.drop_column({table!r}, 'c{i:04d}')"
        (folder / f"{revision}_step.py").write_text(
            f'"""step {i}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}\n'
            f"down_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {undo}\n")
        down = revision


def measure(work, results):
    versions = work / "long_versions"
    long_history(versions)
    mine_dir = migrations_folder(work / "long_ours", versions)
    database = work / "long.db"
    url = f"sqlite:///{database}"
    settings = conf(work / "long.conf", url)
    (work / "long_bare").mkdir()
    bare = bare_alembic(work / "long_bare", url, versions)
    fresh = lambda: database.unlink(missing_ok=True)  # noqa: E731
    command, env = ours(["upgrade"], settings, mine_dir)
    a, b = interleaved(lambda: seconds(command, env, before=fresh),
                       lambda: seconds(bare("upgrade", "head"), before=fresh), runs=FEWER)
    results.record(f"2. upgrade through {COUNT} revisions (journal, checksums, lock) vs bare Alembic",
                   a, b, goal=1.15)
    # Start-up: each tool's `current` on an empty database (the same work for both).
    fresh()
    current, env = ours(["current"], settings, mine_dir)
    start_a, start_b = interleaved(lambda: seconds(current, env), lambda: seconds(bare("current")))
    results.record("2. the same, less each tool's start-up (its `current`)", a - start_a, b - start_b,
                   goal=1.15)
    run(command, env)
    history, env = ours(["history"], settings, mine_dir)
    took = statistics.median(seconds(history, env) for _ in range(3))
    results.note(f"2. `db history` on {COUNT} revisions", f"{took:.3f} s")
    check, env = ours(["check"], settings, mine_dir)
    results.note(f"2. `db check` on {COUNT} revisions",
                 f"{statistics.median(seconds(check, env, check=False) for _ in range(3)):.3f} s")
