"""Delivering the outgoing webhooks (Standard Webhooks), committing message by message.

Each due message is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite run
one sender), signed with its endpoint's secret by the ``standardwebhooks`` package over
``webhook-id.webhook-timestamp.body`` and POSTed; what became of it is committed before the next
one, so a sender killed mid-way repeats at most the one in flight, with the same ``webhook-id``
the receiver deduplicates on. A 2xx answer is success; anything else (a redirect too: the spec
says to update the URL, not follow it) is retried with backoff, no sooner than a Retry-After header
asks (up to a day), and 410 Gone revokes the endpoint.
"""
from __future__ import annotations

import http.client
import logging
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import sqlalchemy as sa
from flask import current_app
from standardwebhooks.webhooks import Webhook

from ..extensions import db
from ..models import WebhookMessage
from ..outbound import opener
from ..secrets_box import SecretUnreadable
from ..services.outgoing_webhooks import endpoint_secret, revoke_endpoint
from ..timeutil import utcnow

log = logging.getLogger(__name__)
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=8))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the first attempt and five retries, over about 11 hours
RETRY_AFTER_MAX = timedelta(hours=24)  # a receiver's Retry-After is honoured up to this
USER_AGENT = "feedback-webhooks/1"


@dataclass
class WebhookDeliveryResult:
    sent: int = 0
    failed: int = 0  # failed for good in this run (attempts used up, or the endpoint revoked)
    left: int = 0  # still queued: due later (a retry) or beyond the limit

    def line(self) -> str:
        return f"sent: {self.sent}, failed: {self.failed}, left: {self.left}"


def deliver_due(now: datetime | None = None, limit: int = 100) -> WebhookDeliveryResult:
    """Send up to ``limit`` due webhooks, one commit each; returns what became of them."""
    now = now or utcnow()
    result = WebhookDeliveryResult()
    for _ in range(limit):
        message = db.session.scalars(
            sa.select(WebhookMessage)
            .where(WebhookMessage.status == "queued", WebhookMessage.next_attempt_at <= now)
            .order_by(WebhookMessage.next_attempt_at, WebhookMessage.id)
            .limit(1).with_for_update(skip_locked=True)).first()
        if message is None:
            break
        outcome = _attempt(message, now)
        db.session.commit()
        if outcome == "sent":
            result.sent += 1
        elif outcome == "failed":
            result.failed += 1
    result.left = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookMessage)
                                    .where(WebhookMessage.status == "queued"))
    return result


def _attempt(message: WebhookMessage, now: datetime) -> str:
    """Send ``message`` once and record what became of it: "sent", "queued" (a retry) or "failed"."""
    endpoint = message.endpoint
    if endpoint.revoked_at is not None:
        return _fail(message, "endpoint revoked")
    asked_delay = None
    try:
        status = _post(endpoint.url, message.msg_id, message.payload, endpoint_secret(endpoint), now)
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        asked_delay = retry_after(exc.headers.get("Retry-After") if exc.headers else None, now)
    except SecretUnreadable as exc:
        status, error = None, str(exc)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
    else:
        message.status, message.sent_at, message.last_error = "sent", now, None
        message.attempts += 1
        log.info("webhook %s sent to endpoint %s (HTTP %s)", message.msg_id, endpoint.id, status)
        return "sent"
    if status == 410:  # "Gone": the spec's signal to stop sending to this endpoint
        revoke_endpoint(endpoint.id, now)
        log.warning("webhook endpoint %s answered 410 Gone: revoked", endpoint.id)
        message.attempts += 1
        return _fail(message, "HTTP 410 Gone: the endpoint was revoked")
    message.attempts += 1
    message.last_error = error[:500]
    if message.attempts >= MAX_ATTEMPTS:
        return _fail(message, message.last_error)
    # A little jitter, as the spec recommends, so retries after an outage do not arrive in one burst;
    # later still when the receiver asked for it (a 429 or 503 with Retry-After), up to RETRY_AFTER_MAX.
    delay = RETRY_DELAYS[message.attempts - 1] * random.uniform(1.0, 1.1)
    message.next_attempt_at = now + max(delay, asked_delay or timedelta(0))
    log.warning("webhook %s to endpoint %s failed (attempt %s): %s", message.msg_id, endpoint.id,
                message.attempts, message.last_error)
    return "queued"


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a Retry-After header asks for (seconds, or an HTTP date), at most RETRY_AFTER_MAX;
    None when there is none or it cannot be read."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone also takes "²" or "٣", which int() refuses
        asked = timedelta(seconds=int(value[:7]))  # 7 digits: over 100 days, well past the cap
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        # HTTP dates are GMT; a "-0000" zone reads as naive.
        asked = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - now
    return min(asked, RETRY_AFTER_MAX) if asked > timedelta(0) else None


def _fail(message: WebhookMessage, error: str) -> str:
    message.status, message.last_error = "failed", error[:500]
    log.warning("webhook %s to endpoint %s failed for good: %s", message.msg_id, message.endpoint_id, error)
    return "failed"


def _post(url: str, msg_id: str, payload: str, secret: str, now: datetime) -> int:
    """POST the signed body; the status code of a 2xx answer (HTTPError for any other)."""
    body = payload.encode()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    # No redirects (a 3xx is a failed attempt); public addresses only unless OUTBOUND_PRIVATE_ADDRESSES.
    sender = opener(current_app.config["OUTBOUND_PRIVATE_ADDRESSES"], follow_redirects=False)
    with sender.open(request, timeout=current_app.config["OUTGOING_WEBHOOK_TIMEOUT_SECONDS"]) as answer:
        answer.read(4096)  # the receiver's answer is not used; read a little so the connection closes cleanly
        return answer.status
