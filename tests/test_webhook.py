"""The generic ATS webhook (README *ATS webhook*, CONTRACT §8): signed events, imported like a CSV row.

Signature: HMAC-SHA256 with the connector's secret over ``"<timestamp>." + raw body``, sent as
``X-Feedback-Signature: sha256=<hex>`` with ``X-Feedback-Timestamp`` (Unix seconds, within 5
minutes of now). Calls go to ``hook``, an app on the test database with a generic connector for
Acme Robotics made by `feedback connectors create` (its path is ``hook.hook_path``); the operator's
webhook at /api/v1/webhooks/outcome, with WEBHOOK_SECRET, takes the same events for any existing
company.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import date

import pytest
import sqlalchemy as sa

from feedback.extensions import db
from feedback.models import (
    Application,
    Candidate,
    Company,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Position,
    WebhookDelivery,
)

SECRET = "whsec-test-0123456789abcdef"
URL = "/api/v1/webhooks/outcome"
WRITTEN = (Position, Candidate, Application, FeedbackRequest, OutboxMessage, ImportBatch, WebhookDelivery)
EVENT = {
    "event": "candidate.rejected",
    "occurred_at": "2026-10-02T10:00:00Z",
    "application": {
        "id": "GH-1",
        "stage": "Onsite",
        "job": {"title": "QA Engineer"},
        "company": {"name": "Acme Robotics"},
        "candidate": {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.org"},
        "rejected_by": {"email": "hiring@acme.example.com"},
    },
}


def make_connector(app, company: str, secret: str = SECRET, kind: str = "generic") -> str:
    """`feedback connectors create` for ``company`` (made if missing); returns the hook's path."""
    if db.session.scalar(sa.select(Company.id).where(Company.name == company)) is None:
        db.session.add(Company(name=company))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", kind,
                                                "--company", company, "--secret", secret])
    assert result.exit_code == 0, result.output
    url, shown_secret = result.stdout.splitlines()
    assert shown_secret == f"secret: {secret}"
    return url.removeprefix("url: http://feedback.example")


@pytest.fixture
def hook(app, make_app):
    """An app with a generic connector for Acme Robotics; ``app`` empties the tables around the test."""
    hook = make_app(WEBHOOK_SECRET=SECRET)
    with hook.app_context():
        hook.hook_path = make_connector(hook, "Acme Robotics")
    return hook


def event(**changes) -> dict:
    """EVENT with top-level or ``application`` fields changed (None removes a field)."""
    body = copy.deepcopy(EVENT)
    for key, value in changes.items():
        target = body if key in ("event", "occurred_at") else body["application"]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return body


