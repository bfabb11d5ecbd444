"""The company dashboard in Chromium, on a laptop (1366x900) and a phone (390x844): no sideways
scrolling, the filter's inputs on one line on the laptop, a reversed month range explained, and no
axe violation. Pictures, dashboard-desktop.png and dashboard-phone.png, go to artifacts/proof/
(PROOF_DIR=docs/proof-19 writes the committed copies), and the
first rows of the figures XLSX, as openpyxl reads them, to export-rows.txt beside them.
"""
from __future__ import annotations

import io

import pytest
from browser_support import PHONE, proof_dir, run_axe, sign_in, signed_in_client
from conftest import ADMIN
from openpyxl import load_workbook
from playwright import sync_api
from test_dashboard import (
    answer_as_contact,
    answer_candidate,
    company_id,
    import_candidates,
    import_declined,
)

expect = sync_api.expect
LAPTOP = {"viewport": {"width": 1366, "height": 900}}
VIEWPORTS = {"desktop": LAPTOP, "phone": PHONE}


@pytest.fixture
def dashboard(live, import_csv, runner, smtp_server, make_user) -> str:
    """A company with five candidate answers and five of its contacts' answers: every section shows."""
    import_candidates(import_csv, runner)
    import_declined(import_csv, runner)
    browser = live.app.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
        answer_as_contact(browser, smtp_server, number)
    make_user(ADMIN, "admin")
    return f"/companies/{company_id()}/dashboard"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("name", VIEWPORTS)
def test_dashboard_fits_aligns_explains_a_reversed_range_and_passes_axe(live, chromium, dashboard, name):
    context = chromium.new_context(bypass_csp=True, **VIEWPORTS[name])  # bypass_csp: axe-core is injected
    try:
        page = context.new_page()
        sign_in(page, live, ADMIN)
        page.goto(live.url(dashboard))
        expect(page.get_by_role("heading", name="The feedback you gave", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Each question", exact=True)).to_be_visible()
        expect(page.locator("#open-to-future")).to_contain_text("Open to future roles")
        assert no_horizontal_scroll(page), name

        boxes = [page.locator(selector).bounding_box() for selector in ("#f-from", "#f-to", "#f-position", "#f-stage")]
        if name == "desktop":
            assert len({round(box["y"]) for box in boxes}) == 1, boxes
            assert len({round(box["y"] + box["height"]) for box in boxes}) == 1, boxes
        assert all(box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[name]["viewport"]["width"] for box in boxes)
        page.screenshot(path=str(proof_dir() / f"dashboard-{name}.png"), full_page=True)
        found = run_axe(page)
        assert found["violations"] == [], found["violations"]

        page.fill("#f-from", "2026-12")
        page.fill("#f-to", "2026-10")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#range-error")).to_contain_text('is after the "To month"')
        expect(page.locator("#range-error")).to_contain_text("swap the two months")
        assert no_horizontal_scroll(page), name
        assert run_axe(page)["violations"] == []
    finally:
        context.close()


def test_figures_xlsx_rows_as_a_spreadsheet_reads_them(live, dashboard):
    """The first ten rows of the figures workbook, as openpyxl reads them, for the record."""
    admin = signed_in_client(live, ADMIN)
    response = admin.get(dashboard.replace("/dashboard", "/export/aggregate.xlsx"))
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))[:10]
    assert rows[0] == ("breakdown", "group", "measure", "n", "value", "benchmark", "status")
    assert rows[2][:5] == ("overall", "all", "nps", 5, 20)
    (proof_dir() / "export-rows.txt").write_text("".join(f"{row!r}\n" for row in rows), encoding="utf-8")
