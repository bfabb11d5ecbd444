"""A long-running loop that sends due mail and webhooks, reads what ATS connectors left to read, and
queues reminders, until SIGTERM or SIGINT."""
from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from ..extensions import db
from ..services.escalations import queue_due_escalations
from ..services.reminders import queue_due_reminders
from ..timeutil import utcnow
from .connector_sync import sync_pending
from .delivery import MailServerUnavailable, deliver_queued
from .webhook_delivery import deliver_due

log = logging.getLogger(__name__)


def run_worker(send_every: float, remind_every: float, echo: Callable[[str], None],
               stop: threading.Event | None = None) -> None:
    """Send every ``send_every`` seconds and remind (and escalate) every ``remind_every``; stop cleanly on a signal.

    A signal never interrupts a message in flight: the loop finishes the current batch, then exits.
    """
    stop = stop or threading.Event()

    def request_stop(signum, _frame) -> None:
        echo(f"received {signal.Signals(signum).name}; stopping after the current batch")
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    next_remind = time.monotonic()
    while not stop.is_set():
        if time.monotonic() >= next_remind:
            now = utcnow()
            reminders = queue_due_reminders(now)
            escalated = queue_due_escalations(now)
            db.session.commit()
            if reminders.queued:
                echo(f"reminders queued: {reminders.queued}")
            if escalated.requests:
                echo(f"escalated: {escalated.requests} overdue requests, to {escalated.recipients} recipients")
            next_remind = time.monotonic() + remind_every
        try:
            result = deliver_queued(limit=500)
            if result.sent or result.failed:
                echo(result.line())
        except MailServerUnavailable as exc:
            db.session.rollback()
            echo(f"error: {exc}; retrying in {send_every:.0f} s")
        try:
            _side_work(echo)
        except Exception:  # a bug in a connector or a webhook must not stop the mail: log it, go on
            db.session.rollback()
            log.exception("connector or webhook work failed; retrying in %.0f s", send_every)
        stop.wait(send_every)
    echo("worker stopped")


def _side_work(echo: Callable[[str], None]) -> None:
    """Lever events waiting for its API, then outgoing webhooks: each commits per item and retries
    on its own schedule, so one failing here never stops the mail."""
    now = utcnow()
    synced = sync_pending(now)
    if synced.taken or synced.failed:
        echo(f"connector events: taken: {synced.taken}, failed: {synced.failed}, left: {synced.left}")
    hooks = deliver_due(now)
    if hooks.sent or hooks.failed:
        echo(f"webhooks: {hooks.line()}")
