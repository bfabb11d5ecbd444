"""The upload journey as a recruiter walks it: a file with valid and invalid rows, problems grouped,
a preview of what importing does (per company: new, already known, new positions; odd spellings
and near-duplicate company names), importing only the valid rows, a re-upload that says it is known
and makes no batch, and the batch page listing its rows, failures first, paged, in the reader's
companies only.

Browsers talk to ``web`` (conftest.py), so each request has an app context of its own.
"""
from __future__ import annotations

import csv
import html
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import SAMPLE_CSV, csrf_token, outcome_row
from test_recruiter import counts, csv_bytes, upload

from feedback.extensions import db
from feedback.models import Application, AuditEvent, Company, FeedbackRequest, ImportBatch, OutboxMessage

SAMPLE_ROWS = list(csv.DictReader(SAMPLE_CSV.open(encoding="utf-8")))
SAMPLE_COMPANIES = sorted({row["company"] for row in SAMPLE_ROWS})
MINE = SAMPLE_COMPANIES[::2]  # the recruiter's half of the sample's companies
THEIRS = SAMPLE_COMPANIES[1::2]
RECRUITER = "recruiter.half@feedback.example"
ADMIN = "admin.upload@feedback.example"


def ticket_of(page: str) -> str:
    return html.unescape(re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1))


def confirm(browser, preview: str, *, valid_only: bool):
    data = {"csrf_token": csrf_token(preview), "upload": ticket_of(preview)}
    if valid_only:
        data["valid_only"] = "1"
    return browser.post("/recruiter/upload/confirm", data=data)


