"""The Recruitee connector (docs/connectors/recruitee.md): ``candidate_moved`` events signed with
``X-Recruitee-Signature`` (hex HMAC-SHA256 of the raw body), posted to a connector made by
`feedback connectors create --kind recruitee`. The example is Recruitee's event shape
(docs.recruitee.com/docs/webhooks), trimmed, with our own addresses.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import date

import pytest
import sqlalchemy as sa
from conftest import outcome_row

from feedback.ats import recruitee
from feedback.extensions import db
from feedback.models import Application, Candidate, FeedbackRequest, OutboxMessage, Position

SECRET = "recruitee-webhook-secret-0123"
COMPANY = "Acme Robotics"
EVENT = {
    "attempt_count": 1,
    "created_at": "2026-11-20T09:12:44.882646Z",
    "event_subtype": "disqualified",
    "event_type": "candidate_moved",
    "id": 6393901,
    "level": "company",
    "payload": {
        "candidate": {"id": 46044126, "name": "Ana Silva", "emails": ["ana.silva@example.org", "ana@example.net"],
                      "phones": ["+15555555555"], "source": "career_site"},
        "company": {"id": 89564, "name": "Acme Robotics"},
        "details": {
            "disqualify_kind": "admin",
            "disqualify_reason": {"id": 11, "name": "Wrong skill set"},
            "from_stage": {"category": "interview", "id": 8063170, "name": "Technical interview"},
            "to_stage": None,
            "disqualified_by": {"id": 152125, "first_name": "Marta", "last_name": "Reyes",
                                "email": "marta.reyes@example.org"},
        },
        "offer": {"id": 1181299, "kind": "job", "slug": "qa-engineer", "title": "QA Engineer",
                  "hiring_manager": {"id": 152126, "email": "head.of.qa@example.org"}},
    },
}
REF = "46044126:1181299"


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(subtype: str = "disqualified", event_id: int = 6393901, **details) -> dict:
    body = copy.deepcopy(EVENT)
    body["event_subtype"], body["id"] = subtype, event_id
    for key, value in details.items():
        if value is None:
            body["payload"]["details"].pop(key, None)
        else:
            body["payload"]["details"][key] = value
    return body


@pytest.fixture
def hook(app, import_csv):
    """A Recruitee connector for Acme Robotics (the company made by importing one CSV row)."""
    assert import_csv([outcome_row(candidate_name="Ben Okafor", candidate_email="ben@example.org",
                                   application_ref="csv-1")]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", "recruitee",
                                                "--company", COMPANY, "--secret", SECRET])
    assert result.exit_code == 0, result.output
    url, secret = result.stdout.splitlines()
    assert secret == f"secret: {SECRET}"
    return url.removeprefix("url: http://feedback.example")


def deliver(client, path: str, payload, *, signature: str | None = None, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if headers is None:
        headers = {"X-Recruitee-Signature": signature or sign(body)}
    return client.post(path, data=body, content_type="application/json", headers=headers)


def ana() -> Application | None:
    db.session.rollback()
    return db.session.scalar(sa.select(Application).where(Application.application_ref == REF))


def counts() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Application, Candidate, FeedbackRequest, OutboxMessage)}


def outbox_to(address: str) -> list[tuple[str, str]]:
    db.session.rollback()
    return sorted((m.kind, m.status) for m in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.to_address == address)))


# --- through the connector -------------------------------------------------------------------

def test_a_disqualification_is_imported_once(client, hook):
    before = counts()
    response = deliver(client, hook, EVENT)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": True, "requests_queued": 2, "already_known": False}

    application = ana()
    assert (application.stage, application.outcome, application.decided_on, application.contact_email) == (
        "interview", "rejected", date(2026, 11, 20), "marta.reyes@example.org")
    assert db.session.get(Position, application.position_id).title == "QA Engineer"
    candidate = db.session.get(Candidate, application.candidate_id)
    assert (candidate.name, candidate.email) == ("Ana Silva", "ana.silva@example.org")
    assert outbox_to("ana.silva@example.org") == [("invitation", "queued")]
    assert outbox_to("marta.reyes@example.org") == [("invitation", "queued")]

    # Recruitee's retry: the same event id, a higher attempt count (so other bytes).
    retry = copy.deepcopy(EVENT)
    retry["attempt_count"] = 2
    again = deliver(client, hook, retry)
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True})
    assert counts() == {**before, "Application": before["Application"] + 1, "Candidate": before["Candidate"] + 1,
                        "FeedbackRequest": before["FeedbackRequest"] + 2, "OutboxMessage": before["OutboxMessage"] + 2}


@pytest.mark.parametrize("headers", [{"X-Recruitee-Signature": sign(b"{}")},
                                     {"X-Recruitee-Signature": sign(json.dumps(EVENT).encode(), "another secret")},
                                     {}], ids=["other body", "other secret", "missing"])
def test_a_bad_or_missing_signature_is_refused(client, hook, headers):
    before = counts()
    response = deliver(client, hook, EVENT, headers=headers)
    assert response.status_code == 401
    assert counts() == before


def test_a_revoked_connector_answers_404(app, client, hook):
    connector_id = hook.rsplit("/", 1)[1]
    result = app.test_cli_runner().invoke(args=["feedback", "connectors", "revoke", connector_id])
    assert result.exit_code == 0, result.output
    assert deliver(client, hook, EVENT).status_code == 404
    assert ana() is None


def test_an_event_without_a_candidate_address_is_a_422_and_stores_nothing(client, hook):
    before = counts()
    body = copy.deepcopy(EVENT)
    body["payload"]["candidate"]["emails"] = []
    response = deliver(client, hook, body)
    assert response.status_code == 422
    assert any(error["field"] == "candidate_email" for error in response.get_json()["errors"])
    assert counts() == before


def test_a_requalification_cancels_what_is_still_queued(client, hook, runner, smtp_server):
    assert deliver(client, hook, EVENT).status_code == 201
    response = deliver(client, hook, event("requalified", event_id=6393950))
    assert (response.status_code, response.get_json()) == (200, {"cancelled": 2, "known": True})
    assert outbox_to("ana.silva@example.org") == [("invitation", "cancelled")]

    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    recipients = {address for _sender, addresses in smtp_server.handler.envelopes for address in addresses}
    assert "ben@example.org" in recipients  # the send ran
    assert not recipients & {"ana.silva@example.org", "marta.reyes@example.org"}


def test_the_test_request_is_answered_200_and_stores_nothing(client, hook):
    before = counts()
    for body in ({"test": True}, {**EVENT, "test": True}):  # the Test button, and a "Test payload" button
        response = deliver(client, hook, body)
        assert (response.status_code, response.get_json()) == (200, {"ok": True})
    assert counts() == before


@pytest.mark.parametrize("body", [event("stage_changed", to_stage={"category": "offer", "id": 1, "name": "Offer"}),
                                  {**EVENT, "event_type": "candidate_created", "event_subtype": "career_site"}],
                         ids=["stage change", "another event"])
def test_other_events_are_answered_200_and_ignored(client, hook, body):
    before = counts()
    response = deliver(client, hook, body)
    assert response.status_code == 200
    assert "ignored" in response.get_json()
    assert counts() == before


# --- read, the mapping alone ----------------------------------------------------------------

def item_of(body: dict) -> dict:
    raw = json.dumps(body).encode()
    return recruitee.read(body, raw, {}).item


@pytest.mark.parametrize(("stage", "ours"), [
    ({"name": "Applied", "category": "apply"}, "application"),
    ({"name": "Phone screen", "category": "phone_screen"}, "screen"),
    ({"name": "Interview", "category": "interview"}, "interview"),
    ({"name": "Final interview"}, "final"),
    ({"name": "Offer", "category": "offer"}, "offer"),
    ({"name": "Culture chat", "category": "apply"}, "application"),  # a custom name: its category
    ({"name": "Something of our own"}, "interview"),  # unknown: the default
])
def test_the_stage_table(stage, ours):
    assert item_of(event(from_stage=stage))["stage"] == ours


def test_the_stage_comes_from_to_stage_when_there_is_no_from_stage():
    assert item_of(event(from_stage=None, to_stage={"name": "Phone screen"}))["stage"] == "screen"


def test_the_contact_is_who_disqualified_then_the_hiring_manager():
    assert item_of(EVENT)["company_contact_email"] == "marta.reyes@example.org"
    assert item_of(event(disqualified_by=None))["company_contact_email"] == "head.of.qa@example.org"
    body = event(disqualified_by=None)
    del body["payload"]["offer"]["hiring_manager"]
    assert "company_contact_email" not in item_of(body)


@pytest.mark.parametrize(("details", "outcome"), [
    ({"disqualify_reason": {"name": "Wrong skill set"}}, "rejected"),
    ({"disqualify_reason": "Candidate withdrew"}, "withdrew"),
    ({"disqualify_reason": {"name": "Declined our offer"}}, "withdrew"),
    ({"disqualify_kind": "candidate", "disqualify_reason": {"name": "Other"}}, "withdrew"),
    ({"disqualify_kind": None, "disqualify_reason": None}, "rejected"),
])
def test_the_outcome_follows_the_reason(details, outcome):
    assert item_of(event(**{"disqualify_kind": "admin", **details}))["outcome"] == outcome


def test_read_never_raises_on_odd_input():
    for body in ({}, {"event_type": "candidate_moved", "event_subtype": "disqualified", "payload": []},
                 {"event_type": "candidate_moved", "event_subtype": "disqualified", "payload": {"candidate": "x"}},
                 {"event_type": "candidate_moved", "event_subtype": "requalified"}):
        read = recruitee.read(body, json.dumps(body).encode(), {})
        assert read.action in ("outcome", "ignore")
        assert read.event_key.startswith("sha256:")
