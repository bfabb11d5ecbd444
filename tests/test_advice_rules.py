"""The flags a recruiter sees on advice before approving it (feedback/advice_rules.py, a pure function)."""
import pytest
from conftest import csrf_token, links_in, outcome_row

from feedback.advice_rules import advice_flags


@pytest.mark.parametrize("text, kind, shown", [
    ("Call me on +49 170 1234567 to talk.", "phone", "+49 170 1234567"),
    ("Ring (555) 123-4567 any time.", "phone", "(555) 123-4567"),
    ("Write to jane.doe@example.org for tips.", "email", "jane.doe@example.org"),
    ("See www.example.com for exercises.", "web", "www.example.com"),
    ("Read https://example.org/guide first.", "web", "https://example.org/guide"),
    ("Frankly you seemed too old for our young team.", "protected", "age"),
    ("We worried about her pregnancy.", "protected", "pregnancy"),
    ("Your religion would not fit the rota.", "protected", "religion"),
    ("We wanted a native speaker.", "protected", "nationality"),
    ("Not a culture fit.", "protected", "culture fit"),
])
def test_flags_with_reason(text, kind, shown):
    flags = advice_flags(text)
    assert any(flag.kind == kind and shown in flag.reason for flag in flags), flags


@pytest.mark.parametrize("text", [
    "Practise system design for 2 weeks.",
    "Build one project in 2026 and show it; aim for 10-15 hours a week.",
    "Learn ASP.NET and Node.js; Socket.io is a plus.",
    "Between 2019-2023 you used Java; from 2026-01-15 try Kotlin.",
    "",
])
def test_no_false_flags_on_ordinary_advice(text):
    assert advice_flags(text) == []


def test_the_review_page_shows_each_flag_with_its_reason_and_the_stage_label(web, import_csv, runner, smtp_server,
                                                                            make_user, sign_in):
    """A contact's advice holding a phone number and an address is marked on the review page, with why."""
    assert import_csv([outcome_row(candidate_email="ana@example.org", company_contact_email="hm@acme.example.com",
                                   stage="interview")]).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (message,) = [m for m in smtp_server.messages if m["To"] == "hm@acme.example.com"]
    (path,) = links_in(message)
    contact = web.test_client()
    page = contact.get(path)
    answered = contact.post(path, data={
        "csrf_token": csrf_token(page.text), "reasons": ["technical_skills"], "technical_skills": "2",
        "relevant_experience": "3", "communication_skills": "3", "problem_solving": "2", "reconsider": "yes",
        "strengthen": "Call me on +49 170 1234567 or see www.example.com for the exercise."})
    assert answered.status_code == 200, answered.text
    make_user("admin@feedback.example", "admin")
    listing = sign_in("admin@feedback.example").get("/recruiter/reviews").text
    assert "Check before approving" in listing
    assert "Looks like a phone number" in listing and "+49 170 1234567" in listing
    assert "www.example.com" in listing.split("Check before approving")[1]
    assert "ended at Interview" in listing
