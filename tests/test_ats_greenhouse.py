"""The Greenhouse connector (CONTRACT §8, docs/connectors/greenhouse.md).

Greenhouse's documented ``reject_candidate`` example (developers.greenhouse.io/webhooks.html,
"Candidate/Prospect rejected"), trimmed and with our own addresses, is posted to a connector made by
`feedback connectors create --kind greenhouse`, signed as Greenhouse signs: ``Signature: sha256
<hex HMAC-SHA256 of the raw body>``, the body's non-ASCII escaped as ``\\uXXXX`` as Greenhouse
escapes it. Acme Robotics exists because one of its outcomes was imported from a CSV first (Bea,
the bystander, whose mail shows that `feedback send` did send).
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

from feedback.ats import greenhouse
from feedback.extensions import db
from feedback.models import Application, Candidate, ConnectorEvent, FeedbackRequest, OutboxMessage, Position

SECRET = "gh-secret-0123456789abcdef"
COMPANY = "Acme Robotics"
CANDIDATE = "zoe.nunez@example.org"
RECRUITER = "alicia.recruiter@example.org"
COORDINATOR = "sam.coordinator@example.org"
BYSTANDER = "bea.bystander@example.org"
BYSTANDER_CONTACT = "hiring@acme-robotics.example.com"  # the CSV row's contact

REJECTION = {
    "action": "reject_candidate",
    "payload": {
        "application": {
            "id": 265293,
            "rejected_at": "2026-11-30T15:50:41Z",
            "prospect": False,
            "status": "rejected",
            "applied_at": "2026-10-22T00:00:00Z",
            "credited_to": None,
            "rejection_reason": {"id": 14, "name": "Too Junior", "type": {"id": 1, "name": "We rejected them"}},
            "current_stage": {"id": 2708728, "name": "Phone Interview", "interviews": []},
            "candidate": {
                "id": 265788,
                "first_name": "Zoë",
                "last_name": "Núñez",
                "is_private": False,
                "can_email": True,
                "email_addresses": [{"value": "zoe.work@example.org", "type": "work"},
                                    {"value": CANDIDATE, "type": "personal"}],
                "recruiter": {"id": 3128, "email": RECRUITER, "name": "Alicia Flopple", "employee_id": None},
                "coordinator": {"id": 3129, "email": COORDINATOR, "name": "Sam Kang", "employee_id": None},
                "tags": ["Imported"],
            },
            "jobs": [{"id": 371417, "name": "Designer", "requisition_id": None, "status": "open"}],
        }
    },
}


def rejection(*, action: str = "reject_candidate", stage: str | None = None, reason_type: str | None = None,
              candidate: dict | None = None) -> dict:
    event = copy.deepcopy(REJECTION)
    event["action"] = action
    application = event["payload"]["application"]
    if stage is not None:
        application["current_stage"]["name"] = stage
    if reason_type is not None:
        application["rejection_reason"]["type"]["name"] = reason_type
    if candidate is not None:
        application["candidate"].update(candidate)
    return event


def greenhouse_body(event: dict) -> bytes:
    """The body as Greenhouse sends it: JSON with non-ASCII escaped (``\\u00eb``)."""
    return json.dumps(event, ensure_ascii=True).encode("ascii")


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256 " + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, path: str, event: dict | bytes, *, event_id: str | None = "gh-evt-1",
            sign: str | None = None, headers: dict | None = None):
    body = event if isinstance(event, bytes) else greenhouse_body(event)
    if headers is None:
        headers = {"Signature": sign or signature(body)}
        if event_id:
            headers["Greenhouse-Event-ID"] = event_id
    return client.post(path, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def hook(app, import_csv) -> str:
    """Acme Robotics (from a CSV import of Bea's outcome) and its Greenhouse connector; its path."""
    imported = import_csv([outcome_row(candidate_name="Bea Bystander", candidate_email=BYSTANDER,
                                       application_ref="CSV-1")])
    assert imported.exit_code == 0, imported.output
    created = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", "greenhouse",
                                                 "--company", COMPANY, "--secret", SECRET])
    assert created.exit_code == 0, created.output
    url, secret = created.stdout.splitlines()
    assert secret == f"secret: {SECRET}"
    assert url.startswith("url: http://feedback.example/hooks/greenhouse/")
    return url.removeprefix("url: http://feedback.example")


def application(ref: str) -> Application | None:
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

