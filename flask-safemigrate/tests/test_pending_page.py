"""In development, pending migrations get a page of their own, with a button that applies them.

The tests bring their own migration (a table `note`) to the sample app. The browser tests drive Debian's headless chromium through its chromium-driver.
"""
import os
import re
import secrets
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from flask_safemigrate import configured_migrate

from .conftest import add_migration, db, make_app, query

NOTE = """def upgrade():
    op.create_table('note', sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('text', sa.String(50)))


def downgrade():
    op.drop_table('note')
"""
FAILING = """def upgrade():
    raise RuntimeError('the migration broke on purpose')


def downgrade():
    pass
"""
DROP = """def upgrade():
    op.drop_column('note', 'text')


def downgrade():
    op.add_column('note', sa.Column('text', sa.String(50)))
"""
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}  # a request from another machine


@pytest.fixture
def migrations(migrations_copy):
    """The project's migrations plus one that creates `note`: pending on an empty database."""
    add_migration(migrations_copy, "bbbb0001", NOTE)
    return migrations_copy


@pytest.fixture
def app_on(migrations):
    """app_on(url, debug=, disposable=): an app whose migrations are `migrations`."""
    apps = []

    def create(url, debug=True, disposable=True):
        # A config that is not disposable is production: it needs a key of its own.
        key = {} if disposable else {"SECRET_KEY": secrets.token_hex(32)}
        app = make_app(url, DEBUG=debug, ALLOW_DB_RESET=disposable, **key)
        configured_migrate(migrations).init_app(app, db)
        apps.append(app)
        return app

    yield create
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def versions(url):
    return query(url, "SELECT version_num FROM alembic_version") if has_table(url, "alembic_version") else []


def has_table(url, table):
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        return inspect(engine).has_table(table)
    finally:
        engine.dispose()


def token(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


APPLY = "/-/migrations/apply"
SAME_ORIGIN = {"Origin": "http://localhost"}  # what a browser sends with the page's form


def submit(client, data, headers=SAME_ORIGIN, **kwargs):
    """POST the page's form, as a browser on the page would."""
    return client.post(APPLY, data=data, headers=headers, **kwargs)


def test_every_page_shows_the_pending_migrations_and_the_button(sqlite_url, app_on):
    client = app_on(sqlite_url).test_client()
    for path in ("/", "/no-such-page?x=1"):
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert "bbbb0001" in page and re.search(r"<h1>\d+ migrations? pending</h1>", page)
        assert "make migrate" in page and 'id="apply"' in page
        assert f'name="next" value="{path}"' in page
        assert "<script" not in page and "http" not in page  # plain HTML, no external assets
    assert versions(sqlite_url) == []  # showing the page applies nothing


def test_the_button_applies_them_and_returns_to_the_page(backend, database_url, app_on):
    client = app_on(database_url).test_client()
    page = client.get("/?from=test").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/?from=test"})
    assert response.status_code == 302 and response.headers["Location"] == "/?from=test"
    assert versions(database_url) == [("bbbb0001",)]
    assert client.get("/?from=test").status_code == 200  # the real page again


def test_lint_findings_are_on_the_page(sqlite_url, migrations, app_on):
    add_migration(migrations, "bbbb0002", DROP)
    page = app_on(sqlite_url).test_client().get("/").get_data(as_text=True)
    assert "drop-column" in page and "bbbb0002_test.py" in page


def test_a_bad_or_missing_token_applies_nothing(sqlite_url, app_on):
    client = app_on(sqlite_url).test_client()
    client.get("/")
    for data in ({"csrf_token": "forged", "next": "/"}, {"next": "/"}):
        assert submit(client, data).status_code == 400
    fresh = app_on(sqlite_url).test_client()  # no page seen: no token in its session
    assert submit(fresh, {"csrf_token": "", "next": "/"}).status_code == 400
    assert versions(sqlite_url) == []


def test_no_button_for_another_machine(sqlite_url, app_on):
    client = app_on(sqlite_url).test_client()
    response = client.get("/", environ_base=REMOTE)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "bbbb0001" in page and 'id="apply"' not in page
    local = client.get("/").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(local), "next": "/"},
                           environ_base=REMOTE)
    assert response.status_code == 403 and versions(sqlite_url) == []


