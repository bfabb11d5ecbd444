"""The one-time guarantee under a real race: two browsers submit the same link at the same moment."""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import Answer, FeedbackRequest, Response

ROUNDS = 50
ANSWERS = {"nps": "8", "communication": "4", "timeliness": "4", "role_clarity": "3",
           "interviewer_preparation": "5", "fairness": "4", "respect": "5"}


def submit_at_once(app, path: str, round_number: int) -> list[tuple[int, str]]:
    """Two clients (own session cookie, own app context and DB connection) POST behind a barrier."""
    barrier = threading.Barrier(2, timeout=30)
    results: list = [None, None]

    def browser(slot: int) -> None:
        try:
            client = app.test_client()
            page = client.get(path)
            assert page.status_code == 200, page.status_code
            data = {"csrf_token": csrf_token(page.text), **ANSWERS,
                    "improve": f"round {round_number} browser {slot}"}
            barrier.wait()
            response = client.post(path, data=data)
            results[slot] = (response.status_code, response.text)
        except BaseException as exc:
            barrier.abort()
            results[slot] = (None, repr(exc))

    threads = [threading.Thread(target=browser, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a submission hung"
    return results


def test_two_simultaneous_submissions_store_exactly_one(app, import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_name=f"Racer {n}", candidate_email=f"racer{n}@example.org", outcome="withdrew")
            for n in range(ROUNDS)]
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    links = {}
    for message in smtp_server.messages:
        (path,) = links_in(message)
        links[message["To"]] = path
    assert len(links) == ROUNDS
    db.session.rollback()
    request_ids = dict(db.session.execute(sa.select(FeedbackRequest.recipient_email, FeedbackRequest.id)).all())
    db.session.commit()  # the main thread holds no transaction while the browsers race

    started = time.monotonic()
    for n in range(ROUNDS):
        address = f"racer{n}@example.org"
        results = submit_at_once(app, links[address], n)
        statuses = sorted(status for status, _text in results)
        assert statuses == [200, 410], (n, results)
        winner = next(text for status, text in results if status == 200)
        loser = next(text for status, text in results if status == 410)
        assert "Thank you" in winner
        assert "already used" in loser
        responses = db.session.scalars(sa.select(Response).where(Response.request_id == request_ids[address])).all()
        assert len(responses) == 1, (n, len(responses))
        improve = db.session.scalars(
            sa.select(Answer.text).where(Answer.response_id == responses[0].id, Answer.text.is_not(None))
        ).all()
        assert len(improve) == 1 and improve[0].startswith(f"round {n} browser "), improve
        db.session.commit()
    elapsed = time.monotonic() - started

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == ROUNDS
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(FeedbackRequest).where(FeedbackRequest.answered_at.is_(None))
    ) == 0
    print(f"{ROUNDS} races in {elapsed:.1f}s")
