"""Tenant scoping: every route × every role, generated from ``app.url_map`` so no route is forgotten.

Two companies, A and B, each with imported applications, sent e-mails, an answered company-contact
survey (so an AdviceReview each) and an import batch made by its own recruiter. Every URL is filled
with company A's objects. Another tenant's object answers 404, a route the role may not use 403, and
an anonymous visitor is sent to /login. Token routes are not tenant-scoped: the token is the key.

Requests go to ``web`` (conftest.py): each gets an app context of its own, as in production.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from conftest import company_named, csrf_token, links_in, outcome_row
from flask import url_for

from feedback.extensions import db
from feedback.models import AdviceReview, Application, Candidate, FeedbackRequest, ImportBatch, OutboxMessage
from feedback.services.connectors import create_connector
from feedback.services.outgoing_webhooks import create_endpoint
from feedback.tokens import candidate_view_token, contact_token, unsubscribe_token

A = "Acme Robotics"
B = "Borealis Logistics"
CONTACT_A = "hiring@acme-robotics.example.com"
CONTACT_B = "hiring@borealis.example.com"
ADVICE = {A: "Acme-advice: practise system design.", B: "Borealis-advice: learn route planning."}

ROLES = ("admin", "recruiter_a", "recruiter_b", "company_a", "company_b", "anonymous")
USERS = {
    "admin": ("admin@feedback.example", "admin", ()),
    "recruiter_a": ("recruiter.a@feedback.example", "recruiter", (A,)),
    "recruiter_b": ("recruiter.b@feedback.example", "recruiter", (B,)),
    "company_a": ("people@acme-robotics.example.com", "company", (A,)),
    "company_b": ("people@borealis.example.com", "company", (B,)),
}
# What each role must never see outside token pages: the other tenant's name and advice.
FORBIDDEN = {
    "admin": (),
    "recruiter_a": (B,),
    "recruiter_b": (A,),
    "company_a": (B,),
    "company_b": (A,),
    "anonymous": (A, B),
}

# Routes whose URL carries a signed token: the token is the credential, not the session.
TOKEN_ENDPOINTS = {"survey.answer", "survey.renew", "unsubscribe.unsubscribe", "candidate.view", "candidate.export",
                   "survey.contact"}

# An expected outcome is a status code, or a path string: a 302 redirect to that path.
LOGIN = "/login"
LANDING = {
    "admin": "/recruiter/", "recruiter_a": "/recruiter/", "recruiter_b": "/recruiter/",
    "company_a": "/companies/{company_a}/dashboard", "company_b": "/companies/{company_b}/dashboard",
}


def same(outcome) -> dict:
    return dict.fromkeys(ROLES, outcome)


def by_role(admin, recruiter_a, recruiter_b, company_a, company_b, anonymous) -> dict:
    return dict(zip(ROLES, (admin, recruiter_a, recruiter_b, company_a, company_b, anonymous)))


SIGNED_IN_ANY = by_role(200, 200, 404, 200, 404, LOGIN)  # A's company pages
STAFF_PAGE = by_role(200, 200, 200, 403, 403, LOGIN)  # recruiter pages that name no object

EXPECTED: dict[tuple[str, str], dict] = {
    ("pages.home", "GET"): same(200),
    ("pages.healthz", "GET"): same(200),
    ("pages.favicon", "GET"): same(301),  # to the icon in static/, no 404 on every page
    ("auth.login", "GET"): {**LANDING, "anonymous": 200},
    ("auth.login", "POST"): {**LANDING, "anonymous": 400},  # only a CSRF token: the form is incomplete
    ("auth.logout", "POST"): same(LOGIN),
    ("auth.language", "POST"): same(400),  # only a CSRF token: no language chosen
    ("survey.answer", "GET"): same(200),
    ("survey.answer", "POST"): same(400),  # no answers: the form comes back with errors
    ("survey.renew", "POST"): same(202),
    ("unsubscribe.unsubscribe", "GET"): same(200),
    ("unsubscribe.unsubscribe", "POST"): same(200),
    ("candidate.ask", "GET"): same(200),
    ("candidate.ask", "POST"): same(400),
    ("candidate.view", "GET"): same(200),
    ("candidate.export", "GET"): same(200),  # the view link is the key: whoever holds it, signed in or not
    ("survey.contact", "GET"): same(200),  # a contact's page: its signed link is the key, like /f/
    ("dashboard.company", "GET"): SIGNED_IN_ANY,
    ("dashboard.export_aggregate", "GET"): SIGNED_IN_ANY,
    ("dashboard.export_comments", "GET"): SIGNED_IN_ANY,
    ("dashboard.export_aggregate_xlsx", "GET"): SIGNED_IN_ANY,
    ("dashboard.export_comments_xlsx", "GET"): SIGNED_IN_ANY,
    ("recruiter.overview", "GET"): STAFF_PAGE,
    ("recruiter.upload", "GET"): STAFF_PAGE,
    ("recruiter.upload", "POST"): by_role(400, 400, 400, 403, 403, LOGIN),  # no file chosen
    ("recruiter.confirm_upload", "POST"): by_role("/recruiter/upload", "/recruiter/upload", "/recruiter/upload",
                                                  403, 403, LOGIN),
    ("recruiter.batch", "GET"): by_role(200, 200, 404, 403, 403, LOGIN),
    ("recruiter.cancel_batch", "POST"): by_role("/recruiter/batches/{batch_a}", "/recruiter/batches/{batch_a}", 404,
                                                403, 403, LOGIN),
    ("recruiter.cancel_batch", "GET"): by_role(200, 200, 404, 403, 403, LOGIN),  # the confirmation, with the count
    ("recruiter.requeue_batch", "POST"): by_role("/recruiter/batches/{batch_a}", "/recruiter/batches/{batch_a}", 404,
                                                 403, 403, LOGIN),
    ("recruiter.connectors", "GET"): STAFF_PAGE,
    ("recruiter.connectors", "POST"): by_role(400, 400, 400, 403, 403, LOGIN),  # no company or kind chosen
    ("recruiter.revoke_ats_connector", "POST"): by_role("/recruiter/connectors", "/recruiter/connectors", 404,
                                                        403, 403, LOGIN),
    ("recruiter.webhooks", "GET"): STAFF_PAGE,
    ("recruiter.webhooks", "POST"): by_role(400, 400, 400, 403, 403, LOGIN),  # no company or address given
    ("recruiter.revoke_webhook", "POST"): by_role("/recruiter/webhooks", "/recruiter/webhooks", 404, 403, 403, LOGIN),
    # sorted by endpoint, revoke_webhook has revoked endpoint A before this runs: 409, "nothing is sent to it"
    ("recruiter.test_webhook", "POST"): by_role(409, 409, 404, 403, 403, LOGIN),
    ("recruiter.companies", "GET"): STAFF_PAGE,
    ("recruiter.company_language", "POST"): by_role(400, 400, 404, 403, 403, LOGIN),  # no language chosen
    ("recruiter.remind_contact", "POST"): by_role(400, 400, 400, 403, 403, LOGIN),  # no contact named
    ("recruiter.reviews", "GET"): STAFF_PAGE,
    ("recruiter.review", "POST"): by_role("/recruiter/reviews", "/recruiter/reviews", 404, 403, 403, LOGIN),
    ("recruiter.approve_unflagged", "POST"): by_role(400, 400, 400, 403, 403, LOGIN),  # no reviews listed
    ("recruiter.reopen_review", "POST"): by_role(409, 403, 403, 403, 403, LOGIN),  # admins only; a pending one: 409
    ("admin.audit", "GET"): by_role(200, 403, 403, 403, 403, LOGIN),
    # the API ignores session cookies: without a bearer key every role gets 401 (keys: tests/test_api.py)
    ("api.openapi", "GET"): same(200),
    ("api.companies", "GET"): same(401),
    ("api.create_outcomes", "POST"): same(401),
    ("api.list_requests", "GET"): same(401),
    ("api.report", "GET"): same(401),
    ("api.outcome_webhook", "POST"): same(503),  # no WEBHOOK_SECRET in tests (signed events: tests/test_webhook.py)
    ("hooks.hook", "POST"): same(401),  # a connector's events are signed with its secret, whoever posts them
    # the dev mailbox exists only in dev mode: not in tests, for nobody
    ("devmail.index", "GET"): same(404),
    ("devmail.show", "GET"): same(404),
    ("devmail.html_part", "GET"): same(404),
}


# --- the two tenants --------------------------------------------------------------------------

def answer_company_survey(client, message, strengthen: str) -> None:
    (path,) = links_in(message)
    page = client.get(path)
    assert page.status_code == 200
    answered = client.post(path, data={
        "csrf_token": csrf_token(page.text), "reasons": ["technical_skills"], "technical_skills": "2",
        "relevant_experience": "3", "communication_skills": "3", "problem_solving": "2",
        "strengthen": strengthen, "reconsider": "yes",
    }, follow_redirects=True)
    assert answered.status_code == 200, answered.text


@pytest.fixture
def world(web, import_csv, runner, smtp_server, make_user) -> dict:
    """Companies A and B with data; the users of every role; the ids that fill the URLs."""
    rows_a = [
        outcome_row(candidate_email="a1@example.org", application_ref="A-1"),
        outcome_row(candidate_email="a2@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="A-2"),
    ]
    rows_b = [
        outcome_row(company=B, company_contact_email=CONTACT_B, candidate_email="b1@example.org",
                    position="Dispatcher", application_ref="B-1"),
        outcome_row(company=B, company_contact_email="", candidate_email="b2@example.org", position="Dispatcher",
                    outcome="withdrew", application_ref="B-2"),
    ]
    for rows in (rows_a, rows_b):  # one import batch per company
        imported = import_csv(rows)
        assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output

    browser = web.test_client()
    for contact, name in ((CONTACT_A, A), (CONTACT_B, B)):
        (message,) = [m for m in smtp_server.messages if m["To"] == contact]
        answer_company_survey(browser, message, ADVICE[name])

    db.session.rollback()
    company_a, company_b = company_named(A), company_named(B)
    users = {}
    for role, (email, kind, names) in USERS.items():
        users[role] = make_user(email, kind, *names)
    batches = {}
    for role, company in (("recruiter_a", company_a), ("recruiter_b", company_b)):
        batch_id = db.session.scalar(
            sa.select(Application.import_batch_id).where(Application.company_id == company.id).limit(1))
        db.session.get(ImportBatch, batch_id).created_by_id = users[role].id
        batches[company.name] = batch_id
    assert batches[A] != batches[B]
    reviews = {company.name: db.session.scalar(sa.select(AdviceReview.id).where(AdviceReview.company_id == company.id))
               for company in (company_a, company_b)}
    assert reviews[A] and reviews[B]
    connector_a = create_connector("generic", company_a).connector.id
    endpoint_a = create_endpoint(company_a, "https://hooks.acme-robotics.example.com/feedback")[0].id
    db.session.commit()

    (live_a,) = [m for m in smtp_server.messages if m["To"] == "a2@example.org"]  # never answered
    (live_link,) = links_in(live_a)
    candidate_a = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == "a1@example.org"))
    message_a = db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.to_address == "a1@example.org").limit(1))
    return {
        "company_a": company_a.id, "company_b": company_b.id,
        "batch_a": batches[A], "batch_b": batches[B],
        "review_a": reviews[A], "review_b": reviews[B],
        "users": {role: user.email for role, user in users.items()},
        "values": {
            "company_id": company_a.id,
            "batch_id": batches[A],
            "review_id": reviews[A],
            "message_id": message_a,
            "connector_id": connector_a,
            "endpoint_id": endpoint_a,
            "kind": "generic",
        },
        "tokens": {
            "survey.answer": live_link.removeprefix("/f/"),
            "survey.renew": live_link.removeprefix("/f/"),
            "unsubscribe.unsubscribe": unsubscribe_token("nobody-in-particular@example.org"),
            "candidate.view": candidate_view_token(candidate_a),
            "candidate.export": candidate_view_token(candidate_a),
            "survey.contact": contact_token(db.session.scalar(
                sa.select(FeedbackRequest.id).join(Application).where(
                    FeedbackRequest.audience == "company", Application.company_id == company_a.id).limit(1))),
        },
    }


def route_cases(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every rule but static; GET and POST where allowed. Logout last."""
    cases = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in ("GET", "POST"):
            if method in rule.methods:
                cases.append((rule.endpoint, method, rule))
    return sorted(cases, key=lambda case: (case[0] == "auth.logout", case[0], case[1]))


