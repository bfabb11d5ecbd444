"""Optional scale-out: the outbox sent by Celery workers with Redis as broker.

With no broker configured nothing here is used, and everything works from the CLI. With
REDIS_URL (or CELERY_BROKER_URL) set, start workers and the scheduler:

    celery -A feedback.celery_worker worker --concurrency 2
    celery -A feedback.celery_worker beat

Workers claim outbox rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (feedback/jobs/outbox.py) on
PostgreSQL, so no row is claimed twice however many run. On SQLite run a single sender.
"""
from __future__ import annotations

from celery import Celery, Task, shared_task
from flask import Flask

from .extensions import db
from .jobs.connector_sync import sync_pending
from .jobs.delivery import MailServerUnavailable, deliver_queued
from .jobs.webhook_delivery import deliver_due
from .services.escalations import queue_due_escalations
from .services.reminders import queue_due_reminders
from .timeutil import utcnow

SEND_BATCH = 100


def celery_init_app(app: Flask) -> Celery:
    """A Celery app whose tasks run inside the Flask app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object({
        "broker_url": app.config["CELERY_BROKER_URL"],
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "task_acks_late": True,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": {
            "send-due-mail": {"task": "feedback.tasks.send_due_mail", "schedule": 30.0},
            "deliver-webhooks": {"task": "feedback.tasks.deliver_webhooks", "schedule": 30.0},
            "queue-due-reminders": {"task": "feedback.tasks.queue_reminders", "schedule": 3600.0},
            "sync-connectors": {"task": "feedback.tasks.sync_connectors", "schedule": 60.0},
        },
    })
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@shared_task(name="feedback.tasks.send_due_mail", ignore_result=True)
def send_due_mail(limit: int = SEND_BATCH) -> dict:
    """Claim and send up to ``limit`` due messages; more tasks run the rest in parallel."""
    try:
        result = deliver_queued(limit=limit)
    except MailServerUnavailable as exc:
        db.session.rollback()
        return {"error": str(exc)}
    return {"sent": result.sent, "failed": result.failed, "left": result.left}


@shared_task(name="feedback.tasks.deliver_webhooks", ignore_result=True)
def deliver_webhooks(limit: int = SEND_BATCH) -> dict:
    """Send up to ``limit`` due outgoing webhooks (Celery beat runs this every 30 seconds)."""
    result = deliver_due(utcnow(), limit=limit)
    return {"sent": result.sent, "failed": result.failed, "left": result.left}


@shared_task(name="feedback.tasks.queue_reminders", ignore_result=True)
def queue_reminders() -> int:
    """Queue the reminders and escalations that are due (Celery beat runs this hourly)."""
    now = utcnow()
    result = queue_due_reminders(now)
    queue_due_escalations(now)
    db.session.commit()
    return result.queued


@shared_task(name="feedback.tasks.sync_connectors", ignore_result=True)
def sync_connectors(limit: int = 50) -> dict:
    """Complete and import the queued Lever events (Celery beat runs this every minute)."""
    result = sync_pending(utcnow(), limit=limit)
    return {"taken": result.taken, "failed": result.failed, "left": result.left}
