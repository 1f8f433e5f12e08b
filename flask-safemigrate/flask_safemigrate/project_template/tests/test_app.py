"""The app's pages: the index and /healthz say where the database stands."""
from flask_migrate import upgrade


def test_healthz_once_migrated(app):
    with app.app_context():
        upgrade()
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_index_names_the_app(app):
    with app.app_context():
        upgrade()
    page = app.test_client().get("/").get_data(as_text=True)
    assert "<h1>__app__</h1>" in page and "up to date" in page
