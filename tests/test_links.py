"""The one-time feedback link (CONTRACT §5): live, used, expired, renewed, tampered, rotated, private."""
from __future__ import annotations

import logging
import re
import threading
import time
import urllib.request
from datetime import timedelta

import itsdangerous.timed
import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row
from itsdangerous import URLSafeTimedSerializer
from werkzeug.serving import make_server

from feedback.extensions import db
from feedback.logging import redact
from feedback.mail import load_outgoing, render_items
from feedback.models import Answer, FeedbackRequest, OutboxMessage, Question, Response
from feedback.timeutil import utcnow
from feedback.tokens import (
    UNSUBSCRIBE_SALT,
    feedback_link_token,
    public_url,
    read_feedback_link_token,
    unsubscribe_token,
)

CANDIDATE = "ana.silva@example.org"
CONTACT = "hiring@acme-robotics.example.com"
PRIVATE_WORDS = ("Acme Robotics", "acme-robotics", "Ana Silva", CANDIDATE, "QA Engineer")
ANSWERS = {
    "nps": "9",
    "communication": "4",
    "timeliness": "3",
    "role_clarity": "5",
    "interviewer_preparation": "2",
    "fairness": "5",
    "respect": "1",
    "improve": "Reply a little sooner.",
}
URL = re.compile(r"https?://[^\s\"'<>]+")


# --- helpers ----------------------------------------------------------------------------------

@pytest.fixture
def send(runner):
    def run() -> str:
        result = runner.invoke(args=["feedback", "send"])
        assert result.exit_code == 0, result.output
        return result.output

    return run


@pytest.fixture
def mailed(import_csv, send, smtp_server):
    """Import the default row (rejected: candidate and contact are mailed) and deliver the mail."""
    result = import_csv([outcome_row()])
    assert result.exit_code == 0, result.output
    send()
    return smtp_server


def link_to(smtp_server, address: str) -> str:
    """The feedback-link path in the latest message to ``address``."""
    messages = [message for message in smtp_server.messages if message["To"] == address]
    assert messages, f"no message to {address}"
    (path,) = links_in(messages[-1])
    return path


@pytest.fixture
def link(mailed) -> str:
    return link_to(mailed, CANDIDATE)


def token_of(path: str) -> str:
    assert path.startswith("/f/")
    return path[len("/f/"):]


def feedback_request(address: str = CANDIDATE) -> FeedbackRequest:
    """The request mailed to ``address``, read fresh from the database."""
    db.session.rollback()
    found = db.session.scalar(sa.select(FeedbackRequest).where(FeedbackRequest.recipient_email == address))
    assert found is not None
    return found


def response_count(request_id: int | None = None) -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).select_from(Response)
    if request_id is not None:
        query = query.where(Response.request_id == request_id)
    return db.session.scalar(query)


def post_answers(client, path: str, **overrides):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), **ANSWERS, **overrides})


def assert_token_page_headers(response) -> None:
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def assert_private(page) -> None:
    for word in PRIVATE_WORDS:
        assert word.lower() not in page.text.lower(), f"{word!r} shown on a {page.status_code} page"


def answered_on(moment) -> str:
    return f"{moment.day} {moment:%B %Y}"


def fresh_link_messages() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "fresh_link")))


# --- a live link ------------------------------------------------------------------------------

def test_get_and_head_show_the_form_without_using_the_link(client, link):
    for _ in range(3):
        page = client.get(link)
        assert page.status_code == 200
        assert 'name="nps"' in page.text
        assert_token_page_headers(page)
    head = client.head(link)
    assert head.status_code == 200
    assert_token_page_headers(head)
    assert feedback_request().answered_at is None

    answered = post_answers(client, link)
    assert answered.status_code == 200
    assert "Thank you" in answered.text
    assert_token_page_headers(answered)
    assert response_count() == 1


