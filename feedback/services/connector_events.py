"""What a connector does with one verified vendor event (feedback.ats.VendorEvent), inside the
caller's transaction: the event is recorded by its key, so a vendor's retry finds it and creates
nothing twice; an outcome is validated like a CSV row for the connector's company and imported; an
un-reject cancels what is unsent; an anonymisation erases the candidate at that company; an event
that needs the vendor's API waits for the worker (jobs/connector_sync.py).

The callers (api/hooks.py, the worker) commit, through commit_racing: two deliveries of one event
racing each other meet at the unique (connector, event key) index, and the second answers as a
retry does.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..ats import VendorEvent
from ..extensions import db
from ..models import Connector, ConnectorEvent
from ..names import fold
from ..timeutil import today
from .audit import record
from .batches import cancel_for_application
from .imports import import_outcomes
from .outcomes_csv import restrict_to_companies
from .outcomes_json import check_items, problem_json
from .privacy import erase_applications_at_company, erase_candidate_at_company

log = logging.getLogger(__name__)


@dataclass
class Taken:
    """The answer to the vendor: an HTTP status and a JSON body (no personal data in it)."""

    status: int
    body: dict = field(default_factory=dict)


def known_event(connector: Connector, event_key: str) -> ConnectorEvent | None:
    return db.session.scalar(sa.select(ConnectorEvent).where(ConnectorEvent.connector_id == connector.id,
                                                             ConnectorEvent.event_key == event_key))


def take_event(connector: Connector, event: VendorEvent, now: datetime) -> Taken:
    """Act on one verified event of ``connector``'s vendor. Flushes; the caller commits."""
    if event.action == "ping":
        return Taken(200, {"ok": True})
    if event.action == "ignore":
        return Taken(200, {"ignored": event.note or "not an outcome"})
    if known_event(connector, event.event_key) is not None:
        return Taken(200, {"duplicate": True})
    row = ConnectorEvent(connector_id=connector.id, event_key=event.event_key[:128], action=event.action,
                         status="taken", application_ref=_short(event.application_ref),
                         candidate_ref=_short(event.candidate_ref) if event.action == "outcome" else None,
                         received_at=now)
    if event.action == "outcome":
        taken = import_outcome(connector, event.item, row)
    elif event.action == "cancel":
        cancelled = cancel_for_application(connector.company_id, event.application_ref or "")
        if cancelled is None:  # an application we never imported (a move the vendor cannot tell apart)
            return Taken(200, {"ignored": "no such application"})
        taken = Taken(200, {"cancelled": cancelled, "known": True})
    elif event.action == "erase":
        erased = _erase(connector, event)
        record("erase", target=f"connector {connector.id}", source="ats", applications=erased)
        taken = Taken(200, {"erased_applications": erased})
    elif event.action == "enrich":
        row.status, row.detail, row.next_attempt_at = "pending", json.dumps(event.detail), now
        taken = Taken(202, {"queued": True})
    else:
        raise ValueError(f"unknown action {event.action!r}")
    if taken.status < 400:
        db.session.add(row)
        db.session.flush()
    return taken


def import_outcome(connector: Connector, item: dict, row: ConnectorEvent) -> Taken:
    """Validate ``item`` (CSV columns) for the connector's company, as the CSV and the API do, and
    import it: 201 a new application, 200 a known one, 422 with the problems (nothing stored).
    An item that names another company is a 422: a connector imports for its own company only."""
    item = {"decided_on": today().isoformat(), **item}
    item.setdefault("company", connector.company.name)
    ((valid, problems),) = list(restrict_to_companies(check_items([item]), {fold(connector.company.name)}))
    if valid is None:
        return Taken(422, {"errors": [problem_json(problem) for problem in problems]})
    summary = import_outcomes(iter([valid]), source=f"connector: {connector.kind}")
    record("import", target=f"batch {summary.batch_id}", source=f"connector {connector.id}",
           applications=summary.applications_created)
    created = summary.applications_created > 0
    row.status = "taken" if created else "known"
    return Taken(201 if created else 200, {"created": created, "requests_queued": summary.requests_queued,
                                           "already_known": not created})


def _short(value: str | None) -> str | None:
    return value[:100] if value else None


def _erase(connector: Connector, event: VendorEvent) -> int:
    """The vendor anonymised a candidate: erase them at the connector's company, by address when the
    event names one, else by the vendor's candidate id kept with the outcomes this connector took
    (then that id is dropped too). Returns the applications erased."""
    erased = erase_candidate_at_company(connector.company_id, event.candidate_email) if event.candidate_email else 0
    if event.candidate_ref:
        taken = sa.select(ConnectorEvent.application_ref).where(
            ConnectorEvent.connector_id == connector.id, ConnectorEvent.candidate_ref == event.candidate_ref[:100],
            ConnectorEvent.application_ref.is_not(None))
        if not erased:
            erased = erase_applications_at_company(connector.company_id, list(db.session.scalars(taken)))
        db.session.execute(sa.update(ConnectorEvent).where(
            ConnectorEvent.connector_id == connector.id, ConnectorEvent.candidate_ref == event.candidate_ref[:100])
            .values(candidate_ref=None).execution_options(synchronize_session=False))
    return erased
