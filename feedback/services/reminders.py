"""Reminders for unanswered requests at the FEEDBACK_REMINDER_DAYS marks after the first e-mail."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Application, FeedbackRequest, OutboxMessage, overdue_feedback
from .suppressions import suppressed_addresses

log = logging.getLogger(__name__)
CHUNK = 1000


@dataclass
class ReminderResult:
    queued: int = 0
    suppressed: int = 0


def queue_due_reminders(now: datetime) -> ReminderResult:
    """Queue one reminder per request that passed a reminder mark since its last reminder. Flushes.

    Only unanswered, uncancelled, unexpired requests whose address is not suppressed; never twice
    for the same mark (a request that passed several marks at once gets one reminder, for the
    highest), so running it every hour is safe. Each claim is a conditional UPDATE, so two runs
    at the same moment cannot both remind the same request.
    """
    marks = sorted(current_app.config["FEEDBACK_REMINDER_DAYS"], reverse=True)
    max_age = timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])
    result = ReminderResult()
    for mark in marks:
        due = sa.select(FeedbackRequest.id, FeedbackRequest.recipient_email).where(
            FeedbackRequest.first_sent_at <= now - timedelta(days=mark),
            FeedbackRequest.reminded_day_mark < mark,
            FeedbackRequest.answered_at.is_(None),
            FeedbackRequest.cancelled_at.is_(None),
            FeedbackRequest.link_issued_at > now - max_age,
            FeedbackRequest.recipient_email.is_not(None),
        ).order_by(FeedbackRequest.id)
        rows = db.session.execute(due).all()
        for start in range(0, len(rows), CHUNK):
            _queue_chunk(rows[start:start + CHUNK], mark, now, result)
    log.info("reminders: %s queued, %s suppressed", result.queued, result.suppressed)
    return result


def _queue_chunk(rows: list, mark: int, now: datetime, result: ReminderResult) -> None:
    suppressed = suppressed_addresses(row.recipient_email for row in rows)
    claimed = []
    for request_id, address in rows:
        won = db.session.execute(
            sa.update(FeedbackRequest)
            .where(FeedbackRequest.id == request_id, FeedbackRequest.reminded_day_mark < mark)
            .values(reminded_day_mark=mark)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            continue
        if address in suppressed:
            result.suppressed += 1
            continue
        claimed.append({"kind": "reminder", "request_id": request_id, "to_address": address, "status": "queued",
                        "next_attempt_at": now, "created_at": now})
    if claimed:
        db.session.execute(sa.insert(OutboxMessage), claimed)
        result.queued += len(claimed)


CONTACT_REMINDER_INTERVAL = timedelta(days=1)  # a contact is reminded by hand at most once a day


def remind_contact_now(company_id: int, address: str, sla_days: int, now: datetime) -> int | None:
    """Queue a reminder now for each overdue request of the contact ``address`` at the company (one
    digest when sent; an expired link is renewed). Returns how many; 0 when none is overdue or the
    address unsubscribed; None when the contact was already reminded within the last day. Flushes;
    the caller commits."""
    overdue = list(db.session.scalars(
        sa.select(FeedbackRequest.id).join(Application, Application.id == FeedbackRequest.application_id)
        .where(FeedbackRequest.company_id == company_id, FeedbackRequest.recipient_email == address,
               *overdue_feedback(sla_days, now.date()))
        .order_by(FeedbackRequest.id)))
    if not overdue or suppressed_addresses([address]):
        return 0
    recent = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.request_id.in_(overdue), OutboxMessage.kind == "reminder",
        OutboxMessage.created_at > now - CONTACT_REMINDER_INTERVAL))
    if recent:
        return None
    # A link that expired meanwhile is issued afresh (the old one dies), so the reminder's link works.
    max_age = timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])
    db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.id.in_(overdue),
                                                        FeedbackRequest.link_issued_at <= now - max_age)
                       .values(link_issued_at=now.replace(microsecond=0)).execution_options(synchronize_session=False))
    db.session.execute(sa.insert(OutboxMessage), [
        {"kind": "reminder", "request_id": request_id, "to_address": address, "status": "queued",
         "next_attempt_at": now, "created_at": now} for request_id in overdue])
    log.info("contact reminded by hand: %s requests", len(overdue))
    return len(overdue)