@pytest.mark.parametrize("debug, disposable", [(False, True), (True, False), (False, False)])
def test_never_outside_development(sqlite_url, app_on, debug, disposable):
    """DEBUG off or a config that is not disposable: the real pages, and no way to apply."""
    client = app_on(sqlite_url, debug=debug, disposable=disposable).test_client()
    response = client.get("/")
    assert response.status_code == 200 and 'id="apply"' not in response.get_data(as_text=True)
    assert client.get("/healthz").get_json()["status"] == "pending"  # /healthz still tells
    assert submit(client, {"next": "/"}).status_code == 403
    assert versions(sqlite_url) == []


def test_healthz_is_never_replaced(sqlite_url, app_on):
    response = app_on(sqlite_url).test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["pending"][-1] == "bbbb0001"


@pytest.mark.parametrize("next_, location", [
    # Another site, however it is spelled: browsers drop tabs and newlines anywhere, leading and
    # trailing spaces and control characters, and read a backslash as a slash.
    ("//evil.example/x", "/"), ("///evil.example", "/"), ("/\\evil.example", "/"),
    ("\\/evil.example", "/"), ("\\\\evil.example", "/"), ("/\t/evil.example/", "/"),
    ("/\n/evil.example", "/"), ("/\r\n/evil.example", "/"), ("\t//evil.example", "/"),
    (" //evil.example", "/"), ("\x00//evil.example", "/"), ("\x1f//evil.example", "/"),
    ("/\x00/evil.example", "/"), ("/x\x7f", "/"), ("http://evil.example/", "/"),
    ("https:evil.example", "/"), ("HTTPS://evil.example", "/"), ("javascript:alert(1)", "/"),
    (" javascript:alert(1)", "/"), ("evil.example", "/"), ("", "/"), (None, "/"),
    # Paths on this site stay as they are (cleaned as a browser would read them).
    ("/", "/"), ("/?from=test", "/?from=test"), ("/users/1?tab=a&b=c", "/users/1?tab=a&b=c"),
    ("/a//b", "/a//b"), ("/%09/evil.example", "/%09/evil.example"),
    ("/%2F/evil.example", "/%2F/evil.example"), ("  /page?x=1 ", "/page?x=1"),
    ("/pa\tge", "/page"), ("/caf\u00e9", "/caf%C3%A9"),
])
def test_next_never_leaves_the_site(sqlite_url, app_on, next_, location):
    client = app_on(sqlite_url).test_client()
    page = client.get("/").get_data(as_text=True)
    data = {"csrf_token": token(page)} | ({"next": next_} if next_ is not None else {})
    response = submit(client, data)
    assert response.status_code == 302 and response.headers["Location"] == location
    assert versions(sqlite_url) == [("bbbb0001",)]




@pytest.mark.parametrize("host", ["attacker.example:5000", "attacker.example", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "evil.localhost.example", "[::2]:5000", "",
                                  "attacker.example@127.0.0.1:5000", "localhost:5000/evil"])
def test_no_button_for_a_page_on_another_name(sqlite_url, app_on, host):
    """From this machine, but asked for as another site: the page, no token, and no apply."""
    client = app_on(sqlite_url).test_client()
    environ = {"HTTP_HOST": host}
    page = client.get("/", environ_overrides=environ).get_data(as_text=True)
    assert "bbbb0001" in page and 'id="apply"' not in page and "csrf_token" not in page
    local = client.get("/").get_data(as_text=True)  # the token is in the (shared) session
    response = submit(client, {"csrf_token": token(local), "next": "/"},
                      headers={"Origin": f"http://{host}"}, environ_overrides=environ)
    assert response.status_code == 403 and versions(sqlite_url) == []


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:5000", "127.8.9.1",
                                  "[::1]:5000", "LOCALHOST:5000"])
def test_the_button_at_every_name_of_this_machine(sqlite_url, app_on, host):
    client = app_on(sqlite_url).test_client()
    environ = {"HTTP_HOST": host}
    page = client.get("/", environ_overrides=environ).get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/"},
                      headers={"Origin": f"http://{host.lower()}"}, environ_overrides=environ)
    assert response.status_code == 302 and versions(sqlite_url) == [("bbbb0001",)]


def test_the_button_at_the_configured_server_name(sqlite_url, migrations):
    app = make_app(sqlite_url, DEBUG=True, SERVER_NAME="sampleapp.test:5000")
    configured_migrate(migrations).init_app(app, db)
    client = app.test_client()
    page = client.get("/", base_url="http://sampleapp.test:5000").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/"},
                      headers={"Origin": "http://sampleapp.test:5000"}, base_url="http://sampleapp.test:5000")
    assert response.status_code == 302 and versions(sqlite_url) == [("bbbb0001",)]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("headers", [
    {},  # neither Origin nor Referer: not a form a browser sent from the page
    {"Origin": "http://attacker.example:5000"}, {"Origin": "null"}, {"Origin": "https://localhost"},
    {"Origin": "http://localhost:5001"}, {"Referer": "http://attacker.example/page"},
    {"Origin": "http://attacker.example", "Referer": "http://localhost/"},
])
def test_a_post_from_another_origin_applies_nothing(sqlite_url, app_on, headers):
    client = app_on(sqlite_url).test_client()
    page = client.get("/").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/"}, headers=headers)
    assert response.status_code == 403 and versions(sqlite_url) == []


