"""Lever (CONTRACT §8): a ``candidateArchiveChange`` delivery is answered 202 at once, then the
worker (`feedback connectors sync`) reads the rest from Lever's API and imports the outcome.

Lever's API is a local stand-in (``lever_api``): an HTTP server on loopback serving the examples of
Lever's documentation (hire.lever.co/developer/documentation: Retrieve a single opportunity, posting,
archive reason, user), trimmed and with our own addresses, answering 401 to any other key and 503 to
the first ``fail_next`` requests. The deliveries are signed as Lever signs them: ``signature`` = hex
HMAC-SHA256 of ``token + triggeredAt`` under the webhook's signature token.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from conftest import outcome_row

from feedback.ats import lever
from feedback.extensions import db
from feedback.jobs.connector_sync import sync_pending
from feedback.models import Application, Candidate, ConnectorEvent, FeedbackRequest, OutboxMessage, Position
from feedback.timeutil import utcnow

SIGNATURE_TOKEN = "lever-signature-token-0123456789"
API_KEY = "lever-api-key-for-tests"
OPPORTUNITY = "250d8f03-738a-4bba-a671-8a3d73477145"
POSTING = "f2f01e16-27f8-4711-a728-7d49499795a0"
REASON = "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"
HIRED_REASON = "8c47a6b5-1e3b-4f39-9a0b-7d6e3f1c2a10"
HIRING_MANAGER = "df0a5a3e-5d23-4c5c-a9e9-b6e9b4e0c2c6"
OWNER = "5ac21346-8e0c-4494-8e7a-3eb92ff77902"
TRIGGERED_AT = 1507745680251  # Unix milliseconds, as Lever sends them: 2017-10-11

# The candidateArchiveChange example of Lever's webhook documentation (ids only).
DELIVERY = {
    "triggeredAt": TRIGGERED_AT,
    "event": "candidateArchiveChange",
    "token": "4a8f0e0c3b2d1e9f8a7b6c5d4e3f2a1b",
    "data": {
        "candidateId": OPPORTUNITY,
        "opportunityId": OPPORTUNITY,
        "contactId": "7f23e772-a4e2-4a5a-a2e2-9a1b9e6b3e8c",
        "toArchived": {"archivedAt": TRIGGERED_AT, "reason": REASON},
        "fromArchived": None,
    },
}
# The API's answers (their ``data``), from the examples of Lever's API reference.
API = {
    f"/opportunities/{OPPORTUNITY}": {
        "id": OPPORTUNITY, "name": "Shane Smith", "headline": "Brickly LLC, Vandelay Industries, Inc",
        "contact": "7f23e772-a4e2-4a5a-a2e2-9a1b9e6b3e8c",
        "stage": {"id": "00922a60-7c15-422b-b086-f62000824fd7", "text": "On-site interview"},
        "location": "Oakland", "phones": [{"type": "mobile", "value": "(123) 456-7891"}],
        "emails": ["shane@example.org"], "tags": ["Infrastructure Engineer"], "sources": ["linkedin"],
        "origin": "sourced", "owner": OWNER, "followers": [OWNER, HIRING_MANAGER],
        "archived": {"reason": REASON, "archivedAt": TRIGGERED_AT},
        "applications": [{"id": "cdb2e1f8-5e6d-4d0c-9e5f-2c1f3f6e6c1d", "opportunityId": OPPORTUNITY,
                          "type": "posting", "posting": POSTING, "postingOwner": OWNER,
                          "postingHiringManager": HIRING_MANAGER}],
        "createdAt": 1407460071043, "updatedAt": 1507745680251, "isAnonymized": False,
    },
    f"/postings/{POSTING}": {
        "id": POSTING, "text": "Infrastructure Engineer", "state": "published",
        "categories": {"team": "Platform", "department": "Engineering", "location": "San Francisco",
                       "commitment": "Full-time"},
        "user": OWNER, "owner": OWNER, "hiringManager": HIRING_MANAGER,
    },
    f"/archive_reasons/{REASON}": {"id": REASON, "text": "Underqualified", "status": "active",
                                   "type": "non-hired"},
    f"/archive_reasons/{HIRED_REASON}": {"id": HIRED_REASON, "text": "Hired", "status": "active", "type": "hired"},
    f"/users/{HIRING_MANAGER}": {"id": HIRING_MANAGER, "name": "Chandler Bing", "username": "chandler",
                                 "email": "chandler@acme-robotics.example.com", "accessRole": "super admin"},
    f"/users/{OWNER}": {"id": OWNER, "name": "Rachel Green", "username": "rachel",
                        "email": "rachel@acme-robotics.example.com", "accessRole": "admin"},
}


class LeverStandIn:
    """Lever's API on a loopback port: the ``data`` objects of ``API`` (copied: a test may change them)."""

    def __init__(self) -> None:
        self.data = copy.deepcopy(API)
        self.fail_next = 0
        self.key = API_KEY  # the only key it takes
        self.requests: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{stand_in.key}:".encode()).decode()
                path = self.path.split("?")[0]
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"code": "Unauthorized", "message": "Invalid API key"})
                elif stand_in.fail_next > 0:
                    stand_in.fail_next -= 1
                    self._answer(503, {"code": "ServiceUnavailable", "message": "try again"})
                elif path in stand_in.data:
                    self._answer(200, {"data": stand_in.data[path]})
                else:
                    self._answer(404, {"code": "ResourceNotFound", "message": "not found"})

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.data = {"/v1" + path: value for path, value in self.data.items()}
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def opportunity(self) -> dict:
        return self.data[f"/v1/opportunities/{OPPORTUNITY}"]