def test_the_documented_rejection_is_imported_once_with_its_stage_and_contact(client, hook):
    body = greenhouse_body(rejection())
    assert b'"first_name": "Zo\\u00eb", "last_name": "N\\u00fa\\u00f1ez"' in body  # escaped, as Greenhouse signs

    response = deliver(client, hook, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": True, "requests_queued": 2, "already_known": False}

    imported = application("265293")
    assert (imported.stage, imported.outcome, imported.decided_on, imported.contact_email) == (
        "screen", "rejected", date(2026, 11, 30), RECRUITER)
    assert db.session.get(Position, imported.position_id).title == "Designer"
    person = db.session.get(Candidate, imported.candidate_id)
    assert (person.name, person.email) == ("Zoë Núñez", CANDIDATE)  # the personal address, not the work one
    assert queued_to() == [(RECRUITER, "queued"), (CANDIDATE, "queued")]


def test_the_same_delivery_again_creates_nothing(client, hook):
    assert deliver(client, hook, rejection()).status_code == 201
    before = stored()

    retry = deliver(client, hook, rejection())
    assert retry.status_code == 200
    assert retry.get_json() == {"duplicate": True}
    assert stored() == before


def test_a_retry_with_a_very_long_event_id_is_still_a_retry(client, hook):
    """An event id longer than the stored key (found by schemathesis: the retry used to meet the
    unique index twice and answer 409) is kept hashed, so its retry is found."""
    long_id = "e" * 130
    assert deliver(client, hook, rejection(), event_id=long_id).status_code == 201
    again = deliver(client, hook, rejection(), event_id=long_id)
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True})


def test_an_unreject_naming_an_id_with_a_nul_is_ignored_not_an_error(client, hook):
    """PostgreSQL takes no NUL in text: such an id names nothing an import stored."""
    assert deliver(client, hook, rejection(), event_id="gh-evt-1").status_code == 201
    body = rejection(action="unreject_candidate")
    body["payload"]["application"]["id"] = "265293\x00"  # sent as \u0000 in the JSON
    answer = deliver(client, hook, body, event_id="gh-evt-nul")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"ignored": "no such application"}


def test_a_retry_without_the_event_id_header_is_known_by_its_body(client, hook):
    assert deliver(client, hook, rejection(), event_id=None).status_code == 201
    before = stored()
    assert deliver(client, hook, rejection(), event_id=None).get_json() == {"duplicate": True}
    assert stored() == before


@pytest.mark.parametrize("headers", [
    pytest.param({"Signature": "sha256 " + "0" * 64}, id="wrong signature"),
    pytest.param({"Signature": signature(greenhouse_body(REJECTION), "another-secret")}, id="another secret"),
    pytest.param({"Signature": signature(greenhouse_body(REJECTION)).replace("sha256 ", "sha1 ")}, id="sha1"),
    pytest.param({}, id="missing header"),
])
def test_a_bad_or_missing_signature_is_refused_and_stores_nothing(client, hook, headers):
    before = stored()
    response = deliver(client, hook, REJECTION, headers=headers)
    assert response.status_code == 401
    assert stored() == before


def test_a_body_signed_in_another_serialisation_is_refused(client, hook):
    """Greenhouse signs the escaped bytes; the same JSON written unescaped is other bytes."""
    escaped = greenhouse_body(REJECTION)
    unescaped = json.dumps(REJECTION, ensure_ascii=False).encode()
    assert deliver(client, hook, unescaped, sign=signature(escaped)).status_code == 401


def test_a_revoked_connector_answers_404(app, client, hook):
    connector_id = hook.rsplit("/", 1)[1]
    revoked = app.test_cli_runner().invoke(args=["feedback", "connectors", "revoke", connector_id])
    assert revoked.exit_code == 0, revoked.output
    assert deliver(client, hook, rejection()).status_code == 404
    assert application("265293") is None


def test_a_rejection_without_a_candidate_address_is_refused_and_stores_nothing(client, hook):
    before = stored()
    response = deliver(client, hook, rejection(candidate={"email_addresses": []}))
    assert response.status_code == 422
    assert "candidate_email" in json.dumps(response.get_json())
    assert stored() == before


def test_they_rejected_us_at_the_offer_is_a_declined_offer_and_the_coordinator_is_the_fallback(client, hook):
    event = rejection(stage="Offer", reason_type="They rejected us", candidate={"recruiter": None})
    assert deliver(client, hook, event).status_code == 201
    imported = application("265293")
    assert (imported.stage, imported.outcome, imported.contact_email) == ("offer", "offer_declined", COORDINATOR)
    assert queued_to() == [(CANDIDATE, "queued")]  # the company is asked about its own rejections only


def test_an_unrejection_cancels_what_is_still_queued_so_nothing_is_sent(client, runner, hook, smtp_server):
    assert deliver(client, hook, rejection(), event_id="gh-evt-1").status_code == 201

    undone = deliver(client, hook, rejection(action="unreject_candidate"), event_id="gh-evt-2")
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json() == {"cancelled": 2, "known": True}
    assert queued_to() == [(RECRUITER, "cancelled"), (CANDIDATE, "cancelled")]

    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    recipients = [message["To"] for message in smtp_server.messages]
    assert BYSTANDER in recipients  # the send ran
    assert CANDIDATE not in recipients and RECRUITER not in recipients


def test_a_ping_is_answered_and_records_nothing(client, hook):
    before = stored()
    ping = {"action": "ping", "payload": {"web_hook_id": 1}}
    response = deliver(client, hook, ping)
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert stored() == before


