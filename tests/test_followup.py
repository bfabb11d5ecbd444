"""After the first e-mail (CONTRACT §3, §5): reminders on a controlled clock, digests, unsubscribe and
suppression, retries with backoff against a real SMTP server, and the worker loop.

No test sleeps to move time: the services take ``now`` (``queue_due_reminders(now)``,
``deliver_queued(now=...)``) and ``FeedbackRequest.first_sent_at`` is moved back in the database.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import RecordingHandler, csrf_token, free_port, links_in, outcome_row

from feedback import config as feedback_config
from feedback.extensions import db
from feedback.jobs.delivery import MAX_RETRY_DELAY, MailServerUnavailable, deliver_queued, retry_delay
from feedback.jobs.worker import run_worker
from feedback.mail import message_id
from feedback.models import FeedbackRequest, OutboxMessage, Response, Suppression
from feedback.services.reminders import queue_due_reminders
from feedback.services.responses import request_fresh_link
from feedback.timeutil import as_utc, utcnow
from feedback.tokens import address_hash, read_feedback_link_token

ROOT = Path(__file__).resolve().parent.parent
CANDIDATE = "ana.silva@example.org"
CONTACT = "hiring@acme-robotics.example.com"
CANDIDATE_ANSWERS = {"nps": "8", "communication": "4", "timeliness": "3", "role_clarity": "5",
                     "interviewer_preparation": "4", "fairness": "4", "respect": "5", "improve": "Sooner, please."}
COMPANY_ANSWERS = {"reasons": ["technical_skills", "stronger_match"], "technical_skills": "2",
                   "relevant_experience": "3", "communication_skills": "4", "problem_solving": "1",
                   "strengthen": "Practise system design with a concrete example.", "reconsider": "yes"}


# --- helpers ----------------------------------------------------------------------------------

def send(runner):
    return runner.invoke(args=["feedback", "send"])


def remind(runner):
    return runner.invoke(args=["feedback", "remind"])


def withdrew(number: int, **values) -> dict:
    """A candidate-only row (no company contact is mailed): one e-mail per row."""
    return outcome_row(candidate_name=f"Person {number}", candidate_email=f"person{number}@example.org",
                       outcome="withdrew", stage="screen", application_ref=f"ATS-{number}", **values)


def outbox_rows(**where) -> list[OutboxMessage]:
    db.session.rollback()  # see what the CLI (or another session) committed
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for column, value in where.items():
        query = query.where(getattr(OutboxMessage, column) == value)
    return list(db.session.scalars(query))


def requests_to(address: str) -> list[FeedbackRequest]:
    db.session.rollback()
    return list(db.session.scalars(
        sa.select(FeedbackRequest).where(FeedbackRequest.recipient_email == address).order_by(FeedbackRequest.id)
    ))


def sent_first_days_ago(days: float, *addresses: str) -> None:
    """Move the first e-mail of these addresses' requests (all requests when none given) into the past."""
    db.session.rollback()
    query = sa.update(FeedbackRequest).where(FeedbackRequest.first_sent_at.is_not(None))
    if addresses:
        query = query.where(FeedbackRequest.recipient_email.in_(addresses))
    db.session.execute(query.values(first_sent_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def messages_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if message["To"] == address]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def opening(message) -> str:
    """The paragraph after the greeting: where an invitation and a reminder say what they want."""
    return text_of(message).split("\n\n")[1]


def unsubscribe_path(message) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<http://feedback.example/u/") and header.endswith(">"), header
    return header[len("<http://feedback.example"):-1]


def request_of(path: str) -> int:
    check = read_feedback_link_token(path[len("/f/"):])
    assert check is not None
    return check.request_id


def answer(client, path: str, answers: dict):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), **answers})


def suppression_reasons() -> dict[str, str]:
    db.session.rollback()
    return dict(db.session.execute(sa.select(Suppression.address_hash, Suppression.reason)).all())


# --- reminders on a controlled clock -----------------------------------------------------------

