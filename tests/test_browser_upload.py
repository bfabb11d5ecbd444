"""The upload journey in Chromium, at a laptop's width and on a phone: a recruiter of half the
sample's companies uploads ../shared/data/outcomes-sample.csv (the copy in demo/), reads the grouped
problems and the plan, imports the valid rows, opens the batch page with its rows, is asked before
cancelling, and is told that a re-upload is known. axe-core finds no violation on any of the pages.

Pictures for the README and the issue's proof, upload-preview.png and batch.png, go to artifacts/proof/
(PROOF_DIR=docs/proof-19 writes the committed copies).
"""
from __future__ import annotations

import re

from browser_support import PHONE, no_horizontal_scroll, proof_dir, run_axe, sign_in
from conftest import SAMPLE_CSV
from playwright import sync_api
from test_upload_journey import RECRUITER, SAMPLE_ROWS, THEIRS, make_half

expect = sync_api.expect
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
SLOW = 30_000


def test_upload_the_sample_import_the_valid_rows_and_read_the_batch(live, chromium, make_user):
    make_half(make_user)
    mine = sum(row["company"] not in THEIRS for row in SAMPLE_ROWS)
    skipped = len(SAMPLE_ROWS) - mine
    context = chromium.new_context(bypass_csp=True, **LAPTOP)  # bypass_csp: axe-core is injected
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, live, RECRUITER)
        page.goto(live.url("/recruiter/upload"))
        page.set_input_files("input[name=file]", SAMPLE_CSV)
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(SAMPLE_CSV.name, timeout=SLOW)
        groups = page.locator(".problem-groups li")
        expect(groups).to_have_count(len(THEIRS))
        expect(groups.first).to_contain_text(re.compile(r"^\d+ lines \(\d+"))
        expect(page.locator(".problem-list")).not_to_have_attribute("open", "")  # 300 lines folded away
        expect(page.get_by_text(f"{mine} new applications, {skipped} lines with problems skipped.")).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(proof_dir() / "upload-preview.png"), full_page=True)
        assert run_axe(page)["violations"] == []

        page.get_by_role("button", name=f"Import the {mine} valid rows, skip {skipped} lines with problems").click()
        page.wait_for_url(re.compile(re.escape(live.url("/recruiter/batches/")) + r"\d+$"), timeout=SLOW)
        batch_url = page.url
        expect(page.get_by_role("heading", level=1)).to_contain_text("outcomes-sample.csv")
        expect(page.locator("table.batch-rows tbody tr")).to_have_count(50)
        expect(page.get_by_text(re.compile(r"Page 1 of \d+"))).to_be_visible()
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(proof_dir() / "batch.png"), full_page=True)
        assert run_axe(page)["violations"] == []

        page.get_by_role("link", name="Cancel the unsent e-mails…").click()
        expect(page.get_by_role("button", name=re.compile(r"^Yes, cancel \d+ e-mails$"))).to_be_visible()
        assert run_axe(page)["violations"] == []
        page.get_by_role("link", name="No, keep them").click()
        page.wait_for_url(batch_url)
        expect(page.locator(".card").filter(has_text="Cancelled").locator(".big")).to_have_text("0")

        # the same file again, on a phone: known, nothing to import
        phone = chromium.new_context(bypass_csp=True, **PHONE)
        try:
            small = phone.new_page()
            sign_in(small, live, RECRUITER)
            small.goto(live.url("/recruiter/upload"))
            small.set_input_files("input[name=file]", SAMPLE_CSV)
            small.get_by_role("button", name="Check the file").click()
            expect(small.get_by_text("Every valid row of this file is imported already")).to_be_visible(timeout=SLOW)
            expect(small.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
            assert no_horizontal_scroll(small)
            assert run_axe(small)["violations"] == []
        finally:
            phone.close()
    finally:
        context.close()
