"""A company contact answers in one sitting (issue 17, item 1): the digest's /c/<token> page, candidate by
candidate, "2 of 3", then a summary; scoped to that contact; the feedback link's rules hold."""
from __future__ import annotations

import re

import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.logging import redact
from feedback.tokens import contact_token

HM = "hm@acme-robotics.example.com"
OTHER = "other.hm@acme-robotics.example.com"
CONTACT_LINK = re.compile(r"http://feedback\.example(/c/[A-Za-z0-9_.\-]+)")
ANSWERS = {"reasons": ["technical_skills"], "technical_skills": "2", "reconsider": "yes"}


def declined(number: int, contact: str = HM) -> dict:
    return outcome_row(candidate_name=f"Person {number}", candidate_email=f"p{number}@example.org",
                       company_contact_email=contact, application_ref=f"C-{number}")


def setup(import_csv, runner, smtp_server) -> str:
    assert import_csv([declined(1), declined(2), declined(3), declined(4, OTHER)]).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (digest,) = [m for m in smtp_server.messages if m["To"] == HM]
    text = digest.get_body(preferencelist=("plain",)).get_content()
    (page,) = CONTACT_LINK.findall(text)
    assert page in digest.get_body(preferencelist=("html",)).get_content()
    return page


def answered() -> int:
    db.session.rollback()
    return db.session.scalar(sa.text("SELECT count(*) FROM responses"))


def text(page) -> str:
    """The page's HTML with its <bdi> marks left out (numbers are isolated for right-to-left text)."""
    return re.sub(r"</?bdi>", "", page.text)


def test_a_contact_answers_every_candidate_from_one_link(web, import_csv, runner, smtp_server):
    page_path = setup(import_csv, runner, smtp_server)
    browser = web.test_client()
    page = browser.get(page_path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "0 of 3 done" in text(page) and text(page).count(">to do</a>") == 3
    assert "Person 4" not in text(page)  # another contact's candidate
    assert answered() == 0  # GET never answers
    form_path = re.search(r'href="(/f/[^"]+)">Give feedback on\s+Person 1', text(page)).group(1)
    for number in (1, 2, 3):
        form = browser.get(form_path)
        assert f"candidate {number} of 3" in text(form) and f"Person {number}" in text(form)
        thanks = browser.post(form_path, data={"csrf_token": csrf_token(form.text), **ANSWERS})
        assert thanks.status_code == 200 and f"{number} of 3 done" in text(thanks)
        if number < 3:
            assert f"Next: Person {number + 1}" in text(thanks) and f"({number + 1} of 3)" in text(thanks)
            form_path = re.search(r'href="(/f/[^"]+)">Next:', thanks.text).group(1)
        else:
            assert "Next:" not in text(thanks) and "See the summary" in text(thanks)
    summary = browser.get(page_path)
    assert "All 3 done" in text(summary) and text(summary).count('class="status done"') == 3
    assert answered() == 3


def test_the_contact_page_is_scoped_signed_and_kept_out_of_the_logs(web, import_csv, runner, smtp_server):
    """Attack: open another contact's page by a request id, tamper with the token, answer twice."""
    page_path = setup(import_csv, runner, smtp_server)
    db.session.rollback()
    ids = dict(db.session.execute(sa.text(
        "SELECT recipient_email, id FROM feedback_requests WHERE audience = 'company'")).all())
    client = web.test_client()
    with web.test_request_context():
        other_page = f"/c/{contact_token(ids[OTHER])}"
        candidate_request = db.session.scalar(sa.text(
            "SELECT id FROM feedback_requests WHERE audience = 'candidate' LIMIT 1"))
        candidate_page = f"/c/{contact_token(candidate_request)}"
    other = client.get(other_page).text
    assert "Person 4" in other and "Person 1" not in other
    assert client.get(candidate_page).status_code == 404  # a candidate's request names no contact page
    token = page_path.rsplit("/", 1)[1]
    assert redact(f'"GET {page_path} HTTP/1.1" 200') == '"GET /c/[token] HTTP/1.1" 200'
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "1", "not-a-token"):
        assert client.get(f"/c/{forged}").status_code == 404
    # each answer once: a used form from the page answers 410
    form_path = re.search(r'href="(/f/[^"]+)">to do</a>', client.get(page_path).text).group(1)
    form = client.get(form_path)
    assert client.post(form_path, data={"csrf_token": csrf_token(form.text), **ANSWERS}).status_code == 200
    assert client.post(form_path, data={"csrf_token": csrf_token(form.text), **ANSWERS}).status_code == 410
    assert answered() == 1
    # the digest's own links keep working too
    (digest,) = [m for m in smtp_server.messages if m["To"] == HM]
    assert all(client.get(path).status_code in (200, 410) for path in links_in(digest))