def test_valid_submission_is_stored_once_then_the_link_is_used(client, link):
    request_id = feedback_request().id
    csrf = csrf_token(client.get(link).text)
    answered = client.post(link, data={"csrf_token": csrf, **ANSWERS})
    assert answered.status_code == 200
    assert "Thank you" in answered.text

    responses = db.session.scalars(sa.select(Response)).all()
    assert len(responses) == 1
    assert responses[0].request_id == request_id
    assert responses[0].audience == "candidate"
    stored = dict(
        db.session.execute(
            sa.select(Question.key, sa.func.coalesce(sa.cast(Answer.number, sa.String), Answer.text))
            .join(Answer, Answer.question_id == Question.id)
            .where(Answer.response_id == responses[0].id)
        ).all()
    )
    assert stored == ANSWERS
    numbers = dict(
        db.session.execute(
            sa.select(Question.key, Answer.number)
            .join(Answer, Answer.question_id == Question.id)
            .where(Answer.response_id == responses[0].id)
        ).all()
    )
    assert numbers["nps"] == 9 and numbers["communication"] == 4 and numbers["respect"] == 1
    assert numbers["improve"] is None

    answered_at = feedback_request().answered_at
    assert answered_at is not None
    later = client.get(link)
    assert later.status_code == 410
    assert answered_on(answered_at) in later.text
    assert 'name="nps"' not in later.text
    assert_token_page_headers(later)
    assert_private(later)

    again = client.post(link, data={"csrf_token": csrf, **ANSWERS, "nps": "0", "improve": "Second try"})
    assert again.status_code == 410
    assert answered_on(answered_at) in again.text
    assert client.head(link).status_code == 410
    assert response_count() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == len(ANSWERS)
    assert "Second try" not in db.session.scalars(sa.select(Answer.text).where(Answer.text.is_not(None))).all()


def test_a_submission_that_read_the_link_before_it_was_used_stores_nothing(client, link):
    """The conditional claim decides, not the page's earlier read; the claim changes only answered_at."""
    from feedback.models import AnswerTally
    from feedback.services.responses import AlreadyAnswered, submit_response

    request_id = feedback_request().id
    columns = [column for column in FeedbackRequest.__table__.c if column.key != "answered_at"]
    before = db.session.execute(sa.select(*columns).where(FeedbackRequest.id == request_id)).one()
    assert post_answers(client, link).status_code == 200
    db.session.rollback()
    assert db.session.execute(sa.select(*columns).where(FeedbackRequest.id == request_id)).one() == before
    tally_rows = sa.select(AnswerTally.question_id, AnswerTally.value, AnswerTally.count).order_by(
        AnswerTally.question_id, AnswerTally.value)
    tallies = db.session.execute(tally_rows).all()
    nps = db.session.scalar(sa.select(Question.id).where(Question.key == "nps").limit(1))

    with pytest.raises(AlreadyAnswered):
        submit_response(request_id, [{"question_id": nps, "number": 0, "text": None}])
    db.session.rollback()
    assert response_count() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == len(ANSWERS)
    assert db.session.execute(tally_rows).all() == tallies


