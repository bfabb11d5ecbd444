"""Delivering the outbox over one SMTP connection (or into the dev mailbox), committing message by message.

Each e-mail is marked sent in its own commit as soon as the server accepted it, before the next
one goes out, so a sender killed at any point repeats at most the one message in flight, and
its Message-ID (derived from the outbox row) lets the receiver drop that repeat.
"""
from __future__ import annotations

import logging
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address

from flask import current_app

from ..extensions import db, mail
from ..mail import OutgoingItem, load_outgoing, render_items
from ..mail.message import email_message, sender_address
from ..models import NOTICE_KINDS, REQUEST_KINDS
from ..services.candidate_view import resolve_view_link_requests
from ..services.suppressions import suppress_address, suppression_scopes
from ..timeutil import utcnow
from .outbox import (
    MAX_RETRY_DELAY,
    cancel,
    claim_due,
    fail_for_good,
    keep_in_dev_mailbox,
    mark_sent,
    queued_count,
    record_failure,
    release,
    retry_delay,
)
from .refusals import SAME_ANSWER_STOPS_AFTER, Refusal, RefusalWatch, refusal_of

__all__ = ["MAX_RETRY_DELAY", "DeliveryResult", "MailServerRefusing", "MailServerUnavailable", "deliver_queued",
           "queued_count", "retry_delay"]
log = logging.getLogger(__name__)


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


class MailServerRefusing(MailServerUnavailable):
    """The server gave every recipient of the run's last messages the same refusal: its fault or its
    settings', not the recipients'. The batch stopped; nothing failed for good, nothing suppressed."""


@dataclass
class _Batch:
    """What a run loaded once for all its messages."""

    items: dict[int, OutgoingItem]
    scopes: dict[str, str]  # the suppression scope of each address that has one
    clock: datetime | None  # the caller's "now" (tests move it); None: the real time
    result: DeliveryResult
    server: str = "dev mailbox"
    sender: Address | None = None  # set when the e-mails go over SMTP
    refusals: RefusalWatch = field(default_factory=RefusalWatch)


def deliver_queued(limit: int | None = None, on_progress: Callable[[int], None] | None = None,
                   now: datetime | None = None, newer_than: int | None = None) -> DeliveryResult:
    """Send the due queued messages over one SMTP connection; commit each one as it is accepted.

    A message the server refuses, or that cannot be rendered, records its error and is retried
    later (or fails, on a permanent refusal that is the recipient's: see jobs.refusals) without
    stopping the batch. Raises MailServerUnavailable when the server cannot be reached, refuses the
    login or drops the connection, and MailServerRefusing when it refuses every recipient the same
    way; nothing is lost either way: unsent rows stay queued. ``newer_than``: only the rows queued
    after that outbox id (what one web request queued, in dev mode).
    """
    result = DeliveryResult()
    if resolve_view_link_requests():  # the look-ups that /me leaves to the sender
        db.session.commit()
    units = claim_due(limit, now or utcnow(), newer_than)
    if units:
        items = load_outgoing([outbox_id for unit in units for outbox_id in unit])
        batch = _Batch(items, suppression_scopes({item.to_address for item in items.values()}), now, result)
        if current_app.config.get("DEV_MAILBOX"):
            _deliver_units(None, units, batch, on_progress)
        else:
            with _smtp_host(units, batch) as host:
                _deliver_units(host, units, batch, on_progress)
    result.left = queued_count()
    return result


