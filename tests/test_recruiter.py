"""The recruiter workspace: upload with preview, the batch page and its cancel, advice moderation.

Browsers talk to ``web``, a second app on the test database, so that each request has an app
context of its own (as in production) instead of sharing the ``app`` fixture's pushed one.
"""
from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import BAD_CSV, HEADER, PASSWORD, csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import (
    AdviceReview,
    Answer,
    Application,
    Candidate,
    Company,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Response,
)
from feedback.services.accounts import create_user
from feedback.tokens import candidate_view_token

ACME = "Acme Robotics"
BOREALIS = "Borealis Logistics"
RECRUITER = "recruiter.acme@feedback.example"
OTHER_RECRUITER = "recruiter.borealis@feedback.example"


@pytest.fixture
def companies(import_csv, runner) -> dict[str, Company]:
    """Acme Robotics and Borealis Logistics exist (one valid row each, through the CLI), mail sent."""
    imported = import_csv([
        outcome_row(candidate_email="first@example.org", application_ref="SEED-1"),
        outcome_row(candidate_email="second@example.org", company=BOREALIS, position="Dispatcher",
                    company_contact_email="hiring@borealis.example.com", application_ref="SEED-2"),
    ])
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    return {name: db.session.scalar(sa.select(Company).where(Company.name == name)) for name in (ACME, BOREALIS)}


@pytest.fixture
def recruiters(companies, make_user) -> dict[str, object]:
    return {ACME: make_user(RECRUITER, "recruiter", companies[ACME]),
            BOREALIS: make_user(OTHER_RECRUITER, "recruiter", companies[BOREALIS])}


def csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(column, "") for column in HEADER])
    return buffer.getvalue().encode("utf-8")


def upload(browser, content: bytes, filename: str = "outcomes.csv"):
    page = browser.get("/recruiter/upload")
    assert page.status_code == 200
    return browser.post("/recruiter/upload", content_type="multipart/form-data",
                        data={"csrf_token": csrf_token(page.text), "file": (io.BytesIO(content), filename)})


def problems_on(page: str) -> list[tuple[int, str, str]]:
    table = re.search(r'<table class="table problems">(.*?)</table>', page, re.S)
    assert table, "no problem table"
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(1))
    return [(int(line), html.unescape(column), html.unescape(message)) for line, column, message in rows]


def counts() -> dict[str, int]:
    db.session.rollback()
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Application, Candidate, ImportBatch, FeedbackRequest, OutboxMessage)}


def funnel(page: str) -> dict[str, int]:
    return {name: int(number) for name, number in
            re.findall(r'<div class="card[^"]*"><h2>(\w+)</h2><p class="big">(\d+)</p></div>', page)}


# --- upload -----------------------------------------------------------------------------------

def test_upload_preview_lists_every_problem_and_writes_nothing(runner, recruiters, sign_in):
    cli = runner.invoke(args=["feedback", "import", "--dry-run", str(BAD_CSV)])
    assert cli.exit_code == 1
    cli_problems = [tuple(part.strip() for part in line.split(":", 2)) for line in cli.stderr.splitlines()
                    if line.startswith("line ")]
    before = counts()

    browser = sign_in(RECRUITER)
    preview = upload(browser, BAD_CSV.read_bytes(), "outcomes-bad.csv")
    assert preview.status_code == 422
    problems = problems_on(preview.text)
    assert [line for line, _column, _message in problems] == [3, 4, 5, 6, 7, 8, 9, 11]
    assert [(f"line {line}", column, message) for line, column, message in problems] == cli_problems
    assert "8 problems: nothing was imported." in preview.text
    # the only import offered is of the valid rows, saying how many lines it skips
    assert re.search(r"Import the \d+ valid rows?, skip 8 lines with problems", preview.text)
    assert 'name="valid_only" value="1"' in preview.text
    assert counts() == before


