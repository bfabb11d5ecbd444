"""The Workable connector (docs/connectors/workable.md): ``candidate_moved`` events whose body is
the candidate as it is when sent, signed with ``X-Workable-Signature`` (HMAC-SHA256 of the body
under the account's API token), posted to a connector made by `feedback connectors create --kind
workable`. The example follows Workable's candidate events page
(workable.readme.io/reference/candidate-events), trimmed, with our own addresses.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import date

import pytest
import sqlalchemy as sa
from conftest import outcome_row

from feedback.ats import workable
from feedback.extensions import db
from feedback.models import Application, Candidate, FeedbackRequest, OutboxMessage, Position

TOKEN = "workable-account-token-0123456789"
COMPANY = "Acme Robotics"
EVENT = {
    "id": "7d1f0c2e",
    "event_type": "candidate_moved",
    "fired_at": "2026-11-20T09:12:45Z",
    "resource_type": "candidate",
    "data": {
        "id": "ce4da98",
        "name": "Ana Silva",
        "firstname": "Ana",
        "lastname": "Silva",
        "headline": "QA Analyst",
        "account": {"subdomain": "acme-robotics", "name": "Acme Robotics"},
        "job": {"shortcode": "GROOV005", "title": "QA Engineer",
                "hiring_manager": {"name": "Marta Reyes", "email": "marta.reyes@example.org"}},
        "stage": "Phone screen",
        "stage_kind": "phone_screen",
        "disqualified": True,
        "withdrew": False,
        "disqualification_reason": "Not enough test automation experience",
        "disqualified_at": "2026-11-20T09:12:40Z",
        "email": "ana.silva@example.org",
        "created_at": "2026-11-02T08:00:00Z",
        "updated_at": "2026-11-20T09:12:40Z",
    },
}
REF = "ce4da98:GROOV005"


def sign(body: bytes, secret: str = TOKEN) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event(**changes) -> dict:
    """EVENT with ``data`` fields changed (None removes a field)."""
    body = copy.deepcopy(EVENT)
    for key, value in changes.items():
        if value is None:
            body["data"].pop(key, None)
        else:
            body["data"][key] = value
    return body


@pytest.fixture
def hook(app, import_csv):
    """A Workable connector for Acme Robotics (the company made by importing one CSV row)."""
    assert import_csv([outcome_row(candidate_name="Ben Okafor", candidate_email="ben@example.org",
                                   application_ref="csv-1")]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", "workable",
                                                "--company", COMPANY, "--secret", TOKEN])
    assert result.exit_code == 0, result.output
    url, secret = result.stdout.splitlines()
    assert secret == f"secret: {TOKEN}"
    return url.removeprefix("url: http://feedback.example")


def deliver(client, path: str, payload, *, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if headers is None:
        headers = {"X-Workable-Signature": sign(body)}
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

def test_a_disqualified_candidate_is_imported_once(client, hook):
    before = counts()
    response = deliver(client, hook, EVENT)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": True, "requests_queued": 2, "already_known": False}

    application = ana()
    assert (application.stage, application.outcome, application.decided_on, application.contact_email) == (
        "screen", "rejected", date(2026, 11, 20), "marta.reyes@example.org")
    assert db.session.get(Position, application.position_id).title == "QA Engineer"
    candidate = db.session.get(Candidate, application.candidate_id)
    assert (candidate.name, candidate.email) == ("Ana Silva", "ana.silva@example.org")
    assert outbox_to("ana.silva@example.org") == [("invitation", "queued")]
    assert outbox_to("marta.reyes@example.org") == [("invitation", "queued")]

    # Workable replays the request: the same disqualification, the candidate's state as it is now.
    retry = event(updated_at="2026-11-20T09:20:00Z")
    again = deliver(client, hook, retry)
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True})
    assert counts() == {**before, "Application": before["Application"] + 1, "Candidate": before["Candidate"] + 1,
                        "FeedbackRequest": before["FeedbackRequest"] + 2, "OutboxMessage": before["OutboxMessage"] + 2}


def test_a_base64_signature_of_the_same_digest_is_taken(client, hook):
    body = json.dumps(EVENT).encode()
    digest = hmac.new(TOKEN.encode(), body, hashlib.sha256).digest()
    response = deliver(client, hook, body, headers={"X-Workable-Signature": base64.b64encode(digest).decode()})
    assert response.status_code == 201


@pytest.mark.parametrize("headers", [{"X-Workable-Signature": sign(b"{}")},
                                     {"X-Workable-Signature": sign(json.dumps(EVENT).encode(), "another token")},
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
    response = deliver(client, hook, event(email=None))
    assert response.status_code == 422
    assert any(error["field"] == "candidate_email" for error in response.get_json()["errors"])
    assert counts() == before


def test_a_reverted_disqualification_cancels_what_is_still_queued(client, hook, runner, smtp_server):
    assert deliver(client, hook, EVENT).status_code == 201
    reverted = event(disqualified=False, disqualification_reason=None, disqualified_at=None,
                     updated_at="2026-11-20T10:00:00Z")
    response = deliver(client, hook, reverted)
    assert (response.status_code, response.get_json()) == (200, {"cancelled": 2, "known": True})
    assert outbox_to("ana.silva@example.org") == [("invitation", "cancelled")]

    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    recipients = {address for _sender, addresses in smtp_server.handler.envelopes for address in addresses}
    assert "ben@example.org" in recipients  # the send ran
    assert not recipients & {"ana.silva@example.org", "marta.reyes@example.org"}


def test_a_move_of_a_candidate_not_disqualified_imports_nothing(client, hook):
    """``candidate_moved`` is named for any move; the body decides: not disqualified is no outcome
    (for a candidate never imported, the cancel it becomes finds nothing and is ignored)."""
    before = counts()
    response = deliver(client, hook, event(disqualified=False, disqualification_reason=None, disqualified_at=None))
    assert response.status_code == 200
    assert response.get_json() == {"ignored": "no such application"}
    assert counts() == before


@pytest.mark.parametrize("body", [{**EVENT, "event_type": "candidate_created"},
                                  {"event_type": "employee_created", "data": {"id": "e1"}}, {}],
                         ids=["candidate created", "employee event", "empty"])
def test_other_events_are_answered_200_and_ignored(client, hook, body):
    before = counts()
    response = deliver(client, hook, body)
    assert response.status_code == 200
    assert "ignored" in response.get_json()
    assert counts() == before


# --- read, the mapping alone ----------------------------------------------------------------

def item_of(body: dict) -> dict:
    return workable.read(body, json.dumps(body).encode(), {}).item


@pytest.mark.parametrize(("stage", "kind", "ours"), [
    ("Applied", None, "application"),
    ("sourced", None, "application"),
    ("Phone screen", "phone_screen", "screen"),
    ("phone-screen", None, "screen"),
    ("Assessment", "assessment", "interview"),
    ("Interview", "interview", "interview"),
    ("Final interview", None, "final"),
    ("Offer", "offer", "offer"),
    ("Chat with the founders", "interview", "interview"),  # a custom stage: its kind
    ("Chat with the founders", None, "interview"),  # unknown: the default
])
def test_the_stage_table(stage, kind, ours):
    assert item_of(event(stage=stage, stage_kind=kind))["stage"] == ours


def test_the_contact_is_who_disqualified_then_the_hiring_manager_then_the_recruiter():
    job = EVENT["data"]["job"]
    member = {"name": "Lee Chan", "email": "lee.chan@example.org"}
    assert item_of(event(disqualified_by=member))["company_contact_email"] == "lee.chan@example.org"
    assert item_of(EVENT)["company_contact_email"] == "marta.reyes@example.org"
    recruiter_only = {"shortcode": job["shortcode"], "title": job["title"],
                      "recruiter": {"email": "recruiter@example.org"}}
    assert item_of(event(job=recruiter_only))["company_contact_email"] == "recruiter@example.org"
    bare = {"shortcode": job["shortcode"], "title": job["title"]}
    assert "company_contact_email" not in item_of(event(job=bare))


@pytest.mark.parametrize(("changes", "outcome"), [
    ({"disqualification_reason": "Not enough experience"}, "rejected"),
    ({"disqualification_reason": "Candidate withdrew"}, "withdrew"),
    ({"disqualification_reason": "Declined the offer"}, "withdrew"),
    ({"withdrew": True, "disqualification_reason": None}, "withdrew"),
    ({"disqualification_reason": None}, "rejected"),
])
def test_the_outcome_follows_the_reason(changes, outcome):
    assert item_of(event(**changes))["outcome"] == outcome


def test_the_name_falls_back_to_first_and_last_name():
    assert item_of(event(name=None))["candidate_name"] == "Ana Silva"


def test_read_never_raises_on_odd_input():
    for body in ({}, {"event_type": "candidate_moved", "data": []},
                 {"event_type": "candidate_moved", "data": {"disqualified": True, "job": "x"}},
                 {"event_type": "candidate_moved", "data": {"disqualified": "yes"}}):
        read = workable.read(body, json.dumps(body).encode(), {})
        assert read.action in ("outcome", "ignore")