def test_reminders_come_once_at_each_day_mark_on_a_controlled_clock(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    assert send(runner).exit_code == 0
    (request,) = requests_to("person1@example.org")
    sent_at = as_utc(request.first_sent_at)
    # person2's invitation has not gone out yet: its request has no first e-mail and is never reminded
    db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.recipient_email == "person2@example.org")
                       .values(first_sent_at=None))
    db.session.commit()

    def run(after: timedelta) -> int:
        result = queue_due_reminders(sent_at + after)
        db.session.commit()
        return result.queued

    assert run(timedelta(days=3) - timedelta(minutes=1)) == 0
    assert run(timedelta(days=3)) == 1
    # hourly runs until the next mark queue nothing more
    assert [run(timedelta(days=3, hours=hour)) for hour in range(1, 24 * 4, 7)] == [0] * 14
    assert run(timedelta(days=7)) == 1
    assert run(timedelta(days=7, hours=1)) == 0
    assert run(timedelta(days=29)) == 0

    reminders = outbox_rows(kind="reminder")
    assert [(row.request_id, row.to_address, row.status) for row in reminders] == \
        [(request.id, "person1@example.org", "queued")] * 2
    assert requests_to("person1@example.org")[0].reminded_day_mark == 7
    assert requests_to("person2@example.org")[0].reminded_day_mark == 0

    # the reminders are due at the clock they were queued by; deliver them there
    result = deliver_queued(now=sent_at + timedelta(days=7, hours=2))
    db.session.commit()
    assert (result.sent, result.failed) == (2, 0)
    assert len(messages_to(smtp_server, "person1@example.org")) == 3  # the invitation and two reminders


def test_a_request_past_both_marks_at_once_gets_one_reminder(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1)]).exit_code == 0
    assert send(runner).exit_code == 0
    sent_first_days_ago(8)
    result = remind(runner)
    assert result.exit_code == 0, result.output
    assert "reminders queued: 1" in result.output
    assert "reminders queued: 0" in remind(runner).output
    (reminder,) = outbox_rows(kind="reminder")
    assert requests_to("person1@example.org")[0].reminded_day_mark == 7


