"""Issue 21 in Chromium: the form in German and Arabic on a phone, right to left mirrored (the 0 of
the scale at the right end in Arabic), axe-core clean in both, and a French e-mail as a phone shows it.

Proof pictures go to artifacts/proof/ (PROOF_DIR=docs/proof-21 for the committed copies).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browser_support import (
    BLOCKING_IMPACTS,
    PHONE,
    link_in,
    messages_to,
    no_horizontal_scroll,
    proof_dir,
    run_axe,
    sign_in,
)
from conftest import HEADER, outcome_row
from playwright.sync_api import expect


def blocking(result: dict) -> list:
    return [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]


@pytest.fixture
def invited(live, write_csv, smtp_server) -> dict:
    """Three candidates of one company, each asked in their own language."""
    rows = [outcome_row(candidate_name=name, candidate_email=f"{tag.lower()}@example.org", application_ref=f"L-{tag}",
                        company_contact_email="", outcome="withdrew", stage="interview", locale=tag)
            for name, tag in (("Lena Wagner", "de"), ("Layla Haddad", "ar"), ("Chloé Martin", "fr"))]
    live.cli("import", str(write_csv(rows, header=[*HEADER, "locale"])))
    live.cli("send")
    pattern = live.link_pattern("/f/")
    return {tag: messages_to(smtp_server, f"{tag}@example.org")[0] for tag in ("de", "ar", "fr")} | {
        "links": {tag: link_in(messages_to(smtp_server, f"{tag}@example.org")[0], pattern) for tag in ("de", "ar")}}


def _x_of(page, selector: str) -> list[float]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getBoundingClientRect().left)")


def test_the_form_in_german_and_arabic_on_a_phone(live, chromium, invited):
    context = chromium.new_context(bypass_csp=True, **PHONE)  # axe-core is injected as an inline script
    results = {}
    try:
        page = context.new_page()
        for tag, direction in (("de", "ltr"), ("ar", "rtl")):
            assert page.goto(invited["links"][tag]).status == 200
            html = page.locator("html")
            expect(html).to_have_attribute("lang", tag)
            expect(html).to_have_attribute("dir", direction)
            assert no_horizontal_scroll(page), tag
            zero, ten = page.locator("label[for='nps-0']"), page.locator("label[for='nps-10']")
            zero_x, ten_x = zero.bounding_box()["x"], ten.bounding_box()["x"]
            # the scale reads in the language's direction: 0 at the left in German, at the right in Arabic
            assert (zero_x < ten_x) if direction == "ltr" else (zero_x > ten_x), (tag, zero_x, ten_x)
            ends = page.locator("#nps-group .scale-ends span")
            first_end, last_end = ends.nth(0).bounding_box()["x"], ends.nth(1).bounding_box()["x"]
            assert (first_end < last_end) if direction == "ltr" else (first_end > last_end)
            strongly = _x_of(page, "#communication-group .scale-point")
            assert strongly == sorted(strongly, reverse=direction == "rtl")
            switch = page.locator(".language-switch a[aria-current]")
            expect(switch).to_have_attribute("lang", tag)
            results[tag] = run_axe(page)
            page.screenshot(path=str(proof_dir() / f"form-{tag}-phone.png"), full_page=True)
        assert not {tag: blocking(result) for tag, result in results.items() if blocking(result)}

        # The Arabic form submits, and its thank-you page is Arabic too
        page.locator("label[for='nps-0']").tap()
        page.locator("form.survey button[type=submit], form button[type=submit]").last.tap()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("h1")).not_to_contain_text("Thank you")
        assert urlsplit(page.url).path.startswith("/f/")

        # The French invitation as a phone shows it
        mail = context.new_page()
        mail.set_content(invited["fr"].get_body(preferencelist=("html",)).get_content())
        expect(mail.locator("html")).to_have_attribute("lang", "fr")
        assert no_horizontal_scroll(mail)
        mail.screenshot(path=str(proof_dir() / "email-fr-phone.png"), full_page=True)
    finally:
        context.close()


def test_a_recruiter_sets_a_company_s_language_in_the_browser(live, chromium, invited, make_user):
    """The companies page of the recruiter workspace: a select per company, saved with its button;
    axe-core finds nothing serious on it."""
    make_user("recruiter@feedback.example", "recruiter", "Acme Robotics")
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live, "recruiter@feedback.example")
        page.wait_for_url(live.url("/recruiter/"))
        page.get_by_role("link", name="Companies", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Companies")
        select = page.get_by_label("Language of Acme Robotics")
        assert blocking(run_axe(page)) == []
        select.select_option("pt-BR")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_have_text("Acme Robotics: português (Brasil).")
        expect(page.get_by_label("Language of Acme Robotics")).to_have_value("pt-BR")
    finally:
        context.close()