@contextmanager
def _smtp_host(units: list[list[int]], batch: _Batch) -> Iterator[smtplib.SMTP | None]:
    """Flask-Mail's connection (its SSL, STARTTLS and login settings), for smtplib's ``send_message``.

    Its host is None under MAIL_SUPPRESS_SEND: the e-mails are then kept as in the dev mailbox.
    """
    config = current_app.config
    batch.server = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    batch.sender = sender_address(current_app.extensions["mail"].default_sender)
    stack = ExitStack()
    with _socket_timeout(config["MAIL_TIMEOUT_SECONDS"]):
        try:
            connection = stack.enter_context(mail.connect())
        except smtplib.SMTPAuthenticationError as exc:
            release([outbox_id for unit in units for outbox_id in unit])
            raise MailServerUnavailable(
                f"the SMTP server {batch.server} refused the login ({exc.smtp_code} {_text(exc.smtp_error)}): "
                "check MAIL_USERNAME and MAIL_PASSWORD; nothing was sent, every e-mail stays queued", batch.result,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            release([outbox_id for unit in units for outbox_id in unit])
            raise MailServerUnavailable(f"cannot connect to the SMTP server {batch.server}: {exc}",
                                        batch.result) from exc
        try:
            yield connection.host
        finally:
            with suppress(OSError, smtplib.SMTPException):  # the messages are committed: a failing QUIT loses nothing
                stack.close()


def _deliver_units(host: smtplib.SMTP | None, units: list[list[int]], batch: _Batch,
                   on_progress: Callable[[int], None] | None) -> None:
    pacer = _Pacer(current_app.config.get("MAIL_MAX_PER_SECOND", 0))
    for index, unit in enumerate(units):
        pacer.wait()
        try:
            _deliver_unit(host, unit, batch)
        except MailServerUnavailable:
            release([outbox_id for rest in units[index + 1:] for outbox_id in rest])
            raise
        if on_progress:
            on_progress(len(unit))
    _settle(batch.refusals.at_end(), batch)


def _stopped(item: OutgoingItem, batch: _Batch) -> bool:
    """Whether the address asked to stop this kind of mail (a view link asked for is always sent; an
    escalation to staff stops only when they unsubscribed from everything)."""
    scope = batch.scopes.get(item.to_address)
    if scope is None or item.kind not in (*REQUEST_KINDS, *NOTICE_KINDS, "escalation"):
        return False
    return scope == "all" or item.kind in REQUEST_KINDS


def _deliver_unit(host: smtplib.SMTP | None, ids: list[int], batch: _Batch) -> None:
    """Render and send one e-mail (one row, or a contact's digest of several); commit its outcome."""
    items = [batch.items[outbox_id] for outbox_id in ids if outbox_id in batch.items]
    items = [item for item in items if item.status == "queued"]
    if not items:
        return
    ids, result = [item.outbox_id for item in items], batch.result
    if _stopped(items[0], batch):
        cancel(ids, "address unsubscribed")
        db.session.commit()
        return
    now = batch.clock or utcnow()
    try:
        email = render_items(items, issued_at=now.replace(microsecond=0))
        message = email_message(email, batch.sender) if host is not None else None
    except Exception as exc:  # a bad row (or a line break in a header) must not stop the batch
        log.error("outbox messages %s cannot be rendered", ids, exc_info=exc)
        db.session.rollback()
        record_failure(ids, f"cannot be rendered: {type(exc).__name__}: {exc}", now, permanent=True)
        db.session.commit()
        result.failed += len(ids)
        return
    if host is None:
        keep_in_dev_mailbox(ids, email)
    else:
        try:
            host.send_message(message)
        except Exception as exc:
            db.session.rollback()
            _record_refusal(items, exc, now, batch)
            return
    mark_sent(items, now)
    db.session.commit()
    result.sent += len(ids)
    result.emails += 1
    if host is not None:
        _settle(batch.refusals.accepted_one(), batch)


def _record_refusal(items: list[OutgoingItem], exc: Exception, now: datetime, batch: _Batch) -> None:
    """The server refused the e-mail, or the connection failed: record it, and stop on a lost
    connection or on a server that refuses everyone alike."""
    ids = [item.outbox_id for item in items]
    batch.result.failed += len(ids)
    if _connection_lost(exc):
        record_failure(ids, f"connection lost: {exc}", now)
        db.session.commit()
        raise MailServerUnavailable(f"the SMTP server {batch.server} dropped the connection: {exc}",
                                    batch.result) from exc
    refusal = refusal_of(items, exc)
    log.warning("outbox messages %s not sent: %s", ids, refusal.error)
    if refusal.answer is None:  # not the server's answer (a header, an address it cannot take): final now
        record_failure(ids, refusal.error, now, permanent=refusal.permanent)
        db.session.commit()
        return
    # Held: retried later, as a temporary refusal, until another message shows the server accepts mail.
    record_failure(ids, refusal.error, now)
    db.session.commit()
    if batch.refusals.refused(refusal):
        raise MailServerRefusing(
            f"the SMTP server {batch.server} refused {SAME_ANSWER_STOPS_AFTER} e-mails in a row, to different "
            f"addresses, with the same answer ({batch.refusals.server_answer}). That is the server's refusal or "
            "a setting's (MAIL_SERVER, MAIL_USERNAME, MAIL_PASSWORD, MAIL_DEFAULT_SENDER), not the recipients': "
            "the run stopped, no e-mail failed for good, no address was suppressed, and the unsent e-mails stay "
            "queued. Once it is fixed, `flask --app wsgi feedback outbox retry` makes them due now", batch.result)


def _settle(refusals: list[Refusal], batch: _Batch) -> None:
    """Held refusals turned out to be the recipients' own: a 5xx fails for good, and a 5xx refusal of
    the recipient suppresses the address."""
    final = [refusal for refusal in refusals if refusal.permanent]
    if not final:
        return
    now = batch.clock or utcnow()
    for refusal in final:
        fail_for_good([item.outbox_id for item in refusal.items], now)
        if refusal.bad_address:
            suppress_address(refusal.address, reason="bounced")
            batch.scopes[refusal.address] = "all"
    db.session.commit()


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _connection_lost(exc: Exception) -> bool:
    """True for a dropped or failing connection; False for a refusal of this one message.

    Every smtplib error is an OSError, so a refused recipient must not be taken for a network error.
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected) or getattr(exc, "smtp_code", None) == 421:
        return True  # 421: the server is closing the connection
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


@contextmanager
def _socket_timeout(seconds: float):
    # Flask-Mail opens its connection without a timeout: the default one applies.
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