def test_the_link_page_reads_its_request_in_one_query_and_stores_utc_times(client, link, app):
    """The link page reads the request with the names it shows in one statement; the response's
    time is the request's answered_at, in UTC."""
    from feedback.queries.links import linked_request

    stored = feedback_request()
    statements = []

    def count(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        read = linked_request(stored.id)
        assert (read.company_name, read.position_title, read.candidate_name) == ("Acme Robotics", "QA Engineer",
                                                                               "Ana Silva")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert read.link_issued_at.utcoffset() == timedelta(0) and (read.answered_at, read.cancelled_at) == (None, None)
    before = utcnow()
    assert post_answers(client, link).status_code == 200
    response = db.session.scalars(sa.select(Response)).one()
    assert before <= response.submitted_at <= utcnow()
    assert feedback_request().answered_at == response.submitted_at


def test_a_response_refused_by_the_database_is_an_integrity_error_without_its_values(app, link):
    """A second response for one request (a submission that lost the race) fails as SQLAlchemy's
    IntegrityError, which the link page answers with its 'already used' page; the values, which
    may hold free text, are not in the message; and nothing of the failed transaction stays."""
    request = feedback_request()
    values = {"request_id": request.id, "survey_id": request.survey_id, "audience": "candidate",
              "company_id": request.company_id, "position_id": request.application.position_id,
              "stage": "screen", "outcome": "Private words", "submitted_at": utcnow()}
    db.session.execute(sa.insert(Response), values)
    with pytest.raises(sa.exc.IntegrityError) as refused:
        db.session.execute(sa.insert(Response), values)
    assert "Private words" not in str(refused.value)
    db.session.rollback()
    assert response_count() == 0


# --- expiry and fresh links -------------------------------------------------------------------

def wait_past_signing_second(app, token: str) -> None:
    """Link timestamps have one-second resolution; a real renewal comes long after the e-mail."""
    with app.app_context():
        signed_at = read_feedback_link_token(token).signed_at.timestamp()
    while time.time() < signed_at + 1.01:
        time.sleep(0.02)


def test_expired_link_offers_a_fresh_one_and_stays_dead(app, client, link, send, smtp_server):
    days = app.config["FEEDBACK_LINK_MAX_AGE_DAYS"]
    request = feedback_request()
    request.link_issued_at = request.link_issued_at - timedelta(days=days + 1)
    db.session.commit()

    expired = client.get(link)
    assert expired.status_code == 410
    assert "fresh link" in expired.text.lower()
    assert f'action="{link}/renew"' in expired.text
    assert 'name="nps"' not in expired.text
    assert_token_page_headers(expired)
    assert_private(expired)
    refused = client.post(link, data={"csrf_token": csrf_token(expired.text), **ANSWERS})
    assert refused.status_code == 410
    assert response_count() == 0
    assert fresh_link_messages() == []

    wait_past_signing_second(app, token_of(link))
    renewed = client.post(f"{link}/renew", data={"csrf_token": csrf_token(expired.text)})
    assert renewed.status_code in (200, 202)
    assert_token_page_headers(renewed)
    assert_private(renewed)
    queued = fresh_link_messages()
    assert [(m.status, m.to_address, m.request_id) for m in queued] == [("queued", CANDIDATE, request.id)]

    before = len(smtp_server.messages)
    assert "sent: 1" in send()
    assert len(smtp_server.messages) == before + 1
    new_link = link_to(smtp_server, CANDIDATE)
    assert new_link != link

    assert client.get(link).status_code == 410
    fresh = client.get(new_link)
    assert fresh.status_code == 200
    assert 'name="nps"' in fresh.text
    # The old link never comes back, neither before nor after the new one is used.
    dead = client.post(link, data={"csrf_token": csrf_token(fresh.text), **ANSWERS})
    assert dead.status_code == 410
    assert response_count() == 0
    answered = client.post(new_link, data={"csrf_token": csrf_token(fresh.text), **ANSWERS})
    assert answered.status_code == 200
    assert "Thank you" in answered.text
    assert client.get(link).status_code == 410
    assert client.get(new_link).status_code == 410
    assert response_count() == 1


def test_token_signed_too_long_ago_is_expired(app, client, mailed, monkeypatch):
    request_id = feedback_request().id
    days = app.config["FEEDBACK_LINK_MAX_AGE_DAYS"]
    real_time = itsdangerous.timed.time.time
    with app.app_context():
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - (days + 1) * 86400)
        try:
            token = feedback_link_token(request_id)
        finally:
            monkeypatch.undo()
    assert itsdangerous.timed.time.time is real_time

    page = client.get(f"/f/{token}")
    assert page.status_code == 410
    assert 'name="nps"' not in page.text
    # signed before the request's current link was issued: an older link, which may not ask for a successor
    assert "/renew" not in page.text
    assert_private(page)
    live = client.get(link_to(mailed, CANDIDATE))
    refused = client.post(f"/f/{token}", data={"csrf_token": csrf_token(live.text), **ANSWERS})
    assert refused.status_code == 410
    assert response_count() == 0


def test_renew_does_not_replace_a_live_link(client, link):
    issued = feedback_request().link_issued_at
    page = client.get(link)
    renewed = client.post(f"{link}/renew", data={"csrf_token": csrf_token(page.text)})
    assert renewed.status_code in (200, 202)
    assert fresh_link_messages() == []
    assert feedback_request().link_issued_at == issued
    assert client.get(link).status_code == 200
    answered = client.post(link, data={"csrf_token": csrf_token(page.text), **ANSWERS})
    assert answered.status_code == 200


# --- tokens that are not ours -----------------------------------------------------------------

def tampered(token: str) -> str:
    """The token with the first character of its signature changed (all six bits count there)."""
    head, signature = token.rsplit(".", 1)
    swapped = "B" if signature[0] == "A" else "A"
    return f"{head}.{swapped}{signature[1:]}"


def test_tokens_that_are_not_ours_answer_404_and_tell_nothing(app, client, link, make_app):
    request_id = feedback_request().id
    token = token_of(link)
    other = make_app(SECRET_KEY="another-secret-key-0123456789abcdef0123")
    with other.app_context():
        foreign = feedback_link_token(request_id)
    with app.app_context():
        missing = feedback_link_token(request_id + 1000)
        unsubscribe_salted = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps(request_id)
        unsubscribe = unsubscribe_token(CANDIDATE)
    bad_tokens = {
        "tampered": tampered(token),
        "garbage": "garbage",
        "dotted garbage": "abc.def.ghi",
        "truncated": token[:-4],
        "another key": foreign,
        "no such request": missing,
        "unsubscribe salt": unsubscribe_salted,
        "unsubscribe token": unsubscribe,
    }
    form = client.get(link)
    csrf = csrf_token(form.text)
    for name, bad in bad_tokens.items():
        assert bad != token
        for response in (
            client.get(f"/f/{bad}"),
            client.post(f"/f/{bad}", data={"csrf_token": csrf, **ANSWERS}),
            client.post(f"/f/{bad}/renew", data={"csrf_token": csrf}),
        ):
            assert response.status_code == 404, (name, response.status_code)
            assert_private(response)
            assert_token_page_headers(response)
    assert response_count() == 0
    assert fresh_link_messages() == []
    assert client.get(link).status_code == 200


