"""In development, a page instead of every page while migrations are pending.

Only with DEBUG on and on a disposable config (ALLOW_DB_RESET), never elsewhere. It lists the
pending migrations with their summaries and lint findings, and the command that applies them.
To a request from this machine, addressed to localhost, a loopback address or SERVER_NAME,
it also offers a button that applies them (a same-origin POST with a CSRF token) and returns
to the page that was asked for.
"""
import hmac
import ipaddress
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, redirect, render_template_string, request,
                   session, url_for)

from .config import config_name, shown
from .migrating import alembic_config, database_state, lint_findings

bp = Blueprint("pending", __name__)

TOKEN = "pending_migrations_csrf"
# Always served, so monitors and the button keep working while migrations are pending.
EXEMPT = {"views.healthz", "pending.apply", "static"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Migrations pending - {{ name }}</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; }
code, pre { font-family: ui-monospace, monospace; background: #f3f3f3; padding: 0 .25em; }
pre { padding: .5em; white-space: pre-wrap; }
.finding { color: #8a4b00; }
.error { color: #a00; }
button { font-size: 1em; padding: .4em 1em; cursor: pointer; }
</style></head>
<body>
<h1>{{ state.pending|length }} migration{{ "s" if state.pending|length != 1 }} pending</h1>
<p>The database of <strong>{{ name }}</strong> is behind the migrations in the code
(at <code>{{ state.current|join(", ") or "an empty database" }}</code>, head
<code>{{ state.heads|join(", ") }}</code>). This page shows instead of <code>{{ path }}</code>
until they are applied.</p>
{% if error %}<p class="error" id="error">The migration failed: {{ error }}</p>{% endif %}
<ol id="pending">
{% for script in state.pending %}
<li><code>{{ script.revision }}</code> {{ script.doc }}
{% for finding in findings.get(script.path, []) %}
<pre class="finding">{{ finding.lines()|join("\n") }}</pre>
{% endfor %}</li>
{% endfor %}
</ol>
<p>Apply them with <code>make migrate</code>
(or <code>SETTINGS={{ settings }} bin/manage.py db upgrade</code>).</p>
{% if can_apply %}
<form method="post" action="{{ url_for('pending.apply') }}">
<input type="hidden" name="csrf_token" value="{{ token }}">
<input type="hidden" name="next" value="{{ path }}">
<button type="submit" id="apply">Apply pending migrations</button>
</form>
{% else %}
<p>The button that applies them is offered only to requests from this machine, at
<code>localhost</code> or a loopback address (or <code>SERVER_NAME</code>).</p>
{% endif %}
</body></html>
"""


def init_app(app):
    app.register_blueprint(bp)
    app.before_request(show_pending_migrations)


def _in_development():
    return current_app.debug and current_app.config["ALLOW_DB_RESET"]


def show_pending_migrations():
    """Answer with the page while migrations are pending, in development."""
    if not _in_development() or request.endpoint in EXEMPT:
        return None
    state, error = database_state()
    if error or state.up_to_date:
        return None  # an unreadable database is the real page's to report
    return _page(state), 503


@bp.route("/-/migrations/apply", methods=["POST"])
def apply():
    """Apply the pending migrations, then return to the page that was asked for."""
    if not _in_development() or not _from_this_machine():
        abort(403, "migrations are applied from this page only at http://localhost or"
                   " http://127.0.0.1 (or SERVER_NAME), from this machine")
    if not _same_origin():
        abort(403, "the form did not come from this site (Origin or Referer): reload the page"
                   " and try again")
    expected = session.get(TOKEN, "")
    if not expected or not hmac.compare_digest(expected, request.form.get("csrf_token", "")):
        abort(400, "the form has expired or did not come from this page: reload it and try again")
    from alembic import command
    from sqlalchemy.exc import DBAPIError

    from .migrate_tools.errors import explain, first_line

    try:
        command.upgrade(alembic_config(), "heads")
    except Exception as e:  # shown on the page: the browser is the user's console here
        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        error = explain(e, url) if isinstance(e, DBAPIError) else first_line(e)
        state, read_error = database_state()
        if read_error or state.up_to_date:
            abort(500, error)
        return _page(state, error=error), 500
    return redirect(_local_path(request.form.get("next")))


def _page(state, error=None):
    findings = {}
    for finding in lint_findings(state.pending):
        findings.setdefault(finding.path, []).append(finding)
    can_apply = _from_this_machine()
    if can_apply and TOKEN not in session:
        session[TOKEN] = secrets.token_urlsafe(32)
    return render_template_string(
        PAGE, name=current_app.config.get("APP_NAME", current_app.name), state=state, findings=findings,
        path=request.full_path.rstrip("?"), settings=shown(Path(current_app.config["SETTINGS_FILE"])) if current_app.config["SETTINGS_FILE"]
        else config_name(current_app.config),
        can_apply=can_apply, token=session.get(TOKEN), error=error)


def _from_this_machine():
    """A request from this machine, to a name of this machine: only such are offered the button."""
    return _is_loopback(request.remote_addr) and _names_this_machine(request.host)


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _names_this_machine(host):
    """`host` (a Host header) is localhost, a loopback address or the configured SERVER_NAME.

    A page on attacker.example whose name the attacker's DNS then points at 127.0.0.1 (DNS
    rebinding) reaches this server from this machine, but asks for Host attacker.example."""
    name = urlsplit(f"//{host}").hostname if host else None  # no port, no [ ] around IPv6
    server_name = current_app.config.get("SERVER_NAME")
    return bool(name) and (name == "localhost" or _is_loopback(name)
                           or (server_name and name == urlsplit(f"//{server_name}").hostname))


def _same_origin():
    """The POST came from a page of this site: its Origin (or, without one, its Referer)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc.lower()) == (request.scheme, request.host.lower())


# What browsers drop before they parse a URL (the WHATWG URL standard): leading and trailing
# C0 controls and spaces, and every tab and newline ("/\t/evil.example" is "//evil.example").
C0_AND_SPACE = "".join(map(chr, range(0x21)))
TAB_AND_NEWLINE = re.compile("[\t\n\r]")


def _local_path(target):
    """`target` as a browser reads it, when that is a path on this site; else the index.

    Browsers read a backslash as a slash, so "/\\evil.example" is "//evil.example": refused,
    as are schemes ("javascript:"), hosts ("//x") and any other control character."""
    path = TAB_AND_NEWLINE.sub("", target or "").strip(C0_AND_SPACE)
    if (path.startswith("/") and not path.startswith("//") and "\\" not in path
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)
            and not urlsplit(path).netloc):
        return path
    return url_for("views.index")

