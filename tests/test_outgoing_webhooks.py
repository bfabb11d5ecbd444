"""Outgoing webhooks (issue 20, item 4): Standard Webhooks signed per endpoint, through an outbox.

A real HTTP receiver on loopback records every request and verifies it with the ``standardwebhooks``
package's own verifier, with the secret `feedback webhooks create` printed. Events come from what
users do: a candidate answering the survey, an overdue contact being escalated by `feedback remind`.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import company_named, csrf_token, links_in, outcome_row
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from feedback.extensions import db
from feedback.jobs.webhook_delivery import deliver_due, retry_after
from feedback.models import AuditEvent, WebhookMessage
from feedback.timeutil import today, utcnow

ANA = outcome_row(candidate_name="Ana Silva", candidate_email="ana.silva@example.org")
KOFI = outcome_row(candidate_name="Kofi Mensah", candidate_email="kofi.mensah@example.org", company="Granite Bank",
                   company_contact_email="hm@granite-bank.example.com", position="Backend Engineer")
CANDIDATE_ANSWERS = {"nps": "9", "respect": "5", "improve": "Ana Silva here: please call me on 555-0100"}


@pytest.fixture
def endpoint(runner, receiver):
    """`feedback webhooks create` for ``company`` at the receiver's ``path``; returns the endpoint's id."""

    def create(company: str, path: str, events: str | None = None) -> int:
        result = runner.invoke(args=["feedback", "webhooks", "create", "--company", company,
                                     "--url", receiver.base_url + path, *(["--events", events] if events else [])])
        assert result.exit_code == 0, result.output
        shown_id, url, secret = result.output.splitlines()
        assert url == f"url: {receiver.base_url}{path}"
        receiver.secrets[path] = secret.removeprefix("secret: ")
        assert receiver.secrets[path].startswith("whsec_")
        return int(shown_id.removeprefix("id: "))

    return create


def answer_survey(client, smtp_server, address: str, fields: dict) -> None:
    """The person at ``address`` opens the link of their e-mail and sends the form (one client for a
    test's answers: the requests share the test's app context, where Flask-WTF keeps its token)."""
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    (path,) = links_in(message)
    page = client.get(path)
    assert page.status_code == 200
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), **fields})
    assert answered.status_code == 200 and "Thank you" in answered.text, answered.text[:3000]


def send_webhooks(runner) -> str:
    result = runner.invoke(args=["feedback", "webhooks", "send"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture
def mailed(import_csv, runner, smtp_server):
    """Ana (Acme Robotics) and Kofi (Granite Bank) rejected and mailed their surveys."""
    assert import_csv([ANA, KOFI]).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0


def test_a_candidate_answer_reaches_each_subscribed_endpoint_signed_and_without_personal_data(
        client, mailed, runner, smtp_server, receiver, endpoint):
    endpoint("Acme Robotics", "/acme/all")
    endpoint("Acme Robotics", "/acme/crm", events="response.created")
    endpoint("Acme Robotics", "/acme/overdue", events="feedback.overdue")
    revoked = endpoint("Acme Robotics", "/acme/revoked")
    endpoint("Granite Bank", "/granite")
    assert runner.invoke(args=["feedback", "webhooks", "revoke", str(revoked)]).exit_code == 0

    answer_survey(client, smtp_server, ANA["candidate_email"], CANDIDATE_ANSWERS)
    answer_survey(client, smtp_server, KOFI["candidate_email"], {"nps": "3"})
    # One queued per live subscribed endpoint: Acme's two, Granite's one.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookMessage)) == 3

    assert send_webhooks(runner) == "sent: 3, failed: 0, left: 0"
    assert all(request.error is None for request in receiver.received), receiver.received
    assert receiver.at("/acme/overdue") == [] and receiver.at("/acme/revoked") == []
    acme = company_named("Acme Robotics").id
    (to_all,), (to_crm,) = receiver.at("/acme/all"), receiver.at("/acme/crm")
    (to_granite,) = receiver.at("/granite")
    for request, company_id in ((to_all, acme), (to_crm, acme), (to_granite, company_named("Granite Bank").id)):
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-id"].startswith("msg_")
        assert request.verified["type"] == "response.created"
        data = request.verified["data"]
        assert set(data) == {"response_id", "company_id", "audience", "stage", "submitted_at"}
        assert (data["company_id"], data["audience"], data["stage"]) == (company_id, "candidate", "interview")
        # No address, name, phone number, score or free text: only ids and categories.
        for personal in ("@", "Ana", "Silva", "Kofi", "Mensah", "555-0100", "call me"):
            assert personal not in request.body.decode()
    assert to_all.body == to_crm.body  # the same event, each endpoint its own message and signature
    assert to_all.headers["webhook-id"] != to_crm.headers["webhook-id"]
    assert to_all.headers["webhook-signature"] != to_crm.headers["webhook-signature"]
    assert to_granite.verified["data"]["response_id"] != to_all.verified["data"]["response_id"]

    # Another endpoint's secret does not verify it (each endpoint signs with its own key).
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secrets["/acme/crm"]).verify(to_all.body, to_all.headers)
    assert send_webhooks(runner) == "sent: 0, failed: 0, left: 0"  # nothing is sent twice


def test_a_retry_after_a_server_error_carries_the_same_webhook_id(
        client, mailed, runner, smtp_server, receiver, endpoint, monkeypatch):
    endpoint("Acme Robotics", "/acme")
    receiver.statuses = [500]
    answer_survey(client, smtp_server, ANA["candidate_email"], {"nps": "10"})

    assert send_webhooks(runner) == "sent: 0, failed: 0, left: 1"
    assert send_webhooks(runner) == "sent: 0, failed: 0, left: 1"  # the retry waits 30 seconds
    (message,) = db.session.scalars(sa.select(WebhookMessage))
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "HTTP 500 Internal Server Error")

    later = utcnow() + timedelta(seconds=40)
    monkeypatch.setattr("feedback.cli_webhooks.utcnow", lambda: later)
    assert send_webhooks(runner) == "sent: 1, failed: 0, left: 0"
    first, retry = receiver.at("/acme")
    assert first.error is None and retry.error is None
    assert retry.headers["webhook-id"] == first.headers["webhook-id"]
    assert retry.body == first.body
    assert int(retry.headers["webhook-timestamp"]) >= int(first.headers["webhook-timestamp"]) + 30


def test_a_retry_waits_as_long_as_the_receiver_s_retry_after_asks(client, mailed, smtp_server, receiver, endpoint):
    endpoint("Acme Robotics", "/acme")
    receiver.statuses = [(503, {"Retry-After": "600"}), (429, {"Retry-After": "soon"})]
    answer_survey(client, smtp_server, ANA["candidate_email"], {"nps": "10"})
    moment = utcnow()
    assert deliver_due(moment).left == 1
    (message,) = db.session.scalars(sa.select(WebhookMessage))
    assert 599 <= (message.next_attempt_at - moment).total_seconds() <= 601  # not the 30 s of the first backoff
    assert deliver_due(moment + timedelta(seconds=300)).left == 1 and len(receiver.at("/acme")) == 1
    # Ten minutes on it is tried again; a Retry-After it cannot read leaves the usual 5 minutes.
    again = moment + timedelta(seconds=601)
    assert deliver_due(again).left == 1 and len(receiver.at("/acme")) == 2
    db.session.refresh(message)
    assert message.last_error == "HTTP 429 Too Many Requests"
    assert 300 <= (message.next_attempt_at - again).total_seconds() <= 331
    assert deliver_due(again + timedelta(seconds=331)).sent == 1


def test_retry_after_is_read_as_seconds_or_an_http_date_and_capped_at_a_day():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert retry_after("120", now) == timedelta(minutes=2)
    assert retry_after("Fri, 04 Dec 2026 12:10:00 GMT", now) == timedelta(minutes=10)
    assert retry_after("99999999999", now) == timedelta(hours=24)
    # The past asks nothing; digits of other scripts are not seconds.
    for unreadable in (None, "", "0", "soon", "Fri, 04 Dec 2026 11:10:00 GMT", "²", "٣٠", "Fri, 04 Dec 99999 12:00:00 GMT"):
        assert retry_after(unreadable, now) is None


def test_a_webhook_fails_after_six_attempts_with_the_last_error(client, mailed, smtp_server, receiver, endpoint):
    endpoint("Acme Robotics", "/acme")
    receiver.statuses = [503] * 10
    answer_survey(client, smtp_server, ANA["candidate_email"], {"nps": "10"})
    moment = utcnow()
    for _attempt in range(5):
        result = deliver_due(moment)
        assert (result.sent, result.failed, result.left) == (0, 0, 1)
        moment += timedelta(hours=9)  # past the longest backoff
    result = deliver_due(moment)
    assert (result.sent, result.failed, result.left) == (0, 1, 0)
    assert len(receiver.at("/acme")) == 6
    (message,) = db.session.scalars(sa.select(WebhookMessage))
    assert (message.status, message.attempts, message.last_error) == ("failed", 6, "HTTP 503 Service Unavailable")


def test_an_endpoint_revoked_before_sending_gets_nothing(client, mailed, runner, smtp_server, receiver, endpoint):
    endpoint_id = endpoint("Acme Robotics", "/acme")
    answer_survey(client, smtp_server, ANA["candidate_email"], {"nps": "10"})
    revoked = runner.invoke(args=["feedback", "webhooks", "revoke", str(endpoint_id)])
    assert revoked.output.strip() == f"revoked webhook endpoint {endpoint_id}"

    assert send_webhooks(runner) == "sent: 0, failed: 1, left: 0"
    assert receiver.received == []
    (message,) = db.session.scalars(sa.select(WebhookMessage))
    assert (message.status, message.last_error) == ("failed", "endpoint revoked")
    listed = runner.invoke(args=["feedback", "webhooks", "list"]).output
    assert f"{endpoint_id}\tAcme Robotics\t{receiver.base_url}/acme\tresponse.created,feedback.overdue\trevoked" in listed
    again = runner.invoke(args=["feedback", "webhooks", "revoke", str(endpoint_id)])
    assert again.exit_code == 1 and f"no live webhook endpoint {endpoint_id}" in again.output


def test_an_endpoint_that_answers_410_gone_is_revoked(client, mailed, runner, smtp_server, receiver, endpoint):
    endpoint_id = endpoint("Acme Robotics", "/acme")
    receiver.statuses = [410]
    answer_survey(client, smtp_server, ANA["candidate_email"], {"nps": "10"})
    assert send_webhooks(runner) == "sent: 0, failed: 1, left: 0"
    assert "revoked" in runner.invoke(args=["feedback", "webhooks", "list"]).output.split(f"{endpoint_id}\t")[1]
    answer_survey(client, smtp_server, "hiring@acme-robotics.example.com", {"reasons": ["technical_skills"],
                                                                        "technical_skills": "2", "reconsider": "yes"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookMessage)) == 1  # nothing new queued


def test_an_escalation_queues_feedback_overdue_without_addresses(
        app, import_csv, runner, smtp_server, receiver, endpoint, make_user):
    decided = (today() - timedelta(days=21)).isoformat()
    assert import_csv([outcome_row(candidate_name=f"Person {n}", candidate_email=f"person.{n}@example.org",
                                   decided_on=decided if n else (today() - timedelta(days=28)).isoformat(),
                                   application_ref=f"R{n}") for n in range(2)]).exit_code == 0
    make_user("rec@agency.example.com", "recruiter", "Acme Robotics")
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    db.session.execute(sa.text("UPDATE feedback_requests SET first_sent_at = :sent"),
                       {"sent": utcnow() - timedelta(days=14)})
    db.session.commit()
    endpoint("Acme Robotics", "/acme/overdue", events="feedback.overdue")
    endpoint("Acme Robotics", "/acme/crm", events="response.created")

    reminded = runner.invoke(args=["feedback", "remind"])
    assert "escalated: 2 overdue requests, to 1 recipients" in reminded.output, reminded.output
    assert send_webhooks(runner) == "sent: 1, failed: 0, left: 0"
    (overdue,) = receiver.at("/acme/overdue")
    assert overdue.error is None
    assert overdue.verified["type"] == "feedback.overdue"
    assert overdue.verified["data"] == {"company_id": company_named("Acme Robotics").id, "overdue": 2,
                                        "oldest_decided_on": (today() - timedelta(days=28)).isoformat()}
    assert "@" not in overdue.body.decode()
    assert receiver.at("/acme/crm") == []
    runner.invoke(args=["feedback", "remind"])  # escalated once: nothing more
    assert send_webhooks(runner) == "sent: 0, failed: 0, left: 0"


@pytest.mark.parametrize(("args", "message"), [
    (["--company", "Acme Robotics", "--url", "ftp://example.com/hook"], "must start with https://"),
    (["--company", "Acme Robotics", "--url", "https://example.com/hook", "--events", "response.deleted"],
     "unknown event types response.deleted"),
    (["--company", "Nobody Inc", "--url", "https://example.com/hook"], "no company named 'Nobody Inc'"),
])
def test_webhooks_create_refuses_what_it_cannot_serve(mailed, runner, args, message):
    result = runner.invoke(args=["feedback", "webhooks", "create", *args])
    assert result.exit_code == 1 and message in result.output
    assert runner.invoke(args=["feedback", "webhooks", "list"]).output.startswith("no webhook endpoints")


def test_creating_and_revoking_endpoints_is_audited_and_every_command_has_help(mailed, runner, endpoint):
    endpoint_id = endpoint("Acme Robotics", "/acme")
    runner.invoke(args=["feedback", "webhooks", "revoke", str(endpoint_id)])
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["webhook endpoint created", "webhook endpoint revoked"]
    for command in ("create", "list", "revoke", "send"):
        shown = runner.invoke(args=["feedback", "webhooks", command, "--help"])
        assert shown.exit_code == 0 and len(shown.output.split("\n\n")[1]) > 20, shown.output
