"""Delivering the outbox over SMTP (or into the dev mailbox), committing message by message."""
from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, mail
from ..mail import render_outbox_message
from ..models import OutboxMessage
from ..services.suppressions import is_suppressed
from ..timeutil import utcnow

log = logging.getLogger(__name__)
RETRY_DELAY = timedelta(minutes=5)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    left: int = 0

    def line(self) -> str:
        return f"sent: {self.sent}, failed: {self.failed}, left: {self.left}"


class MailServerUnavailable(RuntimeError):
    """The SMTP server could not be reached or dropped the connection; the batch stopped."""

    def __init__(self, message: str, result: DeliveryResult) -> None:
        super().__init__(message)
        self.result = result


def queued_count(now: datetime | None = None) -> int:
    """How many messages wait in the outbox (due now or later)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued"))


def _due_ids(limit: int | None, now: datetime) -> list[int]:
    query = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def _mark_sent(outbox: OutboxMessage, now: datetime) -> None:
    outbox.status = "sent"
    outbox.sent_at = now
    outbox.attempts += 1
    outbox.last_error = None
    request = outbox.request
    if request is not None and request.first_sent_at is None:
        request.first_sent_at = now


def _record_failure(outbox: OutboxMessage, error: str, now: datetime, permanent: bool = False) -> None:
    outbox.attempts += 1
    outbox.last_error = error[:1000]
    if permanent:
        outbox.status = "failed"
    else:
        outbox.next_attempt_at = now + RETRY_DELAY


def _smtp_error(exc: Exception) -> tuple[str, bool]:
    """A one-line description of an SMTP error, and whether it is permanent for this message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"recipient refused: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}", code >= 500
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"refused: {exc.smtp_code} {text}", exc.smtp_code >= 500
    return f"{type(exc).__name__}: {exc}", False


def _connection_lost(exc: Exception) -> bool:
    """True for a dropped or failing connection; False for a refusal of this one message.

    Every smtplib error is an OSError, so a refused recipient must not be taken for a network error.
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


@contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _deliver_to_dev_mailbox(ids: list[int], result: DeliveryResult) -> None:
    for outbox_id in ids:
        outbox = db.session.get(OutboxMessage, outbox_id)
        message = render_outbox_message(outbox)
        outbox.subject = message.subject
        outbox.body_text = message.body
        outbox.body_html = message.html
        _mark_sent(outbox, utcnow())
        db.session.commit()
        result.sent += 1


def deliver_queued(limit: int | None = None, on_progress: Callable[[int], None] | None = None) -> DeliveryResult:
    """Send the due queued messages over one SMTP connection; commit each one as it is accepted.

    A message the server refuses, or that cannot be rendered, records its error and stays queued
    (or fails, on a permanent refusal) without stopping the batch. Raises MailServerUnavailable
    when the server cannot be reached or drops the connection; nothing is lost either way.
    """
    result = DeliveryResult()
    ids = _due_ids(limit, utcnow())
    if current_app.config.get("DEV_MAILBOX"):
        _deliver_to_dev_mailbox(ids, result)
        result.left = queued_count()
        return result
    if not ids:
        result.left = queued_count()
        return result

    server = f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}"
    with _socket_timeout(current_app.config["MAIL_TIMEOUT_SECONDS"]):
        try:
            connection = mail.connect().__enter__()
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerUnavailable(f"cannot connect to the SMTP server {server}: {exc}", result) from exc
        try:
            for outbox_id in ids:
                _deliver_one(connection, outbox_id, result, server)
                if on_progress:
                    on_progress(1)
        finally:
            try:
                connection.__exit__(None, None, None)
            except (OSError, smtplib.SMTPException):
                pass  # the messages are committed; a failing QUIT loses nothing
    result.left = queued_count()
    return result


def _deliver_one(connection, outbox_id: int, result: DeliveryResult, server: str) -> None:  # noqa: ANN001
    outbox = db.session.get(OutboxMessage, outbox_id)
    now = utcnow()
    if is_suppressed(outbox.to_address):
        outbox.status = "cancelled"
        outbox.last_error = "address unsubscribed"
        db.session.commit()
        return
    try:
        message = render_outbox_message(outbox)
    except Exception as exc:  # a bad row must not stop the batch
        log.exception("outbox message %s cannot be rendered", outbox_id)
        _record_failure(outbox, f"cannot be rendered: {type(exc).__name__}: {exc}", now, permanent=True)
        db.session.commit()
        result.failed += 1
        return
    try:
        connection.send(message)
    except Exception as exc:
        db.session.rollback()
        outbox = db.session.get(OutboxMessage, outbox_id)
        if _connection_lost(exc):
            _record_failure(outbox, f"connection lost: {exc}", now)
            db.session.commit()
            result.failed += 1
            raise MailServerUnavailable(f"the SMTP server {server} dropped the connection: {exc}", result) from exc
        # refused recipient, bad header, encoding: this row only
        error, permanent = _smtp_error(exc)
        _record_failure(outbox, error, now, permanent=permanent)
        db.session.commit()
        log.warning("outbox message %s not sent: %s", outbox_id, error)
        result.failed += 1
        return
    _mark_sent(outbox, now)
    db.session.commit()
    result.sent += 1