def test_remind_command_is_safe_to_run_hourly_and_send_delivers_the_reminders(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    assert send(runner).exit_code == 0
    assert len(smtp_server.messages) == 2

    sent_first_days_ago(3)
    first = remind(runner)
    assert first.exit_code == 0, first.output
    assert "reminders queued: 2" in first.output
    for _ in range(3):  # cron, hourly
        again = remind(runner)
        assert again.exit_code == 0
        assert "reminders queued: 0" in again.output
    sent = send(runner)
    assert "sent: 2, failed: 0, left: 0" in sent.output

    sent_first_days_ago(7)
    assert "reminders queued: 2" in remind(runner).output
    assert "reminders queued: 0" in remind(runner).output
    assert "sent: 2, failed: 0, left: 0" in send(runner).output

    sent_first_days_ago(20)  # past the last mark: nothing more, however often it runs
    assert "reminders queued: 0" in remind(runner).output
    for address in ("person1@example.org", "person2@example.org"):
        subjects = [str(message["Subject"]) for message in messages_to(smtp_server, address)]
        assert len(subjects) == 3
        assert not subjects[0].startswith("Reminder")
        assert all(subject.startswith("Reminder") for subject in subjects[1:])


def test_no_reminder_for_answered_expired_cancelled_or_unsubscribed_requests(
        app, client, import_csv, runner, smtp_server):
    rows = [withdrew(number) for number in range(1, 6)]
    assert import_csv(rows).exit_code == 0
    assert send(runner).exit_code == 0
    answered, expired, cancelled, unsubscribed, waiting = (f"person{n}@example.org" for n in range(1, 6))

    (path,) = links_in(messages_to(smtp_server, answered)[0])
    assert answer(client, path, CANDIDATE_ANSWERS).status_code == 200
    (request,) = requests_to(expired)
    request.link_issued_at = request.link_issued_at - timedelta(days=app.config["FEEDBACK_LINK_MAX_AGE_DAYS"] + 1)
    db.session.commit()
    (request,) = requests_to(cancelled)
    request.cancelled_at = utcnow()
    db.session.commit()
    unsubscribe = unsubscribe_path(messages_to(smtp_server, unsubscribed)[0])
    assert app.test_client().post(unsubscribe).status_code == 200

    sent_first_days_ago(3)
    result = remind(runner)
    assert result.exit_code == 0, result.output
    assert "reminders queued: 1" in result.output
    assert "not queued (address unsubscribed): 1" in result.output
    assert [row.to_address for row in outbox_rows(kind="reminder")] == [waiting]

    smtp_server.handler.reset()
    assert "sent: 1, failed: 0, left: 0" in send(runner).output
    assert [message["To"] for message in smtp_server.messages] == [waiting]

    # the next mark: still only the one waiting request
    sent_first_days_ago(7)
    assert "reminders queued: 1" in remind(runner).output
    assert [row.to_address for row in outbox_rows(kind="reminder")] == [waiting, waiting]


def test_a_reminder_answered_before_it_goes_out_is_not_sent(app, client, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    assert send(runner).exit_code == 0
    sent_first_days_ago(3)
    assert "reminders queued: 2" in remind(runner).output
    # person1 answers from the first e-mail while the reminder still waits in the outbox
    (path,) = links_in(messages_to(smtp_server, "person1@example.org")[0])
    assert answer(client, path, CANDIDATE_ANSWERS).status_code == 200

    smtp_server.handler.reset()
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert [message["To"] for message in smtp_server.messages] == ["person2@example.org"]
    stale = next(row for row in outbox_rows(kind="reminder") if row.to_address == "person1@example.org")
    assert stale.status != "queued" and stale.sent_at is None


def test_reminder_wording_differs_from_the_first_email_and_its_link_answers_the_same_request(
        app, client, import_csv, runner, smtp_server):
    assert import_csv([outcome_row()]).exit_code == 0  # rejected: the candidate and the company contact
    assert send(runner).exit_code == 0
    sent_first_days_ago(3)
    assert "reminders queued: 2" in remind(runner).output
    assert "sent: 2, failed: 0, left: 0" in send(runner).output

    for address, answers in ((CANDIDATE, CANDIDATE_ANSWERS), (CONTACT, COMPANY_ANSWERS)):
        invitation, reminder = messages_to(smtp_server, address)
        assert str(reminder["Subject"]) != str(invitation["Subject"])
        # The contact's feedback on a decision of 2 October is long past its due date, and says so.
        assert str(reminder["Subject"]).startswith("Reminder" if address == CANDIDATE else "Overdue")
        assert text_of(reminder) != text_of(invitation)
        assert opening(invitation) not in text_of(reminder)
        assert opening(reminder) not in text_of(invitation)
        assert reminder["Message-ID"] != invitation["Message-ID"]
        assert str(reminder["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        (first_link,), (reminder_link,) = links_in(invitation), links_in(reminder)
        (request,) = requests_to(address)
        assert request_of(first_link) == request_of(reminder_link) == request.id
        answered = answer(client, reminder_link, answers)
        assert answered.status_code == 200 and "Thank you" in answered.text
        assert client.get(first_link).status_code == 410
        assert client.get(reminder_link).status_code == 410
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 2


# --- digests ----------------------------------------------------------------------------------

def test_a_contact_gets_one_digest_listing_every_candidate_each_link_answering_its_own_request(
        app, client, import_csv, runner, smtp_server):
    names = ["Ana Silva", "Bo Berg", "Chidi Okafor"]
    rows = [outcome_row(candidate_name=name, candidate_email=f"c{i}@example.org", application_ref=f"ATS-{i}",
                        position="QA Engineer" if i else "Data Analyst")
            for i, name in enumerate(names)]
    rows.append(outcome_row(candidate_name="Dana Lee", candidate_email="dana@example.org", application_ref="ATS-9",
                            company="Birch Labs", company_contact_email="people@birch.example.com"))
    assert import_csv(rows).exit_code == 0
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "sent: 8, failed: 0, left: 0" in result.output  # outbox rows: 4 candidates + 4 company requests

    (digest,) = messages_to(smtp_server, CONTACT)
    (single,) = messages_to(smtp_server, "people@birch.example.com")
    assert len(smtp_server.messages) == 6  # 4 candidates, 1 digest, 1 single request
    assert "3 candidates" in str(digest["Subject"])
    assert len(links_in(single)) == 1
    body = text_of(digest)
    for name in names:
        assert name in body
    links = links_in(digest)
    assert len(links) == 3 and len(set(links)) == 3

    company_rows = [row for row in outbox_rows() if row.to_address == CONTACT]
    assert len(company_rows) == 3 and all(row.status == "sent" for row in company_rows)
    assert str(digest["Message-ID"]) == message_id(company_rows[0].id)
    requests = {request.id: request for request in requests_to(CONTACT)}
    assert {request_of(link) for link in links} == set(requests)

    # each link answers its own request, and only that one
    for done, link in enumerate(links, start=1):
        request_id = request_of(link)
        page = client.get(link)
        assert page.status_code == 200
        assert requests[request_id].application.candidate.name in page.text
        answered = client.post(link, data={"csrf_token": csrf_token(page.text), **COMPANY_ANSWERS})
        assert answered.status_code == 200 and "Thank you" in answered.text
        db.session.rollback()
        assert db.session.scalar(sa.select(Response.request_id).where(Response.request_id == request_id)) == request_id
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(Response).join(FeedbackRequest)
            .where(FeedbackRequest.recipient_email == CONTACT)) == done
        assert client.get(link).status_code == 410
        for other in links[done:]:
            assert client.get(other).status_code == 200


def test_reminders_to_a_contact_come_as_one_digest_of_the_unanswered_candidates(
        app, client, import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_name=f"Person {i}", candidate_email=f"p{i}@example.org", application_ref=f"ATS-{i}")
            for i in range(3)]
    assert import_csv(rows).exit_code == 0
    assert send(runner).exit_code == 0
    (invitation,) = messages_to(smtp_server, CONTACT)
    answered_link = links_in(invitation)[0]
    assert answer(client, answered_link, COMPANY_ANSWERS).status_code == 200
    send(runner)  # the answered candidate's feedback-ready notice (tests/test_notices.py)

    sent_first_days_ago(3, CONTACT)
    assert "reminders queued: 2" in remind(runner).output
    smtp_server.handler.reset()
    result = send(runner)
    assert "sent: 2, failed: 0, left: 0" in result.output
    (reminder,) = smtp_server.messages
    assert reminder["To"] == CONTACT
    # Decided on 2 October: long past due, and the subject says so.
    assert str(reminder["Subject"]).startswith("Overdue") and "2 candidates" in str(reminder["Subject"])
    assert opening(reminder) != opening(invitation)
    links = links_in(reminder)
    assert len(links) == 2
    answered_request = request_of(answered_link)
    assert answered_request not in {request_of(link) for link in links}
    reminder_rows = outbox_rows(kind="reminder")
    assert str(reminder["Message-ID"]) == message_id(reminder_rows[0].id)
    for link in links:
        assert answer(client, link, COMPANY_ANSWERS).status_code == 200
    assert all(request.answered_at is not None for request in requests_to(CONTACT))

    # everything is answered: the 7-day mark reminds nobody
    sent_first_days_ago(7, CONTACT)
    assert "reminders queued: 0" in remind(runner).output


def test_message_ids_are_deterministic(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1)]).exit_code == 0
    (row,) = outbox_rows()
    assert message_id(row.id) == message_id(row.id) == f"<feedback.outbox.{row.id}@feedback.example>"
    assert send(runner).exit_code == 0
    (message,) = smtp_server.messages
    assert str(message["Message-ID"]) == message_id(row.id)


