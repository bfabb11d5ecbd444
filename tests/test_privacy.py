"""Privacy, attacked: erasure and retention, the suppression list surviving them, the privacy notice in
every e-mail, anonymity beyond the response threshold, and the audit log of staff actions.

Answers are given through the real survey forms, and every operator step through the real CLI.
Browsers talk to ``web`` (conftest.py): each request gets an app context of its own, as in production.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from conftest import ADMIN, HEADER, PASSWORD, company_named, csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import (
    AdviceReview,
    Answer,
    Application,
    AuditEvent,
    Candidate,
    FeedbackRequest,
    OutboxMessage,
    Position,
    Question,
    Response,
    Suppression,
)
from feedback.timeutil import utcnow
from feedback.tokens import candidate_view_token, read_feedback_link_token

PUBLIC_BASE = "http://feedback.example"
RECRUITER = "recruiter@feedback.example"
COMPANY_USER = "people@acme-robotics.example.com"
ACME = "Acme Robotics"
BOREALIS = "Borealis Logistics"
CONTACT = "hiring@acme-robotics.example.com"

ERASED = "erin.erased@example.org"
ERASED_NAME = "Erin Erasedname"
ERASED_IMPROVE = "ERIN-FREE-TEXT: the second interviewer was late."
ERASED_IMPROVE_B = "ERIN-FREE-TEXT-B: nobody called back."
ABOUT_ERASED = "STRENGTHEN-ABOUT-ERIN: practise SQL window functions."


# --- helpers ----------------------------------------------------------------------------------

def candidate_answers(nps: int, score: int, improve: str | None = None, **overrides) -> dict:
    answers = {"nps": str(nps), "communication": str(score), "timeliness": str(score), "role_clarity": str(score),
               "interviewer_preparation": str(score), "fairness": str(score), "respect": str(score)}
    if improve:
        answers["improve"] = improve
    answers.update(overrides)
    return answers


def company_answers(strengthen: str) -> dict:
    return {"reasons": ["technical_skills", "experience"], "technical_skills": "2", "relevant_experience": "3",
            "communication_skills": "4", "problem_solving": "1", "strengthen": strengthen, "reconsider": "no"}


def import_and_send(import_csv, runner, rows: list[dict]) -> None:
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    send(runner)


def send(runner) -> None:
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output


def messages_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if message["To"] == address]


def links_to(smtp_server, address: str) -> list[str]:
    return [path for message in messages_to(smtp_server, address) for path in links_in(message)]


def answer(client, path: str, answers: dict) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), **answers})
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text


def unsubscribe_path(message) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith(f"<{PUBLIC_BASE}/u/"), header
    return header[len(f"<{PUBLIC_BASE}"):-1]


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def report(runner, company: str) -> dict:
    result = runner.invoke(args=["feedback", "report", "--company", company, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def erase(runner, address: str):
    result = runner.invoke(args=["feedback", "erase", address, "--yes"])
    assert result.exit_code == 0, result.output
    return result


def rows_holding(*needles: str) -> list[str]:
    """Every (table.column) of every table whose value contains one of ``needles`` (case-insensitive)."""
    db.session.rollback()
    found = []
    lowered = [needle.lower() for needle in needles]
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = (json.dumps(value) if isinstance(value, (dict, list)) else str(value)).lower()
                found += [f"{table.name}.{column} holds {needle!r}" for needle in lowered if needle in text]
    return found


def reviews_csrf(page: str, review_id: int) -> str:
    match = re.search(rf'name="r{review_id}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"review {review_id} is not on the page"
    return match.group(1)


def approve_all_reviews(browser) -> None:
    db.session.rollback()
    for review in db.session.scalars(sa.select(AdviceReview).where(AdviceReview.status == "pending")):
        listing = browser.get("/recruiter/reviews").text
        decided = browser.post(f"/recruiter/reviews/{review.id}", data={
            f"r{review.id}-csrf_token": reviews_csrf(listing, review.id), f"r{review.id}-decision": "approve",
            f"r{review.id}-text": ""})
        assert decided.status_code == 302


def any_csrf(client) -> str:
    return csrf_token(client.get("/me").text)


# --- erasure ----------------------------------------------------------------------------------

def test_erasing_a_candidate_removes_them_everywhere_and_keeps_the_aggregates(web, import_csv, runner, smtp_server,
                                                                              make_user, sign_in):
    """Attack: after `feedback erase`, look for the person anywhere in the database, and try to tie the
    answers back to them. Their name, address, free text (by and about them) and the request link of
    their responses are gone; the report's figures are exactly the same; their unsubscribe still holds."""
    others = [outcome_row(candidate_name=f"Other Person {i}", candidate_email=f"other{i}@example.org",
                          outcome="withdrew", company_contact_email="", application_ref=f"O-{i}",
                          stage="screen" if i % 2 else "interview") for i in range(5)]
    import_and_send(import_csv, runner, [
        outcome_row(candidate_name=ERASED_NAME, candidate_email=ERASED, application_ref="ER-1"),
        outcome_row(candidate_name=ERASED_NAME, candidate_email=ERASED, company=BOREALIS, position="Dispatcher",
                    outcome="withdrew", company_contact_email="", application_ref="ER-2"),
        *others,
    ])
    browser = web.test_client()
    for i in range(5):
        answer(browser, links_to(smtp_server, f"other{i}@example.org")[0],
               candidate_answers(10 - i, 1 + i % 5, f"Other comment {i}"))
    erased_links = links_to(smtp_server, ERASED)
    assert len(erased_links) == 2
    for path in erased_links:
        request_id = read_feedback_link_token(path.removeprefix("/f/")).request_id
        db.session.rollback()
        company = db.session.get(FeedbackRequest, request_id).application.company.name
        improve = ERASED_IMPROVE if company == ACME else ERASED_IMPROVE_B
        answer(browser, path, candidate_answers(3, 2, improve, decline_reasons="other_offer")
               if company == BOREALIS else candidate_answers(3, 2, improve))
    (contact_link,) = links_to(smtp_server, CONTACT)
    answer(browser, contact_link, company_answers(ABOUT_ERASED))
    make_user(ADMIN, "admin")
    approve_all_reviews(sign_in(ADMIN))  # the advice was released: it lives in the review too
    # the person asks for their own view link, and objects to further mail
    asked = browser.post("/me", data={"csrf_token": any_csrf(browser), "email": ERASED})
    assert asked.status_code == 200
    send(runner)
    assert any(message["Subject"] == "Your feedback link" for message in messages_to(smtp_server, ERASED))
    assert browser.post(unsubscribe_path(messages_to(smtp_server, ERASED)[0])).status_code == 200

    db.session.rollback()
    candidate_id = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == ERASED))
    requests = list(db.session.scalars(sa.select(FeedbackRequest.id).join(Application)
                                       .where(Application.candidate_id == candidate_id)))
    response_ids = list(db.session.scalars(sa.select(Response.id).where(Response.request_id.in_(requests))))
    assert len(response_ids) == 3  # two by the person, one by the company about them

    def numbers() -> list:
        db.session.rollback()
        return sorted(db.session.execute(sa.select(Answer.response_id, Answer.question_id, Answer.number, Answer.text)
                                         .where(Answer.response_id.in_(response_ids), Answer.number.is_not(None)))
                      .all())

    numbers_before = numbers()
    reports_before = {name: report(runner, name) for name in (ACME, BOREALIS)}
    assert reports_before[ACME]["candidate_experience"]["withheld"] is False
    suppressions_before = db.session.scalar(sa.select(sa.func.count()).select_from(Suppression))
    needles = (ERASED, ERASED_NAME, "Erasedname", ERASED_IMPROVE, ERASED_IMPROVE_B, ABOUT_ERASED, "ERIN-FREE-TEXT",
               "STRENGTHEN-ABOUT-ERIN")
    assert rows_holding(*needles), "the set-up stored nothing to erase"

    erased = erase(runner, "  Erin.ERASED@Example.org ")  # as an operator might type it
    assert "erased: 1 candidate" in erased.stdout

    assert rows_holding(*needles) == []
    assert rows_holding("Other Person 0", "other0@example.org", "Other comment 0")  # nobody else was touched
    db.session.rollback()
    responses = db.session.scalars(sa.select(Response).where(Response.id.in_(response_ids))).all()
    assert len(responses) == 3 and all(response.request_id is None for response in responses)
    free_text = db.session.scalar(sa.select(sa.func.count()).select_from(Answer).join(Question)
                                  .where(Answer.response_id.in_(response_ids),
                                         Question.key.in_(("improve", "strengthen"))))
    assert free_text == 0
    assert numbers() == numbers_before
    reports_after = {name: report(runner, name) for name in (ACME, BOREALIS)}
    # The one part that changes by design: follow_up's by_speed ties a candidate's answers to their
    # application (whose company feedback came when); erased, their answers are tied to nothing, so
    # they leave that split. Every other figure, the follow-up speed included, stays the same.
    for name in (ACME, BOREALIS):
        reports_before[name]["follow_up"].pop("by_speed")
        reports_after[name]["follow_up"].pop("by_speed")
    assert reports_after == reports_before
    # the timestamps of the requests do not re-link them to the unlinked responses either
    answered_at = set(db.session.scalars(sa.select(FeedbackRequest.answered_at).where(FeedbackRequest.id.in_(requests))))
    submitted_at = set(db.session.scalars(sa.select(Response.submitted_at).where(Response.id.in_(response_ids))))
    assert not answered_at & submitted_at, "answered_at = submitted_at ties the answers back to the person"
    assert all((moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
               for moment in answered_at if moment is not None)

    # what remains reachable shows nothing about the person
    view = web.test_client().get(f"/me/view/{candidate_view_token(candidate_id)}")
    assert view.status_code in (200, 404, 410)
    for page in (view, *(web.test_client().get(path) for path in erased_links)):
        assert ERASED_NAME not in page.text and ERASED not in page.text and "ERIN-FREE-TEXT" not in page.text

    # the objection outlives the erasure: a new import of the address mails nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == suppressions_before
    delivered = len(smtp_server.messages)
    again = import_csv([outcome_row(candidate_name=ERASED_NAME, candidate_email=ERASED, outcome="withdrew",
                                    company_contact_email="", application_ref="ER-3")])
    assert again.exit_code == 0, again.output
    assert "not queued (address unsubscribed): 1" in again.stdout
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.to_address == ERASED, OutboxMessage.status == "queued")) == 0
    send(runner)
    assert len(smtp_server.messages) == delivered
    # a link the person asks for on /me is the one mail that still goes: they asked (issue 16)
    assert browser.post("/me", data={"csrf_token": any_csrf(browser), "email": ERASED}).status_code == 200
    send(runner)
    assert [str(m["Subject"]) for m in smtp_server.messages[delivered:]] == ["Your feedback link"]


