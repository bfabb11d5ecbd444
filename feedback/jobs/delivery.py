"""Delivering the outbox over SMTP (or into the dev mailbox), committing message by message.

Rows are claimed before sending (``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several senders never take the same row, and a sender killed mid-batch leaves its claims to run
out: the next run delivers them. Each message is marked sent in its own commit as soon as the
server accepted it, so a crash repeats at most the one message in flight, and its deterministic
Message-ID lets the receiver drop that repeat.
"""
from __future__ import annotations

import logging
import random
import smtplib
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, mail
from ..mail import render_outbox_messages
from ..models import FeedbackRequest, OutboxMessage
from ..services.suppressions import suppress_address, suppressed_addresses
from ..timeutil import utcnow

log = logging.getLogger(__name__)
CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 10
DIGEST_KINDS = ("invitation", "reminder")


@dataclass
class DeliveryResult:
    """Counts of outbox rows (one per request and kind); ``emails`` counts the e-mails they went in."""

    sent: int = 0
    failed: int = 0
    left: int = 0
    emails: int = 0

    def line(self) -> str:
        return f"sent: {self.sent}, failed: {self.failed}, left: {self.left} ({self.emails} e-mails delivered)"


class MailServerUnavailable(RuntimeError):
    """The SMTP server could not be reached or dropped the connection; the batch stopped."""

    def __init__(self, message: str, result: DeliveryResult) -> None:
        super().__init__(message)
        self.result = result


def queued_count() -> int:
    """How many messages wait in the outbox (due now or later)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued")
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1, 2, 4 … minutes, at most 6 hours."""
    base = min(FIRST_RETRY_DELAY * (2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)
    return base * random.uniform(0.5, 1.5)


def claim_due(limit: int | None, now: datetime) -> list[list[int]]:
    """Claim the due queued rows and group them into e-mails (lists of outbox ids). Commits.

    A company contact's invitations (or reminders) in one run become one digest e-mail.
    """
    query = (
        sa.select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.to_address, FeedbackRequest.audience)
        .outerjoin(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.id)
    )
    if limit is not None:
        query = query.limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(of=OutboxMessage, skip_locked=True)
    rows = db.session.execute(query).all()
    if rows:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_([row.id for row in rows]))
            .values(claimed_until=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    units: dict[tuple, list[int]] = {}
    for row in rows:
        if row.audience == "company" and row.kind in DIGEST_KINDS:
            key = ("digest", (row.to_address or "").lower(), row.kind)
        else:
            key = ("single", row.id)
        units.setdefault(key, []).append(row.id)
    return list(units.values())


def _load(ids: list[int]) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)))


def _mark_sent(rows: list[OutboxMessage], now: datetime) -> None:
    for outbox in rows:
        outbox.status = "sent"
        outbox.sent_at = now
        outbox.attempts += 1
        outbox.last_error = None
        outbox.claimed_until = None
        request = outbox.request
        if request is not None and request.first_sent_at is None:
            request.first_sent_at = now


def _record_failure(rows: list[OutboxMessage], error: str, now: datetime, permanent: bool = False) -> None:
    for outbox in rows:
        outbox.attempts += 1
        outbox.last_error = error[:1000]
        outbox.claimed_until = None
        if permanent or outbox.attempts >= MAX_ATTEMPTS:
            outbox.status = "failed"
        else:
            outbox.next_attempt_at = now + retry_delay(outbox.attempts)


def _cancel(rows: list[OutboxMessage], reason: str) -> None:
    for outbox in rows:
        outbox.status = "cancelled"
        outbox.last_error = reason
        outbox.claimed_until = None


