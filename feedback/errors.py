"""Error pages in the site's look, with the status code that fits."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

log = logging.getLogger(__name__)

# Shown in the reader's language (lazy: turned into text when a page is drawn).
MESSAGES = {
    400: (_l("Something in that request was not right"), _l("Go back, reload the page and try again.")),
    403: (_l("This page is not open to your account"),
          _l("It belongs to another company or needs another role. Go back to your own pages, sign in with "
             "the account that has access, or ask an admin of this service to give you access.")),
    404: (_l("Page not found"), _l("The address may be mistyped, or the link incomplete. Check it and try again.")),
    405: (_l("That is not allowed here"), _l("This address does not take that kind of request.")),
    410: (_l("This page is gone"), _l("It is no longer available.")),
    413: (_l("That was too large"), _l("Send something smaller.")),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing you did caused this. Please try again in a few minutes.")),
    503: (_l("The service is not available right now"), _l("Please try again in a few minutes.")),
}


def _page(code: int, title: str | None = None, detail: str | None = None):
    default_title, default_detail = MESSAGES.get(code, (_("Error %(code)s", code=code), ""))
    from .security import referrer_policy

    return render_template("errors/error.html", code=code, title=str(title or default_title),
                           detail=str(detail or default_detail), referrer=referrer_policy(request.path)), code


def _is_api() -> bool:
    """The JSON API and the ATS connectors' hooks: machines read these answers."""
    return request.path == "/api" or request.path.startswith(("/api/", "/hooks/"))


def _json_error(code: int, title: str, detail: str):
    """Under /api and /hooks every error is JSON, never an HTML page."""
    response = jsonify({"error": {"status": code, "title": title, "detail": detail}})
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="feedback"'
    return response


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _page(400, _("This form has expired"), _("Go back, reload the page and send the form again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        # Headers the error carries (Allow on a 405, Retry-After, WWW-Authenticate…), not its HTML body's.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        if _is_api():
            response = _json_error(error.code, error.name, error.description)
            response.headers.extend(headers)
            return response
        # abort(400, "…") carries a message meant for the person; werkzeug's defaults do not.
        detail = error.description if error.description != type(error).description else None
        body, code = _page(error.code, detail=detail)
        return body, code, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("unhandled error")
        db.session.rollback()
        if _is_api():
            return _json_error(500, "Internal Server Error", "Something went wrong on our side; try again later.")
        return _page(500)