# --- unsubscribe and suppression --------------------------------------------------------------

def test_one_click_unsubscribe_is_honoured_by_import_send_and_remind(app, import_csv, runner, smtp_server):
    assert import_csv([outcome_row(outcome="withdrew")]).exit_code == 0
    assert send(runner).exit_code == 0
    (first,) = messages_to(smtp_server, CANDIDATE)
    path = unsubscribe_path(first)
    # another application is queued before she unsubscribes
    birch = outcome_row(company="Birch Labs", position="Data Analyst", outcome="withdrew")
    assert import_csv([birch]).exit_code == 0
    (queued_before,) = outbox_rows(status="queued")

    # GET only asks; it changes nothing, however often
    for _ in range(2):
        page = app.test_client().get(path)
        assert page.status_code == 200
        assert 'method="post"' in page.text
    assert suppression_reasons() == {}

    # RFC 8058 one-click: a mail client posts with no cookie and no CSRF token
    mail_client = app.test_client(use_cookies=False)
    done = mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "Location" not in done.headers
    again = mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and "Location" not in again.headers
    assert app.test_client().get(path).status_code == 200
    assert suppression_reasons() == {address_hash(CANDIDATE): "unsubscribed"}

    # import: a new application for her queues nothing for her (the address is matched in any case)
    cedar = outcome_row(company="Cedar Works", position="Tester", candidate_email=CANDIDATE.upper())
    imported = import_csv([cedar])
    assert imported.exit_code == 0, imported.output
    assert "e-mails not queued (address unsubscribed): 1" in imported.output
    assert {row.to_address.lower() for row in outbox_rows(status="queued")} == {CANDIDATE, CONTACT}

    # send: the message queued before the unsubscribe is not sent; the contact still is
    smtp_server.handler.reset()
    sent = send(runner)
    assert sent.exit_code == 0, sent.output
    assert [message["To"] for message in smtp_server.messages] == [CONTACT]
    stale = next(row for row in outbox_rows() if row.id == queued_before.id)
    assert stale.status == "cancelled" and stale.sent_at is None

    # remind: her requests are due for a reminder, but she is not reminded
    sent_first_days_ago(3)
    reminded = remind(runner)
    assert reminded.exit_code == 0, reminded.output
    assert "reminders queued: 1" in reminded.output  # the contact's request
    assert "not queued (address unsubscribed): 1" in reminded.output
    assert [row.to_address for row in outbox_rows(kind="reminder")] == [CONTACT]
    smtp_server.handler.reset()
    assert send(runner).exit_code == 0
    assert [message["To"] for message in smtp_server.messages] == [CONTACT]

    # and no fresh link is sent to her either
    request = requests_to(CANDIDATE)[0]
    assert request_fresh_link(request) is False
    db.session.commit()
    assert outbox_rows(kind="fresh_link") == []


