"""List and read the messages the dev-mode sender kept instead of mailing them."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template, request

from ..extensions import db
from ..models import OutboxMessage
from ..query_args import page_arg
from . import bp

PAGE_SIZE = 50


@bp.before_request
def dev_mode_only() -> None:
    """The mailbox holds live links: it exists only in dev mode."""
    if not current_app.config.get("DEV_MAILBOX"):
        abort(404)


@bp.route("/")
def index():
    """The kept messages, newest first, filterable by recipient."""
    page = page_arg(request.args)
    recipient = request.args.get("to", "").strip()
    query = sa.select(OutboxMessage).where(OutboxMessage.body_text.is_not(None))
    if recipient:
        query = query.where(OutboxMessage.to_address.contains(recipient.lower()))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    messages = db.session.scalars(
        query.order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    queued = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued")
    )
    return render_template(
        "devmail/index.html", messages=messages, total=total, page=page, page_size=PAGE_SIZE,
        recipient=recipient, queued=queued,
    )


@bp.route("/<int:message_id>")
def show(message_id: int):
    """One message: headers, the plain-text part, and the HTML part in a sandboxed frame."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.body_text is None:
        abort(404)
    return render_template("devmail/show.html", message=message)


@bp.route("/<int:message_id>/html")
def html_part(message_id: int):
    """The HTML part as the recipient's mail program would show it."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.body_html is None:
        abort(404)
    response = Response(message.body_html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
