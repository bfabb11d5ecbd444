"""A candidate asks for a link to their own feedback."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Candidate, OutboxMessage
from ..names import normalise_address
from ..timeutil import utcnow

log = logging.getLogger(__name__)
VIEW_LINK_INTERVAL = timedelta(minutes=10)


def request_candidate_view_link(address: str) -> None:
    """Queue a view-link request for ``address``: one insert, the same for any address, known or not,
    so neither the answer nor its time tells whether we hold anything for it. The sender resolves
    it (resolve_view_link_requests). Flushes."""
    db.session.add(OutboxMessage(kind="candidate_view", candidate_id=None, to_address=normalise_address(address)))
    db.session.flush()


def resolve_view_link_requests() -> int:
    """Before a delivery run: each queued view-link request gets its candidate, or is deleted when the
    address is no candidate's or had a link within VIEW_LINK_INTERVAL (so nothing
    of an address someone typed stays). Returns how many were looked at. Flushes."""
    pending = list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "candidate_view", OutboxMessage.candidate_id.is_(None),
        OutboxMessage.status == "queued").order_by(OutboxMessage.id)))
    for message in pending:
        candidate_id = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == message.to_address))
        recent = candidate_id is not None and db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(
                OutboxMessage.candidate_id == candidate_id, OutboxMessage.kind == "candidate_view",
                OutboxMessage.created_at > utcnow() - VIEW_LINK_INTERVAL))
        if candidate_id is None or recent:  # an unsubscribed person still gets the link they asked for
            db.session.delete(message)
        else:
            message.candidate_id = candidate_id
            log.info("candidate view link queued for candidate %s", candidate_id)
        db.session.flush()
    return len(pending)