def test_another_action_is_answered_200_and_ignored(client, hook):
    before = stored()
    response = deliver(client, hook, rejection(action="hire_candidate"))
    assert response.status_code == 200
    assert "hire_candidate" in response.get_json()["ignored"]
    assert stored() == before


def test_the_documented_anonymisation_erases_by_the_greenhouse_candidate_id(client, hook):
    """Greenhouse names only the candidate id: the rejection this connector took kept it, so the
    applications it brought are found and erased; the id itself is not kept afterwards."""
    assert deliver(client, hook, rejection(), event_id="gh-evt-1").status_code == 201
    candidate_id = application("265293").candidate_id
    anonymised = {"action": "candidate_anonymized",
                  "payload": {"candidate_id": 265788, "anonymized_fields": ["full_name", "email_addresses"]}}
    response = deliver(client, hook, anonymised, event_id="gh-evt-2")
    assert response.status_code == 200
    assert response.get_json() == {"erased_applications": 1}
    db.session.rollback()
    assert db.session.get(Candidate, candidate_id).email is None
    assert application("265293").candidate_name is None
    assert not db.session.scalars(sa.select(ConnectorEvent.candidate_ref).where(
        ConnectorEvent.candidate_ref.is_not(None))).all()
    # an anonymisation of a candidate this connector never took erases nothing
    other = {"action": "candidate_anonymized", "payload": {"candidate_id": 999, "anonymized_fields": ["full_name"]}}
    assert deliver(client, hook, other, event_id="gh-evt-3").get_json() == {"erased_applications": 0}


def test_an_anonymisation_that_names_the_address_erases_the_candidate_here(client, hook):
    assert deliver(client, hook, rejection(), event_id="gh-evt-1").status_code == 201
    anonymised = {"action": "candidate_anonymized",
                  "payload": {"candidate_id": 265788, "anonymized_fields": ["full_name"],
                              "email_addresses": [{"value": CANDIDATE, "type": "personal"}]}}
    response = deliver(client, hook, anonymised, event_id="gh-evt-2")
    assert response.status_code == 200
    assert response.get_json() == {"erased_applications": 1}
    db.session.rollback()
    assert db.session.scalar(sa.select(Candidate).where(Candidate.email == CANDIDATE)) is None


# --- the mapping alone ------------------------------------------------------------------------

def read(event: dict, headers: dict | None = None):
    return greenhouse.read(event, greenhouse_body(event), headers or {})


@pytest.mark.parametrize(("name", "stage"), [
    ("Application Review", "application"),
    ("Preliminary Phone Screen", "screen"),
    ("Phone Interview", "screen"),
    ("Face to Face", "interview"),
    ("Technical Interview", "interview"),
    ("Take Home Test", "interview"),
    ("Final Interview", "final"),
    ("Onsite", "final"),
    ("Reference Check", "final"),
    ("Offer", "offer"),
    ("  phone   INTERVIEW ", "screen"),
    ("Culture Chat", "interview"),  # unknown: the default
])
def test_the_stage_table(name, stage):
    assert read(rejection(stage=name)).item["stage"] == stage


@pytest.mark.parametrize(("recruiter", "coordinator", "contact"), [
    ({"email": RECRUITER}, {"email": COORDINATOR}, RECRUITER),
    (None, {"email": COORDINATOR}, COORDINATOR),
    ({"email": ""}, {"email": COORDINATOR}, COORDINATOR),
    (None, None, None),
])
def test_the_contact_is_the_recruiter_then_the_coordinator(recruiter, coordinator, contact):
    item = read(rejection(candidate={"recruiter": recruiter, "coordinator": coordinator})).item
    assert item.get("company_contact_email") == contact


@pytest.mark.parametrize(("reason_type", "stage", "outcome"), [
    ("We rejected them", "Phone Interview", "rejected"),
    ("They rejected us", "Phone Interview", "withdrew"),
    ("They rejected us", "Offer", "offer_declined"),
    ("None specified", "Offer", "rejected"),
    ("Wrong skill set", "Offer", "rejected"),  # the documented example's custom type
])
def test_the_rejection_reason_type_tells_the_outcome(reason_type, stage, outcome):
    assert read(rejection(stage=stage, reason_type=reason_type)).item["outcome"] == outcome


def test_the_first_address_when_none_is_personal():
    event = rejection(candidate={"email_addresses": [{"value": "w@example.org", "type": "work"},
                                                     {"value": "o@example.org", "type": "other"}]})
    assert read(event).item["candidate_email"] == "w@example.org"


def test_the_event_key_is_the_delivery_id_header_else_the_body():
    event = rejection()
    assert read(event, {"Greenhouse-Event-ID": "abc"}).event_key == "greenhouse:abc"
    assert read(event).event_key.startswith("sha256:")


@pytest.mark.parametrize("event", [{}, {"action": "reject_candidate"}, {"action": "reject_candidate", "payload": []},
                                   {"action": "reject_candidate", "payload": {"application": {"jobs": "x"}}},
                                   {"action": "unreject_candidate", "payload": None}])
def test_odd_events_never_raise(event):
    read(event)
