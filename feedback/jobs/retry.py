"""``outbox retry`` (CONTRACT §3): after an SMTP outage or a misconfiguration, the outbox made due again."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import REQUEST_KINDS, FeedbackRequest, OutboxMessage
from ..services.suppressions import lift_bounce, suppressions_of
from .refusals import SAME_ANSWER_STOPS_AFTER, without_address

_OUTBOX = OutboxMessage.__table__


@dataclass
class RetryResult:
    """Counts of outbox rows (one per request and kind of e-mail)."""

    made_due: int = 0  # queued rows that waited for a later attempt
    requeued: int = 0  # failed rows put back in the queue
    kept_failed: int = 0  # failed rows whose address is unsubscribed, or was refused on its own
    bounces_lifted: int = 0  # addresses taken off the list: their "bounce" was the server refusing everyone

    def lines(self) -> list[str]:
        lines = [f"made due now: {self.made_due} queued e-mails that waited for a later attempt"]
        if self.requeued or self.kept_failed:
            lines.append(f"put back in the queue: {self.requeued} failed e-mails")
        if self.kept_failed:
            lines.append(f"left failed: {self.kept_failed} (the address unsubscribed, or the server refused it alone)")
        if self.bounces_lifted:
            lines.append(f"taken off the suppression list: {self.bounces_lifted} addresses the server had refused "
                         "with the same answer as everyone")
        return lines


def retry_outbox(now: datetime, failed: bool = False, since: datetime | None = None) -> RetryResult:
    """Make every queued row that waits for a later attempt due ``now``; with ``failed``, also put the
    failed rows (that failed at or after ``since``) back in the queue with their attempts renewed.

    A failed row stays failed when its address is unsubscribed from that kind of mail, or was suppressed
    as bounced by an answer of its own, or its request was answered or cancelled meanwhile. An address
    suppressed as bounced by an answer the server gave SAME_ANSWER_STOPS_AFTER or more addresses alike
    (a relay refusing everything, before jobs.refusals) comes off the list. Flushes; the caller commits.
    """
    result = RetryResult()
    result.made_due = db.session.execute(
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.status == "queued", _OUTBOX.c.attempts > 0, _OUTBOX.c.next_attempt_at > now)
        .values(next_attempt_at=now)
    ).rowcount
    if failed:
        _requeue_failed(now, since, result)
    db.session.flush()
    return result


def _requeue_failed(now: datetime, since: datetime | None, result: RetryResult) -> None:
    query = (
        sa.select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.to_address, OutboxMessage.last_error)
        .outerjoin(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .where(OutboxMessage.status == "failed", FeedbackRequest.answered_at.is_(None),
               FeedbackRequest.cancelled_at.is_(None))
        .order_by(OutboxMessage.id)
    )
    if since is not None:  # a failed row keeps the moment it failed in next_attempt_at (jobs.outbox)
        query = query.where(OutboxMessage.next_attempt_at >= since)
    rows = db.session.execute(query).all()
    if not rows:
        return
    suppressed = suppressions_of({row.to_address for row in rows if row.to_address})
    addresses_by_answer: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        addresses_by_answer[_answer(row)].add((row.to_address or "").lower())
    shared = {answer for answer, addresses in addresses_by_answer.items() if len(addresses) >= SAME_ANSWER_STOPS_AFTER}

    requeue, lifted = [], set()
    for row in rows:
        reason, scope = suppressed.get(row.to_address, (None, None))
        stopped = reason is not None and (scope == "all" or row.kind in REQUEST_KINDS)
        if stopped and reason == "bounced" and _answer(row) in shared:
            lifted.add(row.to_address)
        elif stopped:
            result.kept_failed += 1
            continue
        requeue.append(row.id)
    result.bounces_lifted = sum(1 for address in lifted if lift_bounce(address))
    for start in range(0, len(requeue), 500):
        chunk = requeue[start:start + 500]
        db.session.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(chunk)).values(
            status="queued", attempts=0, next_attempt_at=now, claimed_until=None))
    result.requeued = len(requeue)


def _answer(row) -> str:
    return without_address(row.last_error or "", row.to_address or "")
