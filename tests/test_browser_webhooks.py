"""The webhooks page in Chromium on a phone and in Arabic: a recruiter creates an endpoint with one
event, sees its secret once, sends it a test, and the page (form, notice, table) has no axe violation and no
sideways scroll of the page itself (the table scrolls in its own region). A picture after the
creation, webhooks-phone.png, goes to artifacts/proof/."""
from __future__ import annotations

import re

from browser_support import PHONE, no_horizontal_scroll, proof_dir, run_axe, sign_in
from conftest import outcome_row
from playwright import sync_api

expect = sync_api.expect
RECRUITER = "recruiter.acme@feedback.example"


def test_a_recruiter_creates_a_webhook_endpoint_on_a_phone(live, chromium, import_csv, make_user):
    assert import_csv([outcome_row()]).exit_code == 0
    make_user(RECRUITER, "recruiter", "Acme Robotics")
    context = chromium.new_context(bypass_csp=True, **PHONE)  # bypass_csp: axe-core is injected
    try:
        page = context.new_page()
        sign_in(page, live, RECRUITER)
        page.goto(live.url("/recruiter/webhooks"))
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        assert run_axe(page)["violations"] == []
        page.get_by_label("Address (https://)").fill("https://hooks.acme-robotics.example.com/feedback")
        page.get_by_role("checkbox", name=re.compile("^feedback.overdue")).uncheck()
        page.get_by_role("button", name="Create the endpoint").tap()
        expect(page.get_by_role("status")).to_contain_text("Copy the secret now")
        expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]{32}$"))
        expect(page.get_by_role("cell", name="response.created", exact=True)).to_be_visible()
        assert no_horizontal_scroll(page)
        assert run_axe(page)["violations"] == []
        page.screenshot(path=str(proof_dir() / "webhooks-phone.png"), full_page=True)

        page.get_by_role("button", name="Send a test to #1").tap()  # the secret is not shown again
        expect(page.get_by_text("A test webhook for endpoint #1 is queued")).to_be_visible()
        expect(page.locator("#webhook-secret")).to_have_count(0)
        assert run_axe(page)["violations"] == []
        page.select_option("#language-choice", "ar")
        page.get_by_role("button", name="Change").tap()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("heading", name="نقطة استقبال جديدة")).to_be_visible()
        assert no_horizontal_scroll(page)
        assert run_axe(page)["violations"] == []
    finally:
        context.close()
