"""Managing imported outcomes after the import: cancelling a batch's unsent mail and queueing it again,
and cancelling what is unsent for one application (an ATS took the rejection back)."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, FeedbackRequest, ImportBatch, OutboxMessage
from ..timeutil import utcnow

log = logging.getLogger(__name__)


def _cancel_queued(requests: sa.Select, reason: str) -> int:
    """Cancel the queued e-mails of these requests, ``reason`` as their last error; returns the count."""
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "queued", OutboxMessage.request_id.in_(requests))
        .values(status="cancelled", last_error=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


def cancel_unsent_mail(batch: ImportBatch) -> int:
    """Cancel the batch's queued e-mails; requests never mailed are closed. Returns the count. Flushes."""
    now = utcnow()
    requests = sa.select(FeedbackRequest.id).join(Application).where(Application.import_batch_id == batch.id)
    cancelled = _cancel_queued(requests, "batch cancelled")
    db.session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.id.in_(requests), FeedbackRequest.first_sent_at.is_(None),
               FeedbackRequest.answered_at.is_(None), FeedbackRequest.cancelled_at.is_(None))
        .values(cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    batch.cancelled_at = now
    db.session.flush()
    log.info("import batch %s: %s queued e-mails cancelled", batch.id, cancelled)
    return cancelled


def requeue_cancelled_mail(batch: ImportBatch) -> int:
    """Queue again the e-mails that cancelling the batch stopped, and reopen the requests it closed.
    An address unsubscribed meanwhile is still skipped when the mail goes out. Returns the count. Flushes."""
    now = utcnow()
    requests = sa.select(FeedbackRequest.id).join(Application).where(Application.import_batch_id == batch.id)
    queued = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "cancelled", OutboxMessage.last_error == "batch cancelled",
               OutboxMessage.request_id.in_(requests))
        .values(status="queued", last_error=None, next_attempt_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if batch.cancelled_at is not None:
        db.session.execute(
            sa.update(FeedbackRequest)
            .where(FeedbackRequest.id.in_(requests), FeedbackRequest.cancelled_at == batch.cancelled_at,
                   FeedbackRequest.first_sent_at.is_(None), FeedbackRequest.answered_at.is_(None))
            .values(cancelled_at=None)
            .execution_options(synchronize_session=False)
        )
    batch.cancelled_at = None
    db.session.flush()
    log.info("import batch %s: %s cancelled e-mails queued again", batch.id, queued)
    return queued


def cancel_for_application(company_id: int, application_ref: str) -> int | None:
    """An ATS took a rejection back (Greenhouse's unreject, Ashby's un-archive): cancel the
    application's queued e-mails and close its unanswered requests, so that no reminder follows.
    Returns the e-mails cancelled, or None when the company has no such application. Flushes."""
    application_id = db.session.scalar(sa.select(Application.id).where(
        Application.company_id == company_id, Application.application_ref == application_ref))
    if application_id is None:
        return None
    requests = sa.select(FeedbackRequest.id).where(FeedbackRequest.application_id == application_id)
    cancelled = _cancel_queued(requests, "taken back by the ATS")
    db.session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.application_id == application_id, FeedbackRequest.answered_at.is_(None),
               FeedbackRequest.cancelled_at.is_(None))
        .values(cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    log.info("application %s: taken back by the ATS, %s queued e-mails cancelled", application_id, cancelled)
    return cancelled