def test_a_permanent_refusal_fails_the_message_and_suppresses_the_address(app, import_csv, runner, smtp_server):
    rows = [withdrew(1), withdrew(2)]
    assert import_csv(rows).exit_code == 0
    smtp_server.handler.refuse_recipients["person1@example.org"] = "550 5.1.1 no such user"
    result = send(runner)
    assert result.exit_code != 0
    assert "sent: 1, failed: 1, left: 0" in result.output
    refused = outbox_rows(to_address="person1@example.org")[0]
    assert refused.status == "failed" and refused.attempts == 1 and "550" in refused.last_error
    assert suppression_reasons() == {address_hash("person1@example.org"): "bounced"}

    # a later import for that address queues nothing for it
    smtp_server.handler.reset()
    again = import_csv([withdrew(1, company="Birch Labs"), withdrew(3)])
    assert again.exit_code == 0, again.output
    assert "e-mails not queued (address unsubscribed): 1" in again.output
    assert [row.to_address for row in outbox_rows(status="queued")] == ["person3@example.org"]
    assert "sent: 1, failed: 0, left: 0" in send(runner).output
    assert [message["To"] for message in smtp_server.messages] == ["person3@example.org"]


def test_a_permanent_refusal_of_a_digest_fails_all_its_rows_once(app, import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_email=f"p{i}@example.org", application_ref=f"ATS-{i}") for i in range(3)]
    assert import_csv(rows).exit_code == 0
    smtp_server.handler.refuse_recipients[CONTACT] = "550 5.1.1 no such user"
    result = send(runner)
    assert "sent: 3, failed: 3, left: 0" in result.output
    assert sorted(message["To"] for message in smtp_server.messages) == [f"p{i}@example.org" for i in range(3)]
    company_rows = outbox_rows(to_address=CONTACT)
    assert [(row.status, row.attempts) for row in company_rows] == [("failed", 1)] * 3
    assert suppression_reasons() == {address_hash(CONTACT): "bounced"}


