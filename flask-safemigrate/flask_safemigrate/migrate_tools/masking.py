"""Database URLs as they may be printed: the password, and every query parameter that can
carry a credential, shown as ***."""
import re
from urllib.parse import quote_plus

from sqlalchemy.engine import make_url

MASK = "***"
# Query parameters the drivers take credentials from: PyMySQL's password, passwd and
# ssl_key_password; libpq's password, sslpassword, oauth_client_secret (options it marks "*")
# and scram_client_key, scram_server_key; a whole conninfo or dsn, which may hold a password.
# Matched by part of the name, so future ones are covered too: a hidden path costs nothing,
# a shown secret does.
CREDENTIAL = re.compile(r"pass|secret|key|token|conninfo|dsn", re.IGNORECASE)


def masked(url):
    """The URL with its password and credential-bearing query parameters replaced by ***."""
    parsed = make_url(url)
    hidden = {name: MASK for name in parsed.query if CREDENTIAL.search(name)}
    rendered = parsed.update_query_dict(hidden).render_as_string(hide_password=True)
    return rendered.replace(f"={quote_plus(MASK)}", f"={MASK}")
