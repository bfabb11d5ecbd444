"""The Ashby connector (CONTRACT §8, docs/connectors/ashby.md).

Ashby's documented ``candidateStageChange`` / ``applicationUpdate`` payload (the application schema
of developers.ashbyhq.com/reference/applicationupdatewebhook with the example values of its fields,
and the top-level ``webhookActionId`` of docs/common-payload-data), trimmed and with our own
addresses, is posted to a connector made by `feedback connectors create --kind ashby`, signed as
Ashby signs: ``Ashby-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. Acme Robotics exists
because one of its outcomes was imported from a CSV first (Bea, the bystander, whose mail shows
that `feedback send` did send).
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

from feedback.ats import ashby
from feedback.extensions import db
from feedback.models import Application, Candidate, ConnectorEvent, FeedbackRequest, OutboxMessage, Position

SECRET = "ashby-secret-0123456789abcdef"
COMPANY = "Acme Robotics"
CANDIDATE = "james.hart@example.org"
MANAGER = "joey.manager@example.org"
RECRUITER = "rita.recruiter@example.org"
BYSTANDER = "bea.bystander@example.org"
BYSTANDER_CONTACT = "hiring@acme-robotics.example.com"  # the CSV row's contact
APPLICATION_ID = "d5a6bc97-4259-4bc5-b3fe-6d3edfd538e3"

ARCHIVED = {
    "webhookActionId": "75395d87-4044-4dc4-bc29-0cec185e5f06",
    "action": "candidateStageChange",
    "data": {
        "application": {
            "id": APPLICATION_ID,
            "createdAt": "2026-10-20T09:00:00.000Z",
            "updatedAt": "2026-12-01T16:10:00.000Z",
            "status": "Archived",
            "customFields": [],
            "candidate": {
                "id": "5b591f5e-0a8f-4a53-b0b6-4b1d3e2bb1aa",
                "name": "James Hart",
                "primaryEmailAddress": {"value": CANDIDATE, "type": "Work", "isPrimary": True},
                "primaryPhoneNumber": {"value": "222-222-3344", "type": "Work", "isPrimary": True},
            },
            "currentInterviewStage": {
                "id": "3ae2b801-19f6-41ef-ad28-214bd731948f",
                "title": "Technical Interview",
                "type": "Active",
                "orderInInterviewPlan": 3,
                "interviewStageGroupId": "5ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1ab",
                "interviewPlanId": "6ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1ac",
            },
            "archiveReason": {"id": "7ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1ad", "text": "Too inexperienced",
                              "reasonType": "RejectedByOrg", "isArchived": False, "customFields": []},
            "archivedAt": "2026-12-01T16:09:30.000Z",
            "job": {"id": "4071538b-3cac-4fbf-ac76-f78ed250ffdd", "title": "First Designer"},
            "hiringTeam": [
                {"email": RECRUITER, "firstName": "Rita", "lastName": "Ross", "role": "Recruiter",
                 "userId": "8ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1ae"},
                {"email": MANAGER, "firstName": "Joey", "lastName": "Joe", "role": "Hiring Manager",
                 "userId": "9ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1af"},
            ],
        }
    },
}


def archived(*, action: str = "candidateStageChange", action_id: str | None = None, status: str | None = None,
             **application_changes) -> dict:
    """ARCHIVED with the action, webhookActionId, status or application fields changed (None removes one)."""
    event = copy.deepcopy(ARCHIVED)
    event["action"] = action
    if action_id is not None:
        event["webhookActionId"] = action_id
    application = event["data"]["application"]
    if status is not None:
        application["status"] = status
    for key, value in application_changes.items():
        if value is None:
            application.pop(key, None)
        else:
            application[key] = value
    return event


def ashby_body(event: dict) -> bytes:
    return json.dumps(event).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, path: str, event: dict | bytes, *, headers: dict | None = None):
    body = event if isinstance(event, bytes) else ashby_body(event)
    headers = {"Ashby-Signature": signature(body)} if headers is None else headers
    return client.post(path, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def hook(app, import_csv) -> str:
    """Acme Robotics (from a CSV import of Bea's outcome) and its Ashby connector; its path."""
    imported = import_csv([outcome_row(candidate_name="Bea Bystander", candidate_email=BYSTANDER,
                                       company_contact_email=BYSTANDER_CONTACT, application_ref="CSV-1")])
    assert imported.exit_code == 0, imported.output
    created = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", "ashby",
                                                 "--company", COMPANY, "--secret", SECRET])
    assert created.exit_code == 0, created.output
    url, secret = created.stdout.splitlines()
    assert secret == f"secret: {SECRET}"
    assert url.startswith("url: http://feedback.example/hooks/ashby/")
    return url.removeprefix("url: http://feedback.example")


