"""The outbox's bookkeeping: claims with a lease, and what became of each attempt (sent, retried, failed)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..mail import OutgoingEmail, OutgoingItem
from ..models import FeedbackRequest, OutboxMessage
from ..models.base import UTCDateTime

CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 10
DIGEST_KINDS = ("invitation", "reminder")
_OUTBOX = OutboxMessage.__table__
_REQUESTS = FeedbackRequest.__table__
_MARK_FIRST_SENT = sa.update(_REQUESTS).where(_REQUESTS.c.id == sa.bindparam("request_id")).values(
    first_sent_at=sa.func.coalesce(_REQUESTS.c.first_sent_at, sa.bindparam("now", type_=UTCDateTime())),
    link_issued_at=sa.func.coalesce(_REQUESTS.c.link_issued_at, sa.bindparam("issued", type_=UTCDateTime())),
)


def queued_count() -> int:
    """How many messages wait in the outbox (due now or later)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "queued")
    )


def last_outbox_id() -> int:
    """The largest outbox id so far (0: none); rows queued later have larger ones."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0)))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1, 2, 4 … minutes, at most 6 hours."""
    base = min(FIRST_RETRY_DELAY * (2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)
    return base * random.uniform(0.5, 1.5)


def claim_due(limit: int | None, now: datetime, newer_than: int | None = None) -> list[list[int]]:
    """Claim the due queued rows and group them into e-mails (lists of outbox ids). Commits.

    Claimed rows are leased (``claimed_until``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
    several senders never take the same row, and the claims of a sender killed mid-batch run out.
    A company contact's invitations (or reminders) in one run become one digest e-mail.
    ``newer_than``: only the rows with a larger id (queued after it).
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
        .limit(limit)
    )
    if newer_than is not None:
        query = query.where(OutboxMessage.id > newer_than)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(of=OutboxMessage, skip_locked=True)
    rows = db.session.execute(query).all()
    if rows:
        _update([row.id for row in rows], claimed_until=now + CLAIM_LEASE)
    db.session.commit()
    units: dict[tuple, list[int]] = {}
    for row in rows:
        if row.kind == "escalation":
            key = ("escalation", (row.to_address or "").lower())
        elif row.audience == "company" and row.kind in DIGEST_KINDS:
            key = ("digest", (row.to_address or "").lower(), row.kind)
        else:
            key = ("single", row.id)
        units.setdefault(key, []).append(row.id)
    return list(units.values())


def release(ids: list[int]) -> None:
    """Give claimed but untried rows back at once (the server went away before their turn). Commits."""
    if ids:
        db.session.rollback()
        _update(ids, claimed_until=None)
        db.session.commit()


def mark_sent(items: list[OutgoingItem], now: datetime) -> None:
    """The rows went out: sent, and each request's first send and link issue time recorded."""
    _update([item.outbox_id for item in items], status="sent", sent_at=now, attempts=_OUTBOX.c.attempts + 1,
            last_error=None, claimed_until=None)
    requests = [{"request_id": item.request_id, "now": now, "issued": item.link_issued_at}
                for item in items if item.request_id is not None]
    if requests:
        db.session.execute(_MARK_FIRST_SENT, requests)


def keep_in_dev_mailbox(ids: list[int], email: OutgoingEmail) -> None:
    """Dev mode: the rendered e-mail stays on its rows, for the dev mailbox page, instead of going out."""
    _update(ids, subject=email.subject, body_text=email.body, body_html=email.html)


def record_failure(ids: list[int], error: str, now: datetime, permanent: bool = False) -> None:
    """A failed attempt: retried later with backoff, or failed for good (permanent, or too many tries).

    A row failed for good keeps the moment it failed in ``next_attempt_at`` (no attempt follows), which
    ``outbox retry --failed --since`` reads.
    """
    for outbox_id, tried in db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.attempts).where(OutboxMessage.id.in_(ids))
    ).all():
        failed = permanent or tried + 1 >= MAX_ATTEMPTS
        _update([outbox_id], attempts=_OUTBOX.c.attempts + 1, status="failed" if failed else _OUTBOX.c.status,
                last_error=error[:1000], claimed_until=None,
                next_attempt_at=now if failed else now + retry_delay(tried + 1))


def fail_for_good(ids: list[int], now: datetime) -> None:
    """Rows whose last attempt's refusal turned out to be final (jobs.refusals): failed, as of ``now``."""
    db.session.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(ids), _OUTBOX.c.status.in_(("queued", "failed")))
                       .values(status="failed", next_attempt_at=now, claimed_until=None))


def cancel(ids: list[int], reason: str) -> None:
    """The rows will not be sent (the address unsubscribed)."""
    _update(ids, status="cancelled", last_error=reason, claimed_until=None)


def _update(ids: list[int], **values) -> None:
    # Core on the table: these rows are not loaded in the session, nothing there to keep in step.
    db.session.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).values(**values))
