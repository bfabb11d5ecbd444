"""Recording what staff and operators do, for the audit log."""
from __future__ import annotations

import logging

from flask import has_request_context
from flask_login import current_user

from ..extensions import db
from ..models import AuditEvent

log = logging.getLogger(__name__)


def record(action: str, target: str | None = None, *, by=None, anonymous: bool = False, **details) -> AuditEvent:
    """Add an audit event for ``by``, else the signed-in user (or "cli" outside a request; "anonymous"
    for a visitor who is not signed in, with ``anonymous``). Flushes."""
    user = by or (current_user if has_request_context() and current_user.is_authenticated else None)
    event = AuditEvent(
        user_id=user.id if user else None,
        actor=user.email if user else "anonymous" if anonymous else "cli",
        action=action,
        target=target,
        details=details or None,
    )
    db.session.add(event)
    db.session.flush()
    log.info("audit: %s %s by %s", action, target or "", event.actor)
    return event