def application(ref: str = APPLICATION_ID) -> Application | None:
    db.session.rollback()
    return db.session.scalar(sa.select(Application).where(Application.application_ref == ref))


def stored() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Application, Candidate, FeedbackRequest, OutboxMessage, ConnectorEvent)}


def queued_to() -> list[tuple[str, str]]:
    db.session.rollback()
    return sorted((m.to_address, m.status) for m in db.session.scalars(sa.select(OutboxMessage))
                  if m.to_address not in (BYSTANDER, BYSTANDER_CONTACT))


# --- over HTTP ------------------------------------------------------------------------------

def test_the_documented_archive_is_imported_once_with_its_stage_and_contact(client, hook):
    response = deliver(client, hook, ARCHIVED)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": True, "requests_queued": 2, "already_known": False}

    imported = application()
    assert (imported.stage, imported.outcome, imported.decided_on, imported.contact_email) == (
        "interview", "rejected", date(2026, 12, 1), MANAGER)
    assert db.session.get(Position, imported.position_id).title == "First Designer"
    person = db.session.get(Candidate, imported.candidate_id)
    assert (person.name, person.email) == ("James Hart", CANDIDATE)
    assert queued_to() == [(CANDIDATE, "queued"), (MANAGER, "queued")]


def test_the_same_delivery_again_creates_nothing(client, hook):
    assert deliver(client, hook, ARCHIVED).status_code == 201
    before = stored()

    retry = deliver(client, hook, ARCHIVED)
    assert retry.status_code == 200
    assert retry.get_json() == {"duplicate": True}
    assert stored() == before


def test_the_related_application_update_of_the_same_archive_is_taken_once(client, hook):
    """Ashby sends applicationUpdate along with candidateStageChange, with the same webhookActionId."""
    assert deliver(client, hook, ARCHIVED).status_code == 201
    before = stored()
    related = deliver(client, hook, archived(action="applicationUpdate"))
    assert related.status_code == 200
    assert related.get_json() == {"duplicate": True}
    assert stored() == before


@pytest.mark.parametrize("headers", [
    pytest.param({"Ashby-Signature": "sha256=" + "0" * 64}, id="wrong signature"),
    pytest.param({"Ashby-Signature": signature(ashby_body(ARCHIVED), "another-secret")}, id="another secret"),
    pytest.param({"Ashby-Signature": signature(ashby_body(ARCHIVED)).removeprefix("sha256=")}, id="no algorithm"),
    pytest.param({}, id="missing header"),
])
def test_a_bad_or_missing_signature_is_refused_and_stores_nothing(client, hook, headers):
    before = stored()
    assert deliver(client, hook, ARCHIVED, headers=headers).status_code == 401
    assert stored() == before


def test_a_revoked_connector_answers_404(app, client, hook):
    connector_id = hook.rsplit("/", 1)[1]
    revoked = app.test_cli_runner().invoke(args=["feedback", "connectors", "revoke", connector_id])
    assert revoked.exit_code == 0, revoked.output
    assert deliver(client, hook, ARCHIVED).status_code == 404
    assert application() is None


def test_an_archive_without_a_candidate_address_is_refused_and_stores_nothing(client, hook):
    before = stored()
    event = archived(candidate={"id": "5b591f5e", "name": "James Hart"})
    response = deliver(client, hook, event)
    assert response.status_code == 422
    assert "candidate_email" in json.dumps(response.get_json())
    assert stored() == before


def test_a_candidate_who_withdrew_at_the_offer_declined_it_and_the_recruiter_is_the_fallback(client, hook):
    event = archived(currentInterviewStage={"id": "x", "title": "Offer", "type": "Offer"},
                     archiveReason={"id": "y", "text": "Accepted another offer", "reasonType": "RejectedByCandidate",
                                    "isArchived": False, "customFields": []},
                     hiringTeam=[{"email": RECRUITER, "firstName": "Rita", "lastName": "Ross", "role": "Recruiter",
                                  "userId": "z"}])
    assert deliver(client, hook, event).status_code == 201
    imported = application()
    assert (imported.stage, imported.outcome, imported.contact_email) == ("offer", "offer_declined", RECRUITER)
    assert queued_to() == [(CANDIDATE, "queued")]  # the company is asked about its own rejections only


def test_moving_back_to_active_cancels_what_is_still_queued_so_nothing_is_sent(client, runner, hook, smtp_server):
    assert deliver(client, hook, ARCHIVED).status_code == 201

    active = archived(action="applicationUpdate", action_id="a1b2c3d4-0000-4000-8000-000000000001",
                      status="Active", archiveReason=None, archivedAt=None)
    undone = deliver(client, hook, active)
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json() == {"cancelled": 2, "known": True}
    assert queued_to() == [(CANDIDATE, "cancelled"), (MANAGER, "cancelled")]

    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    recipients = [message["To"] for message in smtp_server.messages]
    assert BYSTANDER in recipients  # the send ran
    assert CANDIDATE not in recipients and MANAGER not in recipients


