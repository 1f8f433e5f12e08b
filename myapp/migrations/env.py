"""Alembic's environment: Flask-SafeMigrate runs the migrations on a connection of its own."""
from flask_safemigrate.env import run

run()
