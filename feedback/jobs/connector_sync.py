"""Lever's queued archive events completed from Lever's API and imported (CONTRACT §8).

The webhook only said "opportunity X was archived" (feedback/ats/lever.py); here the worker reads the
opportunity, its posting, the archive reason and the contact's user from the API, with the company's
key, and imports the outcome through the same validation as a CSV row. A network error, a 5xx or a
429 is tried again with backoff; an answer that can never work (a 4xx, a row that does not validate)
fails the event for good. Either way the event keeps its detail: nothing is lost. One commit per event.
"""
from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException

import sqlalchemy as sa
from flask import current_app

from ..ats import lever
from ..extensions import db
from ..models import Connector, ConnectorEvent
from ..outbound import PrivateAddress, opener
from ..secrets_box import SecretUnreadable
from ..services.connector_events import import_outcome
from ..services.connectors import connector_api_key

log = logging.getLogger(__name__)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1


@dataclass
class SyncResult:
    taken: int = 0  # events settled: imported, already known, or no outcome (a hire, no longer archived)
    failed: int = 0  # events whose attempt failed this run (tried again later, or failed for good)
    left: int = 0  # due events not reached in this run


class LeverUnavailable(Exception):
    """Lever could not answer now (network, 5xx, 429): try again later."""


class LeverRefused(Exception):
    """Lever's answer will not change on a retry (a 4xx, no API key): the event fails for good."""


def _due(now: datetime):
    return (sa.select(ConnectorEvent).join(Connector, Connector.id == ConnectorEvent.connector_id)
            .where(Connector.kind == "lever", Connector.revoked_at.is_(None), ConnectorEvent.status == "pending",
                   ConnectorEvent.next_attempt_at <= now))


def sync_pending(now: datetime, limit: int = 50) -> SyncResult:
    """Complete and import up to ``limit`` due Lever events, one transaction (and commit) each.

    Each event is claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and held while its API calls
    run, so several workers never take the same one. On SQLite run a single worker.
    """
    result = SyncResult()
    seen: list[int] = []
    for _ in range(limit):
        query = _due(now).order_by(ConnectorEvent.id).limit(1)
        if seen:
            query = query.where(ConnectorEvent.id.not_in(seen))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(of=ConnectorEvent, skip_locked=True)
        row = db.session.scalar(query)
        if row is None:
            break
        seen.append(row.id)
        if _sync_one(row, now):
            result.taken += 1
        else:
            result.failed += 1
    db.session.rollback()
    result.left = db.session.scalar(sa.select(sa.func.count()).select_from(_due(now).subquery()))
    return result


def _sync_one(row: ConnectorEvent, now: datetime) -> bool:
    """One event: True settled, False failed (for now or for good). Commits."""
    event_id, connector = row.id, row.connector
    try:
        status, error = _complete(connector, row)
    except LeverUnavailable as exc:
        status, error = None, str(exc)
    except LeverRefused as exc:
        status, error = "failed", str(exc)
    except Exception as exc:  # a bug must not stop the queue nor lose the event
        db.session.rollback()
        log.error("connector event %s: unexpected %s", event_id, type(exc).__name__)
        row = db.session.get(ConnectorEvent, event_id)
        status, error = None, f"unexpected error: {type(exc).__name__}"
    row.attempts = (row.attempts or 0) + 1
    if status is None and row.attempts >= MAX_ATTEMPTS:
        status = "failed"
    if status is None:
        row.next_attempt_at = now + BACKOFF[row.attempts - 1]
    else:
        row.status = status
    row.last_error = error[:500] if error else None
    db.session.commit()
    log.info("connector event %s (connector %s): %s after %s attempts%s", event_id, connector.id,
             row.status, row.attempts, f" ({error})" if error else "")
    return row.status in ("taken", "known", "ignored")


def _complete(connector: Connector, row: ConnectorEvent) -> tuple[str, str | None]:
    """Read the event's opportunity from Lever and import it: (status, error). Flushes."""
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {}
    opportunity_id = detail.get("opportunity_id") if isinstance(detail, dict) else None
    if not isinstance(opportunity_id, str) or not opportunity_id:
        return "failed", "the event names no opportunity"
    api = _LeverApi(connector)
    opportunity = api.get(f"/opportunities/{_quoted(opportunity_id)}", expand=["stage", "applications"])
    archived = opportunity.get("archived")
    if not isinstance(archived, dict) or not archived.get("reason"):
        return "ignored", "no longer archived in Lever"
    posting_id = lever.posting_id(opportunity)
    posting = api.get(f"/postings/{_quoted(posting_id)}") if posting_id else {}
    reason = api.get(f"/archive_reasons/{_quoted(str(archived['reason']))}")
    if lever.outcome_of(reason) is None:
        return "ignored", "archived as hired"
    contact = None
    for user_id in lever.contact_user_ids(opportunity, posting):
        contact = lever.text(api.get(f"/users/{_quoted(user_id)}").get("email"))
        if contact:
            break
    item = lever.outcome_item(opportunity, posting, reason, contact, detail)
    taken = import_outcome(connector, item, row)
    if taken.status >= 400:
        # The fields only: a problem's message may quote the value (an address), which is personal data.
        fields = sorted({error.get("field") or "row" for error in taken.body.get("errors", [])})
        return "failed", f"not imported, Lever's data fails the validation of: {', '.join(fields)}"
    return row.status, None


def _quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class _LeverApi:
    """GET requests to Lever's API with the connector's key (HTTP basic: the key as user name)."""

    def __init__(self, connector: Connector) -> None:
        try:
            key = connector_api_key(connector)
        except SecretUnreadable:
            raise LeverRefused("the connector's API key cannot be read (SECRET_KEY changed)") from None
        if not key:
            raise LeverRefused("the connector has no Lever API key")
        self.base = (connector.api_base_url or current_app.config["LEVER_API_URL"]).rstrip("/")
        self.authorization = "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")
        self.timeout = current_app.config["ATS_API_TIMEOUT_SECONDS"]
        self.opener = opener(current_app.config["OUTBOUND_PRIVATE_ADDRESSES"])  # redirects checked too

    def get(self, path: str, expand: list[str] | None = None) -> dict:
        """The ``data`` object of Lever's answer to GET ``path``."""
        what = path.split("/")[1]  # the resource, never its id, in errors and logs
        url = self.base + path + ("?" + urllib.parse.urlencode([("expand", e) for e in expand]) if expand else "")
        request = urllib.request.Request(url, headers={"Authorization": self.authorization,
                                                       "Accept": "application/json"})
        try:
            with self.opener.open(request, timeout=self.timeout) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise LeverUnavailable(f"Lever answered {exc.code} to GET /{what}") from None
            raise LeverRefused(f"Lever answered {exc.code} to GET /{what}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, PrivateAddress):
                raise LeverRefused(f"the connector's Lever API address is not a public one: {exc.reason}") from None
            raise LeverUnavailable(f"Lever could not be reached for GET /{what}: {type(exc).__name__}") from None
        except (HTTPException, OSError) as exc:
            raise LeverUnavailable(f"Lever could not be reached for GET /{what}: {type(exc).__name__}") from None
        try:
            data = json.loads(body).get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, dict):
            raise LeverUnavailable(f"Lever's answer to GET /{what} held no data object")
        return data