def test_a_ping_is_answered_and_records_nothing(client, hook):
    before = stored()
    response = deliver(client, hook, {"action": "ping", "data": {"webhookActionType": "ping"}})
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert stored() == before


@pytest.mark.parametrize("event", [
    pytest.param(archived(action="candidateHire", status="Hired"), id="a hire"),
    pytest.param(archived(action="applicationSubmit", status="Active"), id="another action"),
    pytest.param(archived(status="Hired"), id="a stage change to hired"),
])
def test_other_events_are_answered_200_and_ignored(client, hook, event):
    before = stored()
    response = deliver(client, hook, event)
    assert response.status_code == 200
    assert "ignored" in response.get_json()
    assert stored() == before


# --- the mapping alone ------------------------------------------------------------------------

def read(event: dict):
    return ashby.read(event, ashby_body(event), {})


@pytest.mark.parametrize(("title", "kind", "stage"), [
    ("Application Review", "PreInterviewScreen", "application"),
    ("Applied", "PreInterviewScreen", "application"),
    ("New Lead", "Lead", "application"),
    ("Recruiter Screen", "Active", "screen"),
    ("Hiring Manager Screen", "Active", "screen"),
    ("Technical Interview", "Active", "interview"),
    ("Take Home", "Active", "interview"),
    ("Onsite", "Active", "final"),
    ("Final Round", "Active", "final"),
    ("Offer", "Offer", "offer"),
    ("Verbal Offer Call", "Offer", "offer"),  # not in the table: by its type
    ("Portfolio Deep Dive", "Active", "interview"),  # unknown: the default
])
def test_the_stage_table(title, kind, stage):
    event = archived(currentInterviewStage={"id": "s", "title": title, "type": kind})
    assert read(event).item["stage"] == stage


def member(role: str, email: str) -> dict:
    return {"email": email, "firstName": "A", "lastName": "B", "role": role, "userId": email}


@pytest.mark.parametrize(("team", "contact"), [
    ([member("Recruiter", RECRUITER), member("Hiring Manager", MANAGER)], MANAGER),
    ([member("Recruiter", RECRUITER)], RECRUITER),
    ([member("Recruiting Coordinator", "coord@example.org"), member("Interviewer", "i@example.org")],
     "coord@example.org"),
    ([member("Interviewer", "i@example.org")], None),
    ([], None),
    ("not a list", None),
])
def test_the_contact_is_the_hiring_manager_then_the_recruiter(team, contact):
    assert read(archived(hiringTeam=team)).item.get("company_contact_email") == contact


@pytest.mark.parametrize(("reason_type", "title", "outcome"), [
    ("RejectedByOrg", "Technical Interview", "rejected"),
    ("RejectedByCandidate", "Technical Interview", "withdrew"),
    ("RejectedByCandidate", "Offer", "offer_declined"),
    ("Other", "Offer", "rejected"),
    (None, "Offer", "rejected"),
])
def test_the_archive_reason_type_tells_the_outcome(reason_type, title, outcome):
    event = archived(currentInterviewStage={"id": "s", "title": title, "type": "Active"},
                     archiveReason={"id": "r", "text": "x", "reasonType": reason_type})
    assert read(event).item["outcome"] == outcome


def test_the_event_key_follows_the_webhook_action_id_application_and_status_not_the_action():
    stage_change, update = read(ARCHIVED), read(archived(action="applicationUpdate"))
    assert stage_change.event_key == update.event_key
    assert read(archived(status="Active")).event_key != stage_change.event_key
    assert read(archived(action_id="another")).event_key != stage_change.event_key
    without_id = copy.deepcopy(ARCHIVED)
    del without_id["webhookActionId"]
    assert read(without_id).event_key.startswith("sha256:")


def test_the_date_is_the_archive_time_else_the_update_time():
    assert read(ARCHIVED).item["decided_on"] == "2026-12-01"
    assert read(archived(archivedAt=None, updatedAt="2026-11-29T10:00:00Z")).item["decided_on"] == "2026-11-29"


@pytest.mark.parametrize("event", [{}, {"action": "applicationUpdate"}, {"action": "applicationUpdate", "data": []},
                                   {"action": "candidateStageChange", "data": {"application": {"status": "Archived",
                                                                                               "hiringTeam": [1]}}},
                                   {"action": "ping", "webhookActionId": 5}])
def test_odd_events_never_raise(event):
    read(event)
