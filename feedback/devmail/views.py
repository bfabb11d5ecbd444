"""List and read the messages the dev-mode sender kept instead of mailing them; in dev mode, deliver the
mail a page queued at once, so that it is here without another command."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Response, abort, current_app, g, render_template, request
from flask_babel import format_datetime

from ..extensions import db
from ..jobs.delivery import deliver_queued
from ..jobs.outbox import last_outbox_id
from ..models import FeedbackRequest, OutboxMessage
from ..query_args import page_arg
from . import bp

PAGE_SIZE = 50
log = logging.getLogger(__name__)


@bp.context_processor
def formats() -> dict:
    """The mailbox's moments as it writes them, "2026-11-05 09:03" (UTC, Babel's pattern, not rebased)."""
    return {"utc_minute": lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm", rebase=False)}


@bp.before_request
def dev_mode_only() -> None:
    """The mailbox holds live links: it exists only in dev mode."""
    if not current_app.config.get("DEV_MAILBOX"):
        abort(404)


@bp.before_app_request
def note_the_outbox() -> None:
    """Dev mode: where the outbox stood before the request, to deliver what the request queues."""
    if current_app.config.get("DEV_MAILBOX"):
        g.outbox_before = last_outbox_id()


@bp.after_app_request
def deliver_what_the_request_queued(response: Response) -> Response:
    """Dev mode: the mail a page queued (a fresh link, a /me link…) goes to the dev mailbox now, by the
    delivery `feedback send` runs, limited to the rows this request queued. Production leaves it to
    the worker (or `feedback send`)."""
    before = g.pop("outbox_before", None)
    if before is None:
        return response
    db.session.rollback()  # only what the request committed is delivered
    if last_outbox_id() > before:
        try:
            deliver_queued(newer_than=before)
        except Exception:  # the page the person asked for is not lost over the dev mailbox
            db.session.rollback()
            log.exception("the mail this request queued stays queued: run `flask --app wsgi feedback send`")
    return response


@bp.route("/")
def index():
    """The kept messages, newest first, paged, filterable by recipient; a survey link already answered is marked."""
    page = page_arg(request.args)
    recipient = request.args.get("to", "").strip()
    query = sa.select(OutboxMessage.id).where(OutboxMessage.body_text.is_not(None))
    if recipient:
        query = query.where(OutboxMessage.to_address.contains(recipient.lower()))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    last_page = max(1, -(-total // PAGE_SIZE))
    rows = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.sent_at,
                  FeedbackRequest.answered_at)
        .outerjoin(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .where(OutboxMessage.id.in_(query.order_by(OutboxMessage.id.desc())
                                    .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE).scalar_subquery()))
        .order_by(OutboxMessage.id.desc())
    ).all()
    queued = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued")
    )
    first = (page - 1) * PAGE_SIZE + 1
    return render_template(
        "devmail/index.html", messages=rows, total=total, page=page, last_page=last_page,
        first=first, last=first + len(rows) - 1, recipient=recipient, queued=queued,
    )


@bp.route("/<int:message_id>")
def show(message_id: int):
    """One message: headers, whether its link was used, the plain-text part, and the HTML part in a sandboxed frame."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.body_text is None:
        abort(404)
    answered_at = message.request.answered_at if message.request is not None else None
    return render_template("devmail/show.html", message=message, answered_at=answered_at)


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
