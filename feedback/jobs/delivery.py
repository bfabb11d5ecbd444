"""Delivering the outbox over SMTP (or into the dev mailbox), committing message by message.

Rows are claimed before sending (``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
several senders never take the same row, and a sender killed mid-batch leaves its claims to run
out: the next run delivers them. Each message is marked sent in its own commit once the server
accepted it, at the latest while the server answers the next message's MAIL FROM (see
sent_marks.SentMarks), so a crash repeats at most the one message in flight, and its
deterministic Message-ID lets the receiver drop that repeat. Each message is rendered while the
server takes in the one before it.
"""
from __future__ import annotations

import logging
import random
import smtplib
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, mail
from ..mail import OutgoingEmail, OutgoingItem, load_outgoing, render_items
from ..mail.mime import MessageWriter, recipient
from ..mail.smtp import read_verdict, send_until_verdict
from ..models import FeedbackRequest, OutboxMessage
from ..services.suppressions import suppress_address, suppressed_addresses
from ..timeutil import utcnow
from .sent_marks import SentMarks, mark_sent

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


def _record_failure(ids: list[int], error: str, now: datetime, permanent: bool = False) -> None:
    """A failed attempt: retried later with backoff, or failed for good (permanent, or too many tries)."""
    attempts = OutboxMessage.attempts + 1
    values = {"attempts": attempts, "last_error": error[:1000], "claimed_until": None}
    if permanent:
        values["status"] = "failed"
    else:
        values["status"] = sa.case((attempts >= MAX_ATTEMPTS, "failed"), else_=OutboxMessage.status)
    for outbox_id, tried in db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.attempts).where(OutboxMessage.id.in_(ids))
    ).all():
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == outbox_id)
            .values(**values, next_attempt_at=now + retry_delay(tried + 1))
            .execution_options(synchronize_session=False)
        )


def _cancel(ids: list[int], reason: str) -> None:
    db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
        .values(status="cancelled", last_error=reason, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


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
    items = load_outgoing([outbox_id for unit in units for outbox_id in unit])
    suppressed = suppressed_addresses({item.to_address for item in items.values()})
    if current_app.config.get("DEV_MAILBOX"):
        batch = _Batch(items, suppressed, now)
        for unit in units:
            _deliver_unit(None, unit, result, "dev mailbox", batch)
            if on_progress:
                on_progress(len(unit))
        result.left = queued_count()
        return result
    db.session.commit()  # end the read transaction: the sent marks go through a connection of their own

    server = f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}"
    pacer = _Pacer(current_app.config.get("MAIL_MAX_PER_SECOND", 0))
    with _socket_timeout(current_app.config["MAIL_TIMEOUT_SECONDS"]):
        try:
            connection = mail.connect().__enter__()
        except (OSError, smtplib.SMTPException) as exc:
            _release([outbox_id for unit in units for outbox_id in unit])
            raise MailServerUnavailable(f"cannot connect to the SMTP server {server}: {exc}", result) from exc
        marks = None
        try:
            marks = SentMarks()
            batch = _Batch(items, suppressed, now, marks, MessageWriter(current_app.extensions["mail"].default_sender))
            for index, unit in enumerate(units):
                pacer.wait()
                try:
                    _deliver_unit(connection, unit, result, server, batch,
                                  next_ids=units[index + 1] if index + 1 < len(units) else None)
                except MailServerUnavailable:
                    _release([outbox_id for rest in units[index + 1:] for outbox_id in rest])
                    raise
                if on_progress:
                    on_progress(len(unit))
        finally:
            if marks is not None:
                marks.close()
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


@dataclass
class _Batch:
    """What a run loaded or set up once for all its messages."""

    items: dict[int, OutgoingItem]
    suppressed: set[str]
    clock: datetime | None  # the caller's "now" (tests move it); None: the real time
    marks: SentMarks | None = None  # None (the dev mailbox): marks go through the session
    writer: MessageWriter | None = None  # None: the dev mailbox, nothing goes over SMTP
    rendered: dict[tuple[int, ...], _Rendered] = field(default_factory=dict)  # rendered ahead


@dataclass
class _Rendered:
    """One unit's e-mail, rendered (or the error that stopped it), and the time it was rendered at."""

    now: datetime
    email: OutgoingEmail | None = None
    payload: bytes | None = None
    error: Exception | None = None