def test_link_signed_with_an_old_key_works_while_that_key_is_a_fallback(app, mailed, make_app):
    request_id = feedback_request().id
    db.session.rollback()
    old_key = "old-secret-key-0123456789abcdef01234567"
    new_key = "new-secret-key-0123456789abcdef01234567"
    old_app = make_app(SECRET_KEY=old_key)
    with old_app.app_context():
        token = feedback_link_token(request_id)

    without_fallback = make_app(SECRET_KEY=new_key)
    assert without_fallback.test_client().get(f"/f/{token}").status_code == 404

    rotated = make_app(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key])
    client = rotated.test_client()
    page = client.get(f"/f/{token}")
    assert page.status_code == 200
    assert 'name="nps"' in page.text
    answered = client.post(f"/f/{token}", data={"csrf_token": csrf_token(page.text), **ANSWERS})
    assert answered.status_code == 200
    assert "Thank you" in answered.text
    assert response_count(request_id) == 1
    assert client.get(f"/f/{token}").status_code == 410
    # New links are signed with the new key: the app without the old key reads them.
    with rotated.app_context():
        renewed_token = feedback_link_token(request_id)
    assert without_fallback.test_client().get(f"/f/{renewed_token}").status_code == 410


# --- privacy of the token ---------------------------------------------------------------------

@pytest.fixture
def live_loggers(monkeypatch):
    """Loggers as in production: the in-process Alembic upgrade of the test session runs
    logging.config.fileConfig, which disables every logger that existed then (werkzeug, feedback.*)."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)


def test_token_is_in_no_log_record(client, link, caplog, live_loggers):
    caplog.set_level(logging.DEBUG)
    token = token_of(link)
    page = client.get(link)
    assert page.status_code == 200
    answered = client.post(link, data={"csrf_token": csrf_token(page.text), **ANSWERS})
    assert answered.status_code == 200
    assert client.get(link).status_code == 410
    # A log line that names the path, as an access log writes it, is redacted too.
    logging.getLogger("werkzeug").info('127.0.0.1 - - "%s" %s -', f"GET {link} HTTP/1.1", 200)
    logging.getLogger("feedback").warning("odd request to %s", link)
    assert any(record.name == "feedback.services.responses" for record in caplog.records)
    for record in caplog.records:
        assert token not in record.getMessage(), record.name


def test_dev_server_access_log_has_no_token(app, link, caplog, live_loggers):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    token = token_of(link)
    db.session.rollback()
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{link}", timeout=10) as reply:
            assert reply.status == 200
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
    access = [record for record in caplog.records if record.name == "werkzeug" and "GET" in record.getMessage()]
    assert access, "the dev server logged no request"
    assert "/f/[token]" in access[0].getMessage()
    for record in caplog.records:
        assert token not in record.getMessage(), record.name


def test_redact_removes_tokens():
    assert "abc.def" not in redact("GET /f/abc.def HTTP/1.1")
    assert redact("GET /f/abc.def HTTP/1.1").startswith("GET /f/")
    assert "abc.def" not in redact('"POST /f/abc.def/renew HTTP/1.1" 202')
    assert "xyz.uvw" not in redact("GET /u/xyz.uvw?x=1 HTTP/1.1")


# --- links in e-mails -------------------------------------------------------------------------

def all_urls(message) -> list[str]:
    urls = []
    for kind in ("plain", "html"):
        urls += URL.findall(message.get_body(preferencelist=(kind,)).get_content())
    return urls


def test_links_in_emails_start_with_public_base_url(app, mailed):
    base = app.config["PUBLIC_BASE_URL"]
    assert base == "http://feedback.example"
    assert {message["To"] for message in mailed.messages} == {CANDIDATE, CONTACT}
    for message in mailed.messages:
        urls = all_urls(message)
        assert any(url.startswith(f"{base}/f/") for url in urls)
        assert all(url.startswith(f"{base}/") for url in urls), urls
        assert links_in(message)


def test_links_never_follow_the_request_host(app, mailed):
    base = app.config["PUBLIC_BASE_URL"]
    outbox = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).first()
    with app.test_request_context("/", base_url="http://attacker.example:8080"):
        assert public_url("/f/x") == f"{base}/f/x"
        message = render_items([load_outgoing([outbox.id])[outbox.id]], issued_at=utcnow().replace(microsecond=0))
    urls = URL.findall(message.body) + URL.findall(message.html)
    assert urls
    assert all(url.startswith(f"{base}/") for url in urls), urls
    assert "attacker" not in message.body + message.html
    db.session.rollback()
