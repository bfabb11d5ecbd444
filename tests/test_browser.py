"""End to end in a real browser: Playwright for Python driving Debian's Chromium.

The app is served on loopback by werkzeug (a second app on the test database, as in production
each request gets an app context of its own); mail goes to the real aiosmtpd server of
conftest. The tests:

* the journey: a recruiter uploads demo/outcomes-sample.csv and confirms the preview, the mail
  goes out, a candidate answers on a phone-sized screen by clicking and tapping and cannot answer
  twice, and the company's dashboard then shows figures that include that answer;
* accessibility: axe-core (vendored in tests/vendor, see its README) on the survey, sign-in,
  dashboard and candidate pages finds no serious or critical violation (and, as a control, does
  find them on a page built to have them).

Screenshots go to artifacts/screenshots/<database>/, step timings and axe results to
artifacts/*.json (artifacts/ is not committed). ``pytest -s`` prints both as tables.
Playwright's own browser download is not used: Chromium comes from the distribution's package
(.ci/run installs it when /usr/bin/chromium is missing).
"""
from __future__ import annotations

import csv
import json
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from browser_support import (
    AXE_VERSION,
    BLOCKING_IMPACTS,
    DESKTOP,
    PHONE,
    Steps,
    answer_in_process,
    artefact_dir,
    card,
    company_responses,
    link_in,
    messages_to,
    no_horizontal_scroll,
    run_axe,
    sign_in,
    signed_in_client,
    slug,
    watch_console,
)
from conftest import SAMPLE_CSV, outcome_row
from playwright import sync_api

from feedback.extensions import db
from feedback.models import Company, Response
from feedback.services.accounts import create_user

expect = sync_api.expect

PASSWORD = "correct horse battery staple"
RECRUITER = "recruiter@feedback.example"
COMPANY = "Acme Robotics"
COMPANY_USER = "people@acme-robotics.example.com"
SLOW = 30_000  # ms: importing 600 rows in one request takes a few seconds on a slow runner

# The four answers given before the browser's (in-process, through the real form), and the browser's.
EARLIER_ANSWERS = [
    {"nps": 10, "communication": 5, "timeliness": 4, "improve": "Faster replies after the interview."},
    {"nps": 9, "communication": 4, "timeliness": 3},
    {"nps": 6, "communication": 2, "timeliness": 2, "improve": "Tell people when the role is filled."},
    {"nps": 8, "communication": 3, "timeliness": 4},
]
BROWSER_NPS = 9
BROWSER_COMMENT = "Share the interview plan before the first call."
EXPECTED_NPS = "+40"  # promoters 10, 9, 9 and one detractor (6) of five answers: (3 - 1) / 5


# --- the journey ------------------------------------------------------------------------------

