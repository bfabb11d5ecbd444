"""Escalation (CONTRACT §5): a contact's feedback still missing FEEDBACK_ESCALATE_DAYS working days
after the decision goes, once, to the company's recruiters (its admins when it has none), in one
daily digest per recipient (outbox kind ``escalation``, grouped by address when sent)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import Application, FeedbackRequest, OutboxMessage, User, recruiter_companies
from ..workdays import latest_decision_at
from .outgoing_webhooks import queue_overdue_events
from .suppressions import suppressed_addresses

log = logging.getLogger(__name__)
DIGEST_INTERVAL = timedelta(days=1)  # one escalation digest a day per recipient


@dataclass
class EscalationResult:
    requests: int = 0  # requests escalated
    recipients: int = 0  # addresses with a digest queued


def escalation_recipients(company_ids: set[int]) -> dict[int, list[str]]:
    """{company id: the addresses of its recruiters, or of every admin when it has none}."""
    recruiters: dict[int, list[str]] = {}
    for company_id, address in db.session.execute(
            sa.select(recruiter_companies.c.company_id, User.email).join(User, User.id == recruiter_companies.c.user_id)
            .where(recruiter_companies.c.company_id.in_(company_ids), User.role == "recruiter")
            .order_by(User.email)).all():
        recruiters.setdefault(company_id, []).append(address)
    admins = list(db.session.scalars(sa.select(User.email).where(User.role == "admin").order_by(User.email)))
    return {company_id: recruiters.get(company_id, admins) for company_id in company_ids}


def _due_at(address: str, now: datetime) -> datetime:
    """When a new escalation row for ``address`` goes: with the digest already waiting, or a day after
    the last one went, or now."""
    escalations = sa.select(OutboxMessage).where(OutboxMessage.kind == "escalation",
                                                  sa.func.lower(OutboxMessage.to_address) == address.lower())
    waiting = db.session.scalar(sa.select(sa.func.min(OutboxMessage.next_attempt_at))
                                .where(OutboxMessage.status == "queued")
                                .where(OutboxMessage.id.in_(escalations.with_only_columns(OutboxMessage.id))))
    if waiting is not None:
        return waiting
    last = db.session.scalar(escalations.with_only_columns(sa.func.max(OutboxMessage.sent_at)))
    return max(now, last + DIGEST_INTERVAL) if last else now


def queue_due_escalations(now: datetime) -> EscalationResult:
    """Queue one escalation row per overdue request, for each of its company's recruiters. Flushes.

    Overdue: mailed, unanswered, not cancelled, decided FEEDBACK_ESCALATE_DAYS working days ago or
    more, its contact not unsubscribed, and first mailed at least a working day ago (an import of
    old decisions gives the contact a day before anyone is told). Each request is claimed by a
    conditional UPDATE of ``escalated_at``, so runs every hour (or two at once) escalate it once.
    """
    today = now.date()
    decided_by = latest_decision_at(today, current_app.config["FEEDBACK_ESCALATE_DAYS"])
    mailed_by = datetime.combine(latest_decision_at(today, 1), time.max, tzinfo=now.tzinfo)
    rows = db.session.execute(
        sa.select(FeedbackRequest.id, FeedbackRequest.company_id, FeedbackRequest.recipient_email)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(FeedbackRequest.audience == "company", FeedbackRequest.escalated_at.is_(None),
               FeedbackRequest.answered_at.is_(None), FeedbackRequest.cancelled_at.is_(None),
               FeedbackRequest.first_sent_at <= mailed_by, FeedbackRequest.recipient_email.is_not(None),
               Application.decided_on <= decided_by)
        .order_by(FeedbackRequest.id)).all()
    result = EscalationResult()
    if not rows:
        return result
    unsubscribed = suppressed_addresses({row.recipient_email for row in rows})
    recipients = escalation_recipients({row.company_id for row in rows})
    due: dict[str, datetime] = {}
    queued = []
    for request_id, company_id, contact in rows:
        if contact in unsubscribed or not recipients[company_id]:
            continue
        won = db.session.execute(
            sa.update(FeedbackRequest).where(FeedbackRequest.id == request_id, FeedbackRequest.escalated_at.is_(None))
            .values(escalated_at=now).execution_options(synchronize_session=False)).rowcount
        if not won:
            continue
        result.requests += 1
        for address in recipients[company_id]:
            when = due.setdefault(address, _due_at(address, now))
            queued.append({"kind": "escalation", "request_id": request_id, "to_address": address,
                           "status": "queued", "next_attempt_at": when, "created_at": now})
    if queued:
        db.session.execute(sa.insert(OutboxMessage), queued)
        queue_overdue_events({row["request_id"] for row in queued}, now)
    result.recipients = len(due)
    log.info("escalations: %s requests to %s recipients", result.requests, result.recipients)
    return result