def test_valid_upload_preview_confirm_and_batch_page(runner, smtp_server, recruiters, sign_in):
    rows = [
        outcome_row(candidate_email="up1@example.org", application_ref="UP-1"),
        outcome_row(candidate_email="up2@example.org", application_ref="UP-2", stage="final"),
        outcome_row(candidate_email="up3@example.org", application_ref="UP-3", outcome="withdrew",
                    company_contact_email=""),
    ]
    before = counts()
    browser = sign_in(RECRUITER)
    preview = upload(browser, csv_bytes(rows))
    assert preview.status_code == 200
    assert "3 rows read, 3 valid." in preview.text
    assert counts() == before  # a preview writes nothing
    ticket = re.search(r'name="upload" type="hidden" value="([^"]+)"', preview.text).group(1)

    confirmed = browser.post("/recruiter/upload/confirm",
                             data={"csrf_token": csrf_token(preview.text), "upload": ticket})
    assert confirmed.status_code == 302
    batch_path = urlsplit(confirmed.headers["Location"]).path
    batch_id = int(re.fullmatch(r"/recruiter/batches/(\d+)", batch_path).group(1))
    after = counts()
    assert after["Application"] == before["Application"] + 3
    assert after["FeedbackRequest"] == before["FeedbackRequest"] + 5  # 3 candidates + 2 company contacts
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.created_by_id == recruiters[ACME].id
    assert batch.applications_created == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)
                             .where(Application.import_batch_id == batch_id)) == 3

    # the ticket is good once
    again = browser.post("/recruiter/upload/confirm", data={"csrf_token": csrf_token(preview.text),
                                                            "upload": ticket})
    assert urlsplit(again.headers["Location"]).path == "/recruiter/upload"
    assert counts() == after
    # another recruiter cannot use it either
    other = sign_in(OTHER_RECRUITER)
    stolen = other.post("/recruiter/upload/confirm", data={"csrf_token": csrf_token(other.get("/me").text),
                                                           "upload": ticket})
    assert urlsplit(stolen.headers["Location"]).path == "/recruiter/upload"
    assert counts() == after

    page = browser.get(batch_path)
    assert page.status_code == 200
    assert funnel(page.text) == {"Requests": 5, "Queued": 5, "Sent": 0, "Failed": 0, "Cancelled": 0,
                                 "Answered": 0}
    assert "upload: outcomes.csv" in page.text  # the batch is named by its file
    # the batch page lists its rows; cancelling asks first, with the count, and can be undone
    assert page.text.count('<tr>\n        <td>queued</td>') == 5
    assert f'href="{batch_path}/cancel"' in page.text
    confirm = browser.get(f"{batch_path}/cancel")
    assert confirm.status_code == 200
    assert "Yes, cancel 5 e-mails" in confirm.text and "No, keep them" in confirm.text
    assert funnel(browser.get(batch_path).text)["Queued"] == 5  # asking cancels nothing
    cancelled = browser.post(f"{batch_path}/cancel", data={"csrf_token": csrf_token(confirm.text)})
    assert cancelled.status_code == 302
    assert urlsplit(cancelled.headers["Location"]).path == batch_path
    page = browser.get(batch_path)
    assert funnel(page.text)["Queued"] == 0 and funnel(page.text)["Cancelled"] == 5
    assert "Cancel the unsent e-mails" not in page.text
    requeued = browser.post(f"{batch_path}/requeue", data={"csrf_token": csrf_token(page.text)})
    assert requeued.status_code == 302
    page = browser.get(batch_path)
    assert "5 e-mails queued again." in html.unescape(page.text)
    assert funnel(page.text)["Queued"] == 5 and funnel(page.text)["Cancelled"] == 0
    cancelled = browser.post(f"{batch_path}/cancel", data={"csrf_token": csrf_token(confirm.text)})
    assert cancelled.status_code == 302
    assert funnel(browser.get(batch_path).text)["Cancelled"] == 5

    db.session.rollback()
    statuses = db.session.scalars(
        sa.select(OutboxMessage.status).join(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .where(Application.import_batch_id == batch_id)).all()
    assert statuses == ["cancelled"] * 5
    delivered = len(smtp_server.messages)
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    assert "sent: 0" in sent.output
    assert len(smtp_server.messages) == delivered


def test_upload_for_a_company_not_yours_is_a_problem(recruiters, sign_in):
    before = counts()
    browser = sign_in(RECRUITER)
    preview = upload(browser, csv_bytes([
        outcome_row(candidate_email="ok@example.org", application_ref="OK-1"),
        outcome_row(candidate_email="theirs@example.org", company=BOREALIS, application_ref="B-9"),
        outcome_row(candidate_email="new@example.org", company="Brand New Corp", application_ref="N-1"),
    ]))
    assert preview.status_code == 422
    assert problems_on(preview.text) == [
        (3, "company", f"{BOREALIS!r} is not one of your companies"),
        (4, "company", "'Brand New Corp' is not one of your companies"),
    ]
    # the valid row may be imported alone; the other rows are never written, and a plain confirm
    # (without "valid rows only") is refused
    assert "Import the 1 valid row, skip 2 lines with problems" in preview.text
    assert "and queue the e-mails" not in preview.text
    ticket = re.search(r'name="upload" type="hidden" value="([^"]+)"', preview.text).group(1)
    refused = browser.post("/recruiter/upload/confirm", data={"csrf_token": csrf_token(preview.text), "upload": ticket})
    assert refused.status_code == 409
    assert counts() == before


def test_company_users_cannot_upload(companies, sign_in):
    create_user("people@acme-robotics.example.com", PASSWORD, "company", [companies[ACME]])
    db.session.commit()
    browser = sign_in("people@acme-robotics.example.com")
    assert browser.get("/recruiter/upload").status_code == 403
    token = csrf_token(browser.get("/me").text)
    response = browser.post("/recruiter/upload", content_type="multipart/form-data",
                            data={"csrf_token": token, "file": (io.BytesIO(csv_bytes([outcome_row()])), "x.csv")})
    assert response.status_code == 403


# --- advice moderation ------------------------------------------------------------------------

ORIGINAL = "Practise system design with a concrete example from your own work."
EDITED = "Practise system design; bring one worked example to the interview."
WITHHELD_TEXT = "Frankly you seemed too old for our young team."


def answer_as_contact(browser, smtp_server, contact: str, strengthen: str) -> None:
    (message,) = [m for m in smtp_server.messages if m["To"] == contact]
    (path,) = links_in(message)
    page = browser.get(path)
    assert page.status_code == 200
    answered = browser.post(path, data={
        "csrf_token": csrf_token(page.text), "reasons": ["technical_skills", "stronger_match"],
        "technical_skills": "2", "relevant_experience": "3", "communication_skills": "4", "problem_solving": "1",
        "strengthen": strengthen, "reconsider": "yes",
    }, follow_redirects=True)
    assert answered.status_code == 200, answered.text


def candidate_view(web, email: str) -> str:
    candidate_id = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == email))
    page = web.test_client().get(f"/me/view/{candidate_view_token(candidate_id)}")
    assert page.status_code == 200
    return page.text


