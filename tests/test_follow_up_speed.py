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
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.mail.wording import long_date
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


# --- escalation (item 4) ---------------------------------------------------------------------

ESCALATION_DAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday; FEEDBACK_ESCALATE_DAYS is 5
RECRUITER, ADMIN = "rec@agency.example.com", "admin@agency.example.com"


def escalation_rows() -> list[dict]:
    def row(ref, decided, contact_address, company="Acme Robotics"):
        return outcome_row(candidate_name=f"Person {ref}", candidate_email=candidate(ref), company=company,
                           company_contact_email=contact_address, decided_on=decided, application_ref=ref)
    return [
        row("X1", "2026-11-20", contact("a")),  # 6 working days on the 30th: escalated, 3 overdue
        row("X2", "2026-11-23", contact("a")),  # exactly 5: escalated, 2 overdue
        row("X3", "2026-11-24", contact("a")),  # 4: not yet
        row("X4", "2026-11-20", contact("b")),  # answered
        row("X5", "2026-11-20", contact("c")),  # its contact unsubscribed
        row("X6", "2026-11-20", contact("d")),  # cancelled
        row("Y1", "2026-11-16", contact("g"), company="Granite Bank"),  # 10: 7 overdue; no recruiter: the admins
    ]


def remind_on(runner, monkeypatch, moment: datetime) -> str:
    monkeypatch.setattr("feedback.cli.utcnow", lambda: moment)
    result = runner.invoke(args=["feedback", "remind"])
    assert result.exit_code == 0, result.output
    return result.output


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def test_overdue_feedback_is_escalated_once_in_one_daily_digest_per_recruiter(
        app, import_csv, runner, smtp_server, make_user, monkeypatch):
    from feedback.jobs.delivery import deliver_queued
    from feedback.services.suppressions import suppress_address

    assert import_csv(escalation_rows()).exit_code == 0
    make_user(RECRUITER, "recruiter", "Acme Robotics")
    make_user(ADMIN, "admin")
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    answer(app.test_client(), link_to(smtp_server, contact("b")), COMPANY_ANSWERS)
    suppress_address(contact("c"))
    db.session.execute(sa.text("UPDATE feedback_requests SET cancelled_at = :now WHERE recipient_email = :address"),
                       {"now": ESCALATION_DAY, "address": contact("d")})
    db.session.execute(sa.text("UPDATE feedback_requests SET first_sent_at = :sent WHERE first_sent_at IS NOT NULL"),
                       {"sent": datetime(2026, 11, 26, 9, 0, tzinfo=UTC)})
    db.session.commit()
    smtp_server.handler.reset()

    assert "escalated: 3 overdue requests, to 2 recipients" in remind_on(runner, monkeypatch, ESCALATION_DAY)
    for hour in (1, 2):  # run hourly: nothing escalates twice
        later = ESCALATION_DAY.replace(hour=10 + hour)
        assert "escalated: 0 overdue requests" in remind_on(runner, monkeypatch, later)
    deliver_queued(now=ESCALATION_DAY.replace(hour=12))  # with the reminders that fell due meanwhile
    escalations = [m for m in smtp_server.messages if m["To"] in (RECRUITER, ADMIN)]
    assert sorted(m["To"] for m in escalations) == [ADMIN, RECRUITER]
    (to_recruiter,) = [m for m in escalations if m["To"] == RECRUITER]
    text = text_of(to_recruiter)
    assert str(to_recruiter["Subject"]) == "Overdue: feedback on 2 declined candidates (Acme Robotics)"
    assert "Person X1, QA Engineer (interview stage), decided on 20 November 2026: 3 working days overdue" in text
    assert "Person X2, QA Engineer (interview stage), decided on 23 November 2026: 2 working days overdue" in text
    assert f"Contact: {contact('a')}" in text and "/c/" in text
    for not_escalated in ("X3", "X4", "X5", "X6", "Y1"):
        assert f"Person {not_escalated}," not in text
    (to_admin,) = [m for m in escalations if m["To"] == ADMIN]
    assert "Granite Bank" in text_of(to_admin) and "Person Y1" in text_of(to_admin)
    assert "7 working days overdue" in text_of(to_admin) and "Acme Robotics" not in text_of(to_admin)
    # The contact page in the escalation is the contact's own: it lists exactly their candidates.
    page = app.test_client().get(next(line.split("Their page: ")[1] for line in text.splitlines()
                                      if "Their page: " in line).replace("http://feedback.example", ""))
    assert page.status_code == 200 and "Person X1" in page.text and "Person X4" not in page.text

    # The next day X3 reaches 5 working days: escalated then, but its digest waits a day after the last.
    smtp_server.handler.reset()
    assert "escalated: 1 overdue requests, to 1 recipients" in remind_on(
        runner, monkeypatch, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert deliver_queued(now=datetime(2026, 12, 1, 11, 0, tzinfo=UTC)).sent == 0
    assert smtp_server.messages == []
    assert deliver_queued(now=datetime(2026, 12, 1, 12, 30, tzinfo=UTC)).sent == 1  # a day after the last
    (digest,) = smtp_server.messages
    assert "Person X3" in text_of(digest) and "Person X1" not in text_of(digest)


def test_the_contacts_first_email_gives_the_due_date_and_reminders_count_down(app, import_csv, runner, smtp_server):
    from datetime import timedelta

    from feedback.jobs.delivery import deliver_queued
    from feedback.services.reminders import queue_due_reminders
    from feedback.timeutil import utcnow

    decided = utcnow().date()
    assert import_csv([outcome_row(decided_on=decided.isoformat())]).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (invitation,) = [m for m in smtp_server.messages if m["To"] == outcome_row()["company_contact_email"]]
    due = add_working_days(decided, 3)
    assert f"Please answer by {long_date(due, weekday=True)}, 3 working days after the decision" in text_of(invitation)
    assert f"Please answer by {long_date(due, weekday=True)}" in invitation.get_body(preferencelist=("html",)).get_content()

    for days_later in (3, 7):  # the reminder marks
        moment = utcnow() + timedelta(days=days_later, hours=1)
        smtp_server.handler.reset()
        assert queue_due_reminders(moment).queued == 2
        db.session.commit()
        deliver_queued(now=moment)
        (reminder,) = [m for m in smtp_server.messages if m["To"] == outcome_row()["company_contact_email"]]
        left = working_days_between(moment.date(), due) if due >= moment.date() else None
        text = text_of(reminder)
        if left is None:
            late = working_days_between(due, moment.date())
            assert str(reminder["Subject"]).startswith("Overdue")
            assert f"was due on {long_date(due, weekday=True)} and is {late} working day" in text
        elif left == 0:
            assert f"This feedback is due today ({long_date(due, weekday=True)})" in text
        else:
            assert f"{left} working day{'' if left == 1 else 's'} left: this feedback is due by {long_date(due, weekday=True)}" in text


# --- on the pages (item 3) -------------------------------------------------------------------

def company_id(name: str = "Acme Robotics") -> int:
    return db.session.scalar(sa.text("SELECT id FROM companies WHERE name = :name"), {"name": name})


def test_the_dashboard_opens_with_the_follow_up_speed(november, web, make_user, sign_in):
    # A threshold of 1: the snapshot holds all five responses (with 2 it would hold the first four,
    # leaving E out, and "late or never" under the threshold).
    web.config["FEEDBACK_MIN_RESPONSES"] = 1
    make_user("reader@acme-robotics.example.com", "company", "Acme Robotics")
    page = sign_in("reader@acme-robotics.example.com").get(f"/companies/{company_id()}/dashboard").text
    card = page[page.index('id="follow-up"'):page.index("</section>", page.index('id="follow-up"'))]
    assert page.index('id="follow-up"') < page.index('class="filters')  # it opens the page
    assert "Feedback given within 3 working days" in card
    assert "50 %" in card and "2 of the 4 due by now" in card  # A and C on time; B late, E overdue
    assert "3 <span" in card and "over 3 answers" in card  # the median
    assert '<p class="big">1</p>' in card  # overdue now: E
    assert "+100" in card and "-100" in card  # by speed: A and C against B and E
    assert "Nov 2026: 3 working days over 3 answers" in card  # the chart's text equivalent

    # The speed chart: one month, its bar after the axis in English, mirrored in Arabic (the scale's
    # label on the right), its figures' text placed by its middle, never flipped.
    svgs = {}
    for tag in ("en", "ar"):
        shown = sign_in("reader@acme-robotics.example.com").get(
            f"/companies/{company_id()}/dashboard", query_string={"lang": tag}).text
        svgs[tag] = re.search(r'<svg class="chart"[^>]*speed-chart.*?</svg>', shown, re.S).group(0)
    wide = int(re.search(r'viewBox="0 0 (\d+) 130"', svgs["en"]).group(1))
    assert re.search(r'<rect x="40" y="[\d.]+" width="30"', svgs["en"])
    assert re.search(rf'<rect x="{wide - 70}" y="[\d.]+" width="30"', svgs["ar"])
    assert '<line x1="30" ' in svgs["en"] and f'x2="{wide - 10}"' in svgs["en"]
    assert '<line x1="10" ' in svgs["ar"] and f'x2="{wide - 30}"' in svgs["ar"]
    assert all('text-anchor="middle"' in text for text in re.findall(r"<text[^>]*>", svgs["ar"]))
    assert "transform" not in svgs["ar"]

    web.config["FEEDBACK_MIN_RESPONSES"] = 3
    again = sign_in("reader@acme-robotics.example.com").get(f"/companies/{company_id()}/dashboard").text
    # With 3 the snapshot holds the first three responses, A, B and C: 2 on time, 1 late.
    assert "appears once each group has 3 responses (now 2 and 1)" in again and "+100" not in again.split(
        'id="by-speed"')[1].split("</p>")[0]


def test_the_recruiter_overview_lists_overdue_contacts_with_a_one_click_reminder(
        web, import_csv, runner, smtp_server, make_user, sign_in):
    rows = [outcome_row(candidate_name="Person L1", candidate_email=candidate("L1"), company_contact_email=contact("late"),
                        decided_on="2026-10-01", application_ref="L1"),
            outcome_row(candidate_name="Person L2", candidate_email=candidate("L2"), company_contact_email=contact("late"),
                        decided_on="2026-10-05", application_ref="L2"),
            outcome_row(candidate_name="Person O1", candidate_email=candidate("O1"), company_contact_email=contact("older"),
                        decided_on="2026-09-01", application_ref="O1"),
            outcome_row(candidate_name="Person G1", candidate_email=candidate("G1"), company="Granite Bank",
                        company_contact_email=contact("granite"), decided_on="2026-09-01", application_ref="G1")]
    assert import_csv(rows).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    make_user(RECRUITER, "recruiter", "Acme Robotics")
    browser = sign_in(RECRUITER)
    page = browser.get("/recruiter/").text
    overdue = page[page.index('id="overdue"'):page.index("Recent imports")]
    assert overdue.index(contact("older")) < overdue.index(contact("late"))  # oldest decision first
    assert "2026-09-01" in overdue and "2026-10-01" in overdue
    assert contact("granite") not in overdue  # not one of the recruiter's companies

    smtp_server.handler.reset()
    form = {"csrf_token": csrf_token(page), "company": str(company_id()), "contact": contact("late")}
    done = browser.post("/recruiter/contacts/remind", data=form, follow_redirects=True)
    assert done.status_code == 200 and f"Reminder queued for {contact('late')} (2 candidates)" in done.text
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (reminder,) = [m for m in smtp_server.messages if m["To"] == contact("late")]
    assert str(reminder["Subject"]) == "Overdue: feedback for 2 candidates you declined"
    # Its links work, even where the first link had expired meanwhile (renewed with the reminder).
    db.session.execute(sa.text("UPDATE feedback_requests SET link_issued_at = :old WHERE recipient_email = :a"),
                       {"old": datetime(2026, 10, 1, tzinfo=UTC), "a": contact("older")})
    db.session.commit()
    older = {**form, "contact": contact("older")}
    assert "Reminder queued for" in browser.post("/recruiter/contacts/remind", data=older, follow_redirects=True).text
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (older_reminder,) = [m for m in smtp_server.messages if m["To"] == contact("older")][-1:]
    answer(web.test_client(), links_in(older_reminder)[0], COMPANY_ANSWERS)
    again = browser.post("/recruiter/contacts/remind", data=form, follow_redirects=True)
    assert "already reminded in the last 24 hours" in again.text
    audit = db.session.execute(sa.text("SELECT action, target FROM audit_events WHERE action = 'contact reminded' "
                                       "ORDER BY id")).all()
    assert audit == [("contact reminded", contact("late")), ("contact reminded", contact("older"))]

    # Attacks: another company's contact, no CSRF token, a company id that is not a number.
    granite = {**form, "company": str(company_id("Granite Bank")), "contact": contact("granite")}
    assert browser.post("/recruiter/contacts/remind", data=granite).status_code == 404
    assert browser.post("/recruiter/contacts/remind", data={**form, "csrf_token": ""}).status_code == 400
    assert browser.post("/recruiter/contacts/remind", data={**form, "company": "1 OR 1=1"}).status_code == 400


def test_the_overdue_contacts_come_in_pages_oldest_first_and_a_reminder_returns_to_its_page(
        web, import_csv, runner, make_user, sign_in):
    # 30 contacts, each with one overdue candidate, decided on 30 days in September and October.
    rows = [outcome_row(candidate_name=f"Person P{n}", candidate_email=candidate(f"P{n}"),
                        company_contact_email=contact(f"c{n:02d}"), decided_on=f"2026-{9 + n // 28:02d}-{n % 28 + 1:02d}",
                        application_ref=f"P{n}") for n in range(30)]
    assert import_csv(rows).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    make_user(RECRUITER, "recruiter", "Acme Robotics")
    browser = sign_in(RECRUITER)

    def listed(page: str) -> list[str]:
        section = page[page.index('id="overdue"'):page.index("Recent imports")]
        return [f"c{n:02d}" for n in range(30) if contact(f"c{n:02d}") in section]

    first = browser.get("/recruiter/").text
    assert listed(first) == [f"c{n:02d}" for n in range(25)]  # the 25 oldest decisions
    assert "Page 1 of 2" in first and "overdue_page=2#overdue" in first
    second = browser.get("/recruiter/?overdue_page=2").text
    assert listed(second) == ["c25", "c26", "c27", "c28", "c29"]
    assert "Page 2 of 2" in second and "Previous page" in second
    assert "No overdue contact on page" in browser.get("/recruiter/?overdue_page=3").text
    assert browser.get("/recruiter/?overdue_page=abc").status_code == 400

    # A reminder sent from page 2 leads back to page 2's list.
    form = {"csrf_token": csrf_token(second), "company": str(company_id()), "contact": contact("c27"),
            "overdue_page": "2"}
    done = browser.post("/recruiter/contacts/remind", data=form)
    assert done.status_code == 303 and done.headers["Location"].endswith("/recruiter/?overdue_page=2#overdue")


def test_the_api_report_carries_the_same_follow_up(november, runner, make_user):
    make_user(RECRUITER, "recruiter", "Acme Robotics")
    key = runner.invoke(args=["feedback", "keys", "create", RECRUITER]).stdout.strip()
    november.config["FEEDBACK_MIN_RESPONSES"] = 1  # the snapshot then holds every response, as the CLI
    api = november.test_client().get(f"/api/v1/companies/{company_id()}/report",
                                     headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200, api.text
    follow_up, live = api.get_json()["follow_up"], report_json(runner)["follow_up"]
    assert follow_up["company_feedback"] == live["company_feedback"]
    # by_speed stands at the snapshot's moment, the last response counted (E's, on the 27th): E's
    # feedback was not overdue yet then, so only B is "late or never".
    assert follow_up["by_speed"]["within_sla"] == live["by_speed"]["within_sla"]
    assert follow_up["by_speed"]["late_or_never"] == {"responses": 1, "withheld": False, "nps": -100.0}