def test_erasing_a_company_contact_removes_their_address_and_login(web, import_csv, runner, smtp_server, make_user):
    """A hiring manager asks to be forgotten: their address leaves applications, requests and the outbox,
    their login goes, no reminder finds them; the candidates' own data and the figures stay."""
    hm = "hm.forget@acme-robotics.example.com"
    import_and_send(import_csv, runner, [
        outcome_row(candidate_name="Cand One", candidate_email="cand1@example.org", company_contact_email=hm,
                    application_ref="HM-1"),
        outcome_row(candidate_name="Cand Two", candidate_email="cand2@example.org", company_contact_email=hm,
                    application_ref="HM-2"),
    ])
    (digest,) = messages_to(smtp_server, hm)
    first, _second = links_in(digest)
    browser = web.test_client()
    answer(browser, first, company_answers("Practise estimation."))
    db.session.rollback()
    make_user(hm, "company", ACME)
    before = report(runner, ACME)

    result = erase(runner, hm)
    assert "1 login" in result.stdout
    assert rows_holding(hm) == []
    assert rows_holding("Cand One", "cand2@example.org")
    assert report(runner, ACME) == before
    stranger = web.test_client()
    page = stranger.get("/login")
    refused = stranger.post("/login", data={"csrf_token": csrf_token(page.text), "email": hm, "password": PASSWORD})
    assert refused.status_code == 401, refused.status_code
    # the unanswered request would be reminded at day 3: not to an erased address
    db.session.rollback()
    db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.first_sent_at.is_not(None))
                       .values(first_sent_at=utcnow() - timedelta(days=4)))
    db.session.commit()
    assert runner.invoke(args=["feedback", "remind"]).exit_code == 0
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.to_address.is_(None))) == 0
    assert rows_holding(hm) == []


