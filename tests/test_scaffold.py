"""bin/scaffold: a new project from this one, renamed throughout, that works out of the box."""
import os
import re
import subprocess
import sys

import pytest

import myapp

from .conftest import EXAMPLE_DOMAIN, ROOT, make, ok

SCAFFOLD = ROOT / "bin" / "scaffold"
# Set for the suite that a scaffolded project runs inside this one: it does not scaffold again.
NESTED = "SCAFFOLD_SMOKE_RUN"
# New package names, other than this project's own (a scaffolded project runs these tests too).
NEW, OTHER = [n for n in ("blog", "notes", "shop") if n != myapp.__name__][:2]


def scaffold(*args, cwd=None):
    return subprocess.run([sys.executable, str(SCAFFOLD), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


def files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def mentions_of_the_old_name(folder):
    """Paths and text lines under `folder` that say myapp, in any case (grep -ri)."""
    found = []
    for path in folder.rglob("*"):
        if re.search("myapp", str(path.relative_to(folder)), re.IGNORECASE):
            found.append(str(path))
        if path.is_file():
            found += [f"{path}: {line}" for line in path.read_bytes().decode("latin-1").splitlines()
                      if re.search("myapp", line, re.IGNORECASE)]
    return found


@pytest.mark.parametrize("name, why", [
    ("1blog", "not a valid Python package name"), ("my-blog", "not a valid Python package name"),
    ("class", "not a valid Python package name"), ("Blog", "lowercase"),
    ("flask", "installed package flask"), ("sqlalchemy", "installed package sqlalchemy"),
    ("email", "standard library module email"), ("test", "standard library module test"),
    ("json", "standard library module json"), ("tests", "a folder of the project"),
    ("myapp", "this project's own package name"), ("myapp_v2", "contains myapp"),
])
def test_a_bad_name_writes_nothing(tmp_path, name, why):
    result = scaffold(name, tmp_path / NEW)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and why in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert files(tmp_path) == []


def test_a_bad_dest_writes_nothing(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    before = files(tmp_path)
    not_empty = "exists and is not an empty folder"
    for dest, why in [(taken, not_empty), (a_file, not_empty),
                      (ROOT / "var" / NEW, "inside this project"), (ROOT, "inside this project"),
                      (tmp_path / "no" / "such" / "parent", "does not exist")]:
        result = scaffold(NEW, dest)
        assert result.returncode == 1 and why in result.stderr, (dest, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert files(tmp_path) == before and (taken / "keep.txt").read_text() == "mine"
    assert not (ROOT / "var" / NEW).exists()


@pytest.mark.parametrize("args", [[], [NEW], [NEW, "a", "b"], [NEW, "x", "--barely"]])
def test_usage(tmp_path, args):
    result = scaffold(*args, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("Error: usage: bin/scaffold NAME DEST")
    assert files(tmp_path) == []


def test_make_scaffold_needs_name_and_dest(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "scaffold", f"NAME={NEW}"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "usage: make scaffold NAME=blog DEST=../blog" in result.stderr


def test_a_new_project_is_renamed_throughout_with_fresh_secrets(tmp_path):
    ok(scaffold(NEW, tmp_path / NEW))
    ok(scaffold(OTHER, tmp_path / OTHER))
    blog = tmp_path / NEW
    assert mentions_of_the_old_name(blog) == []
    assert (blog / NEW / "__init__.py").exists() and not (blog / "myapp").exists()
    assert f"from {NEW}.cli import cli" in (blog / "bin" / "manage.py").read_text()
    assert f'name="{NEW}"' in (blog / "setup.py").read_text()
    secrets_of = {}
    for project in (ROOT, blog, tmp_path / OTHER):
        for conf in ("dev.conf", "testing.conf"):
            text = (project / "etc" / "conf" / conf).read_text()
            secrets_of[project.name, conf] = re.search(r"^SECRET_KEY = (.*)$", text, re.M).group(1)
    assert len(set(secrets_of.values())) == len(secrets_of)  # every one fresh, none shared
    assert all(re.fullmatch(r'"[0-9a-f]{64}"', v) for (p, _), v in secrets_of.items() if p != ROOT.name)
    assert 'from_env("SECRET_KEY"' in (blog / "etc" / "conf" / "production.conf").read_text()
    # The example domain comes along (when this project has it); a first commit holds everything.
    assert (blog / NEW / "models" / "user.py").exists() is EXAMPLE_DOMAIN
    assert bool(list((blog / NEW / "migrations" / "versions").glob("*.py"))) is EXAMPLE_DOMAIN
    log = subprocess.run(["git", "log", "--format=%s"], cwd=blog, capture_output=True, text=True)
    assert log.stdout.splitlines() == [f"New project: {NEW}"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=blog, capture_output=True, text=True)
    assert status.stdout == ""


@pytest.mark.parametrize("bare", [False, True])
def test_the_new_project_passes_make_db_and_make_test(tmp_path, bare):
    """`make db` and `make test` in the new project, with or without the example domain.

    It runs in this run's virtualenv (conftest's make), on SQLite; the servers are tested by
    this suite itself. The new project's own copy of this test does not scaffold again."""
    if os.environ.get(NESTED):
        pytest.skip("inside a scaffolded project's suite, run by this very test")
    project = tmp_path / NEW
    ok(scaffold(NEW, project, *(["--bare"] if bare else [])))
    if bare:
        assert not (project / NEW / "models" / "user.py").exists()
        assert list((project / NEW / "migrations" / "versions").glob("*.py")) == []
    env = {NESTED: "1", "TEST_POSTGRESQL_URL": "", "TEST_MYSQL_URL": "", "REQUIRE_BACKENDS": ""}
    db = ok(make(project, "db", env=env))
    assert ("starter data: none" in db) is bare
    test = make(project, "test", env=env)
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert re.search(r"\d+ passed", test.stdout)
    assert " failed" not in test.stdout.splitlines()[-1]
