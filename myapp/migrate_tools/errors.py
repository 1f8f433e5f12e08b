"""Database errors explained in one line: the cause, then the fix."""
import re

from sqlalchemy.engine import make_url

# (pattern in the driver's message, explanation); {host}, {user}, {database} come from the URL.
EXPLANATIONS = [
    (r"Connection refused|Can't connect to|could not translate host name|Name or service not known"
     r"|timeout expired|No route to host",
     "cannot reach the database server at {host}: is it running, and are the host and port right?"),
    (r"password authentication failed|Access denied for user|role \"[^\"]*\" does not exist",
     "the server refused the login of user {user!r}: check the user name and password in the URL"),
    (r"database \"[^\"]*\" does not exist|Unknown database",
     "database {database!r} does not exist on {host}: create it (createdb {database}, or"
     " CREATE DATABASE {database}) or fix the URL"),
    (r"unable to open database file",
     "cannot open the SQLite file {database}: does its folder exist and is it writable?"),
]


def explain(exc, url):
    """One line for a DBAPIError raised while using the database at `url`."""
    reason = str(getattr(exc, "orig", None) or exc).strip()
    first = reason.splitlines()[0] if reason else type(exc).__name__
    parts = make_url(url)
    fields = {"host": f"{parts.host or 'localhost'}:{parts.port or 'default port'}",
              "user": parts.username, "database": parts.database}
    for pattern, explanation in EXPLANATIONS:
        if re.search(pattern, reason):
            return f"{explanation.format(**fields)} ({_short(first)})"
    return f"database error on {parts.render_as_string(hide_password=True)}: {first}"


def _short(message):
    """The driver's message without its long connection preamble."""
    return re.sub(r"^.*failed: (FATAL: +)?", "", message)