def test_purge_erases_only_people_whose_every_application_is_older(import_csv, runner):
    """Retention: `feedback purge --older-than DAYS` erases a person only when all their applications are
    older; a contact address goes from old applications only; it is audited."""
    old_day = (date.today() - timedelta(days=400)).isoformat()
    new_day = (date.today() - timedelta(days=10)).isoformat()
    imported = import_csv([
        outcome_row(candidate_name="Olga Old", candidate_email="old@example.org", decided_on=old_day,
                    company_contact_email="old.hm@acme-robotics.example.com", application_ref="P-1"),
        outcome_row(candidate_name="Mia Mixed", candidate_email="mixed@example.org", decided_on=old_day,
                    outcome="withdrew", company_contact_email="", application_ref="P-2"),
        outcome_row(candidate_name="Mia Mixed", candidate_email="mixed@example.org", decided_on=new_day,
                    outcome="withdrew", company_contact_email="", application_ref="P-3"),
        outcome_row(candidate_name="Nina New", candidate_email="new@example.org", decided_on=new_day,
                    company_contact_email="new.hm@acme-robotics.example.com", application_ref="P-4"),
    ])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(args=["feedback", "purge", "--older-than", "365"])
    assert result.exit_code == 0, result.output
    assert "1 candidate," in result.stdout  # "1 candidate", not "1 candidate(s)"
    assert rows_holding("Olga Old", "old@example.org", "old.hm@acme-robotics.example.com") == []
    for kept in ("Mia Mixed", "mixed@example.org", "Nina New", "new@example.org", "new.hm@acme-robotics.example.com"):
        assert rows_holding(kept), kept
    assert db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "purge"))
    for bad in ("0", "-5", "many"):
        assert runner.invoke(args=["feedback", "purge", "--older-than", bad]).exit_code != 0


