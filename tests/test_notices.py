"""The candidate half of the loop (issue 16): told when feedback is ready, two kinds of mail, two choices.

Everything goes through the real forms, the real CLI and a real SMTP server (conftest.py).
"""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import OutboxMessage
from feedback.timeutil import utcnow

ACME, BOREALIS = "Acme Robotics", "Borealis Logistics"
ANA = "ana.silva@example.org"
CONTACTS = {ACME: "hiring@acme-robotics.example.com", BOREALIS: "hm@borealis.example.com"}
COMPANY_ANSWERS = {"reasons": ["technical_skills"], "technical_skills": "2", "relevant_experience": "3",
                   "communication_skills": "3", "problem_solving": "2", "strengthen": "Practise system design.",
                   "reconsider": "yes"}
VIEW_LINK = re.compile(r"http://feedback\.example(/me/view/[A-Za-z0-9_.\-]+)")


def rejected_at(company: str, address: str = ANA, ref: str | None = None) -> dict:
    return outcome_row(candidate_email=address, company=company, company_contact_email=CONTACTS[company],
                       application_ref=ref or f"{company[:3]}-{address}")


def send(runner) -> None:
    result = runner.invoke(args=["feedback", "send"])
    assert result.exit_code == 0, result.output


def messages_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if message["To"] == address]


def answer_as_contact(client, smtp_server, company: str) -> None:
    (message,) = messages_to(smtp_server, CONTACTS[company])[:1]
    (path,) = links_in(message)
    page = client.get(path)
    assert page.status_code == 200
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), **COMPANY_ANSWERS})
    assert answered.status_code == 200, answered.text


def notices() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "feedback_ready")
                                   .order_by(OutboxMessage.id)))


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_feedback_ready_comes_once_a_day_and_names_every_company_that_shared(web, import_csv, runner, smtp_server):
    """Two companies answer about Ana: one notice, naming both, with her private view link; a third
    answer the same day waits until a day after the notice went."""
    assert import_csv([rejected_at(ACME), rejected_at(BOREALIS)]).exit_code == 0
    send(runner)
    assert notices() == []  # nothing to tell before a company answers
    browser = web.test_client()
    answer_as_contact(browser, smtp_server, ACME)
    answer_as_contact(browser, smtp_server, BOREALIS)
    (queued,) = notices()
    assert queued.status == "queued" and queued.to_address == ANA
    send(runner)
    (notice,) = [m for m in messages_to(smtp_server, ANA) if "shared feedback" in str(m["Subject"])]
    assert str(notice["Subject"]) == f"{ACME} and {BOREALIS} shared feedback with you"
    (view,) = VIEW_LINK.findall(text_of(notice))
    page = web.test_client().get(view)
    assert page.status_code == 200 and ACME in page.text and BOREALIS in page.text
    assert notice["List-Unsubscribe"]

    # another company's feedback the same day: queued for a day after the last notice
    CONTACTS["Cobalt Foods"] = "hm@cobalt.example.com"
    try:
        assert import_csv([rejected_at("Cobalt Foods")]).exit_code == 0
        send(runner)
        answer_as_contact(browser, smtp_server, "Cobalt Foods")
    finally:
        del CONTACTS["Cobalt Foods"]
    sent, later = notices()
    assert later.status == "queued" and later.next_attempt_at >= sent.sent_at + timedelta(hours=23, minutes=59)
    delivered = len(smtp_server.messages)
    send(runner)
    assert len(smtp_server.messages) == delivered  # not due yet
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == later.id)
                       .values(next_attempt_at=utcnow()))  # a day later
    db.session.commit()
    send(runner)
    (second,) = [m for m in messages_to(smtp_server, ANA) if "shared feedback" in str(m["Subject"])][1:]
    assert str(second["Subject"]) == "Cobalt Foods shared feedback with you"  # only what is new


