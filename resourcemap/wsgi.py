"""The WSGI entry point for gunicorn: `gunicorn resourcemap.wsgi:app`."""
from . import create_app

app = create_app()
