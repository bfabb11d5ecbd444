"""A newcomer's first hour and an operator's bad day (issue 19, item 5): every --help with no
configuration, DEV_PORT, the demo logins, page mail in the dev mailbox at once, the dev mailbox's
pages and used links, `outbox retry`, and a relay that refuses everyone, against a real SMTP server.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from conftest import csrf_token, outcome_row
from markupsafe import escape

from feedback import config as feedback_config
from feedback.cli import feedback_cli
from feedback.extensions import db
from feedback.jobs.delivery import deliver_queued
from feedback.models import Answer, Application, FeedbackRequest, OutboxMessage, Question, Response, Suppression, Survey
from feedback.services.suppressions import suppress_address
from feedback.timeutil import utcnow
from feedback.tokens import address_hash, read_feedback_link_token

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(ROOT / ".venv" / "bin" / "flask")


def withdrew(number: int, **values) -> dict:
    """A candidate-only row: one e-mail per row, each to its own address."""
    return outcome_row(candidate_name=f"Person {number}", candidate_email=f"person{number}@example.org",
                       outcome="withdrew", stage="screen", application_ref=f"OP-{number}", **values)


def outbox_rows(**where) -> list[OutboxMessage]:
    db.session.rollback()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def suppressed() -> dict[str, str]:
    db.session.rollback()
    return dict(db.session.execute(sa.select(Suppression.address_hash, Suppression.reason)).all())


def send(runner):
    return runner.invoke(args=["feedback", "send"])


def retry(runner, *args: str):
    return runner.invoke(args=["feedback", "outbox", "retry", *args])


# --- --help with no configuration at all -----------------------------------------------------

def command_paths(command: click.Command, path: tuple[str, ...] = ("feedback",)):
    """Every command and group under ``feedback``, as the words typed to reach it."""
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


def bare_flask(*args: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi …` as a newcomer types it: no FLASK_DEBUG, no SECRET_KEY, nothing but PATH."""
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env={"PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=120)


PATHS = list(command_paths(feedback_cli))


def test_the_commands_include_outbox_and_connectors():
    assert {("feedback", "outbox", "retry"), ("feedback", "connectors", "list"), ("feedback", "users", "create")} <= set(PATHS)


@pytest.mark.no_database
@pytest.mark.parametrize("path", [(), *PATHS, ("db",), ("db", "upgrade")], ids=lambda path: " ".join(path) or "flask")
def test_every_help_works_in_an_empty_environment(path):
    result = bare_flask(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: flask")
    assert "Traceback" not in result.stderr
    if path == ("feedback",):
        for name in ("send", "outbox", "connectors", "demo"):
            assert f"  {name}" in result.stdout


@pytest.mark.no_database
@pytest.mark.parametrize("path", [("feedback", "send"), ("feedback", "outbox", "retry"), ("feedback", "connectors", "list"),
                                  ("db", "upgrade"), ("run",)], ids=" ".join)
def test_a_command_without_configuration_is_refused_in_one_line(path):
    result = bare_flask(*path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: SECRET_KEY is not set; the app refuses to start in production without it. "
        "See the README, Configuration (for development: FLASK_DEBUG=1)."]
    assert result.stdout == ""


# --- DEV_PORT and the demo -------------------------------------------------------------------

@pytest.fixture
def bare_environment(monkeypatch):
    for name in ("FLASK_DEBUG", "DEV_PORT", "PUBLIC_BASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_dev_port_is_the_dev_base_url_unless_public_base_url_says_otherwise(bare_environment):
    bare_environment.setenv("FLASK_DEBUG", "1")
    assert feedback_config.config_for_environment().PUBLIC_BASE_URL == "http://127.0.0.1:5000"
    bare_environment.setenv("DEV_PORT", "5123")
    config = feedback_config.config_for_environment()
    assert (config.DEV_PORT, config.PUBLIC_BASE_URL) == (5123, "http://127.0.0.1:5123")
    bare_environment.setenv("PUBLIC_BASE_URL", "http://localhost:8080/")
    assert feedback_config.config_for_environment().PUBLIC_BASE_URL == "http://localhost:8080"
    # production keeps the contract's default whatever DEV_PORT says
    bare_environment.delenv("FLASK_DEBUG")
    bare_environment.delenv("PUBLIC_BASE_URL")
    assert feedback_config.config_for_environment().PUBLIC_BASE_URL == "http://127.0.0.1:5000"
    bare_environment.setenv("DEV_PORT", "port")
    with pytest.raises(feedback_config.ConfigError, match="DEV_PORT must be a whole number"):
        feedback_config.config_for_environment()


def test_make_run_serves_on_dev_port():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^DEV_PORT \?= 5000$", makefile, re.M)
    assert "--port $(DEV_PORT)" in makefile
    dry_run = subprocess.run(["make", "-n", "run", "DEV_PORT=5123"], cwd=ROOT, capture_output=True, text=True)
    assert "--port 5123" in dry_run.stdout
    assert "DEV_PORT=5123 .venv/bin/flask --app wsgi feedback demo" in dry_run.stdout


def test_the_demo_prints_its_logins_every_time_with_dev_port_links(app, make_app):
    dev = make_app(DEV_MAILBOX=True, PUBLIC_BASE_URL="http://127.0.0.1:5123")
    with dev.app_context():
        runner = dev.test_cli_runner()
        first = runner.invoke(args=["feedback", "demo"])
        second = runner.invoke(args=["feedback", "demo"])
    for result in (first, second):
        assert result.exit_code == 0, result.output
        assert "sign in at http://127.0.0.1:5123/login" in result.output
        assert "Read the e-mails at http://127.0.0.1:5123/dev/mailbox/" in result.output
        for login in ("admin@demo.example", "recruiter@demo.example", "company@demo.example"):
            assert login in result.output
        assert "password: demo-password" in result.output
    assert "Demo data loaded" in first.output
    assert "already holds data; demo data not loaded" in second.output
    kept = db.session.scalar(sa.select(OutboxMessage.body_text).where(OutboxMessage.body_text.is_not(None)).limit(1))
    assert "http://127.0.0.1:5123/f/" in kept


def test_the_demo_has_candidates_in_every_shipped_language(app, make_app):
    """About one candidate in four gets a language: their invitation is in it, and their answers
    are to its wording, so that a newcomer sees the languages in the mailbox and the dashboard."""
    dev = make_app(DEV_MAILBOX=True)
    with dev.app_context():
        assert dev.test_cli_runner().invoke(args=["feedback", "demo"]).exit_code == 0
        languages = dict(db.session.execute(sa.select(Application.locale, sa.func.count())
                                            .group_by(Application.locale)).all())
        assert set(languages) == {None, "de", "fr", "es", "pt-BR", "ar"}
        assert 0.15 < sum(n for tag, n in languages.items() if tag) / sum(languages.values()) < 0.35
        invitations = db.session.execute(
            sa.select(Application.locale, OutboxMessage.body_html)
            .join(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
            .join(Application, Application.id == FeedbackRequest.application_id)
            .where(OutboxMessage.kind == "invitation", FeedbackRequest.audience == "candidate")).all()
        for tag, html in invitations:
            assert f'<html lang="{tag or "en"}"' in html
        answered = dict(db.session.execute(
            sa.select(Survey.locale, sa.func.count()).join(Response, Response.survey_id == Survey.id)
            .where(Response.audience == "candidate").group_by(Survey.locale)).all())
        assert set(answered) == {"en", "de", "fr", "es", "pt-BR", "ar"}
        # Every answer is to a question of the wording its response was given in.
        question_survey = sa.orm.aliased(Survey)
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(Answer).join(Response, Response.id == Answer.response_id)
            .join(Survey, Survey.id == Response.survey_id).join(Question, Question.id == Answer.question_id)
            .join(question_survey, question_survey.id == Question.survey_id)
            .where(question_survey.locale != Survey.locale)) == 0
        # A contact's answers stay in the company's language (none here: English).
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response).join(Survey)
                                 .where(Response.audience == "company", Survey.locale != "en")) == 0


# --- page mail in the dev mailbox, at once ---------------------------------------------------

@pytest.fixture
def dev(make_app):
    """A dev-mode app (its mail kept for the dev mailbox) on the test database."""
    return make_app(DEV_MAILBOX=True)


def ask_for_view_link(browser, address: str):
    page = browser.get("/me")
    return browser.post("/me", data={"csrf_token": csrf_token(page.text), "email": address})


def test_a_link_asked_for_on_me_is_in_the_dev_mailbox_without_feedback_send(app, dev, import_csv):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    browser = dev.test_client()
    assert ask_for_view_link(browser, "person1@example.org").status_code == 200
    (view,) = outbox_rows(kind="candidate_view")
    assert view.status == "sent" and view.to_address == "person1@example.org" and "/me/view/" in view.body_text
    # only what the request queued: the imported invitations still wait for `feedback send`
    assert [row.status for row in outbox_rows(kind="invitation")] == ["queued", "queued"]
    mailbox = browser.get("/dev/mailbox/")
    assert escape(view.subject) in mailbox.text
    assert "2 more are still queued" in mailbox.text


def test_production_leaves_page_mail_to_the_sender(app, web, import_csv, smtp_server):
    assert import_csv([withdrew(1)]).exit_code == 0
    assert ask_for_view_link(web.test_client(), "person1@example.org").status_code == 200
    (view,) = outbox_rows(kind="candidate_view")
    assert view.status == "queued" and view.body_text is None
    assert smtp_server.messages == []


def test_a_fresh_link_asked_for_on_an_expired_page_is_in_the_dev_mailbox(app, dev, import_csv):
    assert import_csv([withdrew(1)]).exit_code == 0
    with dev.app_context():
        deliver_queued()
    (invitation,) = outbox_rows(kind="invitation")
    link = re.search(r"http://feedback\.example(/f/[A-Za-z0-9_.\-]+)", invitation.body_text).group(1)
    request = db.session.get(FeedbackRequest, invitation.request_id)
    request.link_issued_at -= timedelta(days=app.config["FEEDBACK_LINK_MAX_AGE_DAYS"] + 1)
    db.session.commit()
    browser = dev.test_client()
    expired = browser.get(link)
    assert expired.status_code == 410
    with dev.app_context():  # link times have one-second resolution
        signed_at = read_feedback_link_token(link.removeprefix("/f/")).signed_at.timestamp()
    while time.time() < signed_at + 1.01:
        time.sleep(0.02)
    assert browser.post(f"{link}/renew", data={"csrf_token": csrf_token(expired.text)}).status_code == 202
    (fresh,) = outbox_rows(kind="fresh_link")
    assert fresh.status == "sent" and "/f/" in fresh.body_text
    mailbox = browser.get("/dev/mailbox/").text
    assert escape(fresh.subject) in mailbox, mailbox


# --- the dev mailbox: pages and used links ---------------------------------------------------

def test_the_dev_mailbox_pages_through_everything(app, dev):
    now = utcnow()
    db.session.execute(sa.insert(OutboxMessage), [
        {"kind": "candidate_view", "to_address": f"p{n}@example.org", "status": "sent", "sent_at": now,
         "subject": f"Message {n:03d}", "body_text": "text", "body_html": "<p>html</p>"} for n in range(1, 121)])
    db.session.commit()
    browser = dev.test_client()
    first = browser.get("/dev/mailbox/")
    assert "1–50 of 120 (page 1 of 3)" in first.text
    assert "shown" not in first.text
    assert first.text.count("Message ") == 50 and "Message 120" in first.text and "Message 070" not in first.text
    last = browser.get("/dev/mailbox/?page=3")
    assert "101–120 of 120 (page 3 of 3)" in last.text
    assert last.text.count("Message ") == 20 and "Message 001" in last.text
    assert 'rel="next"' not in last.text and 'rel="prev"' in last.text
    filtered = browser.get("/dev/mailbox/?to=p12")
    assert "1–2 of 2 to addresses containing" in filtered.text  # p12 and p120
    assert browser.get("/dev/mailbox/?page=0").status_code == 400


def test_the_dev_mailbox_marks_links_already_used(app, dev, import_csv):
    assert import_csv([withdrew(1), withdrew(2)]).exit_code == 0
    with dev.app_context():
        deliver_queued()
    answered, unanswered = outbox_rows(kind="invitation")
    db.session.get(FeedbackRequest, answered.request_id).answered_at = utcnow()
    db.session.commit()
    browser = dev.test_client()
    index = browser.get("/dev/mailbox/").text
    assert index.count(">used</span>") == 1
    row_of = {address: re.search(rf"<tr>\s*<td>{re.escape(address)}</td>.*?</tr>", index, re.S).group(0)
              for address in ("person1@example.org", "person2@example.org")}
    assert ">used<" in row_of[answered.to_address] and ">used<" not in row_of[unanswered.to_address]
    assert "the request was answered" in browser.get(f"/dev/mailbox/{answered.id}").text
    assert "the request was answered" not in browser.get(f"/dev/mailbox/{unanswered.id}").text


# --- a relay that refuses everyone, and one recipient refused ----------------------------------

@pytest.mark.parametrize("refusal", [
    ("refuse_every_recipient", "554 5.7.1 <{address}>: Relay access denied"),
    ("refuse_every_message", "550 5.7.0 Message refused by policy"),
], ids=["rcpt", "data"])
def test_a_relay_refusing_everyone_stops_the_run_and_suppresses_no_one(app, import_csv, runner, smtp_server, refusal):
    assert import_csv([withdrew(n) for n in range(1, 8)]).exit_code == 0
    setattr(smtp_server.handler, *refusal)
    result = send(runner)
    assert result.exit_code == 1
    assert "refused 3 e-mails in a row, to different addresses, with the same answer" in result.stderr
    assert refusal[1].split()[0] in result.stderr and "outbox retry" in result.stderr
    assert "sent: 0, failed: 3, left: 7" in result.stdout
    rows = outbox_rows()
    assert all(row.status == "queued" for row in rows)
    assert [row.attempts for row in rows] == [1, 1, 1, 0, 0, 0, 0]
    assert all(row.next_attempt_at > utcnow() for row in rows[:3])
    assert suppressed() == {}

    # fixed: retry makes the three due now, and everything goes out
    smtp_server.handler.reset()
    made_due = retry(runner)
    assert made_due.exit_code == 0, made_due.output
    assert "made due now: 3 queued e-mails that waited for a later attempt" in made_due.output
    assert "sent: 7, failed: 0, left: 0" in send(runner).output
    assert len(smtp_server.messages) == 7


def test_one_refused_recipient_among_accepted_ones_alone_is_suppressed(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(n) for n in range(1, 5)]).exit_code == 0
    smtp_server.handler.refuse_recipients["person1@example.org"] = "550 5.1.1 <person1@example.org>: no such user"
    result = send(runner)
    assert "sent: 3, failed: 1, left: 0" in result.stdout
    (refused,) = outbox_rows(to_address="person1@example.org")
    assert refused.status == "failed" and "550" in refused.last_error
    assert suppressed() == {address_hash("person1@example.org"): "bounced"}