# --- the privacy notice -----------------------------------------------------------------------

def assert_privacy_notice(message) -> None:
    """Who asks, why, and how to object (and how to reach the data), in the text and in the HTML part."""
    unsubscribe = f"{PUBLIC_BASE}{unsubscribe_path(message)}"
    for kind, body in (("text", text_part(message)), ("html", html_part(message))):
        flat = " ".join(body.split())
        label = f"{message['Subject']!r} ({kind})"
        assert "feedback service" in flat, f"{label}: does not say who asks"
        assert "Who is asking and why" in flat or "You asked to see the feedback" in flat, f"{label}: no why"
        assert "nsubscribe" in flat and unsubscribe in flat, f"{label}: no way to object"
        assert "To see or erase what we hold about you" in flat, f"{label}: no way to reach the data"


def test_every_email_carries_a_privacy_notice(web, import_csv, runner, smtp_server):
    import_and_send(import_csv, runner, [
        outcome_row(candidate_email="n1@example.org", company_contact_email="single@acme-robotics.example.com",
                    application_ref="N-1"),
        outcome_row(candidate_email="n2@example.org", company_contact_email="digest@acme-robotics.example.com",
                    application_ref="N-2"),
        outcome_row(candidate_email="n3@example.org", company_contact_email="digest@acme-robotics.example.com",
                    application_ref="N-3", position="Data Analyst"),
    ])
    db.session.rollback()
    db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.first_sent_at.is_not(None))
                       .values(first_sent_at=utcnow() - timedelta(days=3, hours=1)))
    db.session.commit()
    reminded = runner.invoke(args=["feedback", "remind"])
    assert reminded.exit_code == 0 and "reminders queued: 6" in reminded.stdout, reminded.output
    browser = web.test_client()
    assert browser.post("/me", data={"csrf_token": any_csrf(browser), "email": "n1@example.org"}).status_code == 200
    send(runner)
    db.session.rollback()
    kinds = set(db.session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.status == "sent")))
    assert kinds == {"invitation", "reminder", "candidate_view"}
    subjects = [message["Subject"] for message in smtp_server.messages]
    for expected in ("How was applying to", "Feedback for Ana Silva", "Feedback for 2 candidates",
                     "Reminder: your view", "Overdue: feedback for Ana Silva", "Overdue: feedback for 2 candidates",  # decided 2 Oct
                     "Your feedback link"):
        assert any(subject.startswith(expected) for subject in subjects), (expected, subjects)
    for message in smtp_server.messages:
        assert_privacy_notice(message)


