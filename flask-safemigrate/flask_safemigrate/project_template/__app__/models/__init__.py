"""The app's models: one module per model, imported here so migrations see them."""


def add_starter_data(session):
    """Add the rows `make db` puts in a fresh database (none yet); say what they are."""
    return "none"
