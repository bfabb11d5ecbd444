"""A candidate asks for a link to their own feedback."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError

from ..extensions import db
from ..models import Candidate, OutboxMessage
from ..names import normalise_address
from ..timeutil import utcnow
from .suppressions import is_suppressed

log = logging.getLogger(__name__)
VIEW_LINK_INTERVAL = timedelta(minutes=10)


def request_candidate_view_link(address: str) -> bool:
    """Queue an e-mail with a view link if the address belongs to a candidate. Flushes.

    Returns whether a message was queued; callers must not tell the person (no enumeration).
    """
    try:
        normalised = normalise_address(address)
    except EmailNotValidError:
        return False
    candidate = db.session.scalar(sa.select(Candidate).where(Candidate.email == normalised))
    if candidate is None or is_suppressed(normalised):
        return False
    recent = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.candidate_id == candidate.id, OutboxMessage.kind == "candidate_view",
            OutboxMessage.created_at > utcnow() - VIEW_LINK_INTERVAL)
    )
    if recent:
        return False
    db.session.add(OutboxMessage(kind="candidate_view", candidate_id=candidate.id, to_address=normalised))
    db.session.flush()
    log.info("candidate view link queued for candidate %s", candidate.id)
    return True