def url_of(app, world: dict, endpoint: str, rule) -> str:
    values = {}
    for argument in rule.arguments:
        if argument == "token":
            values[argument] = world["tokens"][endpoint]
        else:
            assert argument in world["values"], f"{endpoint}: no test object for <{argument}>; add one"
            values[argument] = world["values"][argument]
    with app.test_request_context():
        return url_for(endpoint, **values)


def outcome_of(response) -> object:
    if response.status_code == 302:
        return urlsplit(response.headers["Location"]).path
    return response.status_code


# --- the tests --------------------------------------------------------------------------------

def test_every_route_is_classified(app):
    """A new route (or a new method on one) fails here until it has a row in EXPECTED."""
    found = {(endpoint, method) for endpoint, method, _rule in route_cases(app)}
    assert found - set(EXPECTED) == set(), "routes without an expected status per role: classify them"
    assert set(EXPECTED) - found == set(), "EXPECTED names routes the app no longer has"
    for key, expected in EXPECTED.items():
        assert set(expected) == set(ROLES), key


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(web, world, sign_in, role):
    client = web.test_client() if role == "anonymous" else sign_in(world["users"][role])
    token = csrf_token(client.get("/me").text)  # one CSRF token per session, good for every form
    ids = {key: world[key] for key in ("company_a", "company_b", "batch_a", "batch_b")}
    forbidden = [text for name in FORBIDDEN[role] for text in (name, ADVICE[name])]

    mismatches = []
    cases = route_cases(web)
    for endpoint, method, rule in cases:
        url = url_of(web, world, endpoint, rule)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        if (endpoint, method) not in EXPECTED:
            mismatches.append(f"{method} {url} ({endpoint}): not in EXPECTED; classify it")
            continue
        expected = EXPECTED[(endpoint, method)][role]
        if isinstance(expected, str):
            expected = expected.format(**ids)
        actual = outcome_of(response)
        if actual != expected:
            mismatches.append(f"{method} {url} ({endpoint}): expected {expected!r}, got {actual!r}")
        if expected == LOGIN and role == "anonymous":
            location = urlsplit(response.headers.get("Location", ""))
            if urlsplit(parse_qs(location.query).get("next", [""])[0]).path != urlsplit(url).path:
                mismatches.append(f"{method} {url}: the login redirect does not come back here ({location})")
        if endpoint not in TOKEN_ENDPOINTS:
            body = response.get_data().decode("utf-8", "replace")  # an XLSX is a zip: its names are compressed
            mismatches.extend(f"{method} {url}: shows {text!r} to {role}" for text in forbidden if text in body)
    assert not mismatches, "\n".join(mismatches)