@pytest.fixture
def lever_api():
    stand_in = LeverStandIn()
    stand_in.thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def hook(app, runner, import_csv, lever_api):
    """A lever connector for Acme Robotics (the company made by importing one CSV row); its path."""
    result = import_csv([outcome_row(candidate_email="bob@example.org", application_ref="CSV-1")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["feedback", "connectors", "create", "--kind", "lever", "--company", "Acme Robotics",
                                 "--secret", SIGNATURE_TOKEN, "--api-key", API_KEY, "--api-url", lever_api.url])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[0].removeprefix("url: http://feedback.example")


def delivery(**data) -> dict:
    """DELIVERY with ``data`` fields changed, signed as Lever signs it."""
    body = copy.deepcopy(DELIVERY)
    body["data"].update(data)
    return signed(body)


def signed(body: dict, secret: str = SIGNATURE_TOKEN) -> dict:
    plain = f"{body['token']}{body['triggeredAt']}".encode()
    return {**body, "signature": hmac.new(secret.encode(), plain, hashlib.sha256).hexdigest()}


def post(client, path: str, body: dict):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def sync(runner, *args: str) -> str:
    result = runner.invoke(args=["feedback", "connectors", "sync", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def lever_applications() -> list[Application]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(Application).where(Application.application_ref == OPPORTUNITY)))


def the_event() -> ConnectorEvent:
    db.session.rollback()
    (event,) = db.session.scalars(sa.select(ConnectorEvent).where(ConnectorEvent.action == "enrich")).all()
    return event


def outbox_to(*addresses: str) -> list[tuple[str, str]]:
    db.session.rollback()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_address.in_(addresses)))
    return sorted((message.to_address, message.status) for message in rows)