def _render_unit(batch: _Batch, items: list[OutgoingItem]) -> _Rendered:
    """The e-mail for these rows, and its bytes for SMTP; errors are kept, not raised."""
    rendered = _Rendered(now=batch.clock or utcnow())
    try:
        rendered.email = render_items(items, issued_at=rendered.now.replace(microsecond=0))
        if batch.writer is not None:
            email = rendered.email
            rendered.payload = batch.writer.message_bytes(email.to_address, email.subject, email.body, email.html,
                                                          email.message_id, email.unsubscribe_url)
    except Exception as exc:  # a bad row (or a line break in a header) must not stop the batch
        rendered.error = exc
    return rendered


def _unit_items(batch: _Batch, ids: list[int]) -> list[OutgoingItem]:
    items = [batch.items[outbox_id] for outbox_id in ids if outbox_id in batch.items]
    return [item for item in items if item.status == "queued"]


def _render_ahead(batch: _Batch, ids: list[int] | None) -> None:
    """Render the next e-mail while the server takes in the current one."""
    if ids is None:
        return
    items = _unit_items(batch, ids)
    if items and items[0].to_address not in batch.suppressed:
        batch.rendered[tuple(ids)] = _render_unit(batch, items)


def _send_bytes(connection, batch: _Batch, email: OutgoingEmail, payload: bytes,
                next_ids: list[int] | None) -> None:
    """Hand one message to the SMTP server over the batch's connection (as Flask-Mail's send would).

    The previous e-mail's mark is committed while the server answers MAIL FROM, and the next
    e-mail is rendered while it takes in this one.
    """
    if connection.host is None:  # MAIL_SUPPRESS_SEND
        return
    send_until_verdict(connection.host, batch.writer.envelope_sender, recipient(email.to_address), payload,
                       while_mail_from_pending=batch.marks.flush)
    _render_ahead(batch, next_ids)
    read_verdict(connection.host)
    connection.num_emails += 1
    if connection.num_emails == connection.mail.max_emails:  # MAIL_MAX_EMAILS: a new connection now and then
        connection.num_emails = 0
        connection.host.quit()
        connection.host = connection.configure_host()


def _deliver_unit(connection, ids: list[int], result: DeliveryResult, server: str, batch: _Batch,
                  next_ids: list[int] | None = None) -> None:
    """Render and send one e-mail (one row, or a contact's digest of several); commit its outcome."""
    items = _unit_items(batch, ids)
    rendered = batch.rendered.pop(tuple(ids), None)
    if not items:
        return
    ids = [item.outbox_id for item in items]
    if items[0].to_address in batch.suppressed:
        _cancel(ids, "address unsubscribed")
        db.session.commit()
        return
    rendered = rendered or _render_unit(batch, items)
    now, email, payload = rendered.now, rendered.email, rendered.payload
    if rendered.error is not None:
        exc = rendered.error
        log.error("outbox messages %s cannot be rendered", ids, exc_info=exc)
        db.session.rollback()
        _record_failure(ids, f"cannot be rendered: {type(exc).__name__}: {exc}", now, permanent=True)
        db.session.commit()
        result.failed += len(ids)
        return
    if batch.writer is None:  # dev mailbox: keep the rendered message instead of sending it
        db.session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(subject=email.subject, body_text=email.body, body_html=email.html)
            .execution_options(synchronize_session=False)
        )
        mark_sent(db.session.connection(), items, now)
        db.session.commit()
        result.sent += len(ids)
        result.emails += 1
        return
    try:
        _send_bytes(connection, batch, email, payload, next_ids)
    except sa.exc.SQLAlchemyError:
        raise  # the previous e-mail's mark failed: a database problem, not this message's
    except Exception as exc:
        batch.marks.flush()  # if the failure came before MAIL FROM went out
        db.session.rollback()
        if _connection_lost(exc):
            _record_failure(ids, f"connection lost: {exc}", now)
            db.session.commit()
            result.failed += len(ids)
            raise MailServerUnavailable(f"the SMTP server {server} dropped the connection: {exc}", result) from exc
        error, permanent, bad_address = _smtp_error(exc)
        _record_failure(ids, error, now, permanent=permanent)
        if bad_address:
            suppress_address(items[0].to_address, reason="bounced")
            batch.suppressed.add(items[0].to_address)
        db.session.commit()
        log.warning("outbox messages %s not sent: %s", ids, error)
        result.failed += len(ids)
        return
    batch.marks.defer(items, now)
    result.sent += len(ids)
    result.emails += 1