def test_a_refusal_in_a_run_where_nothing_is_accepted_is_held_not_final(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(1)]).exit_code == 0
    smtp_server.handler.refuse_recipients["person1@example.org"] = "550 5.1.1 no such user"
    assert "sent: 0, failed: 1, left: 1" in send(runner).output
    (row,) = outbox_rows()
    assert (row.status, row.attempts) == ("queued", 1)
    assert suppressed() == {}


# --- outbox retry ------------------------------------------------------------------------------

def failed_at(row_id: int, when: datetime) -> None:
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id).values(
        status="failed", attempts=10, next_attempt_at=when, last_error="refused: 550 5.7.0 denied"))


def test_outbox_retry_puts_back_the_failed_since_a_date_but_not_the_unsubscribed(app, import_csv, runner, smtp_server):
    assert import_csv([withdrew(n) for n in range(1, 6)]).exit_code == 0
    one, two, three, four, five = outbox_rows()
    failed_at(one.id, datetime(2026, 11, 20, 10, tzinfo=UTC))  # before --since
    for row in (two, three, four):
        failed_at(row.id, datetime(2026, 12, 2, 10, tzinfo=UTC))
    suppress_address(four.to_address)  # the person unsubscribed: theirs to decide
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == five.id).values(
        attempts=2, next_attempt_at=utcnow() + timedelta(hours=3)))
    db.session.commit()

    plain = retry(runner)
    assert plain.exit_code == 0, plain.output
    assert plain.output.splitlines() == ["made due now: 1 queued e-mails that waited for a later attempt"]
    assert retry(runner).output.startswith("made due now: 0 ")

    assert retry(runner, "--since", "2026-12-01").exit_code == 2  # --since goes with --failed
    assert retry(runner, "--failed", "--since", "1 December").exit_code == 2

    result = retry(runner, "--failed", "--since", "2026-12-01")
    assert result.exit_code == 0, result.output
    assert "put back in the queue: 2 failed e-mails" in result.output
    assert "left failed: 1 (the address unsubscribed" in result.output
    by_id = {row.id: row for row in outbox_rows()}
    assert [by_id[row.id].status for row in (one, two, three, four, five)] == ["failed", "queued", "queued", "failed", "queued"]
    assert by_id[two.id].attempts == 0
    assert "sent: 3, failed: 0, left: 0" in send(runner).output

    everything = retry(runner, "--failed")
    assert "put back in the queue: 1 failed e-mails" in everything.output  # the one of November
    assert "left failed: 1" in everything.output


def test_outbox_retry_lifts_the_bounces_a_relay_refusing_everyone_caused(app, import_csv, runner, smtp_server):
    """Before the stop rule, a relay answering 5xx to everyone suppressed every address: a retry
    takes those bounces back, and keeps the bounce of an address refused on its own."""
    assert import_csv([withdrew(n) for n in range(1, 6)]).exit_code == 0
    rows = outbox_rows()
    for row in rows:
        failed_at(row.id, utcnow())
        suppress_address(row.to_address, reason="bounced")
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == rows[0].id).values(
        last_error=f"recipient refused: 550 5.1.1 <{rows[0].to_address}>: no such user"))
    for row in rows[1:]:
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            last_error=f"recipient refused: 554 5.7.1 <{row.to_address}>: Relay access denied"))
    db.session.commit()
    result = retry(runner, "--failed")
    assert "put back in the queue: 4 failed e-mails" in result.output
    assert "taken off the suppression list: 4 addresses" in result.output
    assert suppressed() == {address_hash(rows[0].to_address): "bounced"}
    assert "sent: 4, failed: 0, left: 0" in send(runner).output
