"""The index page and /healthz: the app's name and where its database stands."""
from flask import Blueprint, current_app, jsonify, render_template_string

from flask_safemigrate.migrating import database_state

bp = Blueprint("views", __name__)

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }}</title></head>
<body>
<h1>{{ name }}</h1>
{% if error %}<p>Database error: {{ error }}</p>
{% else %}
<p>Database revision: <code>{{ state.current|join(", ") or "none (empty database)" }}</code></p>
{% if state.pending %}<p>{{ state.pending|length }} migration(s) pending:</p>
<ul>{% for s in state.pending %}<li><code>{{ s.revision }}</code> {{ s.doc }}</li>{% endfor %}</ul>
<p>Apply them with <code>make migrate</code>.</p>
{% else %}<p>No migrations pending: the database is up to date.</p>{% endif %}
{% endif %}
</body></html>
"""


@bp.route("/")
def index():
    state, error = database_state()
    return render_template_string(INDEX, name=current_app.config["APP_NAME"], state=state, error=error)


@bp.route("/healthz")
def healthz():
    state, error = database_state()
    if error:
        return jsonify(status="error", error=error), 503
    return jsonify(
        status="ok" if state.up_to_date else "pending",
        revision=state.current[0] if len(state.current) == 1 else list(state.current) or None,
        head=state.heads[0] if len(state.heads) == 1 else list(state.heads),
        pending=[s.revision for s in state.pending],
    )
