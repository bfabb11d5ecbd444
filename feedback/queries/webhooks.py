"""The outgoing webhook endpoints a user may see, with what became of the webhooks queued for each."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..access import scope_to_companies
from ..extensions import db
from ..models import User, WebhookEndpoint, WebhookMessage


@dataclass(frozen=True)
class EndpointDeliveries:
    endpoint: WebhookEndpoint
    sent: int = 0
    waiting: int = 0  # queued: due now, or a retry later
    failed: int = 0  # failed for good
    last_sent_at: datetime | None = None
    last_error: str | None = None  # the newest problem of a webhook not delivered ("HTTP 500 …")


def endpoints_with_deliveries(user: User) -> list[EndpointDeliveries]:
    """The endpoints of ``user``'s companies (live first, newest first) and their webhooks' fate."""
    endpoints = db.session.scalars(scope_to_companies(
        sa.select(WebhookEndpoint).order_by(WebhookEndpoint.revoked_at.is_not(None), WebhookEndpoint.id.desc()),
        WebhookEndpoint.company_id, user)).all()
    if not endpoints:
        return []
    ids = [endpoint.id for endpoint in endpoints]
    counts = {row.endpoint_id: row for row in db.session.execute(
        sa.select(WebhookMessage.endpoint_id,
                  *(sa.func.count().filter(WebhookMessage.status == status).label(status)
                    for status in ("sent", "queued", "failed")),
                  sa.func.max(WebhookMessage.sent_at).label("last_sent_at"))
        .where(WebhookMessage.endpoint_id.in_(ids)).group_by(WebhookMessage.endpoint_id))}
    newest = (sa.select(WebhookMessage.endpoint_id, WebhookMessage.last_error,
                        sa.func.row_number().over(partition_by=WebhookMessage.endpoint_id,
                                                  order_by=WebhookMessage.id.desc()).label("rank"))
              .where(WebhookMessage.endpoint_id.in_(ids), WebhookMessage.last_error.is_not(None)).subquery())
    errors = dict(db.session.execute(sa.select(newest.c.endpoint_id, newest.c.last_error).where(newest.c.rank == 1)).all())
    return [EndpointDeliveries(endpoint, row.sent, row.queued, row.failed, row.last_sent_at, errors.get(endpoint.id))
            if (row := counts.get(endpoint.id)) else EndpointDeliveries(endpoint) for endpoint in endpoints]


def recently_failed(user: User, now: datetime, days: int = 7) -> int:
    """How many webhooks of ``user``'s companies, queued in the last ``days``, failed for good."""
    query = (sa.select(sa.func.count()).select_from(WebhookMessage)
             .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
             .where(WebhookMessage.status == "failed", WebhookMessage.created_at >= now - timedelta(days=days)))
    return db.session.scalar(scope_to_companies(query, WebhookEndpoint.company_id, user))