def text_of(page: str) -> str:
    """The page's text, tags dropped and spaces collapsed, as a reader sees it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def make_half(make_user):
    """Every company of the sample exists (no applications yet); a recruiter sees half of them."""
    for name in SAMPLE_COMPANIES:
        db.session.add(Company(name=name))
    db.session.commit()
    make_user(ADMIN, "admin")
    return make_user(RECRUITER, "recruiter", *MINE)


@pytest.fixture
def half(app, make_user):
    return make_half(make_user)


def test_sample_as_a_recruiter_of_half_the_companies(half, sign_in):
    browser = sign_in(RECRUITER)
    before = counts()
    preview = upload(browser, SAMPLE_CSV.read_bytes(), "outcomes-sample.csv")
    assert preview.status_code == 422
    page = text_of(preview.text)
    theirs = [(line, row) for line, row in enumerate(SAMPLE_ROWS, 2) if row["company"] in THEIRS]
    mine = len(SAMPLE_ROWS) - len(theirs)
    # one line per kind of problem, with how many lines and which, not 300 identical lines
    for name in THEIRS:
        lines = [line for line, row in theirs if row["company"] == name]
        assert f"{len(lines)} lines ({lines[0]}" in page and f"company: {name!r} is not one of your companies" in page
    assert f"{len(SAMPLE_ROWS)} rows read, {mine} valid." in page
    # the plan: every valid row is new, per company, with the positions importing creates
    assert f"{mine} new applications, {len(theirs)} lines with problems skipped." in page
    plan = re.search(r'<table class="table plan">(.*?)</table>', preview.text, re.S).group(1)
    for name in MINE:
        rows = [row for row in SAMPLE_ROWS if row["company"] == name]
        assert re.search(rf"{re.escape(html.escape(name))}</th>\s*<td class=\"num\">{len(rows)}</td>"
                         rf"<td class=\"num\">{len(rows)}</td><td class=\"num\">0</td>", plan), name
        assert sorted({row["position"] for row in rows})[0] in html.unescape(plan)
    for name in THEIRS:
        assert html.escape(name) not in plan  # nothing of another tenant's rows in the plan
    assert counts() == before  # a preview writes nothing

    imported = confirm(browser, preview.text, valid_only=True)
    assert imported.status_code == 302
    batch_path = urlsplit(imported.headers["Location"]).path
    batch = db.session.get(ImportBatch, int(batch_path.rsplit("/", 1)[1]))
    assert batch.source == "upload: outcomes-sample.csv"
    assert batch.applications_created == mine and batch.rows_read == len(SAMPLE_ROWS)
    assert counts()["Application"] == before["Application"] + mine
    landed = text_of(browser.get(batch_path).text)
    assert f"Imported outcomes-sample.csv: {mine} new applications" in landed
    assert f"{len(theirs)} lines with problems skipped." in landed
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert "outcomes-sample.csv" in str(event.details)

    # the same file again: the preview says it is known, and no button imports it
    after = counts()
    again = upload(browser, SAMPLE_CSV.read_bytes(), "outcomes-sample.csv")
    again_text = text_of(again.text)
    assert "Every valid row of this file is imported already" in again_text
    assert f"import #{batch.id} “upload: outcomes-sample.csv”" in again_text
    assert "/recruiter/upload/confirm" not in again.text
    assert counts() == after


def test_a_valid_file_uploaded_twice_makes_one_batch_even_when_confirmed_twice(half, sign_in):
    rows = [outcome_row(company=MINE[0], candidate_email=f"twice{n}@example.org", position="Welder",
                        application_ref="" if n % 2 else f"TW-{n}") for n in range(4)]
    browser = sign_in(RECRUITER)
    first = upload(browser, csv_bytes(rows), "twice.csv")
    second = upload(browser, csv_bytes(rows), "twice.csv")  # a second tab, before the first is confirmed
    assert first.status_code == second.status_code == 200
    assert "4 new applications" in text_of(first.text)
    assert confirm(browser, first.text, valid_only=False).status_code == 302
    batches = counts()["ImportBatch"]
    late = confirm(browser, second.text, valid_only=False)
    assert urlsplit(late.headers["Location"]).path == "/recruiter/"
    assert "Nothing imported: every row of twice.csv is known already." in text_of(browser.get("/recruiter/").text)
    assert counts()["ImportBatch"] == batches  # no empty batch
    # and a third upload (refs and natural keys alike) is known at the preview
    third = text_of(upload(browser, csv_bytes(rows), "twice.csv").text)
    assert "Every row of this file is imported already" in third


def test_preview_names_odd_spellings_near_duplicates_and_new_positions(half, sign_in):
    acme = "Acme Robotics"
    rows = [
        outcome_row(candidate_email="a1@example.org", company=acme, position="QA Engineer", application_ref="S-1"),
        outcome_row(candidate_email="a2@example.org", company="acme  robotics", position="QA Engineer",
                    application_ref="S-2"),
        outcome_row(candidate_email="a3@example.org", company="Acme Robotic", position="Welder", application_ref="S-3"),
        outcome_row(candidate_email="a4@example.org", company="Zephyr Mills", position="Spinner", application_ref="S-4"),
    ]
    admin = sign_in(ADMIN)
    preview = upload(admin, csv_bytes(rows), "names.csv")
    assert preview.status_code == 200
    page = text_of(preview.text)
    assert "“Acme Robotics” is also spelled “acme robotics” (1 row)" in page or \
        "“Acme Robotics” is also spelled “acme  robotics” (1 row)" in page
    assert "“Acme Robotic” would be a new company, but looks like “Acme Robotics”" in page
    assert "“Zephyr Mills” would be" not in page  # a new name like no other is not a warning
    assert "2 new companies." in page
    plan = text_of(re.search(r'<table class="table plan">(.*?)</table>', preview.text, re.S).group(1))
    assert "Acme Robotic new company" in plan and "Zephyr Mills new company" in plan
    assert "Acme Robotics 2 2 0 QA Engineer" in plan  # the company has no position yet: it is new
    assert "Spinner" in plan

    # a recruiter's near-duplicate hints name only the companies they may see
    db.session.add(Company(name="Acme Robotix Holdings"))
    db.session.commit()
    recruiter = sign_in(RECRUITER)
    mine = upload(recruiter, csv_bytes([outcome_row(company=MINE[0], candidate_email="m@example.org")]), "m.csv")
    assert "Acme Robotix" not in mine.text


def test_batch_page_lists_rows_failures_first_paged_and_scoped(half, sign_in, make_user):
    ours, other = MINE[0], THEIRS[0]
    rows = [outcome_row(company=ours if n < 30 else other, candidate_email=f"row{n:02}@example.org",
                        candidate_name=f"Candidate {n:02}", application_ref=f"B-{n}",
                        company_contact_email="hm@ours.example.com" if n < 30 else "hm@theirs.example.com")
            for n in range(34)]
    admin = sign_in(ADMIN)
    preview = upload(admin, csv_bytes(rows), "mixed.csv")
    batch_path = urlsplit(confirm(admin, preview.text, valid_only=False).headers["Location"]).path
    batch_id = int(batch_path.rsplit("/", 1)[1])
    # two of our candidates' invitations failed at the server
    failing = ("row07@example.org", "row21@example.org")
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.to_address.in_(failing))
                       .values(status="failed", last_error="550 mailbox unavailable"))
    db.session.commit()

    page = admin.get(batch_path)
    assert page.status_code == 200
    requests = db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRequest).join(Application)
                                 .where(Application.import_batch_id == batch_id))
    assert requests == 68  # a candidate and a contact per row
    body = re.search(r'<table class="table batch-rows">.*?<tbody>(.*?)</tbody>', page.text, re.S).group(1)
    table = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(table) == 50
    assert "failed" in table[0] and "failed" in table[1] and "550 mailbox unavailable" in table[0]
    assert {address for address in failing if address in table[0] + table[1]} == set(failing)
    assert "failed" not in "".join(table[2:])
    assert "Page 1 of 2" in page.text
    second = admin.get(f"{batch_path}?page=2")
    assert len(re.findall(r"<tr>", re.search(r"<tbody>(.*?)</tbody>", second.text, re.S).group(1))) == 18
    assert admin.get(f"{batch_path}?page=x").status_code == 400

    # a recruiter of ours and not theirs: the mixed batch is not theirs to open
    recruiter = sign_in(RECRUITER)
    assert recruiter.get(batch_path).status_code == 404
    # their own batch of our company only lists our rows
    own = upload(recruiter, csv_bytes([outcome_row(company=ours, candidate_email="solo@example.org",
                                                   application_ref="SOLO")]), "solo.csv")
    own_path = urlsplit(confirm(recruiter, own.text, valid_only=False).headers["Location"]).path
    own_page = recruiter.get(own_path).text
    assert "solo@example.org" in own_page and "row0" not in own_page


def test_cancel_asks_with_the_count_and_requeue_puts_back_only_what_it_stopped(half, sign_in, runner, smtp_server):
    rows = [outcome_row(company=MINE[0], candidate_email=f"c{n}@example.org", application_ref=f"C-{n}",
                        outcome="withdrew", company_contact_email="") for n in range(3)]
    browser = sign_in(RECRUITER)
    preview = upload(browser, csv_bytes(rows), "cancel.csv")
    batch_path = urlsplit(confirm(browser, preview.text, valid_only=False).headers["Location"]).path
    page = browser.get(batch_path)
    assert "3 e-mails of this import have not gone out yet." in page.text
    ask = browser.get(f"{batch_path}/cancel")
    assert "Yes, cancel 3 e-mails" in ask.text
    # a message the server refused stays failed: requeue puts back only what cancelling stopped
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.to_address == "c0@example.org")
                       .values(status="failed", last_error="550 no such user"))
    db.session.commit()
    assert browser.post(f"{batch_path}/cancel", data={"csrf_token": csrf_token(ask.text)}).status_code == 302
    db.session.rollback()
    assert db.session.get(ImportBatch, int(batch_path.rsplit("/", 1)[1])).cancelled_at is not None
    page = browser.get(batch_path)
    assert "2 unsent e-mails cancelled." in html.unescape(page.text)
    assert browser.post(f"{batch_path}/requeue", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    db.session.rollback()
    statuses = dict(db.session.execute(sa.select(OutboxMessage.to_address, OutboxMessage.status)
                                       .where(OutboxMessage.to_address.like("c_@example.org"))).all())
    assert statuses == {"c0@example.org": "failed", "c1@example.org": "queued", "c2@example.org": "queued"}
    assert db.session.get(ImportBatch, int(batch_path.rsplit("/", 1)[1])).cancelled_at is None
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    assert sorted(m["To"] for m in smtp_server.messages) == ["c1@example.org", "c2@example.org"]
    # nothing left to cancel: the confirmation page says so instead of offering a button
    assert "nothing to cancel" in browser.get(f"{batch_path}/cancel").text