# --- anonymity beyond the threshold -----------------------------------------------------------

def figures_on(page: str) -> tuple:
    """Everything on a dashboard page that is computed from answers (counts of requests left out)."""
    assert page.count("<main") == 1
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    if 'id="not-enough"' in main:
        return ("withheld",)
    nps = re.search(r"<h2>Candidate NPS</h2>(.*?)</div>", main, re.S).group(1)
    panels = re.findall(r'<section class="panel"[^>]*>(.*?)</section>', main, re.S)
    normalised = []
    for panel in panels:
        comments = sorted(re.findall(r"<li>(.*?)</li>", panel, re.S)) if 'class="comments"' in panel else None
        normalised.append(comments if comments is not None else " ".join(panel.split()))
    assert normalised, "no figures on the page"
    return (" ".join(nps.split()), *map(str, normalised))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return sorted(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def snapshot(client, company_id: int, filters: list[dict]) -> dict:
    seen = {}
    for query in filters:
        key = json.dumps(query, sort_keys=True)
        seen[key] = (
            figures_on(client.get(f"/companies/{company_id}/dashboard", query_string=query).text),
            csv_rows(client.get(f"/companies/{company_id}/export/aggregate.csv", query_string=query)),
            csv_rows(client.get(f"/companies/{company_id}/export/comments.csv", query_string=query)),
        )
    return seen


def test_a_single_new_response_cannot_be_isolated_by_a_company_user(web, import_csv, runner, smtp_server, make_user,
                                                                    sign_in):
    """Attack: a company user compares every figure of the dashboard and of both CSV exports, unfiltered and
    under each filter, before and after one more candidate answers. Nothing moves until the group has grown
    by the threshold (k = 5); the operator's `feedback report` shows the current figures at once."""
    assert web.config["FEEDBACK_MIN_RESPONSES"] == 5
    plan = []  # (stage, position) per candidate, in answer order
    for i in range(15):
        plan.append(("interview" if i < 6 or i == 10 else "screen", "QA Engineer" if i < 7 or i >= 10 else "Data Analyst"))
    rows = [outcome_row(candidate_name=f"Anon {i}", candidate_email=f"anon{i}@example.org", outcome="withdrew",
                        company_contact_email="", stage=stage, position=position, application_ref=f"AN-{i}")
            for i, (stage, position) in enumerate(plan)]
    import_and_send(import_csv, runner, rows)
    browser = web.test_client()
    for i in range(10):
        answer(browser, links_to(smtp_server, f"anon{i}@example.org")[0],
               candidate_answers(10 - i % 5, 5 - i % 3, f"Comment number {i}"))
    db.session.rollback()
    acme = company_named(ACME)
    make_user(COMPANY_USER, "company", acme)
    positions = dict(db.session.execute(sa.select(Position.title, Position.id).where(Position.company_id == acme.id)).all())
    month = utcnow().strftime("%Y-%m")
    filters = [{}, {"stage": "interview"}, {"stage": "screen"}, {"position": positions["QA Engineer"]},
               {"position": positions["Data Analyst"]}, {"from": month, "to": month},
               {"stage": "interview", "position": positions["QA Engineer"]}]
    company_user = sign_in(COMPANY_USER)
    at_ten = snapshot(company_user, acme.id, filters)
    assert at_ten[json.dumps({})][0] != ("withheld",)
    report_at_ten = report(runner, ACME)
    assert report_at_ten["candidate_experience"]["responses"] == 10

    eleventh = "ELEVENTH: this one answer must not be singled out."
    answer(browser, links_to(smtp_server, "anon10@example.org")[0], candidate_answers(0, 1, eleventh))
    at_eleven = snapshot(company_user, acme.id, filters)
    changed = [key for key in at_ten if at_ten[key] != at_eleven[key]]
    assert changed == [], f"one response moved the figures under {changed}"
    page = company_user.get(f"/companies/{acme.id}/dashboard").text
    assert eleventh not in page and "11 answers" not in page
    current = report(runner, ACME)["candidate_experience"]
    assert current["responses"] == 11
    assert current["nps"] != report_at_ten["candidate_experience"]["nps"]

    for i in range(11, 15):
        answer(browser, links_to(smtp_server, f"anon{i}@example.org")[0], candidate_answers(0, 1, f"Later {i}"))
    at_fifteen = snapshot(company_user, acme.id, filters)
    assert at_fifteen[json.dumps({})] != at_eleven[json.dumps({})], "the figures never move"
    comments = [cell for row in at_fifteen[json.dumps({})][2] for cell in row]
    assert eleventh in comments
    assert report(runner, ACME)["candidate_experience"]["responses"] == 15


# --- the audit log ----------------------------------------------------------------------------

def test_staff_actions_are_audited_and_only_admins_read_the_log(web, import_csv, runner, smtp_server, make_user,
                                                                 sign_in):
    """Imports (CLI and upload), exports by staff, a moderation decision, a batch cancel and an erasure each
    leave an AuditEvent; /admin/audit lists them for an admin, and refuses recruiters and company users."""
    import_and_send(import_csv, runner, [
        outcome_row(candidate_email="audit1@example.org", application_ref="AU-1"),
        outcome_row(candidate_email="gone@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="AU-2"),
    ])
    answer(web.test_client(), links_to(smtp_server, CONTACT)[0], company_answers("Practise whiteboard tasks."))
    db.session.rollback()
    acme = company_named(ACME)
    make_user(ADMIN, "admin")
    make_user(RECRUITER, "recruiter", acme)
    make_user(COMPANY_USER, "company", acme)
    recruiter = sign_in(RECRUITER)
    assert recruiter.get(f"/companies/{acme.id}/export/aggregate.csv").status_code == 200
    approve_all_reviews(recruiter)
    # an upload, previewed and confirmed, is a second import, this time by the recruiter
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerow([outcome_row(candidate_email="audit3@example.org", application_ref="AU-3").get(c, "")
                     for c in HEADER])
    page = recruiter.get("/recruiter/upload")
    preview = recruiter.post("/recruiter/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(buffer.getvalue().encode()), "o.csv")})
    assert preview.status_code == 200, preview.text
    ticket = re.search(r'name="upload" type="hidden" value="([^"]+)"', preview.text).group(1)
    confirmed = recruiter.post("/recruiter/upload/confirm", data={"csrf_token": any_csrf(recruiter), "upload": ticket})
    assert confirmed.status_code == 302
    batch_id = int(confirmed.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    cancelled = recruiter.post(f"/recruiter/batches/{batch_id}/cancel", data={"csrf_token": any_csrf(recruiter)})
    assert cancelled.status_code == 302
    company_user = sign_in(COMPANY_USER)
    assert company_user.get(f"/companies/{acme.id}/export/comments.csv").status_code == 200  # not staff
    erase(runner, "gone@example.org")

    db.session.rollback()
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    by_action = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event.actor)
    assert by_action["import"] == ["cli", RECRUITER]
    assert by_action["export"] == [RECRUITER]
    assert by_action["advice reviewed"] == [RECRUITER]
    assert by_action["batch cancelled"] == [RECRUITER]
    assert by_action["erase"] == ["cli"]
    assert rows_holding("gone@example.org") == []  # the erasure's own record does not name the person

    admin = sign_in(ADMIN)
    log = admin.get("/admin/audit")
    assert log.status_code == 200
    for action in ("import", "export", "advice reviewed", "batch cancelled", "erase"):
        assert f"<td>{action}</td>" in log.text, action
    assert RECRUITER in log.text and "<td>cli</td>" in log.text
    only_erasures = admin.get("/admin/audit", query_string={"action": "erase"}).text
    assert "<td>erase</td>" in only_erasures and "<td>export</td>" not in only_erasures
    assert recruiter.get("/admin/audit").status_code == 403
    assert company_user.get("/admin/audit").status_code == 403
    anonymous = web.test_client().get("/admin/audit")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def database_dump(database_url: str) -> str:
    """The whole database as SQL text: pg_dump on PostgreSQL, the sqlite3 module's iterdump on SQLite."""
    if database_url.startswith("postgresql"):
        url = sa.make_url(database_url)
        return subprocess.run(
            ["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username or "postgres", url.database], check=True, capture_output=True, text=True).stdout
    with sqlite3.connect(sa.make_url(database_url).database) as connection:
        return "\n".join(connection.iterdump())


def test_erasure_leaves_no_trace_in_the_audit_log_the_dump_the_uploads_or_the_links(
        web, import_csv, runner, smtp_server, make_user, sign_in, database_url):
    """Attack: the erased person had a login (signed in, failed once), was in a file a recruiter previewed
    and never confirmed, and kept their links. After `feedback erase`: no byte of the address or the
    name in a dump of the database, the audit log says "erased person", no uploaded file holds them and
    stale previews are gone, and every link they had (survey, the contact's survey about them, their
    feedback view) answers 404."""
    import_and_send(import_csv, runner, [
        outcome_row(candidate_name=ERASED_NAME, candidate_email=ERASED, application_ref="ER-1"),
        outcome_row(candidate_name="Other Person", candidate_email="other@example.org", application_ref="OT-1"),
    ])
    links = [*links_to(smtp_server, ERASED), *links_to(smtp_server, CONTACT)[:1]]
    db.session.rollback()
    view = f"/me/view/{candidate_view_token(db.session.scalar(sa.select(Candidate.id).where(Candidate.email == ERASED)))}"
    assert all(web.test_client().get(path).status_code == 200 for path in [*links, view])
    make_user(ERASED, "company", ACME)
    sign_in(ERASED)
    failed = web.test_client()
    assert failed.post("/login", data={"csrf_token": csrf_token(failed.get("/login").text), "email": ERASED,
                                       "password": "wrong password"}).status_code == 401
    make_user(RECRUITER, "recruiter", ACME)
    recruiter = sign_in(RECRUITER)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER)
    writer.writeheader()
    writer.writerow(outcome_row(candidate_name=ERASED_NAME, candidate_email=ERASED.upper(), application_ref="ER-2"))
    page = recruiter.get("/recruiter/upload")
    previewed = recruiter.post("/recruiter/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(buffer.getvalue().encode()), "erin.csv")})
    assert previewed.status_code == 200  # previewed, never confirmed: the file waits on disk
    uploads = Path(web.instance_path) / "uploads"
    stale = uploads / ("ab" * 16 + ".csv")
    stale.write_text("candidate_name\nSomeone Stale\n")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert any(ERASED in path.read_text().lower() for path in uploads.glob("*.csv"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(sa.or_(
        AuditEvent.actor == ERASED, AuditEvent.target == ERASED))) >= 2

    erased = erase(runner, ERASED)
    assert "audit entr" in erased.stdout

    dump = database_dump(database_url).lower()
    for needle in (ERASED, ERASED_NAME.lower(), "erasedname"):
        assert needle not in dump, f"{needle!r} is still in the database dump"
    assert "other@example.org" in dump  # the dump is real, and nobody else was touched
    assert rows_holding(ERASED, ERASED_NAME) == []
    db.session.rollback()
    audited = db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.target)).all()
    assert ("sign-in", "erased person", "erased person") in audited
    assert ("sign-in failed", "anonymous", "erased person") in audited
    assert not stale.exists()
    assert not any(ERASED in path.read_text().lower() for path in uploads.glob("*.csv"))
    for path in [*links, view]:
        assert web.test_client().get(path).status_code == 404, path
