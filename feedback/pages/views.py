"""Home page, ``/healthz`` and ``/favicon.ico``."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, url_for
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from . import bp

log = logging.getLogger(__name__)


@bp.route("/")
def home():
    """What the service is, and in dev mode the way to the dev mailbox."""
    return render_template("pages/home.html", dev_mailbox=current_app.config.get("DEV_MAILBOX", False))


@bp.route("/favicon.ico")
def favicon():
    """Browsers and feed readers ask for /favicon.ico whatever the page says: the icon, not a 404."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/healthz")
def healthz():
    """200 when the app and its database answer, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
