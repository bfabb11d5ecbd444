"""The advice review page in Chromium: a recruiter sees the queue, approves one item with its own
button, approves the rest of the unflagged advice in bulk, and the page has no axe violation.

A picture of the queue before any decision, review.png (1366x900), goes to artifacts/proof/
(PROOF_DIR=docs/proof-19 writes the committed copy).
"""
from __future__ import annotations

from browser_support import BLOCKING_IMPACTS, proof_dir, run_axe, sign_in
from playwright import sync_api
from test_review_journey import ADVICE, FLAGGED, RECRUITER, make_queue, status

expect = sync_api.expect
LAPTOP = {"viewport": {"width": 1366, "height": 900}}


def test_recruiter_reviews_one_item_then_the_rest_in_bulk(live, chromium, import_csv, runner, smtp_server,
                                                           make_user):
    queue = make_queue(live.app.test_client(), import_csv, runner, smtp_server, make_user)
    first, second = queue["hm1@acme-robotics.example.com"], queue["hm2@acme-robotics.example.com"]
    context = chromium.new_context(bypass_csp=True, **LAPTOP)  # bypass_csp: axe-core is injected
    try:
        page = context.new_page()
        sign_in(page, live, RECRUITER)
        page.goto(live.url("/recruiter/reviews"))
        expect(page.get_by_role("heading", name="Advice to review", exact=True)).to_be_visible()
        items = page.locator("form.review")
        expect(items).to_have_count(3)
        heights = [box["height"] for box in (items.nth(i).bounding_box() for i in range(3))]
        assert max(heights) < 520, heights
        expect(page.get_by_text("Check before approving")).to_have_count(1)
        page.screenshot(path=str(proof_dir() / "review.png"), full_page=True)

        found = run_axe(page)
        blocking = [v for v in found["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert found["violations"] == [], found["violations"]
        assert not blocking

        item = page.locator(f'form[action="/recruiter/reviews/{first}"]')
        item.get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_text("Advice approved.")).to_be_visible()
        assert status(first) == ("approved", ADVICE["hm1@acme-robotics.example.com"])
        expect(page.locator("form.review")).to_have_count(2)

        page.get_by_role("button", name="Approve all 1 unflagged as written").click()
        expect(page.get_by_text("1 approved; 1 flagged left for you to read.")).to_be_visible()
        assert status(second)[0] == "approved"
        assert status(queue[FLAGGED]) == ("pending", None)
        expect(page.locator("form.review")).to_have_count(1)
        expect(page.get_by_role("button", name="unflagged as written")).to_have_count(0)
        assert run_axe(page)["violations"] == []
    finally:
        context.close()
