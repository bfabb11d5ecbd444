"""Outgoing webhooks (issue 20, item 4): a company's endpoints, and the events queued for them.

Standard Webhooks (https://www.standardwebhooks.com): each endpoint has its own ``whsec_`` secret;
an event becomes one ``WebhookMessage`` per live endpoint of the company that takes its type, in
the transaction of what it tells (the outbox pattern), and ``jobs/webhook_delivery`` sends it.
Payloads carry ids, never personal data: a receiver reads the rest through the API, with its rights.
"""
from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Company, FeedbackRequest, WebhookEndpoint, WebhookMessage
from ..secrets_box import open_sealed, seal
from ..timeutil import as_utc, utcnow

log = logging.getLogger(__name__)
EVENT_TYPES = ("response.created", "feedback.overdue")
TEST_EVENT = "webhook.test"  # sent on request to one endpoint (the page's "Send a test"), never subscribed to
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # the spec's minimum for HMAC-SHA256 signing secrets
MAX_LIVE_ENDPOINTS = 10  # per company: each event is one message per endpoint, delivered one after another


class EndpointError(ValueError):
    """An endpoint cannot be made as asked."""


class TooManyEndpoints(EndpointError):
    """The company has MAX_LIVE_ENDPOINTS live endpoints already."""


def parse_events(events: str | Iterable[str] | None) -> tuple[str, ...]:
    """The event types asked for (comma-separated or a list; None: all), checked against EVENT_TYPES."""
    if events is None:
        return EVENT_TYPES
    names = [name.strip() for name in (events.split(",") if isinstance(events, str) else events)]
    names = [name for name in names if name]
    unknown = sorted(set(names) - set(EVENT_TYPES))
    if unknown or not names:
        raise EndpointError(f"unknown event types {', '.join(unknown) or '(none given)'}; "
                            f"use some of {', '.join(EVENT_TYPES)}")
    return tuple(name for name in EVENT_TYPES if name in names)


def create_endpoint(company: Company, url: str, events: str | Iterable[str] | None = None) -> tuple[WebhookEndpoint, str]:
    """An endpoint of ``company`` at ``url`` for ``events`` (default: all), with a new secret.

    Returns the endpoint and its secret (``whsec_`` + base64 of 24 random bytes, as the
    ``standardwebhooks`` package reads it), shown once: only its encrypted form is stored. Flushes.
    """
    if not url.startswith(("https://", "http://")) or len(url) > 500 or not url.isprintable() or " " in url:
        raise EndpointError("the URL must start with https:// (or http://) and be at most 500 characters")
    live = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.company_id == company.id, WebhookEndpoint.revoked_at.is_(None)))
    if live >= MAX_LIVE_ENDPOINTS:
        raise TooManyEndpoints(f"{company.name} has {live} live endpoints, the most a company may have; "
                               "revoke one first")
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
    endpoint = WebhookEndpoint(company_id=company.id, url=url, secret=seal(secret), events=",".join(parse_events(events)))
    db.session.add(endpoint)
    db.session.flush()
    log.info("webhook endpoint %s created for company %s (%s)", endpoint.id, company.id, endpoint.events)
    return endpoint, secret


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's ``whsec_`` signing secret (decrypted; SecretUnreadable when no key opens it)."""
    return open_sealed(endpoint.secret)


def all_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def revoke_endpoint(endpoint_id: int, now: datetime | None = None) -> bool:
    """Revoke a live endpoint (its queued messages then fail unsent); False when there is none. Flushes."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.revoked_at is not None:
        return False
    endpoint.revoked_at = now or utcnow()
    db.session.flush()
    log.info("webhook endpoint %s revoked", endpoint_id)
    return True


def iso(moment: datetime) -> str:
    """A moment as the payloads give it: ISO 8601 in UTC with a ``Z``."""
    return as_utc(moment).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Built once: the one query of an answer when its company has no endpoint (company_id is indexed).
_LIVE_ENDPOINTS = (sa.select(WebhookEndpoint.id, WebhookEndpoint.events)
                   .where(WebhookEndpoint.company_id == sa.bindparam("company_id"), WebhookEndpoint.revoked_at.is_(None)))


def queue_event(company_id: int, event_type: str, data: dict, now: datetime) -> int:
    """Queue ``event_type`` with ``data`` for each live endpoint of the company that takes it.

    The body is ``{"type", "timestamp", "data"}``. Costs one indexed query when the company has no endpoint. Returns the messages queued. Flushes.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    endpoints = [endpoint_id for endpoint_id, events in db.session.execute(_LIVE_ENDPOINTS, {"company_id": company_id})
                 if event_type in events.split(",")]
    if not endpoints:
        return 0
    _queue(endpoints, event_type, data, now)
    log.info("webhook %s queued for %s endpoints of company %s", event_type, len(endpoints), company_id)
    return len(endpoints)


def queue_test(endpoint_id: int, now: datetime) -> bool:
    """Queue a ``webhook.test`` for this live endpoint alone, whatever types it takes: its receiver's
    set-up is checked end to end (address, TLS, signature) without waiting for a real event. False
    when there is no such live endpoint. Flushes."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.revoked_at is not None:
        return False
    _queue([endpoint.id], TEST_EVENT, {"endpoint_id": endpoint.id, "company_id": endpoint.company_id}, now)
    log.info("webhook %s queued for endpoint %s", TEST_EVENT, endpoint.id)
    return True


def _queue(endpoint_ids: list[int], event_type: str, data: dict, now: datetime) -> None:
    """One message per endpoint; the body is serialised once and stored as it will be signed."""
    payload = json.dumps({"type": event_type, "timestamp": iso(now), "data": data}, separators=(",", ":"))
    db.session.add_all([WebhookMessage(endpoint_id=endpoint_id, event_type=event_type, payload=payload, status="queued",
                                       msg_id=new_message_id(), next_attempt_at=now, created_at=now)
                        for endpoint_id in endpoint_ids])
    db.session.flush()


def new_message_id() -> str:
    """A webhook-id: unique, with no ``.`` (the signed content is ``id.timestamp.body``)."""
    return "msg_" + secrets.token_urlsafe(18)


def queue_overdue_events(request_ids: Iterable[int], now: datetime) -> int:
    """Queue ``feedback.overdue`` for each company with requests among ``request_ids`` (just
    escalated): how many, and the oldest decision among them; no addresses. Flushes."""
    request_ids = sorted(set(request_ids))
    if not request_ids:
        return 0
    rows = db.session.execute(
        sa.select(FeedbackRequest.company_id, sa.func.count(), sa.func.min(Application.decided_on))
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(FeedbackRequest.id.in_(request_ids))
        .group_by(FeedbackRequest.company_id).order_by(FeedbackRequest.company_id)).all()
    return sum(queue_event(company_id, "feedback.overdue",
                           {"company_id": company_id, "overdue": overdue, "oldest_decided_on": oldest.isoformat()}, now)
               for company_id, overdue, oldest in rows)