def review_form(page: str, review_id: int) -> dict:
    match = re.search(rf'name="r{review_id}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"review {review_id} is not on the page"
    return {f"r{review_id}-csrf_token": match.group(1)}


def review_of(email: str) -> AdviceReview:
    """The review of the advice written about the candidate with this address."""
    db.session.rollback()
    return db.session.scalar(
        sa.select(AdviceReview)
        .join(Answer, Answer.id == AdviceReview.answer_id)
        .join(Response, Response.id == Answer.response_id)
        .join(FeedbackRequest, FeedbackRequest.id == Response.request_id)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .where(Candidate.email == email)
    )


def test_moderation_flow(web, import_csv, runner, smtp_server, recruiters, companies, sign_in):
    imported = import_csv([
        outcome_row(candidate_email="mod1@example.org", company_contact_email="hm1@acme-robotics.example.com",
                    application_ref="MOD-1"),
        outcome_row(candidate_email="mod2@example.org", company_contact_email="hm2@acme-robotics.example.com",
                    application_ref="MOD-2", position="Data Analyst"),
    ])
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    browser = web.test_client()
    answer_as_contact(browser, smtp_server, "hm1@acme-robotics.example.com", ORIGINAL)

    review = review_of("mod1@example.org")
    assert review.status == "pending" and review.company_id == companies[ACME].id
    assert review.answer.text == ORIGINAL and review.released_text is None

    # the candidate sees reasons and bands at once, the advice not yet
    page = candidate_view(web, "mod1@example.org")
    for shown in ("The technical skills the role needs did not yet come through",  # in words for the candidate
                  "Another candidate matched the requirements more closely",
                  "<td>Partly shown</td>", "<td>Met</td>", "<td>Exceeded</td>", "<td>Not shown</td>",
                  "Written advice is being reviewed"):
        assert shown in page
    assert ORIGINAL not in page

    # a recruiter of another company neither sees nor decides it
    other = sign_in(OTHER_RECRUITER)
    listing = other.get("/recruiter/reviews").text
    assert ORIGINAL not in listing and f"/recruiter/reviews/{review.id}\"" not in listing
    refused = other.post(f"/recruiter/reviews/{review.id}", data={
        "csrf_token": csrf_token(other.get("/me").text), f"r{review.id}-decision": "approve",
        f"r{review.id}-text": "Hijacked."})
    assert refused.status_code == 404
    assert review_of("mod1@example.org").status == "pending"

    # Acme's recruiter approves it with an edit
    recruiter = sign_in(RECRUITER)
    listing = recruiter.get("/recruiter/reviews").text
    assert ORIGINAL in listing
    decided = recruiter.post(f"/recruiter/reviews/{review.id}", data={
        **review_form(listing, review.id), f"r{review.id}-decision": "approve", f"r{review.id}-text": EDITED})
    assert decided.status_code == 302
    assert urlsplit(decided.headers["Location"]).path == "/recruiter/reviews"
    review = review_of("mod1@example.org")
    assert (review.status, review.released_text, review.reviewed_by_id) == ("approved", EDITED,
                                                                           recruiters[ACME].id)
    page = candidate_view(web, "mod1@example.org")
    assert EDITED in page
    assert ORIGINAL not in page
    assert "Written advice is being reviewed" not in page
    assert ORIGINAL not in recruiter.get("/recruiter/reviews").text  # no longer pending

    # withheld advice never reaches the candidate
    answer_as_contact(browser, smtp_server, "hm2@acme-robotics.example.com", WITHHELD_TEXT)
    second = review_of("mod2@example.org")
    assert second.status == "pending"
    listing = recruiter.get("/recruiter/reviews").text
    assert html.escape(WITHHELD_TEXT, quote=False) in listing
    decided = recruiter.post(f"/recruiter/reviews/{second.id}", data={
        **review_form(listing, second.id), f"r{second.id}-decision": "withhold",
        f"r{second.id}-text": WITHHELD_TEXT})
    assert decided.status_code == 302
    second = review_of("mod2@example.org")
    assert second.status == "withheld" and second.released_text is None
    page = candidate_view(web, "mod2@example.org")
    assert WITHHELD_TEXT not in page and "too old" not in page
    assert "Written advice is being reviewed" not in page
    assert "The technical skills the role needs did not yet come through" in page  # the rest stays
    # and the first candidate's page shows nothing of the second's
    assert WITHHELD_TEXT not in candidate_view(web, "mod1@example.org")