def test_stopping_surveys_only_still_tells_of_feedback_and_one_click_stops_both(web, import_csv, runner,
                                                                               smtp_server):
    """Ana picks "Stop surveys only" on the /u/ page: no reminder or new survey, but the feedback-ready
    notice still comes. Bo's mail client posts the one-click unsubscribe: nothing at all, except a link
    Bo asks for on /me."""
    bo = "bo@example.org"
    assert import_csv([rejected_at(ACME), rejected_at(ACME, bo)]).exit_code == 0
    send(runner)
    browser = web.test_client()
    ana_unsubscribe = re.search(r"/u/[^\s>]+", messages_to(smtp_server, ANA)[0]["List-Unsubscribe"]).group(0)
    bo_unsubscribe = re.search(r"/u/[^\s>]+", messages_to(smtp_server, bo)[0]["List-Unsubscribe"]).group(0)
    page = browser.get(ana_unsubscribe)
    assert page.status_code == 200 and "Stop surveys only" in page.text and "Stop everything" in page.text
    stopped = browser.post(ana_unsubscribe, data={"scope": "requests"})
    assert stopped.status_code == 200 and "No more surveys" in stopped.text
    one_click = browser.post(bo_unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text

    # new surveys for both are not sent; the company's answers about both are
    assert import_csv([rejected_at(BOREALIS), rejected_at(BOREALIS, bo)]).exit_code == 0
    for message in list(smtp_server.messages):
        if message["To"] == CONTACTS[ACME]:
            for path in links_in(message):  # a digest: one link per candidate
                page = browser.get(path)
                answered = browser.post(path, data={"csrf_token": csrf_token(page.text), **COMPANY_ANSWERS})
                assert answered.status_code == 200
    mailed = len(smtp_server.messages)
    send(runner)
    new = [(str(m["To"]), str(m["Subject"])) for m in smtp_server.messages[mailed:]]
    to_candidates = [(to, subject) for to, subject in new if to in (ANA, bo)]
    assert to_candidates == [(ANA, f"{ACME} shared feedback with you")]
    assert browser.post("/me", data={"csrf_token": csrf_token(browser.get("/me").text), "email": bo}).status_code == 200
    send(runner)
    assert str(smtp_server.messages[-1]["To"]) == bo and str(smtp_server.messages[-1]["Subject"]) == "Your feedback link"


def test_a_company_surveys_a_candidate_once_in_resurvey_months(make_app, write_csv, smtp_server):
    """FEEDBACK_RESURVEY_MONTHS: Ana, surveyed by Acme, applies to Acme again and is declined: Acme's
    contact is still asked about her, she gets no second survey from Acme, but Borealis's survey."""
    app = make_app(FEEDBACK_RESURVEY_MONTHS=6)
    with app.app_context():
        runner = app.test_cli_runner()
        first = runner.invoke(args=["feedback", "import", str(write_csv([rejected_at(ACME, ref="A-1")]))])
        assert first.exit_code == 0 and "requests queued: 2" in first.stdout
        send(runner)
        again = runner.invoke(args=["feedback", "import", str(write_csv([
            rejected_at(ACME, ref="A-2"), rejected_at(BOREALIS, ref="B-1"), rejected_at(ACME, ref="A-3")]))])
        assert again.exit_code == 0, again.output
        assert "requests queued: 4" in again.stdout  # Acme's contact twice, Borealis: both
        assert "candidate surveys not sent (surveyed by that company lately): 2" in again.stdout
        send(runner)
    surveys = [str(m["Subject"]) for m in messages_to(smtp_server, ANA)]
    assert surveys == [f"How was applying to {ACME}? (2 minutes)", f"How was applying to {BOREALIS}? (2 minutes)"]


def view_of(smtp_server) -> str:
    (notice,) = [m for m in messages_to(smtp_server, ANA) if "shared feedback" in str(m["Subject"])][-1:]
    (view,) = VIEW_LINK.findall(text_of(notice))
    return view


def test_the_candidate_view_is_written_for_the_candidate(web, import_csv, runner, smtp_server):
    """A neutral title; a reason about the company shown as such, never as a shortcoming; bands
    explained; a next step per reason and low band; "future roles" only when positive; the timeline."""
    assert import_csv([rejected_at(ACME), rejected_at(BOREALIS)]).exit_code == 0
    send(runner)
    browser = web.test_client()
    for company, answers in ((ACME, {"reasons": ["role_changed"], "reconsider": "no"}),
                             (BOREALIS, {"reasons": ["technical_skills"], "technical_skills": "1",
                                         "relevant_experience": "3", "reconsider": "yes"})):
        (message,) = messages_to(smtp_server, CONTACTS[company])
        (path,) = links_in(message)
        page = browser.get(path)
        assert browser.post(path, data={"csrf_token": csrf_token(page.text), **answers}).status_code == 200
    send(runner)
    page = web.test_client().get(view_of(smtp_server)).text
    assert "What the companies shared with you" in page and "Where you fell short" not in page
    assert "About the role, not about you" in page
    # once, with its application: never counted among what the companies noted about the candidate
    assert page.count("about the company&#39;s plans, not about you") == 1
    assert "Nothing to work on here" in page
    assert "does not plan to consider you" not in page and f"{BOREALIS} is open to you for future roles" in page
    assert f"{ACME} is open to you" not in page
    assert "Not shown</dt><dd>you did not get to show this" in page
    assert "practise them on a small project" in page  # the next step of a technical-skills reason and band
    assert page.count("feedback received on") == 2


def test_a_contact_previews_the_candidates_page_before_sending(web, import_csv, runner, smtp_server):
    """The contact's form says what reaches the candidate; "Preview" shows the candidate's page of the
    answers given and stores nothing; sending then stores them once."""
    assert import_csv([rejected_at(ACME)]).exit_code == 0
    send(runner)
    (path,) = links_in(messages_to(smtp_server, CONTACTS[ACME])[0])
    browser = web.test_client()
    form = browser.get(path)
    assert "What reaches" in form.text and "a no is never shown" in form.text
    preview = browser.post(path, data={"csrf_token": csrf_token(form.text), **COMPANY_ANSWERS, "action": "preview"})
    assert preview.status_code == 200 and "Preview: what" in preview.text
    assert "practise them on a small project" in preview.text and "Practise system design." in preview.text
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM responses")) == 0
    assert notices() == []
    sent = browser.post(path, data={"csrf_token": csrf_token(preview.text), **COMPANY_ANSWERS})
    assert sent.status_code == 200 and "Thank you" in sent.text
    assert db.session.scalar(sa.text("SELECT count(*) FROM responses")) == 1


def test_no_interview_questions_for_a_candidate_declined_on_the_application(web, import_csv, runner, smtp_server):
    assert import_csv([outcome_row(candidate_email="app@example.org", stage="application", application_ref="S-1"),
                       outcome_row(candidate_email="scr@example.org", stage="screen", application_ref="S-2")]
                      ).exit_code == 0
    send(runner)
    at_application = web.test_client().get(links_in(messages_to(smtp_server, "app@example.org")[0])[0]).text
    at_screen = web.test_client().get(links_in(messages_to(smtp_server, "scr@example.org")[0])[0]).text
    for key in ("interviewer_preparation", "fairness"):
        assert f'name="{key}"' not in at_application and f'name="{key}"' in at_screen
    assert 'name="communication"' in at_application


def test_a_candidate_downloads_everything_held_about_them(web, import_csv, runner, smtp_server):
    """The view's JSON download: each application with the released feedback (advice under review
    named, never its text), every e-mail sent to them by kind and date, their own answers."""
    assert import_csv([rejected_at(ACME)]).exit_code == 0
    send(runner)
    browser = web.test_client()
    (own,) = links_in(messages_to(smtp_server, ANA)[0])
    page = browser.get(own)
    assert browser.post(own, data={"csrf_token": csrf_token(page.text), "nps": "7", "communication": "4",
                                   "timeliness": "3", "role_clarity": "4", "interviewer_preparation": "4",
                                   "fairness": "5", "respect": "5", "improve": "Faster replies."}).status_code == 200
    answer_as_contact(browser, smtp_server, ACME)
    send(runner)
    view = view_of(smtp_server)
    assert f'href="{view}/export.json"' in web.test_client().get(view).text
    download = web.test_client().get(f"{view}/export.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "no-store"
    data = download.get_json()
    assert data["you"] == {"name": "Ana Silva", "email": ANA}
    (application,) = data["applications"]
    assert application["company"] == ACME and application["feedback"]["reasons"] == ["technical_skills"]
    assert application["feedback"]["advice"] == "under review" and "Practise system design." not in download.text
    assert application["feedback"]["open_to_future_roles"] is True
    assert [email["kind"] for email in data["emails_sent_to_you"]] == ["invitation", "feedback_ready"]
    (answers,) = data["your_answers"]
    assert answers["company"] == ACME and answers["answers"]["improve"] == "Faster replies."
    assert data["mail_stopped"] == "no"
    assert web.test_client().get("/me/view/not-a-token/export.json").status_code == 404


def test_advice_approved_later_is_announced_the_same_way(web, import_csv, runner, smtp_server, make_user, sign_in):
    """The reasons went out at once; the advice, approved the next day, brings a notice of its own
    (a day after the first), naming the company again."""
    assert import_csv([rejected_at(ACME)]).exit_code == 0
    send(runner)
    answer_as_contact(web.test_client(), smtp_server, ACME)
    send(runner)
    first, = notices()
    assert first.status == "sent"
    make_user("admin@feedback.example", "admin")
    admin = sign_in("admin@feedback.example")
    listing = admin.get("/recruiter/reviews").text
    review_id = re.search(r'action="/recruiter/reviews/(\d+)"', listing).group(1)
    token = re.search(rf'name="r{review_id}-csrf_token" type="hidden" value="([^"]+)"', listing).group(1)
    decided = admin.post(f"/recruiter/reviews/{review_id}", data={
        f"r{review_id}-csrf_token": token, f"r{review_id}-decision": "approve"})
    assert decided.status_code == 302
    _first, later = notices()
    assert later.status == "queued" and later.next_attempt_at >= first.sent_at + timedelta(hours=23, minutes=59)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == later.id).values(next_attempt_at=utcnow()))
    db.session.commit()
    send(runner)
    (second,) = [m for m in messages_to(smtp_server, ANA) if "shared feedback" in str(m["Subject"])][1:]
    assert str(second["Subject"]) == f"{ACME} shared feedback with you"
    assert "Practise system design." in web.test_client().get(VIEW_LINK.findall(text_of(second))[0]).text
