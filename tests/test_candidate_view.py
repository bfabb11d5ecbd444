"""The candidate's own view: ``/me`` asks for a link by e-mail, ``/me/view/<token>`` shows it.

Browsers talk to ``web`` (conftest.py): each request gets an app context of its own, as in production.
"""
from __future__ import annotations

import base64
import json
import re
import time

import itsdangerous
import itsdangerous.timed
import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import Candidate, OutboxMessage
from feedback.tokens import CANDIDATE_VIEW_SALT, candidate_view_token, unsubscribe_token

ONE = "one@example.org"
TWO = "two@example.org"
VIEW_LINK = re.compile(r"http://feedback\.example(/me/view/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def candidates(import_csv, runner) -> dict[str, int]:
    """Candidate one: QA Engineer at Acme. Candidate two: Data Analyst at Acme, Dispatcher at Borealis."""
    imported = import_csv([
        outcome_row(candidate_name="Olga One", candidate_email=ONE, application_ref="ONE-1"),
        outcome_row(candidate_name="Tomas Two", candidate_email=TWO, position="Data Analyst",
                    application_ref="TWO-1"),
        outcome_row(candidate_name="Tomas Two", candidate_email=TWO, company="Borealis Logistics",
                    position="Dispatcher", outcome="withdrew", company_contact_email="", application_ref="TWO-2"),
    ])
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    return dict(db.session.execute(sa.select(Candidate.email, Candidate.id)).all())


def view_messages() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "candidate_view")))


def ask(browser, address: str):
    page = browser.get("/me")
    assert page.status_code == 200
    return browser.post("/me", data={"csrf_token": csrf_token(page.text), "email": address})


def assert_shows_only_candidate_one(page: str) -> None:
    assert "QA Engineer at Acme Robotics" in page
    for other in ("Data Analyst", "Dispatcher", "Borealis", "Tomas", TWO):
        assert other not in page


# --- asking for the link ----------------------------------------------------------------------

def test_me_answers_alike_for_known_and_unknown_addresses(web, runner, smtp_server, candidates):
    """The same page and the same work (one queued request, looked up by the sender) for any address:
    neither the answer nor its time says whether we hold anything; only a candidate gets mail, and
    nothing of an unknown address stays once the sender has looked."""
    known = ask(web.test_client(), ONE)
    assert known.status_code == 200
    assert "Check your inbox" in known.text
    for address in ("nobody@example.org", "ONE@example.org.evil.example"):  # non-addresses: test_security.py
        unknown = ask(web.test_client(), address)
        assert unknown.status_code == known.status_code
        assert unknown.text == known.text
        assert address not in unknown.text
    queued = [(m.candidate_id, m.status) for m in view_messages()]
    assert queued == [(None, "queued")] * 3  # alike until the sender looks them up
    smtp_server.handler.reset()
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    assert [message["To"] for message in smtp_server.messages] == [ONE]
    (message,) = view_messages()
    assert (message.candidate_id, message.to_address, message.status) == (candidates[ONE], ONE, "sent")


def test_the_emailed_link_shows_only_that_candidates_applications(web, runner, smtp_server, candidates):
    assert ask(web.test_client(), ONE).status_code == 200
    smtp_server.handler.reset()
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    assert "sent: 1," in sent.output

    (message,) = smtp_server.messages
    assert message["To"] == ONE
    body = message.get_body(preferencelist=("plain",)).get_content()
    (path,) = VIEW_LINK.findall(body)
    assert view_messages()[0].status == "sent"

    page = web.test_client().get(path)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert_shows_only_candidate_one(page.text)
    # the link is read-only and reusable until it expires
    assert web.test_client().get(path).status_code == 200


# --- tokens that must not work ----------------------------------------------------------------

def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_view_token_cannot_be_edited_into_another_candidates(web, candidates):
    one, two = candidates[ONE], candidates[TWO]
    token = candidate_view_token(one)
    payload, timestamp, signature = token.split(".")
    assert payload == b64(one)
    browser = web.test_client()
    assert_shows_only_candidate_one(browser.get(f"/me/view/{token}").text)

    tampered = [
        f"{b64(two)}.{timestamp}.{signature}",  # someone else's id under the old signature
        # a changed character inside the signature (the last one may only carry base64 padding bits)
        f"{payload}.{timestamp}.{signature[:5]}{'A' if signature[5] != 'A' else 'B'}{signature[6:]}",
        f"{payload}.{timestamp}",
        f"{b64(two)}.{timestamp}.",
        itsdangerous.URLSafeTimedSerializer("not-the-secret-key-0123456789abcdef",
                                            salt=CANDIDATE_VIEW_SALT).dumps(two),
    ]
    for forged in tampered:
        response = browser.get(f"/me/view/{forged}")
        assert response.status_code == 404, forged
        assert "Tomas" not in response.text and "Acme" not in response.text
    # candidate two's own token works, and shows candidate two
    own = browser.get(f"/me/view/{candidate_view_token(two)}")
    assert own.status_code == 200
    assert "Data Analyst at Acme Robotics" in own.text and "Dispatcher at Borealis Logistics" in own.text
    assert "QA Engineer" not in own.text


def signed_days_ago(monkeypatch, days: float, candidate_id: int) -> str:
    """A view token whose signature time lies ``days`` in the past (time is shifted only while signing)."""
    real_time = time.time
    with monkeypatch.context() as patched:
        patched.setattr(itsdangerous.timed.time, "time", lambda: real_time() - days * 86400)
        return candidate_view_token(candidate_id)


def test_an_expired_view_token_answers_410(web, candidates, monkeypatch):
    browser = web.test_client()
    expired = browser.get(f"/me/view/{signed_days_ago(monkeypatch, 8, candidates[ONE])}")
    assert expired.status_code == 410
    assert "QA Engineer" not in expired.text and "Acme" not in expired.text
    assert "Ask for a new one" in expired.text
    # six days old is still good
    assert browser.get(f"/me/view/{signed_days_ago(monkeypatch, 6, candidates[ONE])}").status_code == 200


def test_other_kinds_of_token_do_not_open_the_view(web, smtp_server, candidates):
    browser = web.test_client()
    feedback_links = [path for message in smtp_server.messages if message["To"] == ONE
                      for path in links_in(message)]
    assert feedback_links
    for path in feedback_links:
        token = path.removeprefix("/f/")
        assert browser.get(f"/f/{token}").status_code == 200  # a live feedback link
        response = browser.get(f"/me/view/{token}")
        assert response.status_code == 404
        assert "Acme" not in response.text
    assert browser.get(f"/me/view/{unsubscribe_token(ONE)}").status_code == 404
    # and the other way round: a view token is no feedback link
    assert browser.get(f"/f/{candidate_view_token(candidates[ONE])}").status_code == 404