def test_company_b_never_sees_company_a(world, sign_in):
    client = sign_in(world["users"]["company_b"])
    a = world["company_a"]
    for path in (f"/companies/{a}/dashboard", f"/companies/{a}/export/aggregate.csv",
                 f"/companies/{a}/export/comments.csv", f"/companies/{a}/export/aggregate.xlsx",
                 f"/companies/{a}/export/comments.xlsx", f"/companies/{a}/dashboard?stage=interview"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert A not in response.text and "Acme" not in response.text
    # its own dashboard, filtered by one of A's positions, still shows only B
    position_a = db.session.scalar(sa.select(Application.position_id).where(Application.company_id == a).limit(1))
    own = client.get(f"/companies/{world['company_b']}/dashboard?position={position_a}")
    assert own.status_code == 200
    assert B in own.text
    assert A not in own.text and "QA Engineer" not in own.text


def test_listings_are_scoped(world, sign_in):
    """Overview, batch lists and the review queue list only the user's companies."""
    seen = {}
    for role in ("admin", "recruiter_a", "recruiter_b"):
        client = sign_in(world["users"][role])
        seen[role] = client.get("/recruiter/").text + client.get("/recruiter/reviews").text
    for name, batch, review in ((A, world["batch_a"], world["review_a"]), (B, world["batch_b"], world["review_b"])):
        assert name in seen["admin"] and ADVICE[name] in seen["admin"]
        assert f"/recruiter/batches/{batch}\"" in seen["admin"]
        assert f"/recruiter/reviews/{review}\"" in seen["admin"]
    for role, own, other in (("recruiter_a", A, B), ("recruiter_b", B, A)):
        own_key, other_key = ("a", "b") if own == A else ("b", "a")
        assert own in seen[role] and ADVICE[own] in seen[role]
        assert f"/recruiter/batches/{world['batch_' + own_key]}\"" in seen[role]
        assert other not in seen[role] and ADVICE[other] not in seen[role]
        assert f"/recruiter/batches/{world['batch_' + other_key]}\"" not in seen[role]
        assert f"/recruiter/reviews/{world['review_' + other_key]}\"" not in seen[role]