# --- retries and backoff against a real SMTP server -------------------------------------------

def test_retry_delay_grows_exponentially_with_jitter_and_a_ceiling():
    for attempts in range(1, 15):
        base = min(timedelta(minutes=2 ** (attempts - 1)), MAX_RETRY_DELAY)
        delays = {retry_delay(attempts) for _ in range(50)}
        assert all(base * 0.5 <= delay <= base * 1.5 for delay in delays), attempts
        assert len(delays) > 1, "no jitter"
    assert max(retry_delay(30) for _ in range(50)) <= MAX_RETRY_DELAY * 1.5


def test_temporary_refusal_backs_off_then_the_recovered_server_gets_it_once(app, import_csv, smtp_server):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    smtp_server.handler.refuse_recipients["person1@example.org"] = "451 4.3.0 try later"

    clock = utcnow()
    delays = []
    for attempt in range(1, 6):
        result = deliver_queued(now=clock)
        db.session.commit()
        assert (result.sent, result.failed) == ((1 if attempt == 1 else 0), 1)
        (row,) = outbox_rows(to_address="person1@example.org")
        assert row.status == "queued" and row.attempts == attempt and row.sent_at is None
        assert "451" in row.last_error
        delay = as_utc(row.next_attempt_at) - clock
        base = timedelta(minutes=2 ** (attempt - 1))
        assert base * 0.5 <= delay <= base * 1.5, (attempt, delay)
        delays.append(delay)
        # not due a moment before its time: a run then leaves it alone
        early = deliver_queued(now=as_utc(row.next_attempt_at) - timedelta(seconds=1))
        db.session.commit()
        assert (early.sent, early.failed, early.left) == (0, 0, 1)
        clock = as_utc(row.next_attempt_at)
    assert delays[-1] > delays[0] * 4
    assert [message["To"] for message in smtp_server.messages] == ["person2@example.org"]

    # the server recovers; the next run at the due time delivers it, once, under its own Message-ID
    smtp_server.handler.refuse_recipients.clear()
    result = deliver_queued(now=clock)
    db.session.commit()
    assert (result.sent, result.failed, result.left) == (1, 0, 0)
    (row,) = outbox_rows(to_address="person1@example.org")
    assert row.status == "sent" and row.attempts == 6 and row.last_error is None
    delivered = messages_to(smtp_server, "person1@example.org")
    assert len(delivered) == 1
    assert str(delivered[0]["Message-ID"]) == message_id(row.id)
    again = deliver_queued(now=clock + timedelta(days=1))
    db.session.commit()
    assert (again.sent, again.failed, again.left) == (0, 0, 0)
    assert len(smtp_server.messages) == 2