def test_a_referer_of_this_site_will_do_without_an_origin(sqlite_url, app_on):
    client = app_on(sqlite_url).test_client()
    page = client.get("/").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/"},
                      headers={"Referer": "http://localhost/?from=test"})
    assert response.status_code == 302 and versions(sqlite_url) == [("bbbb0001",)]


def test_a_failing_migration_is_one_line_on_the_page(sqlite_url, migrations, app_on):
    add_migration(migrations, "bbbb0002", FAILING)
    client = app_on(sqlite_url).test_client()
    page = client.get("/").get_data(as_text=True)
    response = submit(client, {"csrf_token": token(page), "next": "/"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "Traceback" not in page
    # The same line as the CLI's: which migration failed, and why.
    assert "The migration failed: migration bbbb0002 (" in page
    assert "failed: RuntimeError: the migration broke on purpose</p>" in page
    assert versions(sqlite_url) == [("bbbb0001",)]  # the good one stays, the failed one rolled back


# --- in a real browser -------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REBOUND = "attacker.example"  # the browser resolves it to 127.0.0.1, as the attacker's DNS would


@pytest.fixture(scope="module")
def browser():
    """Headless chromium, driven through Debian's chromium-driver (nothing is downloaded)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = "no chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("REQUIRE_BACKENDS"):
            pytest.fail(f"REQUIRE_BACKENDS is set (CI) but there is {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"):  # DNS rebinding, done
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def serve():
    """Serve an app on a free local port in a thread; yields a function app -> base URL."""
    servers = []

    def start(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def test_in_the_browser_one_click_applies_them(backend, database_url, app_on, browser, serve):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = serve(app_on(database_url))
    browser.delete_all_cookies()
    browser.get(f"{base}/?from=browser")
    assert "pending" in browser.find_element(By.TAG_NAME, "h1").text
    items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#pending li")]
    assert any("bbbb0001" in item for item in items)
    browser.find_element(By.ID, "apply").click()
    # Read the heading in one script call: a node handle taken while the page navigates away
    # goes stale, and chromium reports that as a plain WebDriverException, not as stale.
    WebDriverWait(browser, 30).until(lambda b: b.execute_script(
        "const h = document.querySelector('h1');"
        " return document.readyState === 'complete' && h !== null && h.textContent.trim();")
        == "sampleapp")
    assert browser.current_url == f"{base}/?from=browser"
    assert "up to date" in browser.find_element(By.TAG_NAME, "body").text
    assert versions(database_url) == [("bbbb0001",)]


@pytest.mark.parametrize("debug, disposable", [(False, True), (True, False)])
def test_in_the_browser_never_outside_development(sqlite_url, app_on, browser, serve, debug, disposable):
    from selenium.webdriver.common.by import By

    base = serve(app_on(sqlite_url, debug=debug, disposable=disposable))
    browser.get(f"{base}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "sampleapp"
    assert browser.find_elements(By.ID, "apply") == []
    assert versions(sqlite_url) == []


# What a script on the attacker's page does once its name points at 127.0.0.1: read the page
# (same origin, to the browser), take the token, post the form.
ATTACK = """
const done = arguments[arguments.length - 1];
fetch("/").then(r => r.text()).then(page => {
  const token = (page.match(/name="csrf_token" value="([^"]+)"/) || [, ""])[1];
  return fetch("/-/migrations/apply", {method: "POST", redirect: "manual",
                                       body: new URLSearchParams({csrf_token: token, next: "/"})});
}).then(r => done(r.status), e => done(String(e)));
"""


def test_in_the_browser_a_rebound_name_cannot_apply_them(sqlite_url, app_on, browser, serve):
    from selenium.webdriver.common.by import By

    base = serve(app_on(sqlite_url))
    browser.delete_all_cookies()
    browser.get(base.replace("127.0.0.1", REBOUND) + "/")
    assert "pending" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_elements(By.ID, "apply") == []
    assert browser.execute_async_script(ATTACK) == 403
    assert versions(sqlite_url) == []
