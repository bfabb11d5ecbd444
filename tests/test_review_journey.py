"""The advice review page, as a recruiter uses it: each item with what the company said, one form
with three buttons per item, and "approve all unflagged as written", which never approves flagged
advice nor another company's.

Browsers talk to ``web`` (conftest.py), so each request has an app context of its own.
"""
from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import AdviceReview, Answer, AuditEvent, Company

ACME = "Acme Robotics"
BOREALIS = "Borealis Logistics"
RECRUITER = "recruiter.acme@feedback.example"
OTHER_RECRUITER = "recruiter.borealis@feedback.example"
# contact -> the advice that contact writes; the "flagged" one names an age and a phone number
ADVICE = {
    "hm1@acme-robotics.example.com": "Practise system design with a concrete example from your own work.",
    "hm2@acme-robotics.example.com": "Bring one worked SQL example and explain the trade-offs you made.",
    "hm3@acme-robotics.example.com": "You seemed too old for the team; call me on +49 170 1234567.",
    "hm@borealis.example.com": "Learn route planning tools before the next interview.",
}
FLAGGED = "hm3@acme-robotics.example.com"
BOREALIS_CONTACT = "hm@borealis.example.com"


def answer_as_contact(browser, smtp_server, contact: str, strengthen: str) -> None:
    (message,) = [m for m in smtp_server.messages if m["To"] == contact]
    (path,) = links_in(message)
    page = browser.get(path)
    answered = browser.post(path, data={
        "csrf_token": csrf_token(page.text), "reasons": ["technical_skills", "stronger_match"],
        "technical_skills": "2", "relevant_experience": "3", "communication_skills": "4", "problem_solving": "1",
        "strengthen": strengthen, "reconsider": "yes",
    }, follow_redirects=True)
    assert answered.status_code == 200, answered.text


@pytest.fixture
def queue(web, import_csv, runner, smtp_server, make_user) -> dict[str, int]:
    """Three pieces of advice at Acme (one flagged), one at Borealis; a recruiter for each company.
    Returns the review id per contact."""
    return make_queue(web.test_client(), import_csv, runner, smtp_server, make_user)


def make_queue(browser, import_csv, runner, smtp_server, make_user) -> dict[str, int]:
    """The ``queue`` fixture's world, answered through ``browser`` (also used by the browser test)."""
    rows = [outcome_row(**{"candidate_email": f"cand{n}@example.org", "company_contact_email": contact,
                           "application_ref": f"REV-{n}", "position": "Data Analyst" if n == 1 else "QA Engineer",
                           "stage": "final" if n == 1 else "interview",
                           **({"company": BOREALIS, "position": "Dispatcher"} if contact == BOREALIS_CONTACT else {})})
            for n, contact in enumerate(ADVICE, 1)]
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    for contact, text in ADVICE.items():
        answer_as_contact(browser, smtp_server, contact, text)
    companies = {name: db.session.scalar(sa.select(Company).where(Company.name == name)) for name in (ACME, BOREALIS)}
    make_user(RECRUITER, "recruiter", companies[ACME])
    make_user(OTHER_RECRUITER, "recruiter", companies[BOREALIS])
    ids = {text: review_id for review_id, text in db.session.execute(
        sa.select(AdviceReview.id, Answer.text).join(Answer, Answer.id == AdviceReview.answer_id))}
    return {contact: ids[text] for contact, text in ADVICE.items()}


def status(review_id: int) -> tuple[str, str | None]:
    db.session.rollback()
    review = db.session.get(AdviceReview, review_id)
    return review.status, review.released_text


def audit_rows(review_id: int) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "advice reviewed",
                                                               AuditEvent.target == f"review {review_id}")))


