"""The README's pictures, taken in a real browser on the demo data (``make screenshots``).

The demo (``feedback demo``'s loader: the 600-row sample, its mail delivered, a share answered) is
loaded into the test database and four pages are opened the way their users open them: the survey
on a phone, a company's dashboard and the recruiter's overview on a laptop, and the candidate's
view of what companies shared on a phone. Each page is checked (its heading, no sideways scroll)
before it is photographed, so a picture in the README is never of an error page.

The pictures go to artifacts/screenshots/readme-<database>/ in the test run, and to
``SCREENSHOTS_DIR`` (``make screenshots``: docs/screenshots/, shown in the README) when it is set.
"""
from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from browser_support import PHONE, artefact_dir, no_horizontal_scroll
from conftest import ROOT
from playwright import sync_api

from feedback.demo import DEMO_PASSWORD, load_demo
from feedback.extensions import db
from feedback.models import Application, Candidate, FeedbackRequest, User
from feedback.tokens import candidate_view_token, feedback_link_token

expect = sync_api.expect
LAPTOP = {"viewport": {"width": 1366, "height": 900}}


def _pictures_dir(database_name: str) -> Path:
    wanted = os.environ.get("SCREENSHOTS_DIR")
    if wanted:
        path = (ROOT / wanted).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return artefact_dir("screenshots", f"readme-{database_name}")


def _demo_pages(live) -> dict[str, str]:
    """The demo's data and the addresses of the pages to photograph (tokens as the e-mails carry)."""
    with live.app.app_context():
        assert load_demo(0.6) is not None
        # The README's pictures are in English: of the demo's candidates, one who named no language.
        open_request = db.session.scalar(
            sa.select(FeedbackRequest.id).join(Application, Application.id == FeedbackRequest.application_id)
            .where(FeedbackRequest.audience == "candidate", FeedbackRequest.answered_at.is_(None),
                   FeedbackRequest.first_sent_at.is_not(None), Application.locale.is_(None))
            .order_by(FeedbackRequest.id))
        # The candidate with the most feedback given about them: their view has the most to show.
        candidate_id = db.session.scalar(
            sa.select(Application.candidate_id)
            .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
            .join(Candidate, Candidate.id == Application.candidate_id)
            .where(FeedbackRequest.audience == "company", FeedbackRequest.answered_at.is_not(None),
                   Candidate.locale.is_(None))
            .group_by(Application.candidate_id).order_by(sa.func.count().desc(), Application.candidate_id).limit(1))
        company = db.session.scalar(sa.select(User).where(User.email == "company@demo.example")).company
        return {
            "survey": live.url(f"/f/{feedback_link_token(open_request)}"),
            "view": live.url(f"/me/view/{candidate_view_token(candidate_id)}"),
            "dashboard": live.url(f"/companies/{company.id}/dashboard"),
            "company": company.name,
        }


def _sign_in(page, live, address: str) -> None:
    page.goto(live.url("/login"))
    page.fill("#email", address)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_the_readme_pictures_show_the_four_main_pages_on_the_demo_data(live, chromium, database_name):
    pages = _demo_pages(live)
    pictures = _pictures_dir(database_name)
    phone = chromium.new_context(**(PHONE | {"device_scale_factor": 2}))  # sharp enough, half the bytes
    laptop = chromium.new_context(**LAPTOP)
    recruiter = chromium.new_context(**LAPTOP)

    def photograph(page, name: str, heading: str, whole: bool = True) -> None:
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        assert no_horizontal_scroll(page), name
        page.screenshot(path=str(pictures / f"{name}.png"), full_page=whole)

    try:
        page = phone.new_page()
        assert page.goto(pages["survey"]).status == 200
        photograph(page, "survey-phone", "How did the hiring process feel?")
        assert page.goto(pages["view"]).status == 200
        expect(page.get_by_role("table").first).to_be_visible()
        photograph(page, "candidate-view-phone", "What the companies shared with you")

        page = laptop.new_page()
        _sign_in(page, live, "company@demo.example")
        page.wait_for_url(pages["dashboard"])
        expect(page.locator("svg.chart").first).to_be_visible()
        photograph(page, "dashboard", pages["company"], whole=False)  # the first screen: the pages are long

        page = recruiter.new_page()
        _sign_in(page, live, "recruiter@demo.example")
        page.goto(live.url("/recruiter/"))
        photograph(page, "recruiter-overview", "Your companies", whole=False)
    finally:
        for context in (phone, laptop, recruiter):
            context.close()

    taken = sorted(path.name for path in pictures.glob("*.png"))
    assert {"survey-phone.png", "candidate-view-phone.png", "dashboard.png", "recruiter-overview.png"} <= set(taken)
