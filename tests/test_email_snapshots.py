"""Snapshots of every kind of e-mail: the plain-text and the HTML part, as the real builders render them.

Each case renders one e-mail through ``feedback.mail.render_items`` from fixed inputs (fixed dates,
non-ASCII names) and compares it with ``tests/snapshots/email/<case>.txt`` (the subject, a blank
line, the plain-text part) and ``<case>.html``. Tokens are signed at the time of the run, so each
link's token reads ``<token>`` in the snapshots.

A change to an e-mail fails here until its snapshots are rewritten, reviewed and committed:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_email_snapshots.py

A missing snapshot fails too (it is written only with UPDATE_SNAPSHOTS=1).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import feedback.mail
from feedback.mail import OutgoingItem, render_items

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "email"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
TOKEN = re.compile(r"(http://feedback\.example/(?:f|c|u|me/view)/)[A-Za-z0-9_.\-]+")

# Thursday 5 November 2026, 09:30 UTC: the send time of every case.
NOW = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
CANDIDATE = OutgoingItem(
    outbox_id=101, kind="invitation", to_address="zoe.dubois@example.org", status="pending", request_id=11,
    audience="candidate", link_issued_at=None, candidate_id=21, candidate_name="Zoë Dubois",
    company="Brasserie Côté", position="Ingénieure QA", stage="screen", outcome="rejected",
    decided_on=date(2026, 11, 3))
CONTACT = replace(CANDIDATE, outbox_id=102, to_address="rh@brasserie-cote.example", request_id=12,
                  audience="company", contact_address="rh@brasserie-cote.example")
EARLIER = NOW - timedelta(days=3)
DECIDED_LONG_AGO = date(2026, 10, 27)  # due Friday 30 October with 3 working days: 4 overdue on the 5th


def digest(kind: str) -> list[OutgoingItem]:
    """Three candidates declined by one contact: screening, interview, final round."""
    issued = None if kind == "invitation" else EARLIER
    return [
        replace(CONTACT, kind=kind, link_issued_at=issued),
        replace(CONTACT, kind=kind, outbox_id=103, request_id=13, candidate_name="Łukasz Nowak", stage="interview",
                link_issued_at=issued, decided_on=DECIDED_LONG_AGO if kind == "reminder" else date(2026, 11, 4)),
        replace(CONTACT, kind=kind, outbox_id=104, request_id=14, candidate_name="Søren Østergaard",
                position="Chef de partie", stage="final", link_issued_at=issued, decided_on=date(2026, 11, 4)),
    ]


def escalation() -> list[OutgoingItem]:
    """Two companies; one contact with two overdue candidates, another with one a working day overdue."""
    base = replace(CONTACT, kind="escalation", to_address="recruiter@feedback.example", audience="company",
                   link_issued_at=EARLIER)
    return [
        replace(base, outbox_id=201, decided_on=date(2026, 10, 26)),
        replace(base, outbox_id=202, request_id=13, candidate_name="Łukasz Nowak", stage="interview",
                decided_on=date(2026, 10, 27)),
        replace(base, outbox_id=203, request_id=15, candidate_name="Ana Silva", company="Acme Robotics",
                position="QA Engineer", stage="application", contact_address="hiring@acme-robotics.example",
                decided_on=date(2026, 10, 28)),
    ]


@dataclass(frozen=True)
class Case:
    name: str
    template: str
    items: tuple[OutgoingItem, ...]


CASES = [
    Case("candidate_request", "candidate_request", (CANDIDATE,)),
    Case("candidate_reminder", "candidate_request", (replace(CANDIDATE, kind="reminder", link_issued_at=EARLIER),)),
    Case("candidate_fresh_link", "candidate_request",
         (replace(CANDIDATE, kind="fresh_link", outcome="withdrew", link_issued_at=NOW - timedelta(days=40)),)),
    Case("company_request", "company_request", (CONTACT,)),
    Case("company_reminder", "company_request", (replace(CONTACT, kind="reminder", link_issued_at=EARLIER),)),
    Case("company_reminder_overdue", "company_request",
         (replace(CONTACT, kind="reminder", link_issued_at=EARLIER, decided_on=DECIDED_LONG_AGO),)),
    Case("company_fresh_link", "company_request", (replace(CONTACT, kind="fresh_link", link_issued_at=EARLIER),)),
    Case("company_digest", "company_digest", tuple(digest("invitation"))),
    Case("company_reminder_digest", "company_digest", tuple(digest("reminder"))),
    Case("escalation", "escalation", tuple(escalation())),
    Case("candidate_view", "candidate_view", (replace(CANDIDATE, kind="candidate_view", request_id=None,
                                                      audience=None, company=None, position=None, stage=None),)),
    Case("feedback_ready", "feedback_ready", (replace(CANDIDATE, kind="feedback_ready", request_id=None,
                                                      audience=None, company=None, position=None, stage=None),)),
]


@pytest.fixture
def rendered(make_app, monkeypatch):
    """Render a case in an app with the default deadlines, whatever the environment says."""
    app = make_app(FEEDBACK_LINK_MAX_AGE_DAYS=30, FEEDBACK_SLA_DAYS=3, FEEDBACK_ESCALATE_DAYS=5)
    # Which companies have news is a query of its own (tests/test_notices.py); here, two of them.
    monkeypatch.setattr(feedback.mail, "_companies_with_news", lambda candidate_id, outbox_id: [
        "Acme Robotics", "Brasserie Côté"])

    def render(case: Case) -> tuple[str, str]:
        items = [replace(item) for item in case.items]  # render_items sets a first link's issue time
        with app.app_context():
            email = render_items(items, issued_at=NOW)
        text = f"Subject: {email.subject}\n\n{email.body}"
        return TOKEN.sub(r"\1<token>", text), TOKEN.sub(r"\1<token>", email.html)

    return render


def check_snapshot(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.relative_to(SNAPSHOTS.parent.parent.parent)}: write it with UPDATE_SNAPSHOTS=1, "
                    "review it and commit it")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} changed; UPDATE_SNAPSHOTS=1 rewrites it"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_email_matches_its_snapshots(rendered, case):
    text, html = rendered(case)
    check_snapshot(SNAPSHOTS / f"{case.name}.txt", text)
    check_snapshot(SNAPSHOTS / f"{case.name}.html", html)


def test_every_email_template_has_a_snapshot():
    templates = {path.stem for path in TEMPLATES.glob("*.txt") if not path.name.startswith("_")}
    assert templates == {path.stem for path in TEMPLATES.glob("*.html") if not path.name.startswith("_")}
    assert templates == {case.template for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_email_reads_well(rendered, case):
    """What the snapshots must never show: ISO dates, internal stage names, a wrong plural; and what
    they must: the signature separator, URLs that wrap in the HTML part."""
    text, html = rendered(case)
    for part in (text, html):
        assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", part), case.name
        assert not re.search(r"\b1 (candidates|working days|days)\b|\(s\)", part), case.name
        assert not re.search(r"\bscreen stage\b|\bfinal stage\b", part), case.name
    assert "\n-- \n" in text
    # Every URL printed as text sits in an element that lets it wrap on a narrow screen.
    for url in re.findall(r">(https?://[^<]+)<", html):
        assert re.search(rf'style="word-break:break-all;overflow-wrap:anywhere;">{re.escape(url)}<', html), url


@pytest.mark.parametrize("name", ["candidate_request", "candidate_reminder", "candidate_fresh_link"])
def test_candidate_email_asks_the_score_question(rendered, name):
    """CONTRACT §5: eleven links <link>?nps=N, N = 0..10, with the end labels, in both parts."""
    text, html = rendered(next(case for case in CASES if case.name == name))
    link = "http://feedback.example/f/<token>"
    assert "How likely are you to recommend applying to Brasserie Côté to a friend? Choose a number to start:" in text
    assert re.findall(r"^(\d+)(?: \([a-z ]+\))?: (\S+)$", text, re.M) == [
        (str(n), f"{link}?nps={n}") for n in range(11)]
    assert f"0 (not at all likely): {link}?nps=0\n" in text and f"10 (extremely likely): {link}?nps=10\n" in text
    assert f"Or open the form: {link}\n" in text
    row = re.search(r'<table [^>]*table-layout:fixed[^>]*>\s*<tr>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td [^>]*><a href="([^"]+)"[^>]*>(\d+)</a></td>', row) == [
        (f"{link}?nps={n}", str(n)) for n in range(11)]
    assert not re.search(r"width:\s*\d+px", row)  # no fixed widths: the row fits a 390 px phone
    assert "0 = not at all likely" in html and "10 = extremely likely" in html
    assert f'<a href="{link}" style="display:inline-block' in html  # the big button to the form stays