def item_token(page: str, review_id: int) -> str:
    match = re.search(rf'name="r{review_id}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"review {review_id} is not on the page"
    return match.group(1)


def item_html(page: str, review_id: int) -> str:
    start = page.index(f'action="/recruiter/reviews/{review_id}"')
    return page[start:page.index("</form>", start)]


def bulk_form(page: str) -> dict:
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ids = re.search(r'name="ids" type="hidden" value="([^"]*)"', page).group(1)
    return {"csrf_token": token, "ids": ids}


def test_an_item_shows_what_the_company_said(queue, sign_in):
    page = sign_in(RECRUITER).get("/recruiter/reviews").text
    first = item_html(page, queue["hm1@acme-robotics.example.com"])
    for shown in ("Data Analyst", ACME, "ended at Final round",
                  "Technical skills below what the role needs", "Another candidate matched the requirements more closely",
                  "Technical skills: Partly shown", "Relevant experience: Met", "Communication: Exceeded",
                  "Problem-solving: Not shown", ADVICE["hm1@acme-robotics.example.com"]):
        assert shown in first, shown
    assert "Check before approving" not in first
    for label in ('value="approve_as_written">Approve<', 'value="approve">Save edit and approve<',
                  'value="withhold">Withhold<'):
        assert label in first
    assert 'type="radio"' not in page and "Save decision" not in page
    flagged = item_html(page, queue[FLAGGED])
    assert "Check before approving" in flagged
    assert "Mentions age, a protected characteristic: &#39;too old&#39;" in flagged
    assert "Looks like a phone number" in flagged
    assert "ended at Interview" in flagged
    # the bulk button counts only the two unflagged ones, and Borealis's advice is not on Acme's page
    assert "Approve all 2 unflagged as written" in page
    assert ADVICE[BOREALIS_CONTACT] not in page and BOREALIS not in page


def test_each_button_decides_its_item(queue, sign_in):
    recruiter = sign_in(RECRUITER)
    as_written, edited, withheld = (queue[c] for c in ("hm1@acme-robotics.example.com",
                                                       "hm2@acme-robotics.example.com", FLAGGED))
    edit = "Bring one worked SQL example to the interview."

    page = recruiter.get("/recruiter/reviews").text
    # "Approve" releases the company's text even when the text box was changed meanwhile
    done = recruiter.post(f"/recruiter/reviews/{as_written}", data={
        f"r{as_written}-csrf_token": item_token(page, as_written), f"r{as_written}-decision": "approve_as_written",
        f"r{as_written}-text": "A change the reviewer did not mean to keep."}, follow_redirects=True)
    assert "Advice approved." in done.text
    assert status(as_written) == ("approved", ADVICE["hm1@acme-robotics.example.com"])

    done = recruiter.post(f"/recruiter/reviews/{edited}", data={
        f"r{edited}-csrf_token": item_token(page, edited), f"r{edited}-decision": "approve",
        f"r{edited}-text": edit}, follow_redirects=True)
    assert "Advice approved." in done.text
    assert status(edited) == ("approved", edit)
    assert audit_rows(edited)[0].details == {"decision": "approve", "edited": True}

    done = recruiter.post(f"/recruiter/reviews/{withheld}", data={
        f"r{withheld}-csrf_token": item_token(page, withheld), f"r{withheld}-decision": "withhold",
        f"r{withheld}-text": ADVICE[FLAGGED]}, follow_redirects=True)
    assert "Advice withheld." in done.text
    assert status(withheld) == ("withheld", None)
    assert "Nothing to review." in recruiter.get("/recruiter/reviews").text
    assert [len(audit_rows(review_id)) for review_id in (as_written, edited, withheld)] == [1, 1, 1]


def test_an_unknown_decision_changes_nothing(queue, sign_in):
    recruiter = sign_in(RECRUITER)
    review_id = queue["hm1@acme-robotics.example.com"]
    page = recruiter.get("/recruiter/reviews").text
    refused = recruiter.post(f"/recruiter/reviews/{review_id}", data={
        f"r{review_id}-csrf_token": item_token(page, review_id), f"r{review_id}-decision": "publish"},
        follow_redirects=True)
    assert "Choose approve or withhold." in refused.text
    assert status(review_id) == ("pending", None)


def test_bulk_approves_only_unflagged_advice_of_the_recruiters_companies(queue, sign_in):
    recruiter = sign_in(RECRUITER)
    page = recruiter.get("/recruiter/reviews").text
    form = bulk_form(page)
    clean = [queue["hm1@acme-robotics.example.com"], queue["hm2@acme-robotics.example.com"]]
    assert sorted(map(int, form["ids"].split(","))) == sorted(clean)
    # a forged list naming the flagged item and Borealis's item as well
    form["ids"] = ",".join(map(str, [*clean, queue[FLAGGED], queue[BOREALIS_CONTACT]]))
    done = recruiter.post("/recruiter/reviews/approve-unflagged", data=form)
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/recruiter/reviews")
    listing = recruiter.get(done.headers["Location"]).text
    assert "2 approved; 1 flagged left for you to read." in listing

    for contact in ("hm1@acme-robotics.example.com", "hm2@acme-robotics.example.com"):
        assert status(queue[contact]) == ("approved", ADVICE[contact])
        (row,) = audit_rows(queue[contact])
        assert row.actor == RECRUITER and row.details == {"decision": "approve", "edited": False, "bulk": True}
    assert status(queue[FLAGGED]) == ("pending", None) and audit_rows(queue[FLAGGED]) == []
    assert status(queue[BOREALIS_CONTACT]) == ("pending", None) and audit_rows(queue[BOREALIS_CONTACT]) == []
    # the flagged one is still there to read, and no bulk button remains for it
    assert html.escape(ADVICE[FLAGGED]) in listing and "unflagged as written" not in listing
    # Borealis's recruiter still has theirs to decide
    assert ADVICE[BOREALIS_CONTACT] in sign_in(OTHER_RECRUITER).get("/recruiter/reviews").text


def test_bulk_skips_advice_decided_meanwhile(queue, sign_in):
    recruiter = sign_in(RECRUITER)
    page = recruiter.get("/recruiter/reviews").text
    form = bulk_form(page)
    first = queue["hm1@acme-robotics.example.com"]
    withheld = recruiter.post(f"/recruiter/reviews/{first}", data={
        f"r{first}-csrf_token": item_token(page, first), f"r{first}-decision": "withhold"})
    assert withheld.status_code == 302
    done = recruiter.post("/recruiter/reviews/approve-unflagged", data=form, follow_redirects=True)
    assert "1 approved; 1 flagged left for you to read." in done.text
    assert status(first) == ("withheld", None)
    assert [row.details["decision"] for row in audit_rows(first)] == ["withhold"]
    assert status(queue["hm2@acme-robotics.example.com"])[0] == "approved"


@pytest.mark.parametrize("form", [{}, {"csrf_token": "forged"}], ids=["no token", "forged token"])
def test_bulk_without_a_valid_csrf_token_is_refused(queue, sign_in, form):
    recruiter = sign_in(RECRUITER)
    ids = bulk_form(recruiter.get("/recruiter/reviews").text)["ids"]
    refused = recruiter.post("/recruiter/reviews/approve-unflagged", data={**form, "ids": ids})
    assert refused.status_code == 400
    assert all(status(review_id)[0] == "pending" for review_id in queue.values())


def test_company_users_cannot_bulk_approve(queue, make_user, sign_in):
    make_user("people@acme-robotics.example.com", "company", ACME)
    company = sign_in("people@acme-robotics.example.com")
    token = csrf_token(company.get("/me").text)
    ids = ",".join(map(str, queue.values()))
    assert company.post("/recruiter/reviews/approve-unflagged", data={"csrf_token": token, "ids": ids}).status_code == 403
    assert all(status(review_id)[0] == "pending" for review_id in queue.values())
