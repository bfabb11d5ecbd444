"""Keep link tokens out of every log line (the dev server's and gunicorn's access logs included)."""
from __future__ import annotations

import copy
import logging
import re

TOKEN_PATH = re.compile(r"/(f|u|me/view)/[^\s/?\"']+")


def redact(text: str) -> str:
    """Replace the token in any /f/…, /u/… or /me/view/… path by ``[token]``."""
    return TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/[token]", text)


class TokenRedactingFilter(logging.Filter):
    """A logging filter that redacts tokens from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            changed = {key: redact(value) for key, value in record.args.items()
                       if isinstance(value, str) and TOKEN_PATH.search(value)}
            if changed:  # a copy of the same mapping type (gunicorn's atoms print a missing one as "-")
                record.args = copy.copy(record.args)
                record.args.update(changed)
        return True


_FILTER = TokenRedactingFilter()


def install_token_redaction() -> None:
    """Attach the filter to the loggers that print request paths (idempotent)."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", "feedback", ""):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