def test_recruiter_upload_to_candidate_answer_to_company_dashboard(live, chromium, smtp_server, database_name):
    rows = list(csv.DictReader(SAMPLE_CSV.open(encoding="utf-8", newline="")))
    names = sorted({row["company"] for row in rows})
    companies = [Company(name=name) for name in names]
    db.session.add_all(companies)
    db.session.flush()
    acme = next(company for company in companies if company.name == COMPANY)
    create_user(RECRUITER, PASSWORD, "recruiter", companies)
    create_user(COMPANY_USER, PASSWORD, "company", [acme])
    db.session.commit()
    acme_id = acme.id

    acme_rows = [row for row in rows if row["company"] == COMPANY]
    browser_candidate = next(row for row in acme_rows if row["outcome"] == "withdrew")
    earlier = [row for row in acme_rows if row is not browser_candidate][:len(EARLIER_ANSWERS)]
    requests_expected = len(rows) + sum(row["outcome"] == "rejected" for row in rows)
    contacts = {row["company_contact_email"] for row in rows if row["outcome"] == "rejected"}

    steps = Steps(artefact_dir("screenshots", database_name))
    problems: list[str] = []
    recruiter = chromium.new_context(**DESKTOP)
    phone = chromium.new_context(**PHONE)
    company = chromium.new_context(**DESKTOP)
    for context in (recruiter, phone, company):
        context.set_default_timeout(10_000)
    try:
        page = recruiter.new_page()
        watch_console(page, problems)

        with steps.step("recruiter signs in", page):
            sign_in(page, live, RECRUITER)
            page.wait_for_url(live.url("/recruiter/"))
            expect(page.get_by_role("link", name="Upload outcomes")).to_be_visible()

        with steps.step("recruiter uploads outcomes-sample.csv: preview", page):
            page.get_by_role("link", name="Upload outcomes").click()
            page.wait_for_url(live.url("/recruiter/upload"))
            page.set_input_files("input[name=file]", SAMPLE_CSV)
            page.get_by_role("button", name="Check the file").click()
            expect(page.get_by_text(f"{len(rows)} rows read, {len(rows)} valid.")).to_be_visible(timeout=SLOW)
            expect(page.get_by_role("heading", level=1)).to_have_text(SAMPLE_CSV.name)

        with steps.step("recruiter confirms: import and batch page", page):
            page.get_by_role("button", name=f"Import {len(rows)} rows and queue the e-mails").click()
            page.wait_for_url(re.compile(re.escape(live.url("/recruiter/batches/")) + r"\d+$"), timeout=SLOW)
            expect(card(page, "Requests").locator(".big")).to_have_text(str(requests_expected))
            expect(card(page, "Queued").locator(".big")).to_have_text(str(requests_expected))
            expect(page.get_by_role("status")).to_contain_text(f"{len(rows)} new applications")
        batch_url = page.url

        with steps.step("feedback send: e-mails reach the SMTP server", page):
            summary = live.cli("send")
            assert len(smtp_server.messages) == len(rows) + len(contacts), summary
            page.reload()
            expect(card(page, "Sent").locator(".big")).to_have_text(str(requests_expected))
            expect(card(page, "Queued").locator(".big")).to_have_text("0")
        survey_link = live.link_pattern("/f/")
        link = link_in(*messages_to(smtp_server, browser_candidate["candidate_email"]), survey_link)

        with steps.step(f"{len(earlier)} earlier {COMPANY} answers (in-process form)"):
            client = live.app.test_client()
            for row, fields in zip(earlier, EARLIER_ANSWERS):
                path = urlsplit(link_in(*messages_to(smtp_server, row["candidate_email"]), survey_link)).path
                answer_in_process(client, path, fields)
            before = signed_in_client(live, COMPANY_USER).get(f"/companies/{acme_id}/dashboard")
            assert before.status_code == 200
            assert "Not enough responses yet" in before.text and "4 responses" in before.text
            assert re.search(r"<h2>Candidate NPS</h2>\s*<p class=\"big muted\">–</p>", before.text)
            assert "answers</p>" not in before.text and "NPS month by month" not in before.text
            assert company_responses(acme_id) == len(EARLIER_ANSWERS)

        candidate = phone.new_page()
        stale = phone.new_page()  # the same link, left open in a second tab
        watch_console(candidate, problems)
        watch_console(stale, problems)
        with steps.step("candidate opens the e-mailed link (390x844)", candidate):
            opened = candidate.goto(link)
            assert opened.status == 200
            expect(candidate.get_by_role("heading", level=1)).to_have_text("How did the hiring process feel?")
            assert candidate.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            stale.goto(link)
            candidate.bring_to_front()  # a background tab gets few animation frames, and Playwright's waits crawl

        with steps.step("candidate answers by tapping and clicking", candidate):
            def ask(prompt: str):  # a question's fieldset: a radiogroup, or a group of checkboxes
                return candidate.get_by_role("radiogroup", name=prompt).or_(candidate.get_by_role("group", name=prompt))
            ask("recommend applying to Acme Robotics").get_by_role("radio", name=str(BROWSER_NPS), exact=True).tap()
            ask("kept informed").get_by_role("radio", name="Agree", exact=True).tap()
            ask("reasonable pace").locator("label", has_text="Strongly agree").tap()  # the label, not the input
            ask("explained clearly").get_by_role("radio", name="Agree", exact=True).click()
            ask("fair chance").locator("label", has_text="Strongly agree").click()
            ask("decide not to go on").get_by_role("checkbox", name="The process took too long").tap()
            candidate.get_by_label("What could Acme Robotics have done better?").tap()
            candidate.keyboard.type(BROWSER_COMMENT)
            for name, value in [("nps", BROWSER_NPS), ("communication", 4), ("timeliness", 5), ("role_clarity", 4),
                                ("fairness", 5), ("decline_reasons", "process_length")]:
                expect(candidate.locator(f"input[name={name}][value='{value}']")).to_be_checked()
            expect(candidate.locator("input[name=respect]:checked")).to_have_count(0)
            expect(candidate.locator("#improve")).to_have_value(BROWSER_COMMENT)

        with steps.step("candidate sends: thank-you page", candidate):
            with candidate.expect_response(lambda r: r.request.method == "POST") as sent:
                candidate.get_by_role("button", name="Send my answers").tap()
            assert sent.value.status == 200
            expect(candidate.get_by_role("heading", level=1)).to_have_text("Thank you")
            assert company_responses(acme_id) == len(EARLIER_ANSWERS) + 1

        with steps.step("the link refuses a second answer (410)", stale):
            stale.bring_to_front()
            stale.get_by_role("radio", name=str(BROWSER_NPS), exact=True).tap()
            with stale.expect_response(lambda r: r.request.method == "POST") as again:
                stale.get_by_role("button", name="Send my answers").tap()
            assert again.value.status == 410
            expect(stale.get_by_role("heading", level=1)).to_have_text("This link was already used")
            reopened = candidate.goto(link)
            assert reopened.status == 410
            expect(candidate.get_by_role("heading", level=1)).to_have_text("This link was already used")
            assert company_responses(acme_id) == len(EARLIER_ANSWERS) + 1

        dashboard = company.new_page()
        watch_console(dashboard, problems)
        with steps.step("company user signs in: dashboard", dashboard):
            sign_in(dashboard, live, COMPANY_USER)
            dashboard.wait_for_url(live.url(f"/companies/{acme_id}/dashboard"))
            expect(dashboard.get_by_role("heading", level=1)).to_contain_text(COMPANY)

        with steps.step("dashboard shows the new figures and the chart", dashboard):
            nps = card(dashboard, "Candidate NPS")
            expect(nps.locator(".big")).to_have_text(EXPECTED_NPS)
            expect(nps.locator(".note").first).to_have_text("5 answers")
            expect(nps).to_contain_text("9–10 are promoters")
            expect(card(dashboard, "Candidates answered").locator(".big")).to_contain_text("5 of")
            expect(dashboard.get_by_role("heading", name="Not enough responses yet")).to_have_count(0)
            chart = dashboard.locator("svg.chart[role=img][aria-labelledby^=month-chart]")
            expect(chart).to_be_visible()
            expect(chart.locator("title")).to_have_text("NPS month by month")
            box = chart.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 50, box
            expect(chart.locator("rect")).to_have_count(1)
            expect(dashboard.locator("ul.comments li", has_text=BROWSER_COMMENT)).to_have_count(1)
            # the browser's clicks and taps, in the "Each question" table: (mean, n)
            for label, mean, n in [("Kept informed", "3.60", "5"), ("Reasonable pace", "3.60", "5"),
                                   ("Role explained clearly", "4.00", "1"),
                                   ("Fair chance to show skills", "5.00", "1")]:
                header = dashboard.get_by_role("rowheader", name=label, exact=True)
                row = dashboard.get_by_role("row").filter(has=header)
                expect(row.locator("td").nth(0)).to_have_text(mean)
                expect(row.locator("td").nth(1)).to_have_text(n)
            expect(dashboard.locator("ul.counts")).to_contain_text("The process took too long: 1")

        with steps.step("recruiter's batch page counts the answers", page):
            page.goto(batch_url)
            expect(card(page, "Answered").locator(".big")).to_have_text(str(len(EARLIER_ANSWERS) + 1))
    finally:
        for context in (recruiter, phone, company):
            context.close()
        report = {"database": database_name, "browser": f"Chromium {chromium.version}",
                  "phone_viewport": PHONE["viewport"], "steps": steps.rows}
        (artefact_dir() / f"browser-journey-{database_name}.json").write_text(json.dumps(report, indent=2) + "\n")
        if steps.rows:
            print("\n" + steps.table(f"Browser journey on {database_name} (Chromium {chromium.version})"))
    assert problems == [], problems


