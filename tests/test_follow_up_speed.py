"""Follow-up speed (issue 17, items 2 to 5): `follow_up` in the report, working days Monday to Friday,
the escalation digest, the due date in the contact's e-mails, the dashboard and the recruiter overview.

Decisions and answers sit on known days of November 2026; the clock of the answers and of the
report is set to those days, so every figure below is worked out by hand from this calendar:

    Mo Tu We Th Fr Sa Su
    16 17 18 19 20 21 22
    23 24 25 26 27 28 29
    30
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.workdays import add_working_days, latest_decision_over, working_days_between

COMPANY_ANSWERS = {"reasons": ["technical_skills"], "technical_skills": "2", "reconsider": "yes"}
CANDIDATE_ANSWERS = {"communication": "4", "timeliness": "3", "role_clarity": "5", "interviewer_preparation": "4",
                     "fairness": "4", "respect": "5"}
TODAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_working_days_count_monday_to_friday():
    friday, monday = date(2026, 11, 20), date(2026, 11, 23)
    assert working_days_between(friday, monday) == 1  # Saturday and Sunday do not count
    assert working_days_between(friday, friday) == 0
    assert working_days_between(date(2026, 11, 21), monday) == 1  # a Saturday decision
    assert working_days_between(date(2026, 11, 16), date(2026, 11, 30)) == 10
    assert add_working_days(friday, 3) == date(2026, 11, 25)  # Wednesday
    assert add_working_days(date(2026, 11, 19), 3) == date(2026, 11, 24)
    # Feedback missing on Monday the 30th is overdue for decisions up to Tuesday the 24th.
    assert latest_decision_over(date(2026, 11, 30), 3) == date(2026, 11, 24)
    for day in range(1, 30):
        decided = date(2026, 11, day)
        overdue = working_days_between(decided, date(2026, 11, 30)) > 3
        assert overdue == (decided <= latest_decision_over(date(2026, 11, 30), 3)), decided


# (reference, decision day, day the contact answers or None, the candidate's 0-10 score or None)
CASES = [
    ("A", "2026-11-20", "2026-11-23", 10),  # Friday to Monday: 1 working day, within
    ("B", "2026-11-16", "2026-11-23", 0),  # 5 working days: late
    ("C", "2026-11-19", "2026-11-24", 9),  # Fri, Mon, Tue: 3, within (the last day of the SLA)
    ("D", "2026-11-25", None, 10),  # due on Monday the 30th: not overdue yet, in neither group
    ("E", "2026-11-24", None, 5),  # 4 working days on the 30th: overdue, "late or never"
    ("F", "2026-11-02", None, None),  # cancelled: neither due nor overdue
]


def contact(ref: str) -> str:
    return f"hm.{ref.lower()}@acme-robotics.example.com"


def candidate(ref: str) -> str:
    return f"person.{ref.lower()}@example.org"


def answer(client, path: str, fields: dict) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    response = client.post(path, data={"csrf_token": csrf_token(page.text), **fields})
    assert response.status_code == 200 and "Thank you" in response.text, response.text[:300]


def link_to(smtp_server, address: str) -> str:
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    (path,) = links_in(message)
    return path


@pytest.fixture
def november(app, import_csv, runner, smtp_server, monkeypatch):
    """The six applications of CASES, mailed, answered on their days; the report's clock on the 30th."""
    rows = [outcome_row(candidate_name=f"Person {ref}", candidate_email=candidate(ref), company_contact_email=contact(ref),
                        decided_on=decided, application_ref=ref) for ref, decided, _answered, _nps in CASES]
    assert import_csv(rows).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    client = app.test_client()
    for ref, _decided, answered, score in CASES:
        if answered:
            monkeypatch.setattr("feedback.services.responses.utcnow", lambda day=answered: at(day))
            answer(client, link_to(smtp_server, contact(ref)), COMPANY_ANSWERS)
        if score is not None:
            monkeypatch.setattr("feedback.services.responses.utcnow", lambda: at("2026-11-27"))
            answer(client, link_to(smtp_server, candidate(ref)), {**CANDIDATE_ANSWERS, "nps": str(score)})
    db.session.execute(sa.text("UPDATE feedback_requests SET cancelled_at = :now WHERE audience = 'company' AND "
                               "application_id = (SELECT id FROM applications WHERE application_ref = 'F')"),
                       {"now": TODAY})
    db.session.commit()
    monkeypatch.setattr("feedback.queries.follow_up.utcnow", lambda: TODAY)
    app.config["FEEDBACK_MIN_RESPONSES"] = 2
    return app


def report_json(runner) -> dict:
    result = runner.invoke(args=["feedback", "report", "--company", "Acme Robotics", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_report_gives_follow_up_speed_worked_out_by_hand(november, runner):
    follow_up = report_json(runner)["follow_up"]
    assert follow_up["sla_days"] == 3
    assert follow_up["company_feedback"] == {"due": 5, "given": 3, "within_sla": 2, "overdue": 1, "median_days": 3}
    assert follow_up["by_speed"] == {
        "within_sla": {"responses": 2, "withheld": False, "nps": 100.0},  # A (10) and C (9)
        "late_or_never": {"responses": 2, "withheld": False, "nps": -100.0},  # B (0) and E (5)
    }
    days = dict(db.session.execute(sa.text(
        "SELECT a.application_ref, r.answered_working_days FROM feedback_requests r JOIN applications a "
        "ON a.id = r.application_id WHERE r.audience = 'company' AND r.answered_at IS NOT NULL")).all())
    assert days == {"A": 1, "B": 5, "C": 3}

    november.config["FEEDBACK_MIN_RESPONSES"] = 3  # each group now under the threshold
    by_speed = report_json(runner)["follow_up"]["by_speed"]
    assert by_speed["within_sla"] == {"responses": 2, "withheld": True, "nps": None}
    assert by_speed["late_or_never"] == {"responses": 2, "withheld": True, "nps": None}

    text = runner.invoke(args=["feedback", "report", "--company", "Acme Robotics"]).output
    assert "within 3 working days: 2 (40%)" in text and "overdue now: 1" in text
    assert "Median time to feedback: 3 working days" in text


def test_the_sla_follows_its_setting(november, runner):
    november.config["FEEDBACK_SLA_DAYS"] = 1
    feedback = report_json(runner)["follow_up"]["company_feedback"]
    # Only A came within 1 working day; unanswered D (3 days) and E (4) are both past 1.
    assert feedback | {"median_days": None} == {"due": 5, "given": 3, "within_sla": 1, "overdue": 2,
                                                 "median_days": None}
