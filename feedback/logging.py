"""Keep link tokens out of every log line (the dev server's and gunicorn's access logs included)."""
from __future__ import annotations

import copy
import logging
import re
from urllib.parse import unquote

TOKEN_PATH = re.compile(r"/(f|u|c|me/view)/[^\s/?\"']+")
# What itsdangerous signs: payload.timestamp.signature, in URL-safe base64 (every link token).
SIGNED_TOKEN = re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{20,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _decoded(text: str) -> str:
    """``text`` with percent-escapes undone as a server undoes them (twice over, for good measure),
    control characters shown as escapes so that a decoded %0A cannot start a forged log line."""
    for _ in range(2):
        if "%" not in text:
            break
        text = unquote(text)
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def redact(text: str) -> str:
    """Replace every link token by ``[token]``: in /f/…, /u/… or /me/view/… paths however they are
    percent-encoded ("/%66/…", "/f%2F…"), and anything shaped like a signed token anywhere."""
    if "%" in text:
        decoded = _decoded(text)
        if TOKEN_PATH.search(decoded) or SIGNED_TOKEN.search(decoded):
            text = decoded
    text = TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/[token]", text)
    return SIGNED_TOKEN.sub("[token]", text)


class TokenRedactingFilter(logging.Filter):
    """A logging filter that redacts tokens from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            changed = {key: redact(value) for key, value in record.args.items()
                       if isinstance(value, str) and redact(value) != value}
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