# --- accessibility ----------------------------------------------------------------------------

@pytest.fixture
def seeded(live, write_csv, smtp_server) -> dict:
    """Six Acme candidates (mail sent), five answered (the dashboard shows figures), one not; Acme
    gave the first feedback with a skills reason, and Borealis, where the role was closed; the first
    got the feedback-ready e-mail (its link opens the view); a company login."""
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=f"c{i}@example.org", application_ref=f"A-{i}",
                        outcome="rejected" if i == 0 else "withdrew", stage="interview" if i % 2 else "final",
                        company_contact_email="hiring@acme-robotics.example.com" if i == 0 else "")
            for i in range(6)]
    rows.append(outcome_row(candidate_name="Candidate 0", candidate_email="c0@example.org", application_ref="B-0",
                            company="Borealis Logistics", position="Dispatcher",
                            company_contact_email="hm@borealis.example.com"))
    live.cli("import", str(write_csv(rows)))
    live.cli("send")
    survey_link = live.link_pattern("/f/")
    client = live.app.test_client()
    for i, fields in enumerate([*EARLIER_ANSWERS, {"nps": 7, "communication": 4, "improve": "More notice."}]):
        answer_in_process(client, urlsplit(link_in(messages_to(smtp_server, f"c{i}@example.org")[0],
                                                   survey_link)).path, fields)
    (contact_mail,) = messages_to(smtp_server, "hiring@acme-robotics.example.com")
    answer_in_process(client, urlsplit(link_in(contact_mail, survey_link)).path, {
        "reasons": "stronger_match", "technical_skills": 3, "relevant_experience": 2, "communication_skills": 4,
        "problem_solving": 3, "strengthen": "More practice with test automation.", "reconsider": "yes"})
    (borealis_mail,) = messages_to(smtp_server, "hm@borealis.example.com")
    answer_in_process(client, urlsplit(link_in(borealis_mail, survey_link)).path,
                      {"reasons": "role_changed", "reconsider": "no"})
    live.cli("send")
    (notice,) = [m for m in messages_to(smtp_server, "c0@example.org") if "shared feedback" in str(m["Subject"])]
    acme = db.session.scalar(sa.select(Company).where(Company.name == COMPANY))
    create_user(COMPANY_USER, PASSWORD, "company", [acme])
    db.session.commit()
    return {
        "survey": link_in(*messages_to(smtp_server, "c5@example.org"), survey_link),
        "dashboard": live.url(f"/companies/{acme.id}/dashboard"),
        "view": link_in(notice, live.link_pattern("/me/view/")),
        "notice_html": notice.get_body(preferencelist=("html",)).get_content(),
    }


