"""The WSGI entry point (gunicorn wsgi:app, flask --app wsgi): the app, or one clear line of what is missing."""
import sys

import click

from feedback import create_app
from feedback.config import ConfigError


def _looking_up_commands() -> bool:
    """True when the Flask command line imports this module to list or find its commands (any --help):
    a missing production setting must not stop the help, so the commands refuse to run instead. A
    server, or a command that loads the app as it runs (run, db upgrade), gets the app or the error."""
    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, click.Group)


try:
    app = create_app(defer_config_check=_looking_up_commands())
except ConfigError as exc:  # a newcomer sees what to set, not a traceback
    sys.exit(exc.line())