def test_an_archive_is_queued_at_once_then_the_sync_imports_it_from_lever(hook, client, runner, lever_api,
                                                                          smtp_server):
    response = post(client, hook, delivery())
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"queued": True}
    assert lever_applications() == [] and lever_api.requests == []  # nothing read or imported yet
    assert the_event().status == "pending"

    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    (application,) = lever_applications()
    assert (application.stage, application.outcome, application.decided_on, application.contact_email) == (
        "final", "rejected", date(2017, 10, 11), "chandler@acme-robotics.example.com")
    assert db.session.get(Position, application.position_id).title == "Infrastructure Engineer"
    candidate = db.session.get(Candidate, application.candidate_id)
    assert (candidate.name, candidate.email) == ("Shane Smith", "shane@example.org")
    requests = {r.audience: r.recipient_email for r in db.session.scalars(
        sa.select(FeedbackRequest).where(FeedbackRequest.application_id == application.id))}
    assert requests == {"candidate": "shane@example.org", "company": "chandler@acme-robotics.example.com"}
    assert outbox_to("shane@example.org", "chandler@acme-robotics.example.com") == [
        ("chandler@acme-robotics.example.com", "queued"), ("shane@example.org", "queued")]
    assert the_event().status == "taken"
    assert sync(runner) == "taken: 0, failed: 0, left: 0"  # nothing due any more

    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    assert {"shane@example.org", "chandler@acme-robotics.example.com"} <= {
        address for _, recipients in smtp_server.handler.envelopes for address in recipients}


def test_the_same_delivery_again_is_a_duplicate_before_and_after_the_sync(hook, client, runner):
    assert post(client, hook, delivery()).status_code == 202
    again = post(client, hook, delivery())
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True})
    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    again = post(client, hook, delivery())
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True})
    assert len(lever_applications()) == 1


def test_a_body_changed_around_a_captured_signature_is_the_same_event(hook, client):
    """The body is not signed: another opportunity under the same token and time is the same delivery."""
    assert post(client, hook, delivery()).status_code == 202
    forged = post(client, hook, delivery(opportunityId="another-opportunity"))
    assert (forged.status_code, forged.get_json()) == (200, {"duplicate": True})


def test_a_wrong_signature_is_refused_and_a_revoked_connector_is_not_found(hook, client, runner):
    assert post(client, hook, signed(DELIVERY, secret="another-signature-token")).status_code == 401
    unsigned = {key: value for key, value in DELIVERY.items() if key != "signature"}
    assert post(client, hook, unsigned).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConnectorEvent)) == 0
    connector_id = hook.rsplit("/", 1)[1]
    assert runner.invoke(args=["feedback", "connectors", "revoke", connector_id]).exit_code == 0
    assert post(client, hook, delivery()).status_code == 404


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"token": "t", "triggeredAt": 1}',
                                  b'{"token": 5, "triggeredAt": 1, "signature": "00"}'])
def test_odd_bodies_never_verify(body):
    assert lever.verify(SIGNATURE_TOKEN, body, {}) is False


def test_lever_failing_keeps_the_event_and_a_later_sync_imports_it(hook, client, runner, lever_api):
    assert post(client, hook, delivery()).status_code == 202
    lever_api.fail_next = 1
    assert sync(runner) == "taken: 0, failed: 1, left: 0"
    event = the_event()
    assert (event.status, event.attempts, json.loads(event.detail)["opportunity_id"]) == ("pending", 1, OPPORTUNITY)
    assert "503" in event.last_error and event.next_attempt_at > utcnow()
    assert lever_applications() == []

    now = utcnow()
    assert (sync_pending(now).taken, lever_applications()) == (0, [])  # not due yet: the backoff holds
    result = sync_pending(now + timedelta(minutes=2))
    assert (result.taken, result.failed, result.left) == (1, 0, 0)
    assert len(lever_applications()) == 1
    assert (the_event().status, the_event().attempts) == ("taken", 2)


def test_lever_failing_six_times_fails_the_event_for_good_with_its_detail(hook, client, lever_api):
    assert post(client, hook, delivery()).status_code == 202
    lever_api.fail_next = 1000
    moment = utcnow()
    for _ in range(6):
        moment += timedelta(hours=7)
        assert sync_pending(moment).failed == 1
    event = the_event()
    assert (event.status, event.attempts, json.loads(event.detail)["reason_id"]) == ("failed", 6, REASON)
    assert sync_pending(moment + timedelta(days=1)).failed == 0  # no further attempt
    assert lever_applications() == []