def test_axe_finds_no_serious_or_critical_violation(live, chromium, seeded, database_name):
    screenshots = artefact_dir("screenshots", database_name)
    # Only this test bypasses the Content-Security-Policy: the app allows script from 'self' only,
    # and Playwright injects axe-core as an inline <script>, which the policy (rightly) blocks.
    # The journey runs under the real policy.
    phone = chromium.new_context(bypass_csp=True, **PHONE)
    desktop = chromium.new_context(bypass_csp=True, **DESKTOP)
    results: dict[str, dict] = {}

    def check(page, name: str, heading: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if "phone" in name:
            assert no_horizontal_scroll(page), name
        results[name] = run_axe(page)
        page.screenshot(path=str(screenshots / f"axe-{slug(name)}.png"), full_page=True)

    try:
        page = phone.new_page()
        assert page.goto(seeded["survey"]).status == 200
        check(page, "survey (phone)", "How did the hiring process feel?")
        page.get_by_role("button", name="Send my answers").tap()  # nothing chosen: the errors show
        expect(page.get_by_role("alert")).to_be_visible()
        check(page, "survey with errors (phone)", "How did the hiring process feel?")
        page.get_by_role("radio", name="8", exact=True).tap()
        page.get_by_role("button", name="Send my answers").tap()
        check(page, "survey thank-you (phone)", "Thank you")
        page.goto(live.url("/me"))
        check(page, "candidate /me (phone)", "See the feedback on your applications")
        page.set_content(seeded["notice_html"])  # the feedback-ready e-mail, as a phone shows it
        assert no_horizontal_scroll(page)
        results["feedback-ready e-mail (phone)"] = run_axe(page)
        page.screenshot(path=str(screenshots / "axe-feedback-ready-e-mail-phone.png"), full_page=True)
        page.goto(seeded["view"])  # its link
        check(page, "candidate /me/view (phone)", "What the companies shared with you")
        expect(page.get_by_role("table")).to_have_count(2)  # the summary and the application's bands
        expect(page.get_by_text("About the role, not about you")).to_be_visible()

        page = desktop.new_page()
        page.goto(live.url("/login"))
        check(page, "login", "Sign in")
        sign_in(page, live, COMPANY_USER)
        page.wait_for_url(seeded["dashboard"])
        expect(page.locator("svg.chart[role=img][aria-labelledby^=month-chart]")).to_be_visible()
        check(page, "company dashboard", COMPANY)
    finally:
        phone.close()
        desktop.close()

    (artefact_dir() / f"axe-{database_name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\naxe-core {AXE_VERSION} on {database_name}: violations per page")
    for name, found in results.items():
        violations = found["violations"]
        summary = ", ".join(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes)" for v in violations) or "none"
        review = ", ".join(v["id"] for v in found["incomplete"]) or "-"
        print(f"  {name}: {summary} ({len(found['passes'])} rules passed; needs review: {review})")
        for violation in violations:
            print(f"      {violation['id']}: {violation['help']} -> {violation['nodes'][:3]}")
    blocking = {name: [v for v in found["violations"] if v["impact"] in BLOCKING_IMPACTS]
                for name, found in results.items()}
    assert all(not found for found in blocking.values()), blocking


def test_axe_reports_what_it_should_on_a_broken_page(chromium):
    """The vendored axe-core really runs: a page with known faults yields them as violations."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content('<html><body><img src="data:,"><input type="text">'
                         '<p style="color:#ccc;background:#fff">faint</p></body></html>')
        found = {v["id"]: v["impact"] for v in run_axe(page)["violations"]}
    finally:
        context.close()
    assert found.get("image-alt") == "critical" and found.get("label") == "critical", found
    assert found.get("color-contrast") == "serious" and found.get("html-has-lang") == "serious", found



PHONE_SCREEN = 844


def test_the_candidate_form_on_a_phone_starts_in_the_email_keeps_a_draft_and_leads_to_its_errors(
        live, chromium, seeded, smtp_server, database_name):
    """Issue 18 at 390 x 844: the e-mail's score opens the form with it chosen; the 0–10 scale is one
    row; the form above the free-text question is at most two screens; no "Sign in"; a reload keeps
    the choices; a bad submit focuses an error summary whose links lead to the questions; only the
    submission records that it started in the e-mail."""
    screenshots = artefact_dir("screenshots", database_name)
    (invitation,) = messages_to(smtp_server, "c5@example.org")
    html = invitation.get_body(preferencelist=("html",)).get_content()
    text = invitation.get_body(preferencelist=("plain",)).get_content()
    phone = chromium.new_context(**PHONE)
    try:
        page = phone.new_page()
        assert page.goto(seeded["survey"] + "?nps=8").status == 200  # a tap on "8" in the e-mail
        assert page.get_by_role("radio", name="8", exact=True).is_checked()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                                 .where(Response.started_from_email)) == 0  # opening records nothing
        assert no_horizontal_scroll(page)
        rows = page.eval_on_selector_all(".options-nps .option", "els => els.map(e => e.getBoundingClientRect().top)")
        assert len(rows) == 11 and len(set(rows)) == 1  # the 0–10 scale in one row
        above_text = page.evaluate(
            "() => document.getElementById('improve-group').getBoundingClientRect().top + window.scrollY")
        page.screenshot(path=str(screenshots / "phone-form-whole.png"), full_page=True)
        height = page.evaluate("() => document.documentElement.scrollHeight")
        (artefact_dir() / f"phone-form-{database_name}.json").write_text(
            json.dumps({"above_free_text_px": above_text, "page_height_px": height}) + "\n")
        assert above_text <= 2 * PHONE_SCREEN, above_text
        assert page.get_by_role("link", name="Sign in").count() == 0
        expect(page.locator("[data-progress]")).to_contain_text("1 of")
        page.screenshot(path=str(screenshots / "phone-form-from-email.png"))
        targets = page.eval_on_selector_all(
            ".scale-point", "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
        assert targets and all(w >= 44 and h >= 44 for w, h in targets)  # agree/disagree: 44 px targets
        group = page.get_by_role("radiogroup", name=re.compile("kept informed", re.I))
        group.get_by_role("radio", name="Agree", exact=True).tap()
        expect(page.locator("[data-progress]")).to_contain_text("2 of")

        page.reload()  # a reload, or coming back later in the same browser, finds the choices made
        assert page.get_by_role("radio", name="8", exact=True).is_checked()
        assert group.get_by_role("radio", name="Agree", exact=True).is_checked()
        page.goto(seeded["survey"])
        assert group.get_by_role("radio", name="Agree", exact=True).is_checked()

        fresh = chromium.new_context(**PHONE).new_page()  # another browser: nothing kept, a bad submit
        fresh.goto(seeded["survey"])
        fresh.screenshot(path=str(screenshots / "phone-form-first-screen.png"))
        fresh.get_by_role("button", name="Send my answers").tap()
        summary = fresh.locator("#error-summary")
        expect(summary).to_be_focused()
        assert fresh.title().startswith("Error:")
        link = summary.get_by_role("link").first
        assert link.get_attribute("href") == "#nps-0"
        nps_group = fresh.locator("#nps-group")
        assert nps_group.get_attribute("aria-invalid") == "true"
        assert nps_group.get_attribute("aria-required") == "true"
        assert "nps-errors" in nps_group.get_attribute("aria-describedby")
        fresh.screenshot(path=str(screenshots / "phone-form-errors.png"))
        link.tap()
        expect(fresh.locator("#nps-0")).to_be_focused()
        fresh.context.close()

        page.get_by_role("button", name="Send my answers").tap()  # the draft's answers, sent
        expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(screenshots / "phone-thanks.png"))
        assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('feedback-draft:')).length") == 0
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                                 .where(Response.started_from_email)) == 1

        mail = phone.new_page()  # a blank page: the app's CSP (no inline style) is not the mail client's
        mail.set_content(html)  # the invitation as a phone shows it: eleven scores, no sideways scroll
        assert no_horizontal_scroll(mail)
        cells = mail.eval_on_selector_all("a[href*='?nps=']", "els => els.map(e => e.getBoundingClientRect().top)")
        assert len(cells) == 11 and len(set(cells)) == 1  # one row in the e-mail too
        mail.screenshot(path=str(screenshots / "phone-invitation.png"), full_page=True)
        score_links = re.findall(re.escape(seeded["survey"]) + r"\?nps=(\d+)", html)
        assert score_links == [str(n) for n in range(11)]  # in order, in the HTML part
        assert all(f"{seeded['survey']}?nps={n}" in text for n in range(11))  # and in the plain text
    finally:
        phone.close()