def sign(body: bytes, timestamp: int | str, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def deliver(client, payload, *, timestamp: int | str | None = None, signature: str | None = None,
            secret: str = SECRET, headers: dict | None = None):
    """POST a signed event (a dict is serialised; bytes go as they are)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    if headers is None:
        headers = {"X-Feedback-Timestamp": str(timestamp),
                   "X-Feedback-Signature": signature or sign(body, timestamp, secret)}
    url = getattr(client.application, "hook_path", URL)
    return client.post(url, data=body, content_type="application/json", headers=headers)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def counts() -> dict[str, int]:
    return {model.__name__: count(model) for model in WRITTEN}


def assert_refused(response, status: int, word: str) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status
    assert word.lower() in error["detail"].lower(), error


def applications() -> list[Application]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Application).order_by(Application.id)))


# --- accepted events --------------------------------------------------------------------------

def test_a_signed_rejection_is_imported_like_one_csv_row(hook):
    client = hook.test_client()
    response = deliver(client, EVENT)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": True, "requests_queued": 2, "already_known": False}

    (application,) = applications()
    assert (application.stage, application.outcome, application.decided_on, application.application_ref,
            application.contact_email) == ("interview", "rejected", date(2026, 10, 2), "GH-1",
                                           "hiring@acme.example.com")
    assert db.session.get(Company, application.company_id).name == "Acme Robotics"
    assert db.session.get(Position, application.position_id).title == "QA Engineer"
    candidate = db.session.get(Candidate, application.candidate_id)
    assert (candidate.name, candidate.email) == ("Ana Silva", "ana@example.org")
    requests = {r.audience: r.recipient_email for r in db.session.scalars(sa.select(FeedbackRequest))}
    assert requests == {"candidate": "ana@example.org", "company": "hiring@acme.example.com"}
    outbox = sorted((m.kind, m.status, m.to_address) for m in db.session.scalars(sa.select(OutboxMessage)))
    assert outbox == [("invitation", "queued", "ana@example.org"), ("invitation", "queued", "hiring@acme.example.com")]
    (batch,) = db.session.scalars(sa.select(ImportBatch)).all()
    assert (batch.source, batch.rows_read, batch.applications_created, batch.requests_queued) == ("webhook", 1, 1, 2)


def test_the_same_application_in_a_new_delivery_is_already_known(hook):
    client = hook.test_client()
    now = int(time.time())
    assert deliver(client, EVENT, timestamp=now - 10).status_code == 201
    before = counts()
    again = deliver(client, EVENT, timestamp=now)  # the ATS retried: a new timestamp, a new signature
    assert again.status_code == 200, again.get_json()
    assert again.get_json() == {"created": False, "requests_queued": 0, "already_known": True}
    after = counts()
    assert after["Application"] == before["Application"] == 1
    assert after["OutboxMessage"] == before["OutboxMessage"] == 2
    assert after["WebhookDelivery"] == 2
    # Another stage or candidate name for the same ATS id changes nothing either.
    changed = deliver(client, event(stage="Final Interview",
                                    candidate={"name": "A. Silva", "email": "ana@example.org"}))
    assert changed.status_code == 200
    assert count(Application) == 1


@pytest.mark.parametrize("name, outcome", [
    ("candidate.withdrew", "withdrew"),
    ("application.withdrawn", "withdrew"),
    ("offer.declined", "offer_declined"),
])
def test_withdrawals_and_declined_offers_ask_only_the_candidate(hook, name, outcome):
    body = event(event=name, stage="Offer Extended", rejected_by=None, id=f"GH-{name}")
    response = deliver(hook.test_client(), body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["requests_queued"] == 1
    (application,) = applications()
    assert (application.outcome, application.stage) == (outcome, "offer")
    assert [(r.audience, r.recipient_email) for r in db.session.scalars(sa.select(FeedbackRequest))] == [
        ("candidate", "ana@example.org")]
    assert [m.to_address for m in db.session.scalars(sa.select(OutboxMessage))] == ["ana@example.org"]


def test_null_fields_are_the_same_as_leaving_them_out(hook):
    body = event(event="candidate.withdrew", id=None, rejected_by=None)
    body["application"].update({"rejected_by": None, "decided_by": None, "id": None})
    body["application"]["candidate"].update({"last_name": None, "name": None})
    response = deliver(hook.test_client(), body)
    assert response.status_code == 201, response.get_json()
    (application,) = applications()
    assert application.application_ref is None and application.contact_email is None
    assert db.session.get(Candidate, application.candidate_id).name == "Ana"


def test_application_rejected_with_decided_by_and_our_own_stage_names(hook):
    body = event(event="application.rejected", stage="screen", rejected_by=None,
                 decided_by={"email": "Lead@Acme.example.com"}, id=4411)
    response = deliver(hook.test_client(), body)
    assert response.status_code == 201, response.get_json()
    (application,) = applications()
    assert (application.stage, application.outcome, application.application_ref, application.contact_email) == (
        "screen", "rejected", "4411", "lead@acme.example.com")


# --- refusals ---------------------------------------------------------------------------------

def test_refusals_each_with_its_status_and_a_json_error(hook):
    client = hook.test_client()
    body = json.dumps(EVENT).encode()
    now = int(time.time())
    cases = [
        ("no headers", deliver(client, EVENT, headers={}), 401, "X-Feedback-Signature"),
        ("only a timestamp", deliver(client, EVENT, headers={"X-Feedback-Timestamp": str(now)}), 401, "required"),
        ("only a signature", deliver(client, EVENT, headers={"X-Feedback-Signature": sign(body, now)}), 401,
         "required"),
        ("wrong signature", deliver(client, EVENT, signature="sha256=" + "0" * 64), 401, "signature"),
        ("wrong secret", deliver(client, EVENT, secret="not-the-secret"), 401, "signature"),
        ("signature over a different body", deliver(client, EVENT, signature=sign(json.dumps(
            event(id="GH-2")).encode(), now), timestamp=now), 401, "signature"),
        ("signature for another timestamp", deliver(client, EVENT, signature=sign(body, now - 1), timestamp=now),
         401, "signature"),
        ("stale: 310 s old", deliver(client, EVENT, timestamp=int(time.time()) - 310), 401, "5 minutes"),
        ("future: 310 s ahead", deliver(client, EVENT, timestamp=int(time.time()) + 310), 401, "5 minutes"),
        ("non-numeric timestamp", deliver(client, EVENT, timestamp="yesterday"), 401, "timestamp"),
        ("negative timestamp", deliver(client, EVENT, timestamp=f"-{now}"), 401, "timestamp"),
        ("fractional timestamp", deliver(client, EVENT, timestamp=f"{now}.5"), 401, "timestamp"),
        ("superscript digit", deliver(client, EVENT, timestamp="\u00b2"), 401, "timestamp"),
        ("5,000 digits", deliver(client, EVENT, timestamp="9" * 5000), 401, "timestamp"),
        ("milliseconds", deliver(client, EVENT, timestamp=now * 1000), 401, "5 minutes"),
    ]
    for label, response, status, word in cases:
        assert response.status_code == status, (label, response.status_code, response.get_data(as_text=True))
        assert_refused(response, status, word)
        assert response.headers.get("WWW-Authenticate"), label
    assert counts() == {model.__name__: 0 for model in WRITTEN}

    # Just inside the window both ways is fine.
    assert deliver(client, event(id="GH-early"), timestamp=int(time.time()) - 290).status_code == 201
    assert deliver(client, event(id="GH-late"), timestamp=int(time.time()) + 290).status_code == 201


def test_a_replayed_delivery_gets_409_and_nothing_more(hook):
    client = hook.test_client()
    body = json.dumps(EVENT).encode()
    timestamp = int(time.time())
    headers = {"X-Feedback-Timestamp": str(timestamp), "X-Feedback-Signature": sign(body, timestamp)}
    assert deliver(client, body, headers=headers).status_code == 201
    before = counts()
    for _ in range(2):
        assert_refused(deliver(client, body, headers=headers), 409, "already received")
    assert counts() == before


def test_a_validly_signed_body_that_is_not_a_json_object_gets_400(hook):
    client = hook.test_client()
    unencodable = json.dumps(EVENT).replace('"Ana"', '"An\\ud800a"').encode()  # a lone surrogate: no database takes it
    nested = b"[" * 100_000 + b"]" * 100_000  # deeper than Python's recursion limit
    for body in (b"this is not json", b"[1, 2, 3]", b'"a string"', b"\xff\xfe\xfa", b"", unencodable, nested):
        assert_refused(deliver(client, body), 400, "JSON")
    assert counts() == {model.__name__: 0 for model in WRITTEN}


@pytest.mark.parametrize("payload, field", [
    (event(event="candidate.hired"), "outcome"),
    (event(candidate={"first_name": "Ana", "last_name": "Silva"}), "candidate_email"),
    (event(candidate={"first_name": "Ana", "email": "not-an-address"}), "candidate_email"),
    (event(rejected_by=None), "company_contact_email"),
    (event(stage="Lunch"), "stage"),
    (event(company={"name": "Borealis Logistics"}), "company"),  # another company: never created
    (event(job={"title": ""}), "position"),
    (event(occurred_at="2999-01-01T00:00:00Z"), "decided_on"),
    (event(occurred_at="last tuesday"), "decided_on"),
    ({"event": "candidate.rejected"}, "candidate_email"),
    ({}, "outcome"),
    # Fields of the wrong JSON type are refused by name, even one the mapping would not use.
    (event(candidate={"first_name": 5, "last_name": "Silva", "email": "ana@example.org"}),
     "application.candidate.first_name"),
    (event(id=True), "application.id"),
    (event(id=1.5), "application.id"),
    (event(rejected_by="hiring@acme.example.com"), "application.rejected_by"),
    (event(decided_by={"email": ["someone@acme.example.com"]}), "application.decided_by.email"),
    (event(job="QA Engineer"), "application.job"),
    ({**EVENT, "application": "GH-1"}, "application"),
    ({**EVENT, "occurred_at": 20261002}, "occurred_at"),
])
def test_an_invalid_event_gets_422_with_its_problems_and_nothing_is_written(hook, payload, field):
    response = deliver(hook.test_client(), payload)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    errors = response.get_json()["errors"]
    assert field in {error["field"] for error in errors}, errors
    assert all(set(error) == {"index", "field", "message"} for error in errors)
    assert counts() == {model.__name__: 0 for model in WRITTEN}


def test_without_a_secret_the_webhook_is_off_with_503(app, make_app):
    client = make_app(WEBHOOK_SECRET="").test_client()
    body = json.dumps(EVENT).encode()
    now = int(time.time())
    for headers in ({}, {"X-Feedback-Timestamp": str(now), "X-Feedback-Signature": sign(body, now, "")}):
        assert_refused(deliver(client, body, headers=headers), 503, "WEBHOOK_SECRET")
    assert counts() == {model.__name__: 0 for model in WRITTEN}
