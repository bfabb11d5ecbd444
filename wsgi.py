"""The WSGI entry point (gunicorn wsgi:app, flask --app wsgi): the app, or one clear line of what is missing."""
import sys

from feedback import create_app
from feedback.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a newcomer sees what to set, not a traceback
    sys.exit(f"error: {exc}. See the README, Configuration (for development: FLASK_DEBUG=1).")