def test_server_down_then_up_loses_nothing_and_sends_each_message_once(app, make_app, import_csv, smtp_server):
    assert import_csv([outcome_row(), withdrew(1), withdrew(2)]).exit_code == 0
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    later = make_app(MAIL_PORT=port)

    with later.app_context():
        result = later.test_cli_runner().invoke(args=["feedback", "send"])
    assert result.exit_code != 0
    assert result.stderr.startswith("error:") and f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output
    rows = outbox_rows()
    assert len(rows) == 4
    assert all(row.status == "queued" and row.claimed_until is None and row.sent_at is None for row in rows)
    # also the run itself, in-process
    with later.app_context(), pytest.raises(MailServerUnavailable):
        deliver_queued()
    assert all(row.status == "queued" and as_utc(row.next_attempt_at) <= utcnow() for row in outbox_rows())

    controller.start()
    try:
        with later.app_context():
            result = later.test_cli_runner().invoke(args=["feedback", "send"])
            again = later.test_cli_runner().invoke(args=["feedback", "send"])
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert "sent: 4, failed: 0, left: 0" in result.output
    assert "sent: 0, failed: 0, left: 0" in again.output
    assert sorted(message["To"] for message in handler.messages) == \
        sorted([CANDIDATE, CONTACT, "person1@example.org", "person2@example.org"])
    assert len({str(message["Message-ID"]) for message in handler.messages}) == 4
    assert all(row.status == "sent" for row in outbox_rows())
    assert smtp_server.messages == []


# --- the worker -------------------------------------------------------------------------------

def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_worker_sends_and_reminds_then_returns_when_asked_to_stop(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1)]).exit_code == 0
    assert send(runner).exit_code == 0
    sent_first_days_ago(3)  # person1 is due for a reminder
    assert import_csv([withdrew(2), withdrew(3)]).exit_code == 0  # two invitations wait
    db.session.commit()

    lines: list[str] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                run_worker(send_every=0.1, remind_every=60, echo=lines.append, stop=stop)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        assert wait_for(lambda: len(smtp_server.messages) >= 4), lines
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive(), "the worker did not stop"
    assert failures == []
    assert lines[-1] == "worker stopped"
    assert "reminders queued: 1" in lines
    assert any(line.startswith("sent: 3, failed: 0") for line in lines), lines
    reminders = [m for m in smtp_server.messages if str(m["Subject"]).startswith("Reminder")]
    assert [m["To"] for m in reminders] == ["person1@example.org"]
    assert sorted(m["To"] for m in smtp_server.messages) == \
        ["person1@example.org", "person1@example.org", "person2@example.org", "person3@example.org"]
    assert all(row.status == "sent" for row in outbox_rows())


def test_a_failure_in_webhook_work_is_logged_and_the_worker_keeps_sending(app, import_csv, smtp_server,
                                                                          monkeypatch, caplog):
    """Connector and webhook work run after the mail in each round; a bug there is logged, not fatal."""
    def broken(_now):
        raise RuntimeError("a receiver's answer we did not foresee")

    monkeypatch.setattr("feedback.jobs.worker.deliver_due", broken)
    assert import_csv([withdrew(1)]).exit_code == 0
    db.session.commit()
    lines: list[str] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                run_worker(send_every=0.05, remind_every=60, echo=lines.append, stop=stop)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        assert wait_for(lambda: len(smtp_server.messages) >= 1), lines
        assert import_csv([withdrew(2)]).exit_code == 0  # after rounds that failed, mail still goes
        db.session.commit()
        assert wait_for(lambda: len(smtp_server.messages) >= 2), lines
    finally:
        stop.set()
        worker.join(timeout=10)
    assert failures == [] and lines[-1] == "worker stopped"
    assert sorted(m["To"] for m in smtp_server.messages) == ["person1@example.org", "person2@example.org"]
    assert "connector or webhook work failed" in caplog.text and "did not foresee" in caplog.text


def test_worker_command_stops_cleanly_on_sigterm(app, database_url, import_csv, smtp_server):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": feedback_config.TestConfig().SECRET_KEY,
           "MAIL_SERVER": smtp_server.hostname, "MAIL_PORT": str(smtp_server.port),
           "PUBLIC_BASE_URL": "http://feedback.example", "FLASK_DEBUG": "0"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "feedback", "worker",
                               "--send-every", "0.2"], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(smtp_server.messages) >= 2, timeout=20)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert "worker stopped" in out
    assert "SIGTERM" in out
    assert "Traceback" not in err
    assert all(row.status == "sent" for row in outbox_rows())
