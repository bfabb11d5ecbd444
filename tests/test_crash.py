"""A sender killed mid-batch (SIGKILL, no clean-up) loses nothing and repeats at most the one message in flight.

A real ``flask feedback send`` subprocess delivers to a deliberately slow SMTP server of the test's
own; it is killed after about ten messages, then a second ``send`` finishes the batch. The server
counts what it received per recipient and Message-ID.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import free_port, outcome_row

from feedback import config as feedback_config
from feedback.extensions import db
from feedback.mail import message_id
from feedback.models import FeedbackRequest, OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
ROWS = 40
KILL_AFTER = 10


class SlowHandler:
    """Accepts every message, but takes its time to answer the end of DATA.

    The message is recorded as soon as it has arrived, before the slow reply: the worst case for
    the sender, since a kill during the pause leaves a message the server holds but the sender
    never saw accepted.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, str(message["Message-ID"])))
        await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


def send_process(database_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        # the tests' key, so that the hashes and links the subprocess makes agree with the tests'
        "SECRET_KEY": feedback_config.TestConfig().SECRET_KEY,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "PUBLIC_BASE_URL": "http://feedback.example",
        "FLASK_DEBUG": "0",
    }
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "feedback", "send"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outbox_statuses() -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(sa.select(OutboxMessage.status)))


def test_send_killed_mid_batch_repeats_at_most_the_message_in_flight(app, database_url, import_csv):
    rows = [outcome_row(candidate_name=f"Person {i}", candidate_email=f"person{i}@example.org", outcome="withdrew",
                        application_ref=f"ATS-{i}") for i in range(ROWS)]
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    db.session.rollback()
    expected = {row.to_address: message_id(row.id) for row in db.session.scalars(sa.select(OutboxMessage))}
    assert len(expected) == ROWS  # one e-mail per outbox row: every candidate is a different address
    db.session.commit()  # hold no transaction while the subprocess writes

    handler = SlowHandler(delay=0.05)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = send_process(database_url, port)
        try:
            deadline = time.monotonic() + 20
            while handler.count() < KILL_AFTER and sender.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            assert sender.poll() is None, f"send ended before it was killed: {sender.communicate()}"
            assert handler.count() >= KILL_AFTER, "the sender delivered too slowly"
            os.kill(sender.pid, signal.SIGKILL)
            sender.wait(timeout=10)
        finally:
            if sender.poll() is None:
                sender.kill()
                sender.wait()
        assert sender.returncode == -signal.SIGKILL
        at_kill = handler.count()
        statuses = outbox_statuses()
        assert statuses["sent"] < ROWS and statuses["queued"] > 0, statuses
        assert statuses["sent"] + statuses["queued"] == ROWS

        # The killed run still holds claims on the rows it had not finished (claimed_until, a lease of
        # ten minutes). Clearing them stands in for that lease running out, so the test need not wait.
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.status == "queued").values(claimed_until=None))
        db.session.commit()

        finisher = send_process(database_url, port)
        out, err = finisher.communicate(timeout=30)
        assert finisher.returncode == 0, err
        assert f"sent: {statuses['queued']}, failed: 0, left: 0" in out
    finally:
        controller.stop()

    per_recipient = Counter(recipient for recipient, _ in handler.received)
    ids_per_recipient: dict[str, set[str]] = {}
    for recipient, received_id in handler.received:
        ids_per_recipient.setdefault(recipient, set()).add(received_id)
    duplicates = {recipient: count for recipient, count in per_recipient.items() if count > 1}
    print(f"\ncrash test ({db.engine.dialect.name}): killed after {at_kill} received, "
          f"{len(handler.received)} deliveries for {len(per_recipient)} recipients, "
          f"{sum(count - 1 for count in duplicates.values())} duplicate(s) {sorted(duplicates)}")

    # every request's message arrived, under its own deterministic Message-ID
    assert set(per_recipient) == set(expected)
    for recipient, received_ids in ids_per_recipient.items():
        assert received_ids == {expected[recipient]}, recipient  # a repeat carries the same Message-ID
    # at most the one message in flight at the kill arrived twice
    assert len(duplicates) <= 1 and all(count == 2 for count in duplicates.values()), duplicates
    assert len(handler.received) <= ROWS + 1

    statuses = outbox_statuses()
    assert statuses == Counter({"sent": ROWS})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRequest)
                             .where(FeedbackRequest.first_sent_at.is_(None))) == 0