def _smtp_error(exc: Exception) -> tuple[str, bool, bool]:
    """(one-line description, permanent for this message, the address itself is bad)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"recipient refused: {code} {text}", code >= 500, code >= 500
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"refused: {exc.smtp_code} {text}", exc.smtp_code >= 500, False
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return f"{type(exc).__name__}: {exc}", False, False
    # A header or encoding problem: retrying the same row cannot help.
    return f"cannot be sent: {type(exc).__name__}: {exc}", True, False


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


class _Pacer:
    """Keeps the sending rate under MAIL_MAX_PER_SECOND (0: no limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def deliver_queued(limit: int | None = None, on_progress: Callable[[int], None] | None = None,
                   now: datetime | None = None) -> DeliveryResult:
    """Send the due queued messages over one SMTP connection; commit each one as it is accepted.

    A message the server refuses, or that cannot be rendered, records its error and is retried
    later (or fails, on a permanent refusal) without stopping the batch. Raises
    MailServerUnavailable when the server cannot be reached or drops the connection; nothing is
    lost either way: unsent rows stay queued.
    """
    result = DeliveryResult()
    units = claim_due(limit, now or utcnow())
    if not units:
        result.left = queued_count()
        return result
    if current_app.config.get("DEV_MAILBOX"):
        for unit in units:
            _deliver_unit(None, unit, result, "dev mailbox", now)
            if on_progress:
                on_progress(len(unit))
        result.left = queued_count()
        return result

    server = f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}"
    pacer = _Pacer(current_app.config.get("MAIL_MAX_PER_SECOND", 0))
    with _socket_timeout(current_app.config["MAIL_TIMEOUT_SECONDS"]):
        try:
            connection = mail.connect().__enter__()
        except (OSError, smtplib.SMTPException) as exc:
            _release([outbox_id for unit in units for outbox_id in unit])
            raise MailServerUnavailable(f"cannot connect to the SMTP server {server}: {exc}", result) from exc
        try:
            for index, unit in enumerate(units):
                pacer.wait()
                try:
                    _deliver_unit(connection, unit, result, server, now)
                except MailServerUnavailable:
                    _release([outbox_id for rest in units[index + 1:] for outbox_id in rest])
                    raise
                if on_progress:
                    on_progress(len(unit))
        finally:
            try:
                connection.__exit__(None, None, None)
            except (OSError, smtplib.SMTPException):
                pass  # the messages are committed; a failing QUIT loses nothing
    result.left = queued_count()
    return result


def _release(ids: list[int]) -> None:
    """Give claimed but untried rows back at once (the server went away before their turn)."""
    if ids:
        db.session.rollback()
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _deliver_unit(connection, ids: list[int], result: DeliveryResult, server: str,  # noqa: ANN001
                  clock: datetime | None = None) -> None:
    """Render and send one e-mail (one row, or a contact's digest of several); ``clock``: the caller's now."""
    rows = [row for row in _load(ids) if row.status == "queued"]
    if not rows:
        return
    now = clock or utcnow()
    if suppressed_addresses([rows[0].to_address]):
        _cancel(rows, "address unsubscribed")
        db.session.commit()
        return
    try:
        message = render_outbox_messages(rows)
    except Exception as exc:  # a bad row must not stop the batch
        log.exception("outbox messages %s cannot be rendered", ids)
        _record_failure(rows, f"cannot be rendered: {type(exc).__name__}: {exc}", now, permanent=True)
        db.session.commit()
        result.failed += len(rows)
        return
    if connection is None:  # dev mailbox: keep the rendered message instead of sending it
        for outbox in rows:
            outbox.subject, outbox.body_text, outbox.body_html = message.subject, message.body, message.html
        _mark_sent(rows, now)
        db.session.commit()
        result.sent += len(rows)
        result.emails += 1
        return
    try:
        connection.send(message)
    except Exception as exc:
        db.session.rollback()
        rows = _load(ids)
        if _connection_lost(exc):
            _record_failure(rows, f"connection lost: {exc}", now)
            db.session.commit()
            result.failed += len(rows)
            raise MailServerUnavailable(f"the SMTP server {server} dropped the connection: {exc}", result) from exc
        error, permanent, bad_address = _smtp_error(exc)
        _record_failure(rows, error, now, permanent=permanent)
        if bad_address:
            suppress_address(rows[0].to_address, reason="bounced")
        db.session.commit()
        log.warning("outbox messages %s not sent: %s", ids, error)
        result.failed += len(rows)
        return
    _mark_sent(rows, now)
    db.session.commit()
    result.sent += len(rows)
    result.emails += 1
