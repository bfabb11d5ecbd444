"""The whole loop as a recruiter, a candidate and a company contact live it."""
from __future__ import annotations

import csv
import json

from conftest import SAMPLE_CSV, csrf_token, links_in, outcome_row


def test_sample_file_import_send_answer_report(app, runner, client, smtp_server):
    imported = runner.invoke(args=["feedback", "import", str(SAMPLE_CSV)])
    assert imported.exit_code == 0, imported.output
    assert "rows read: 600" in imported.output
    assert "new applications: 600" in imported.output
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    rejections = [row for row in rows if row["outcome"] == "rejected"]
    contacts = {row["company_contact_email"].lower() for row in rejections}
    assert f"requests queued: {600 + len(rejections)}" in imported.output

    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output
    assert f"sent: {600 + len(rejections)}, failed: 0, left: 0" in sent.output
    # One e-mail per candidate; each contact gets one digest listing all of their candidates.
    assert len(smtp_server.messages) == 600 + len(contacts)
    digest = next(m for m in smtp_server.messages if m["To"] == rejections[0]["company_contact_email"].lower())
    expected_links = sum(1 for row in rejections if row["company_contact_email"].lower() == digest["To"])
    assert len(links_in(digest)) == expected_links

    candidate_mail = next(m for m in smtp_server.messages if m["To"] == "kofi.nakamura.0@example.org")
    (path,) = links_in(candidate_mail)
    page = client.get(path)
    assert page.status_code == 200
    assert "Granite Bank" in page.text and "Backend Engineer" in page.text
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), "nps": "10", "respect": "5"})
    assert answered.status_code == 200
    assert "Thank you" in answered.text
    assert client.get(path).status_code == 410

    report = runner.invoke(args=["feedback", "report", "--company", "granite bank", "--format", "json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    assert data["company"] == "Granite Bank"
    assert data["candidate_experience"]["responses"] == 1
    assert data["candidate_experience"]["withheld"] is True
    assert data["candidate_experience"]["nps"] is None


def test_reimport_is_idempotent(import_csv, runner, smtp_server):
    rows = [outcome_row(), outcome_row(candidate_email="bo@example.org", application_ref="ATS-2")]
    first = import_csv(rows)
    assert "new applications: 2" in first.output
    again = import_csv(rows)
    assert again.exit_code == 0
    assert "new applications: 0" in again.output
    assert "rows already known: 2" in again.output
    assert "requests queued: 0" in again.output
