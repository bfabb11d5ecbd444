"""The company dashboard in-process (Flask test client, signed in as the company's user): time per
page and SQL statements per page, counted with a before_cursor_execute listener; and the page
right after an answer at another company (through the real form), against a warm page.

The rate under load (wrk against gunicorn vs the bare first-row page) is in bench_http; the rate
while answers arrive at other companies is ``under_stream`` here.
"""
from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from .common import COMPANY_LOGIN, COMPANY_PASSWORD, USER_AGENT, median_time

AFTER_ANSWER_REPEATS = 5
STREAM_SECONDS = 3.0
STREAM_ANSWERS_PER_SECOND = 10  # a busy platform: 36,000 answers an hour, all at other companies
# A full candidate-experience answer; links are chosen among candidates who withdrew or declined,
# so every question applies.
ANSWER = {"nps": "8", "communication": "4", "timeliness": "3", "role_clarity": "5",
          "interviewer_preparation": "4", "fairness": "4", "respect": "5", "decline_reasons": "compensation",
          "improve": "Tell candidates earlier when the process takes longer than announced."}


def measure(app, company_id: int) -> dict:
    from feedback.extensions import db

    client = app.test_client()
    headers = {"User-Agent": USER_AGENT}
    signed_in = client.post("/login", data={"email": COMPANY_LOGIN, "password": COMPANY_PASSWORD}, headers=headers)
    if signed_in.status_code != 302:
        raise RuntimeError(f"sign-in answered {signed_in.status_code}")
    url = f"/companies/{company_id}/dashboard"
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    first = client.get(url, headers=headers)
    if first.status_code != 200:
        raise RuntimeError(f"dashboard answered {first.status_code}")
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(url, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    timing = median_time(lambda: client.get(url, headers=headers), min_runs=3, max_runs=30, budget=4.0)
    return {"page_ms": timing["median_s"] * 1000, "runs": timing["runs"], "queries": len(statements),
            "status": page.status_code, "figures_shown": "Where you fell short" in page.get_data(as_text=True),
            **after_answer_elsewhere(app, client, url, headers), **under_stream(app, client, url, headers)}


def after_answer_elsewhere(app, client, url: str, headers: dict) -> dict:
    """A warm page, then one answer at another company through its link's form, then the next page:
    the median ratio (next page / warm page) of AFTER_ANSWER_REPEATS rounds."""
    company_id = int(url.split("/")[2])
    paths = answer_paths(app, other_company_requests(app, company_id, AFTER_ANSWER_REPEATS))
    answering = app.test_client()
    warm_ms, after_ms = [], []
    for path in paths:
        warm_ms.append(median_time(lambda: client.get(url, headers=headers), min_runs=3, max_runs=5,
                                   budget=1.0)["median_s"] * 1000)
        answered = answering.post(path, data=ANSWER, headers=headers)
        if answered.status_code not in (200, 302, 303):
            raise RuntimeError(f"the answer at another company answered {answered.status_code}")
        started = time.perf_counter()
        client.get(url, headers=headers)
        after_ms.append((time.perf_counter() - started) * 1000)
    ratios = [after / warm for after, warm in zip(after_ms, warm_ms)]
    return {"after_answer_elsewhere_ms": after_ms, "warm_before_ms": warm_ms,
            "after_answer_elsewhere_ratio": statistics.median(ratios) if ratios else None}


def under_stream(app, client, url: str, headers: dict) -> dict:
    """Dashboard pages a second, quiet and then while a thread answers STREAM_ANSWERS_PER_SECOND
    links of other companies through their form (in the same process: the pages share its CPU)."""
    company_id = int(url.split("/")[2])
    count = int(STREAM_SECONDS * STREAM_ANSWERS_PER_SECOND) + 5
    paths = answer_paths(app, other_company_requests(app, company_id, count))
    quiet = _pages_per_second(client, url, headers)
    done, answered, failures = threading.Event(), [], []

    def answer_stream() -> None:
        answering, interval = app.test_client(), 1.0 / STREAM_ANSWERS_PER_SECOND
        next_at = time.perf_counter()
        for path in paths:
            if done.is_set():
                return
            status = answering.post(path, data=ANSWER, headers=headers).status_code
            (answered if status in (200, 302, 303) else failures).append(status)
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))

    writer = threading.Thread(target=answer_stream)
    writer.start()
    try:
        streaming = _pages_per_second(client, url, headers)
    finally:
        done.set()
        writer.join()
    if failures:
        raise RuntimeError(f"answers during the stream answered {sorted(set(failures))}")
    return {"quiet_pages_per_s": quiet, "stream_pages_per_s": streaming, "stream_answers": len(answered),
            "stream_seconds": STREAM_SECONDS,
            "stream_ratio": streaming / quiet}


def _pages_per_second(client, url: str, headers: dict) -> float:
    pages, started = 0, time.perf_counter()
    while time.perf_counter() - started < STREAM_SECONDS:
        if client.get(url, headers=headers).status_code != 200:
            raise RuntimeError("the dashboard failed while answers arrived")
        pages += 1
    return pages / (time.perf_counter() - started)


def other_company_requests(app, company_id: int, count: int) -> list[int]:
    """Unanswered candidate requests of other companies (withdrawn or declined), made live:
    their links issued now."""
    from feedback.extensions import db
    from feedback.models import Application, FeedbackRequest
    from feedback.timeutil import utcnow

    with app.app_context():
        ids = list(db.session.scalars(
            sa.select(FeedbackRequest.id)
            .join(Application, Application.id == FeedbackRequest.application_id)
            .where(FeedbackRequest.company_id != company_id, FeedbackRequest.audience == "candidate",
                   FeedbackRequest.answered_at.is_(None), FeedbackRequest.cancelled_at.is_(None),
                   Application.outcome != "rejected")
            .order_by(FeedbackRequest.id.desc()).limit(count)))
        now = utcnow().replace(microsecond=0) - timedelta(minutes=1)
        db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.id.in_(ids))
                           .values(link_issued_at=now, first_sent_at=sa.func.coalesce(FeedbackRequest.first_sent_at, now)))
        db.session.commit()
    return ids


def answer_paths(app, request_ids: list[int]) -> list[str]:
    from feedback.tokens import feedback_link_token

    with app.app_context():
        return [f"/f/{feedback_link_token(request_id)}" for request_id in request_ids]