def test_an_opportunity_without_an_address_fails_without_retry(hook, client, runner, lever_api):
    lever_api.opportunity()["emails"] = []
    assert post(client, hook, delivery()).status_code == 202
    assert sync(runner) == "taken: 0, failed: 1, left: 0"
    event = the_event()
    assert event.status == "failed" and "candidate_email" in event.last_error
    assert "shane" not in event.last_error  # no personal data in the record of the failure
    assert lever_applications() == []


def test_a_key_lever_refuses_fails_the_event_for_good(hook, client, runner, lever_api):
    lever_api.key = "a-rotated-key"
    assert post(client, hook, delivery()).status_code == 202
    assert sync(runner) == "taken: 0, failed: 1, left: 0"
    event = the_event()
    assert (event.status, event.attempts) == ("failed", 1) and "401" in event.last_error
    assert API_KEY not in event.last_error
    assert lever_applications() == []


def test_an_un_archive_cancels_what_is_still_queued(hook, client, runner):
    assert post(client, hook, delivery()).status_code == 202
    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    body = copy.deepcopy(DELIVERY)
    body.update(token="9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f", triggeredAt=TRIGGERED_AT + 60_000)
    body["data"].update(toArchived=None, fromArchived={"archivedAt": TRIGGERED_AT, "reason": REASON})
    response = post(client, hook, signed(body))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["cancelled"] == 2
    assert outbox_to("shane@example.org", "chandler@acme-robotics.example.com") == [
        ("chandler@acme-robotics.example.com", "cancelled"), ("shane@example.org", "cancelled")]


def test_an_opportunity_no_longer_archived_when_the_worker_reads_it_is_not_imported(hook, client, runner,
                                                                                     lever_api):
    assert post(client, hook, delivery()).status_code == 202
    lever_api.opportunity()["archived"] = None
    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    assert (the_event().status, lever_applications()) == ("ignored", [])


def test_an_archive_as_hired_imports_nothing(hook, client, runner, lever_api):
    lever_api.opportunity()["archived"] = {"reason": HIRED_REASON, "archivedAt": TRIGGERED_AT}
    assert post(client, hook, delivery(toArchived={"archivedAt": TRIGGERED_AT, "reason": HIRED_REASON})
                ).status_code == 202
    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    assert (the_event().status, lever_applications()) == ("ignored", [])


@pytest.mark.parametrize("reason, outcome, stage", [
    ("Withdrew", "withdrew", "final"),
    ("Offer declined", "offer_declined", "offer"),
])
def test_withdrawals_and_declined_offers(hook, client, runner, lever_api, reason, outcome, stage):
    lever_api.data[f"/v1/archive_reasons/{REASON}"]["text"] = reason
    if stage == "offer":
        lever_api.opportunity()["stage"] = {"id": "offer", "text": "Offer"}
    assert post(client, hook, delivery()).status_code == 202
    assert sync(runner) == "taken: 1, failed: 0, left: 0"
    (application,) = lever_applications()
    assert (application.outcome, application.stage) == (outcome, stage)


def test_other_events_are_answered_and_ignored(hook, client):
    body = copy.deepcopy(DELIVERY)
    body["event"] = "candidateStageChange"
    response = post(client, hook, signed(body))
    assert response.status_code == 200 and "ignored" in response.get_json()


def test_the_sync_command_explains_itself(runner):
    result = runner.invoke(args=["feedback", "connectors", "sync", "--help"])
    assert result.exit_code == 0
    assert "Lever" in result.output and "--limit" in result.output


def test_a_lever_api_address_on_this_machine_is_never_read_unless_the_operator_allows_it(app, hook, client, runner,
                                                                                          lever_api):
    app.config["OUTBOUND_PRIVATE_ADDRESSES"] = False  # production's default; the stand-in listens on 127.0.0.1
    assert post(client, hook, delivery()).status_code == 202
    assert sync(runner) == "taken: 0, failed: 1, left: 0"
    event = the_event()
    assert event.status == "failed" and "Lever API address is not a public one" in event.last_error
    assert lever_api.requests == [] and lever_applications() == []
