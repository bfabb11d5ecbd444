"""``POST /hooks/<kind>/<id>``: a native ATS connector's address (CONTRACT §8), one company each."""
from __future__ import annotations

from flask import Blueprint, abort

from ..extensions import csrf, db, limiter
from ..services.connectors import live_connector
from ..timeutil import utcnow
from .webhook import take_generic_event

hooks_bp = Blueprint("hooks", __name__, url_prefix="/hooks")
csrf.exempt(hooks_bp)  # machines post here, signed with the connector's secret


@hooks_bp.route("/<kind>/<int(max=2147483647):connector_id>", methods=["POST"])
@limiter.limit("120 per minute")
def hook(kind: str, connector_id: int):
    """Take one event of the connector's ATS for its company; 404 for an unknown or revoked one."""
    connector = live_connector(kind, connector_id)
    if connector is None:
        abort(404, "No such connector (or it was revoked).")
    answer = take_generic_event(connector.secret, connector.company)
    db.session.rollback()  # whatever the event did is committed (or refused); now note that it came
    connector = live_connector(kind, connector_id)
    if connector is not None:
        connector.last_event_at = utcnow()
        db.session.commit()
    return answer
