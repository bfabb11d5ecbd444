"""Scale-out: two real Celery worker processes (Redis broker, PostgreSQL) drain the outbox.

PostgreSQL only: the workers claim rows with SELECT … FOR UPDATE SKIP LOCKED, which SQLite has
not got (on SQLite a single sender runs, as the README says). conftest deselects this module on
SQLite runs; `make test` runs it in its PostgreSQL pass.
"""
from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from feedback import config as feedback_config
from feedback.extensions import db
from feedback.models import OutboxMessage
from feedback.tasks import celery_init_app, send_due_mail

pytestmark = pytest.mark.postgresql_only

ROOT = Path(__file__).resolve().parent.parent
BROKER = "redis://127.0.0.1:6379/9"
MESSAGES = 2000


def _worker(name: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "feedback.celery_worker", "worker", "--pool", "solo",
         "-n", f"{name}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_two_workers_deliver_each_message_exactly_once(app, database_url, write_csv, runner, smtp_server):
    rows = [{"candidate_name": f"Person {i}", "candidate_email": f"person{i}@example.org", "company": "Acme Robotics",
             "company_contact_email": "", "position": "QA Engineer", "stage": "screen", "outcome": "withdrew",
             "decided_on": "2026-10-01", "application_ref": f"CEL-{i}"} for i in range(MESSAGES)]
    imported = runner.invoke(args=["feedback", "import", str(write_csv(rows))])
    assert imported.exit_code == 0, imported.output
    assert f"requests queued: {MESSAGES}" in imported.output

    redis.Redis.from_url(BROKER).flushdb()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": feedback_config.TestConfig().SECRET_KEY,
           "CELERY_BROKER_URL": BROKER, "MAIL_SERVER": smtp_server.hostname, "MAIL_PORT": str(smtp_server.port),
           "PUBLIC_BASE_URL": "http://feedback.example", "FLASK_DEBUG": "0", "PYTHONPATH": str(ROOT)}
    workers = [_worker("one", env), _worker("two", env)]
    app.config["CELERY_BROKER_URL"] = BROKER
    celery_init_app(app)
    started = time.monotonic()
    try:
        for _ in range(MESSAGES // 50 + 10):
            send_due_mail.apply_async(kwargs={"limit": 50})
        deadline = started + 180
        while time.monotonic() < deadline:
            db.session.rollback()
            left = db.session.scalar(
                sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
            if left == 0:
                break
            assert all(worker.poll() is None for worker in workers), "a worker died"
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.terminate()
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]

    assert left == 0, f"{left} messages not sent; worker output: {outputs}"
    per_recipient = collections.Counter(message["To"] for message in smtp_server.messages)
    assert len(per_recipient) == MESSAGES
    assert set(per_recipient.values()) == {1}, "a message was delivered more than once"
    by_sender = collections.Counter(message["Message-ID"] for message in smtp_server.messages)
    assert len(by_sender) == MESSAGES
    print(f"\ntwo Celery workers: {MESSAGES} messages, each delivered once, "
          f"{elapsed:.1f} s, {MESSAGES / elapsed:.0f} messages/s")
