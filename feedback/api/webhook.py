"""``POST /api/v1/webhooks/outcome``: an ATS tells us a candidate was rejected, withdrew or declined.

Signed with HMAC-SHA256 over ``"<timestamp>." + body`` with the secret (a connector's, or the
operator's WEBHOOK_SECRET for this address); the
timestamp travels in ``X-Feedback-Timestamp`` (Unix seconds) and the signature in
``X-Feedback-Signature: sha256=<hex>``. Unsigned or wrongly signed: 401. Older or newer than 5
minutes: 401. The same delivery twice: 409. A valid event is imported like one CSV row.
"""
from __future__ import annotations

import hashlib
import hmac
import time

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request

from ..extensions import db, limiter
from ..models import Company, WebhookDelivery
from ..names import fold
from ..queries.companies import company_names
from ..services.audit import record
from ..services.imports import import_outcomes
from ..services.outcomes_csv import Problem, restrict_to_companies
from ..transactions import commit_racing
from . import bp
from .outcomes import check_items, problem_json

MAX_SKEW_SECONDS = 300
EVENT_OUTCOMES = {
    "candidate.rejected": "rejected",
    "application.rejected": "rejected",
    "candidate.withdrew": "withdrew",
    "application.withdrawn": "withdrew",
    "offer.declined": "offer_declined",
}
# Stage names as common ATSs spell them, mapped to ours (ours pass through unchanged).
STAGE_SYNONYMS = {
    "application review": "application", "applied": "application", "new": "application",
    "phone screen": "screen", "recruiter screen": "screen", "screening": "screen",
    "onsite": "interview", "technical interview": "interview", "interviewing": "interview",
    "final interview": "final", "final round": "final",
    "offer extended": "offer",
}


def _verify_signature(secret: str, body: bytes) -> str:
    """The delivery's signature if it is genuine and fresh under ``secret``; otherwise answer 401."""
    timestamp = request.headers.get("X-Feedback-Timestamp", "")
    signature = request.headers.get("X-Feedback-Signature", "")
    if not timestamp or not signature:
        abort(401, "Sign the request: X-Feedback-Timestamp and X-Feedback-Signature are required.")
    well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20  # not "²", not 5,000 digits
    if not well_formed or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        abort(401, "The timestamp is missing, malformed or more than 5 minutes away from now.")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.removeprefix("sha256="), expected):
        abort(401, "The signature does not match the body.")
    return expected


# The event's fields and the JSON types they take; null is the same as leaving a field out.
EVENT_SHAPE = {
    "event": str, "occurred_at": str,
    "application": {
        "id": (str, int), "stage": str, "job": {"title": str}, "company": {"name": str},
        "candidate": {"first_name": str, "last_name": str, "name": str, "email": str},
        "rejected_by": {"email": str}, "decided_by": {"email": str},
    },
}


def shape_problems(value: dict, shape: dict = EVENT_SHAPE, path: str = "") -> list[Problem]:
    """Fields of the wrong JSON type, even those the mapping would not use (the OpenAPI document types them)."""
    problems = []
    for key, expected in shape.items():
        field, item = f"{path}{key}", value.get(key)
        if item is None:
            continue
        if isinstance(expected, dict):
            if isinstance(item, dict):
                problems.extend(shape_problems(item, expected, f"{field}."))
            else:
                problems.append(Problem(0, field, "must be an object"))
        elif isinstance(item, bool) or not isinstance(item, expected):
            kind = "a string" if expected is str else "a string or an integer"
            problems.append(Problem(0, field, f"must be {kind}"))
    return problems


def outcome_from_event(event: dict) -> dict:
    """Map an ATS event (of the right shape: shape_problems) to an outcomes row; the README documents the fields."""
    application = event.get("application") or {}
    candidate = application.get("candidate") or {}
    job = application.get("job") or {}
    company = application.get("company") or {}
    contact = (application.get("rejected_by") or {}).get("email")
    if contact is None:
        contact = (application.get("decided_by") or {}).get("email")
    stage = application.get("stage") or ""
    name = " ".join(part for part in (candidate.get("first_name"), candidate.get("last_name")) if part)
    row = {
        "candidate_name": name or candidate.get("name"),
        "candidate_email": candidate.get("email"),
        "company": company.get("name"),
        "company_contact_email": contact,
        "position": job.get("title"),
        "stage": STAGE_SYNONYMS.get(stage.strip().lower(), stage),
        "outcome": EVENT_OUTCOMES.get(event.get("event") or "", event.get("event")),
        "decided_on": (event.get("occurred_at") or "")[:10],
        "application_ref": None if application.get("id") is None else str(application.get("id")),
    }
    return {key: value for key, value in row.items() if value is not None}


def json_object(body: bytes) -> dict:
    """The body as a JSON object, or a 400. Read with the app's provider, as request.get_json is: lone
    surrogates and deep nesting are a ValueError too."""
    try:
        event = current_app.json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        abort(400, "The body must be a JSON object.")
    if not isinstance(event, dict):
        abort(400, "The body must be a JSON object.")
    return event


def take_generic_event(secret: str, company: Company | None):
    """Verify, read and import one generic event: for ``company`` only (a connector's), or for any
    company that exists (the operator's webhook). A company it does not name is ``company``; one it
    names outside that scope, or one that does not exist, is a 422: an event never creates one."""
    body = request.get_data(cache=True)
    signature = _verify_signature(secret, body)
    event = json_object(body)
    digest = hashlib.sha256(signature.encode()).hexdigest()
    problems = shape_problems(event)
    row = None
    if not problems:
        item = outcome_from_event(event)
        if company is not None:
            item.setdefault("company", company.name)
        allowed = {fold(company.name)} if company is not None else {fold(name) for name in company_names()}
        ((row, problems),) = list(restrict_to_companies(check_items([item]), allowed))
    if row is None:
        return jsonify({"errors": [problem_json(p) for p in problems]}), 422

    def store():
        # inside the retried work: the loser of a race of one delivery finds the winner's row here
        if db.session.scalar(sa.select(WebhookDelivery.id).where(WebhookDelivery.signature_hash == digest)):
            abort(409, "This delivery was already received.")
        db.session.add(WebhookDelivery(signature_hash=digest))
        summary = import_outcomes(iter([row]), source="webhook")
        record("import", target=f"batch {summary.batch_id}", source="webhook",
               applications=summary.applications_created)
        return summary

    summary = commit_racing(store)
    created = summary.applications_created > 0
    return jsonify({"created": created, "requests_queued": summary.requests_queued,
                    "already_known": not created}), 201 if created else 200


@bp.route("/webhooks/outcome", methods=["POST"])
@limiter.limit("120 per minute")
def outcome_webhook():
    """The operator's webhook: one signed event for any existing company (prefer a connector per company)."""
    secret = current_app.config.get("WEBHOOK_SECRET")
    if not secret:
        abort(503, "The outcome webhook is not configured (set WEBHOOK_SECRET, or use a connector).")
    return take_generic_event(secret, None)
