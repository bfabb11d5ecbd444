"""``POST /hooks/<kind>/<id>``: a native ATS connector's address (CONTRACT §8), one company each.

Each vendor's own signature is checked over the raw bytes (feedback/ats/), then its event is mapped
to an outcome, an un-reject, an anonymisation or a notification, and taken once
(services/connector_events.py). Answers: 201 imported, 200 known / a retry / ignored / a ping,
202 queued for the worker (Lever), 401 a bad or missing signature, 404 an unknown or revoked
connector, 422 an event that names no candidate address or another company, 400 not JSON.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request

from ..ats import VENDORS
from ..extensions import csrf, db, limiter
from ..models import Connector
from ..secrets_box import SecretUnreadable
from ..services.connector_events import take_event
from ..services.connectors import connector_secret, live_connector
from ..timeutil import utcnow
from ..transactions import commit_racing
from .webhook import json_object, take_generic_event

hooks_bp = Blueprint("hooks", __name__, url_prefix="/hooks")
csrf.exempt(hooks_bp)  # machines post here, signed with the connector's secret
log = logging.getLogger(__name__)


@hooks_bp.route("/<kind>/<int(max=2147483647):connector_id>", methods=["POST"])
@limiter.limit("120 per minute")
def hook(kind: str, connector_id: int):
    """Take one event of the connector's ATS for its company; 404 for an unknown or revoked one."""
    connector = live_connector(kind, connector_id)
    if connector is None:
        abort(404, "No such connector (or it was revoked).")
    try:
        secret = connector_secret(connector)
    except SecretUnreadable:
        log.error("connector %s: its secret cannot be read (SECRET_KEY changed without SECRET_KEY_FALLBACKS)",
                  connector.id)
        abort(503, "This connector's secret cannot be read; its operator must create it again.")
    if kind == "generic":
        answer = take_generic_event(secret, connector.company)
    else:
        answer = _take_vendor_event(kind, connector, secret)
    db.session.rollback()  # whatever the event did is committed (or refused); now note that it came
    _note_event(kind, connector_id)
    return answer


def _take_vendor_event(kind: str, connector: Connector, secret: str):
    vendor = VENDORS[kind]
    body = request.get_data(cache=True)
    if not vendor.verify(secret, body, request.headers):
        abort(401, "The signature does not match the body (or is missing).")
    event = json_object(body)
    read = vendor.read(event, body, request.headers)
    connector_id = connector.id

    def store():
        found = db.session.get(Connector, connector_id)  # again: a retried run starts from a rolled-back session
        return take_event(found, read, utcnow())

    taken = commit_racing(store)
    log.info("connector %s (%s): %s event answered %s", connector.id, kind, read.action, taken.status)
    return jsonify(taken.body), taken.status


def _note_event(kind: str, connector_id: int) -> None:
    connector = live_connector(kind, connector_id)
    if connector is not None:
        connector.last_event_at = utcnow()
        connector.event_count = (connector.event_count or 0) + 1
        db.session.commit()
