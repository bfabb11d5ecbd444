"""Hostile tests of the web surface: CSRF, headers, cookies, rate limits, secrets and key rotation,
oversized and malformed input, fuzzing, escaping, redirects, and tokens in gunicorn's access log.

Each test plays an attacker against the real app (the real forms, the real CLI, a real SMTP server,
a real gunicorn). Every client used here checks every redirect it receives: a Location that is not a
local path (or PUBLIC_BASE_URL) fails the test that received it.

Browsers talk to ``web`` (conftest.py, here with checked redirects) or other apps built with
``make_app``: requests to the ``app`` fixture's app would share its pushed app context (and ``g``).
"""
from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import html
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from conftest import (
    ADMIN,
    HEADER,
    PASSWORD,
    ROOT,
    company_named,
    csrf_token,
    free_port,
    links_in,
    outcome_row,
    store_unchecked_name,
)
from flask import url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape

import feedback
from feedback import config as feedback_config
from feedback.extensions import db
from feedback.models import (
    AdviceReview,
    Application,
    Candidate,
    Connector,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Response,
    Suppression,
    WebhookEndpoint,
    WebhookMessage,
)
from feedback.services.accounts import create_user
from feedback.services.connectors import create_connector
from feedback.services.outgoing_webhooks import create_endpoint
from feedback.tokens import (
    FEEDBACK_LINK_SALT,
    UNSUBSCRIBE_SALT,
    address_hash,
    candidate_view_token,
    read_feedback_link_token,
)

PUBLIC_BASE = "http://feedback.example"
RECRUITER = "recruiter@feedback.example"
COMPANY_USER = "people@acme-robotics.example.com"
ACME = "Acme Robotics"
CONTACT = "hiring@acme-robotics.example.com"
ANSWERED = "answered@example.org"
LIVE = "live@example.org"
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
EXPIRED_FORM = "This form has expired"
TOKEN_PREFIXES = ("/f/", "/u/", "/me/view/")

CANDIDATE_ANSWERS = {"nps": "9", "communication": "4", "timeliness": "3", "role_clarity": "5",
                     "interviewer_preparation": "2", "fairness": "5", "respect": "4", "improve": "Reply sooner."}
COMPANY_ANSWERS = {"reasons": ["technical_skills"], "technical_skills": "2", "relevant_experience": "3",
                   "communication_skills": "3", "problem_solving": "2", "strengthen": "Practise system design.",
                   "reconsider": "yes"}
FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])


# --- every redirect is checked ----------------------------------------------------------------

REDIRECTS_CHECKED: list[str] = []


def is_local_target(target: str) -> bool:
    """A path on this site (or an absolute link under PUBLIC_BASE_URL); never another host or scheme."""
    if target.startswith(PUBLIC_BASE + "/"):
        return True
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def assert_local_redirect(response) -> None:
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response.headers.get("Location", "")
    assert is_local_target(location), f"redirect to a foreign target: {location!r}"
    for value in parse_qs(urlsplit(location).query).get("next", []):
        assert is_local_target(value), f"next= in a redirect points away: {value!r}"
    REDIRECTS_CHECKED.append(location)


class CheckedClient(FlaskClient):
    """A test client that fails on any redirect away from the site (followed redirects included)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        for each in (*response.history, response):
            assert_local_redirect(each)
        return response


def checked(app):
    app.test_client_class = CheckedClient
    return app


@pytest.fixture
def web(web):
    return checked(web)


# --- helpers ----------------------------------------------------------------------------------

def import_and_send(import_csv, runner, rows: list[dict]) -> None:
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output


def messages_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if message["To"] == address]


def link_of(smtp_server, address: str) -> str:
    messages = messages_to(smtp_server, address)
    assert messages, f"no message to {address}"
    (path,) = links_in(messages[-1])
    return path


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def unsubscribe_path(message) -> str:
    header = str(message["List-Unsubscribe"])
    return urlsplit(header.strip("<>")).path


def answer(client, path: str, answers: dict):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(path, data={"csrf_token": csrf_token(page.text), **answers})


def any_csrf(client) -> str:
    """A CSRF token of this client's session (one token serves every form of the session)."""
    return csrf_token(client.get("/me").text)


def build_world(web, import_csv, runner, smtp_server) -> SimpleNamespace:
    """Acme with an answered rejection (so an advice review exists), a live candidate link, and logins."""
    import_and_send(import_csv, runner, [
        outcome_row(candidate_name="Carla Answered", candidate_email=ANSWERED, application_ref="W-1"),
        outcome_row(candidate_name="Liam Live", candidate_email=LIVE, application_ref="W-2", outcome="withdrew",
                    company_contact_email=""),
    ])
    browser = web.test_client()
    assert answer(browser, link_of(smtp_server, CONTACT), COMPANY_ANSWERS).status_code == 200
    used_link = link_of(smtp_server, ANSWERED)
    assert answer(browser, used_link, CANDIDATE_ANSWERS).status_code == 200
    db.session.rollback()
    acme = company_named(ACME)
    create_user(ADMIN, PASSWORD, "admin", [])
    create_user(RECRUITER, PASSWORD, "recruiter", [acme])
    create_user(COMPANY_USER, PASSWORD, "company", [acme])
    connector_id = create_connector("generic", acme).connector.id
    endpoint_id = create_endpoint(acme, "https://hooks.acme-robotics.example.com/feedback")[0].id
    db.session.commit()
    live_candidate = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == LIVE))
    return SimpleNamespace(
        company_id=acme.id,
        batch_id=db.session.scalar(sa.select(ImportBatch.id)),
        review_id=db.session.scalar(sa.select(AdviceReview.id)),
        message_id=db.session.scalar(sa.select(OutboxMessage.id).limit(1)),
        live_link=link_of(smtp_server, LIVE),
        used_link=used_link,
        unsubscribe=unsubscribe_path(messages_to(smtp_server, LIVE)[-1]),
        view=f"/me/view/{candidate_view_token(live_candidate)}",
        live_candidate=live_candidate,
        connector_id=connector_id,
        endpoint_id=endpoint_id,
        kind="generic",
    )


def world_url(app, world: SimpleNamespace, rule) -> str:
    """The rule's URL with its variables filled by real objects (a token route gets a live token)."""
    values = {}
    for argument in rule.arguments:
        if argument == "token":
            source = {"survey": world.live_link, "unsubscribe": world.unsubscribe, "candidate": world.view}
            values["token"] = source[rule.endpoint.split(".")[0]].rsplit("/", 1)[-1]
        else:
            assert hasattr(world, argument), f"{rule.endpoint}: no test object for <{argument}>; add one"
            values[argument] = getattr(world, argument)
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def post_routes(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if "POST" in rule.methods),
                  key=lambda rule: (rule.endpoint == "auth.logout", rule.endpoint))


def plausible_form(endpoint: str, world: SimpleNamespace) -> dict:
    """Everything a real submission of the route's form would carry, except the CSRF token."""
    forms = {
        "auth.login": {"email": ADMIN, "password": PASSWORD},
        "survey.answer": dict(CANDIDATE_ANSWERS),
        "candidate.ask": {"email": LIVE},
        "recruiter.upload": {"file": (io.BytesIO(csv_bytes([outcome_row(application_ref="CSRF-1")])), "o.csv")},
        "recruiter.confirm_upload": {"upload": "not-a-ticket"},
        "recruiter.review": {f"r{world.review_id}-decision": "approve", f"r{world.review_id}-text": "Hijacked."},
        "recruiter.approve_unflagged": {"ids": str(world.review_id)},
        "recruiter.webhooks": {"company": str(world.company_id), "url": "https://attacker.example.com/in",
                               "events": ["response.created"]},
        "recruiter.connectors": {"company": str(world.company_id), "kind": "generic"},
    }
    return forms.get(endpoint, {})


def csv_bytes(rows: list[dict], header: list[str] | None = None) -> bytes:
    header = header or HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue().encode("utf-8")


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- CSRF -------------------------------------------------------------------------------------

def test_csrf_sweep_every_post_route_refuses_a_missing_or_foreign_token(app, make_app, import_csv, runner,
                                                                       smtp_server, sign_in):
    """Attack: a cross-site form posts to every POST route of app.url_map while an admin is signed in,
    once with no token and once with the attacker's own valid token. Only the one-click unsubscribe
    (RFC 8058) may act; the JSON API (/api/v1, bearer keys and signed webhooks) ignores the cookie."""
    web = checked(make_app(WEBHOOK_SECRET="webhook-secret-0123456789abcdef0123"))
    world = build_world(web, import_csv, runner, smtp_server)
    routes = post_routes(web)
    endpoints = {rule.endpoint for rule in routes}
    assert endpoints, "no POST route found"
    assert {"auth.login", "auth.logout", "survey.answer", "recruiter.upload", "unsubscribe.unsubscribe"} <= endpoints
    admin = sign_in(ADMIN, on=web)
    attacker = web.test_client()
    foreign = csrf_token(attacker.get("/login").text)  # valid, but for the attacker's session
    watched = (ImportBatch, Application, Response, OutboxMessage, Connector, WebhookEndpoint, WebhookMessage)
    before = {model.__name__: count(model) for model in watched}

    exercised: dict[str, list[int]] = {}
    for label, extra in (("foreign token", {"csrf_token": foreign}), ("no token", {})):
        for rule in routes:
            if rule.endpoint == "unsubscribe.unsubscribe" and label == "foreign token":
                continue  # exempt by design; exercised below without any token
            url = world_url(web, world, rule)
            data = {**plausible_form(rule.endpoint, world), **extra}
            response = admin.post(url, data=data)
            exercised.setdefault(rule.endpoint, []).append(response.status_code)
            if rule.endpoint == "unsubscribe.unsubscribe":
                assert response.status_code == 200, (label, url, response.status_code)
                continue
            if rule.endpoint.startswith(("api.", "hooks.")):
                # CSRF-exempt because only a bearer key or a signature header authenticates there, which a
                # cross-site form cannot send: the admin's session cookie alone must get nowhere.
                assert response.status_code in (401, 403), (label, url, response.status_code)
                continue
            assert response.status_code == 400, (label, url, response.status_code)
            assert EXPIRED_FORM in response.text, (label, url)
            assert "Content-Security-Policy" in response.headers

    assert set(exercised) == endpoints, "some POST routes were not exercised"
    # Nothing happened: still signed in, nothing answered, imported, cancelled, reviewed or queued.
    assert admin.get("/recruiter/").status_code == 200
    assert {model.__name__: count(model) for model in watched} == before
    assert db.session.get(WebhookEndpoint, world.endpoint_id).revoked_at is None
    assert db.session.get(Connector, world.connector_id).revoked_at is None
    assert db.session.get(ImportBatch, world.batch_id).cancelled_at is None
    assert db.session.get(AdviceReview, world.review_id).status == "pending"
    request_id = read_feedback_link_token(world.live_link.removeprefix("/f/")).request_id
    assert db.session.get(FeedbackRequest, request_id).answered_at is None
    # ...except the exempt one-click unsubscribe, which needs no cookie and no form token.
    with web.app_context():
        assert db.session.scalar(sa.select(Suppression.id).where(Suppression.address_hash == address_hash(LIVE)))


# --- security headers, cookies, HSTS ----------------------------------------------------------

def meta_referrer(page: str) -> str | None:
    match = re.search(r'<meta name="referrer" content="([^"]*)"', page)
    return match.group(1) if match else None


def assert_security_headers(label: str, response, token_page: bool) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp, f"{label}: no CSP"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{label}: {csp}"
    assert "frame-ancestors 'none'" in csp, f"{label}: {csp}"
    assert "script-src 'self'" in csp or "default-src 'none'" in csp, f"{label}: {csp}"
    assert response.headers.get("X-Content-Type-Options") == "nosniff", label
    expected = "same-origin" if token_page else "strict-origin-when-cross-origin"
    assert response.headers.get("Referrer-Policy") == expected, (label, response.headers.get("Referrer-Policy"))
    if response.mimetype == "text/html":
        # a <meta name="referrer"> would override the header: it must say the same
        shown = meta_referrer(response.get_data(as_text=True))
        assert shown in (None, expected), (label, shown)
    assert "Strict-Transport-Security" not in response.headers, f"{label}: HSTS on an http:// deployment"


def test_security_headers_on_every_kind_of_response(web, make_app, import_csv, runner, smtp_server):
    """Attack: look for a response (error pages included) without CSP, framing protection, nosniff or a
    strict Referrer-Policy; token pages must not send their URL anywhere (same-origin)."""
    world = build_world(web, import_csv, runner, smtp_server)
    token = world.live_link.removeprefix("/f/")
    client = web.test_client()
    seen: list[tuple[str, object, bool]] = []

    def add(label: str, response, status: int, token_page: bool = False) -> None:
        assert response.status_code == status, (label, response.status_code)
        seen.append((label, response, token_page))

    add("200 home", client.get("/"), 200)
    add("200 login", client.get("/login"), 200)
    add("302 login required", client.get("/recruiter/"), 302)
    add("400 csrf", client.post("/login", data={"email": ADMIN, "password": PASSWORD}), 400)
    add("404", client.get("/no/such/page"), 404)
    add("405", client.put("/healthz"), 405)
    add("200 survey", client.get(world.live_link), 200, True)
    add("400 survey csrf", client.post(world.live_link, data=CANDIDATE_ANSWERS), 400, True)
    add("410 used link", client.get(world.used_link), 410, True)
    add("404 bad token", client.get("/f/not-a-token"), 404, True)
    add("405 token page", client.get(f"/f/{token}/renew"), 405, True)
    add("404 under a token", client.get(f"/f/{token}/extra"), 404, True)
    add("200 unsubscribe", client.get(world.unsubscribe), 200, True)
    add("404 unsubscribe", client.get("/u/not-a-token"), 404, True)
    add("200 candidate view", client.get(world.view), 200, True)
    add("404 candidate view", client.get("/me/view/not-a-token"), 404, True)
    add("400 malformed query", client.get("/?q=%FF"), 400)
    add("401 JSON API", client.get("/api/v1/companies"), 401)
    add("400 malformed token query", client.get(f"{world.live_link}?q=%00"), 400, True)

    small = checked(make_app(MAX_CONTENT_LENGTH=1000))
    add("413", small.test_client().post("/login", data={"password": "x" * 5000}), 413)
    add("413 token page", small.test_client().post(world.live_link, data={"improve": "x" * 5000}), 413, True)

    broken = checked(make_app())

    @broken.route("/boom-for-security-tests")
    def boom():
        raise RuntimeError("internal detail")

    add("500", broken.test_client().get("/boom-for-security-tests"), 500)

    limited = checked(make_app(RATELIMIT_ENABLED=True))  # built last: Flask-Limiter's switch is global
    hammer = limited.test_client()
    renew_token = csrf_token(hammer.get(world.live_link).text)
    statuses = [hammer.post(f"/f/{token}/renew", data={"csrf_token": renew_token}).status_code for _ in range(5)]
    assert statuses == [202] * 5
    add("429 token page", hammer.post(f"/f/{token}/renew", data={"csrf_token": renew_token}), 429, True)
    login_token = csrf_token(hammer.get("/login").text)
    for _ in range(10):
        hammer.post("/login", data={"csrf_token": login_token, "email": ADMIN, "password": "wrong password!"})
    add("429", hammer.post("/login", data={"csrf_token": login_token, "email": ADMIN, "password": "x"}), 429)

    statuses = {response.status_code for _label, response, _token in seen}
    assert {200, 302, 400, 401, 404, 405, 410, 413, 429, 500} <= statuses
    problems = []
    for label, response, token_page in seen:
        try:
            assert_security_headers(label, response, token_page)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_dev_mailbox_html_part_is_sandboxed(app, make_app, write_csv, smtp_server):
    """The one relaxed CSP (inline styles of the e-mail's HTML part) is dev-only and still forbids scripts."""
    dev = checked(make_app(DEV_MAILBOX=True))
    path = write_csv([outcome_row()])
    with dev.app_context():
        runner = dev.test_cli_runner()
        assert runner.invoke(args=["feedback", "import", str(path)]).exit_code == 0
        store_unchecked_name("Ana Silva", SCRIPT)
        assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    db.session.rollback()
    message_id = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.to_address == CONTACT))
    response = dev.test_client().get(f"/dev/mailbox/{message_id}/html")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # outside dev mode there is no mailbox at all
    assert app.test_client().get(f"/dev/mailbox/{message_id}/html").status_code == 404


def set_cookie(response, name: str = "session") -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    assert cookies, f"no {name} cookie set"
    return cookies[-1]


def cookie_flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_session_cookie_flags_on_http(web, import_csv, runner, smtp_server):
    """Attack: steal the session through script (HttpOnly) or ride it cross-site (SameSite)."""
    build_world(web, import_csv, runner, smtp_server)
    client = web.test_client()
    page = client.get("/login")
    signed_in = client.post("/login", data={"csrf_token": csrf_token(page.text), "email": ADMIN,
                                            "password": PASSWORD})
    for response in (page, signed_in):
        flags = cookie_flags(set_cookie(response))
        assert "httponly" in flags and "samesite=lax" in flags, flags
        assert "secure" not in flags, "Secure cookies would make an http:// deployment unusable"
        assert "Strict-Transport-Security" not in response.headers


def test_https_base_url_sends_secure_cookies_and_hsts(app, monkeypatch, database_url):
    """Production behind https://: the session cookie is Secure and HSTS is sent, on error pages too."""
    for name in ("FLASK_DEBUG", "SECRET_KEY_FALLBACKS", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://feedback.example")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")
    production = checked(feedback.create_app(feedback_config.Config()))
    try:
        client = production.test_client()
        page = client.get("/login")
        assert page.status_code == 200
        flags = cookie_flags(set_cookie(page))
        assert {"secure", "httponly", "samesite=lax"} <= flags, flags
        for response in (page, client.get("/"), client.get("/no/such/page"), client.put("/healthz")):
            hsts = response.headers.get("Strict-Transport-Security", "")
            assert re.match(r"max-age=(\d+)", hsts) and int(re.match(r"max-age=(\d+)", hsts).group(1)) >= 31536000
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


# --- rate limits ------------------------------------------------------------------------------

def test_rate_limits_answer_429_with_a_readable_page(web, make_app, import_csv, runner, smtp_server):
    """Attack: brute-force logins, guess tokens, spam fresh-link and candidate-view requests. Each limited
    route answers 429 after its allowance, in the site's look, with Retry-After; spoofing
    X-Forwarded-For does not reset the count; another client is unaffected."""
    world = build_world(web, import_csv, runner, smtp_server)
    token = world.live_link.removeprefix("/f/")
    limited = checked(make_app(RATELIMIT_ENABLED=True))  # built last: Flask-Limiter's switch is global
    assert limited.config["RATELIMIT_STORAGE_URI"] == "memory://"
    client = limited.test_client()
    csrf = any_csrf(client)  # GET /me is not limited
    cases = [
        ("POST", "/login", 10, {"csrf_token": csrf, "email": ADMIN, "password": "not the password"}),
        ("GET", world.live_link, 60, None),
        ("POST", f"/f/{token}/renew", 5, {"csrf_token": csrf}),
        ("POST", "/me", 10, {"csrf_token": csrf, "email": "someone@example.org"}),
        ("GET", world.view, 60, None),
        ("GET", world.unsubscribe, 30, None),
    ]
    for method, path, allowance, data in cases:
        hit = functools.partial(client.open, path, method=method, data=data)
        statuses = [hit().status_code for _ in range(allowance)]
        assert 429 not in statuses and 500 not in statuses, (path, statuses)
        refused = hit()
        assert refused.status_code == 429, (path, refused.status_code)
        assert refused.mimetype == "text/html"
        assert "Too many requests" in refused.text
        assert '<header class="site-header">' in refused.text and 'href="/static/app.css"' in refused.text
        assert refused.headers.get("Retry-After", "").isdigit(), refused.headers
        assert hit(headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429, path
        other = limited.test_client()
        other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        if method == "POST":
            other_data = {**data, "csrf_token": any_csrf(other)}
            assert other.post(path, data=other_data).status_code != 429, path
        else:
            assert other.get(path).status_code != 429, path


# --- secrets and key rotation -----------------------------------------------------------------

def test_production_refuses_a_public_or_weak_key(monkeypatch, database_url):
    """Attack: run production on the dev key printed in the source, or keep a short key as a fallback;
    either would let anyone forge links. (Missing and short SECRET_KEY: tests/test_config.py.)"""
    for name in ("FLASK_DEBUG", "SECRET_KEY_FALLBACKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", feedback_config.DEV_SECRET_KEY)
    with pytest.raises(feedback_config.ConfigError, match="SECRET_KEY"):
        feedback.create_app(feedback_config.Config())
    monkeypatch.setenv("SECRET_KEY", "n" * 40)
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "short")
    with pytest.raises(feedback_config.ConfigError, match="SECRET_KEY_FALLBACKS"):
        feedback.create_app(feedback_config.Config())


@pytest.mark.parametrize("secret", [None, "too-short", feedback_config.DEV_SECRET_KEY])
def test_the_wsgi_entry_point_does_not_start_without_a_real_key(database_url, secret):
    """What gunicorn imports (wsgi:app) stops at start-up, with a message naming SECRET_KEY."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "FLASK_DEBUG", "SECRET_KEY_FALLBACKS")}
    env["DATABASE_URL"] = database_url
    if secret is not None:
        env["SECRET_KEY"] = secret
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode != 0
    assert "SECRET_KEY" in started.stderr


def test_key_rotation_new_links_are_signed_with_the_current_key(app, make_app, write_csv, smtp_server, make_user,
                                                                sign_in):
    """Rotation: links and sessions made under key A keep working while A is a fallback; everything made
    after the rotation is signed with B (a serializer knowing only B reads it; one knowing only A does not)."""
    key_a = "rotation-key-A-0123456789abcdef0123456789"
    key_b = "rotation-key-B-0123456789abcdef0123456789"
    old = checked(make_app(SECRET_KEY=key_a))
    with old.app_context():
        runner = old.test_cli_runner()
        assert runner.invoke(args=["feedback", "import", str(write_csv([outcome_row(
            candidate_email="before@example.org", outcome="withdrew", company_contact_email="",
            application_ref="ROT-1")]))]).exit_code == 0
        assert runner.invoke(args=["feedback", "send"]).exit_code == 0
        make_user(ADMIN, "admin")
    old_link = link_of(smtp_server, "before@example.org")
    old_unsubscribe = unsubscribe_path(messages_to(smtp_server, "before@example.org")[-1])
    old_browser = sign_in(ADMIN, on=old)
    old_session = old_browser.get_cookie("session").value

    rotated = checked(make_app(SECRET_KEY=key_b, SECRET_KEY_FALLBACKS=[key_a]))
    only_a = make_app(SECRET_KEY=key_a)
    only_b = make_app(SECRET_KEY=key_b)
    browser = rotated.test_client()
    # during the overlap, what key A signed still works
    assert browser.get(old_link).status_code == 200
    browser.set_cookie("session", old_session)
    assert browser.get("/recruiter/").status_code == 200
    assert only_b.test_client().get(old_link).status_code == 404  # and it is A's signature that carries it

    with rotated.app_context():
        runner = rotated.test_cli_runner()
        assert runner.invoke(args=["feedback", "import", str(write_csv([outcome_row(
            candidate_email="after@example.org", outcome="withdrew", company_contact_email="",
            application_ref="ROT-2")]))]).exit_code == 0
        assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    new_message = messages_to(smtp_server, "after@example.org")[-1]
    new_token = link_of(smtp_server, "after@example.org").removeprefix("/f/")
    URLSafeTimedSerializer(key_b, salt=FEEDBACK_LINK_SALT).loads(new_token)  # signed with B...
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer(key_a, salt=FEEDBACK_LINK_SALT).loads(new_token)  # ...not with A
    # (unsubscribe links are under the service's own address key: test_an_unsubscribe_holds_for_ever)
    assert unsubscribe_path(new_message).startswith("/u/")
    assert only_b.test_client().get(f"/f/{new_token}").status_code == 200

    # a session started after the rotation is signed with B
    fresh = sign_in(ADMIN, on=rotated)
    cookie = fresh.get_cookie("session").value
    only_b.session_interface.get_signing_serializer(only_b).loads(cookie)
    with pytest.raises(BadSignature):
        only_a.session_interface.get_signing_serializer(only_a).loads(cookie)

    # an unsubscribe made through a link of the old key is honoured after the rotation
    assert browser.post(old_unsubscribe).status_code == 200
    with rotated.app_context():
        runner = rotated.test_cli_runner()
        again = runner.invoke(args=["feedback", "import", str(write_csv([outcome_row(
            candidate_email="before@example.org", outcome="withdrew", company_contact_email="",
            application_ref="ROT-3")]))])
        assert again.exit_code == 0
    db.session.rollback()
    queued = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.to_address == "before@example.org", OutboxMessage.status == "queued"))
    assert queued == 0


# --- oversized, malformed and over-long input -------------------------------------------------

def test_bodies_over_max_content_length_answer_413(web, make_app, import_csv, runner, smtp_server, sign_in):
    """Attack: exhaust memory or disk with a huge form or upload."""
    world = build_world(web, import_csv, runner, smtp_server)
    answers_before = count(Response)
    assert feedback_config.TestConfig().MAX_CONTENT_LENGTH <= 16 * 1024 * 1024
    small = checked(make_app(MAX_CONTENT_LENGTH=1000))
    admin = sign_in(ADMIN, on=small)
    csrf = any_csrf(admin)
    responses = {
        "survey": admin.post(world.live_link, data={"csrf_token": csrf, **CANDIDATE_ANSWERS, "improve": "x" * 3000}),
        "upload": admin.post("/recruiter/upload", content_type="multipart/form-data", data={
            "csrf_token": csrf, "file": (io.BytesIO(b"a," * 3000), "outcomes.csv")}),
        "login": admin.post("/login", data={"csrf_token": csrf, "email": ADMIN, "password": "p" * 3000}),
        "unsubscribe (no CSRF)": admin.post(world.unsubscribe, data={"x": "y" * 3000}),
        "me": admin.post("/me", data={"csrf_token": csrf, "email": "e" * 3000}),
    }
    for label, response in responses.items():
        assert response.status_code == 413, (label, response.status_code)
        assert "That was too large" in response.text, label
    assert count(Response) == answers_before
    assert count(Suppression) == 0


RAW_SURVEY = "nps=9&communication=4&improve="


@pytest.mark.parametrize("tail", [
    b"abc%00def", b"%00", b"abc%FFdef", b"%C3%28", b"%ED%A0%80", b"\xff\xfe", b"ok&imp%00rove=1",
    b"ok&%FF=1", b"ok&improve=%F0%9F%98%80%00",
])
def test_nul_and_invalid_utf8_in_the_survey_are_refused_with_400(web, import_csv, runner, smtp_server, tail):
    """Attack: NUL (PostgreSQL refuses it: a 500 waiting to happen) and malformed UTF-8 in a raw form body."""
    world = build_world(web, import_csv, runner, smtp_server)
    answers_before = count(Response)
    client = web.test_client()
    csrf = csrf_token(client.get(world.live_link).text)
    body = f"csrf_token={csrf}&{RAW_SURVEY}".encode() + tail
    response = client.post(world.live_link, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.status_code
    assert "NUL" in response.text or "UTF-8" in response.text, response.text
    assert count(Response) == answers_before


def test_nul_and_invalid_utf8_elsewhere_are_refused_with_400(web, import_csv, runner, smtp_server, sign_in):
    """The same attack on the login, /me, the review and upload-confirm forms, multipart forms, query strings
    and paths: always 400 (or 404 for a path no route matches), never 500, nothing stored."""
    world = build_world(web, import_csv, runner, smtp_server)
    answers_before = count(Response)
    admin = sign_in(ADMIN)
    anonymous = web.test_client()
    csrf_admin, csrf_anonymous = any_csrf(admin), any_csrf(anonymous)
    form = "application/x-www-form-urlencoded"
    review = f"r{world.review_id}"
    raw_posts = [
        (anonymous, "/login", f"csrf_token={csrf_anonymous}&email=a%00b@example.org&password=0123456789abc"),
        (anonymous, "/login", f"csrf_token={csrf_anonymous}&email=admin@feedback.example&password=%FF%FF"),
        (anonymous, "/me", f"csrf_token={csrf_anonymous}&email=%00"),
        (anonymous, "/me", f"csrf_token={csrf_anonymous}&email=live@example.org%C0%80"),
        (admin, f"/recruiter/reviews/{world.review_id}",
         f"{review}-csrf_token={csrf_admin}&{review}-decision=approve&{review}-text=a%00b"),
        (admin, f"/recruiter/reviews/{world.review_id}",
         f"{review}-csrf_token={csrf_admin}&{review}-decision=approve&{review}-text=%FE"),
        (admin, "/recruiter/upload/confirm", f"csrf_token={csrf_admin}&upload=%00"),
    ]
    for client, path, body in raw_posts:
        response = client.post(path, data=body.encode(), content_type=form)
        assert response.status_code == 400, (path, body, response.status_code)
    multipart = admin.post(f"/recruiter/reviews/{world.review_id}", content_type="multipart/form-data", data={
        f"{review}-csrf_token": csrf_admin, f"{review}-decision": "approve", f"{review}-text": "a\x00b"})
    assert multipart.status_code == 400
    nul_file = admin.post("/recruiter/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_admin, "file": (io.BytesIO(csv_bytes([outcome_row(candidate_name="A\x00B")])), "o.csv")})
    assert nul_file.status_code == 422  # a problem in the preview, not a server error
    latin1_file = admin.post("/recruiter/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_admin, "file": (io.BytesIO("candidate_name\nBjörn".encode("latin-1")), "o.csv")})
    assert latin1_file.status_code == 422

    for path in ("/?q=%00", "/?q=%FF", "/?%FF=1", "/login?next=%00", "/login?next=%C3%28",
                 f"/companies/{world.company_id}/dashboard?stage=%FF", f"/companies/{world.company_id}/dashboard?from=%00",
                 f"{world.live_link}?x=%FE", f"{world.view}?x=%00", "/admin/audit?action=%00", "/f/abc%00def",
                 "/me/view/abc%00def", "/u/%00"):
        assert admin.get(path).status_code == 400, path
    for path in ("/no-such%00page", "/f/%FF%FE", "/companies/%00/dashboard"):
        assert admin.get(path).status_code in (400, 404), path
    db.session.rollback()
    assert db.session.get(AdviceReview, world.review_id).status == "pending"
    assert count(Response) == answers_before


def test_every_field_has_a_length_limit(web, import_csv, runner, smtp_server, sign_in):
    """Attack: store megabytes through any text field. Each form refuses an over-long value (no 500, nothing
    stored); the CSV columns have limits too (tests/test_import.py covers them at the edge)."""
    world = build_world(web, import_csv, runner, smtp_server)
    answers_before = count(Response)
    admin = sign_in(ADMIN)
    anonymous = web.test_client()
    csrf = any_csrf(anonymous)
    assert anonymous.post("/login", data={"csrf_token": csrf, "email": "a" * 320 + "@example.org",
                                          "password": PASSWORD}).status_code == 400
    assert anonymous.post("/login", data={"csrf_token": csrf, "email": ADMIN,
                                          "password": "p" * 201}).status_code == 400
    assert anonymous.post("/me", data={"csrf_token": csrf, "email": "a" * 320 + "@example.org"}).status_code == 400
    refused = answer(anonymous, world.live_link, {**CANDIDATE_ANSWERS, "improve": "x" * 2001})
    assert refused.status_code == 400 and "Please keep this under 2000 characters." in refused.text
    review = f"r{world.review_id}"
    listing = admin.get("/recruiter/reviews").text
    review_csrf = re.search(rf'name="{review}-csrf_token" type="hidden" value="([^"]+)"', listing).group(1)
    decided = admin.post(f"/recruiter/reviews/{world.review_id}", data={
        f"{review}-csrf_token": review_csrf, f"{review}-decision": "approve", f"{review}-text": "y" * 1501})
    assert decided.status_code == 302
    confirm = admin.post("/recruiter/upload/confirm", data={"csrf_token": any_csrf(admin), "upload": "u" * 501})
    assert confirm.status_code == 302 and urlsplit(confirm.headers["Location"]).path == "/recruiter/upload"
    db.session.rollback()
    assert db.session.get(AdviceReview, world.review_id).status == "pending"
    assert count(Response) == answers_before
    # the company contact's free text has its own, lower limit
    import_and_send(import_csv, runner, [outcome_row(
        candidate_email="long@example.org", company_contact_email="long.contact@acme-robotics.example.com",
        application_ref="LONG-1")])
    refused = answer(anonymous, link_of(smtp_server, "long.contact@acme-robotics.example.com"),
                     {**COMPANY_ANSWERS, "strengthen": "z" * 1501})
    assert refused.status_code == 400 and "Please keep this under 1500 characters." in refused.text
    assert count(Response) == answers_before


# --- fuzzing (both databases) -----------------------------------------------------------------

SURVEY_KEYS = ["nps", "communication", "timeliness", "role_clarity", "interviewer_preparation", "fairness",
               "respect", "decline_reasons", "improve", "reasons", "technical_skills", "relevant_experience",
               "communication_skills", "problem_solving", "strengthen", "reconsider"]
VALID_VALUES = ["0", "5", "9", "10", "1", "3", "4", "not_applicable", "yes", "no", "technical_skills",
                "stronger_match", "other_offer", "compensation", ""]
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
FIELD_VALUE = st.one_of(
    st.sampled_from(VALID_VALUES),
    ANY_TEXT,
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(st.characters(codec="utf-8"), min_size=1400, max_size=2200),
    st.sampled_from([SCRIPT, "{{7*7}}", "=1+1", "\x00", "'; DROP TABLE answers; --", "\u202e", "\ufeff"]),
)


def test_fuzz_survey_post_never_fails(web, import_csv, runner, smtp_server, admin_client):
    """Hypothesis: arbitrary keys, values (unicode, huge numbers, NUL, long text, lists) and raw bodies posted
    to live and used links of both surveys. Always 200 (stored), 400 (refused) or 410 (used); the pages
    that show the stored answers still render afterwards."""
    rows = [outcome_row(candidate_email=f"fuzz{i}@example.org", application_ref=f"FZ-{i}",
                        company_contact_email=f"contact{i}@acme-robotics.example.com") for i in range(12)]
    import_and_send(import_csv, runner, rows)
    links = [path for message in smtp_server.messages for path in links_in(message)]
    assert len(links) == 24
    audience = {}
    for link in links:
        db.session.rollback()
        audience[link] = db.session.get(FeedbackRequest, read_feedback_link_token(link[3:]).request_id).audience
    client = web.test_client()
    csrf = csrf_token(client.get(links[0]).text)
    seen: list[int] = []
    field_values = st.one_of(FIELD_VALUE, st.lists(FIELD_VALUE, max_size=4))

    @FUZZ
    @given(
        link=st.sampled_from(links),
        # a whole made-up form, or a valid one with a few answers replaced (so that some are stored)
        fields=st.one_of(st.dictionaries(st.one_of(st.sampled_from(SURVEY_KEYS), ANY_TEXT), field_values, max_size=12),
                         st.lists(st.tuples(st.sampled_from(SURVEY_KEYS), field_values), max_size=3)),
        raw=st.one_of(st.none(), st.none(), st.binary(max_size=300)),
        token=st.sampled_from(["valid", "valid", "valid", "missing", "garbage"]),
    )
    def post(link, fields, raw, token):
        prefix = {"valid": {"csrf_token": csrf}, "missing": {}, "garbage": {"csrf_token": "x.y.z"}}[token]
        if isinstance(fields, list):
            valid = CANDIDATE_ANSWERS if audience[link] == "candidate" else COMPANY_ANSWERS
            fields = {**valid, **dict(fields)}
        if raw is None:
            data = {**{key: value for key, value in fields.items() if key != "csrf_token"}, **prefix}
            response = client.post(link, data=data)
        else:
            body = b"".join(f"{key}={value}&".encode() for key, value in prefix.items()) + raw
            response = client.post(link, data=body, content_type="application/x-www-form-urlencoded")
        seen.append(response.status_code)
        assert response.status_code in (200, 400, 410), response.status_code
        assert response.mimetype == "text/html"
        if response.status_code == 200:
            assert "Thank you" in response.text

    post()
    assert 400 in seen and 200 in seen, "the fuzzer never got past validation"
    db.session.rollback()
    company_id = company_named(ACME).id
    for path in (f"/companies/{company_id}/dashboard", f"/companies/{company_id}/export/comments.csv",
                 "/recruiter/reviews", "/recruiter/"):
        assert admin_client.get(path).status_code == 200, path
    report = runner.invoke(args=["feedback", "report", "--company", ACME, "--format", "json"])
    assert report.exit_code == 0, report.output
    for candidate_id in db.session.scalars(sa.select(Candidate.id)):
        assert web.test_client().get(f"/me/view/{candidate_view_token(candidate_id)}").status_code == 200


def csv_documents() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and CSV-shaped text of real and invented columns with good and bad values."""
    cell = st.one_of(
        st.sampled_from(["Ana Silva", "ana@example.org", "not-an-email", ACME, "acme  ROBOTICS", CONTACT, "",
                         "QA Engineer", "interview", "screen", "lunch", "rejected", "withdrew", "offer_declined",
                         "2026-01-02", "2099-01-01", "2026-02-30", "REF-1", SCRIPT, "=HYPERLINK(1)", "a\x00b",
                         "x" * 201, "a@" + "b" * 320 + ".org", '"', "a,b", "a;b", "line\nbreak"]),
        st.text(st.characters(codec="utf-8"), max_size=40),
    )
    header = st.lists(st.one_of(st.sampled_from(HEADER), st.sampled_from([c.upper() for c in HEADER]),
                                ANY_TEXT), max_size=11)
    # a valid row (a new application each time) with up to two cells replaced, or cells at random
    near_valid = st.tuples(st.uuids(), st.lists(st.tuples(st.sampled_from(HEADER), cell), max_size=2)).map(
        lambda change: [{**outcome_row(application_ref=str(change[0])), **dict(change[1])}[c] for c in HEADER])
    rows = st.lists(st.one_of(near_valid, near_valid, st.lists(cell, max_size=11)), max_size=6)

    def render(parts) -> bytes:
        (columns, body, delimiter, ending, bom, encoding) = parts
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
        writer.writerow(columns)
        writer.writerows(body)
        text = ("\ufeff" if bom else "") + buffer.getvalue()
        return text.encode(encoding, errors="replace")

    shaped = st.tuples(st.one_of(st.just(list(HEADER)), st.just(list(HEADER)), header), rows, st.sampled_from([",", ";", "\t"]),
                       st.sampled_from(["\n", "\r\n", "\r"]), st.booleans(),
                       st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"])).map(render)
    return st.one_of(st.binary(max_size=2000), shaped)


def test_fuzz_upload_never_fails(web, import_csv, runner, smtp_server, admin_client):
    """Hypothesis: arbitrary files (bytes, CSV-shaped text in several encodings, hostile file names) uploaded
    for preview. Always 200 (preview), 400 (refused) or 422 (problems listed); nothing is written."""
    import_and_send(import_csv, runner, [outcome_row(application_ref="SEED-1")])
    admin = admin_client
    csrf = any_csrf(admin)
    before = {model.__name__: count(model) for model in (Application, ImportBatch, OutboxMessage)}
    upload_dir = Path(web.instance_path) / "uploads"

    @FUZZ
    @given(content=csv_documents(),
           name=st.one_of(st.just("outcomes.csv"), st.sampled_from(["x.txt", "x.CSV", "x.exe", "noext", ".csv",
                                                                    f"{SCRIPT}.csv", "../../etc/passwd.csv"]),
                          st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=20)
                          .map(lambda text: text.replace('"', "") + ".csv")))
    def upload(content, name):
        response = admin.post("/recruiter/upload", content_type="multipart/form-data",
                              data={"csrf_token": csrf, "file": (io.BytesIO(content), name)})
        assert response.status_code in (200, 400, 422), response.status_code
        if "<" in name and response.status_code != 400:
            assert name not in response.text  # the file name is shown escaped
        match = re.search(r'name="upload" type="hidden" value="([^"]+)"', response.text)
        if match:  # a valid preview keeps the file for the confirmation: remove ours
            with web.app_context():
                upload_id, *_owner_and_name = URLSafeTimedSerializer(web.config["SECRET_KEY"], salt="feedback.upload.v1").loads(
                    html.unescape(match.group(1)))
            (upload_dir / f"{upload_id}.csv").unlink(missing_ok=True)

    upload()
    assert {model.__name__: count(model) for model in (Application, ImportBatch, OutboxMessage)} == before


def test_fuzz_cli_import_never_fails(app, runner, tmp_path, smtp_server):
    """Hypothesis: arbitrary CSV files through `feedback import` (with and without --skip-invalid, --dry-run).
    Exit code 0 or 1 with a message, never a traceback; `feedback send` afterwards does not crash either."""
    path = tmp_path / "fuzz.csv"

    @FUZZ
    @given(content=csv_documents(), options=st.sampled_from([[], ["--skip-invalid"], ["--dry-run"]]))
    def run(content, options):
        path.write_bytes(content)
        result = runner.invoke(args=["feedback", "import", str(path), *options])
        assert result.exit_code in (0, 1), (result.exit_code, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output
        if result.exit_code == 1:
            assert result.stderr.strip(), "a failure without a message"

    run()
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code in (0, 1)
    assert sent.exception is None or isinstance(sent.exception, SystemExit), repr(sent.exception)


def api_admin_key() -> str:
    from feedback.services.api_keys import create_api_key

    admin = create_user("api.admin@feedback.example", PASSWORD, "admin", [])
    key, _record = create_api_key(admin)
    db.session.commit()
    return key


API_OUTCOME = {"candidate_name": "Ana Silva", "candidate_email": "api@example.org", "company": ACME,
               "company_contact_email": CONTACT, "position": "QA Engineer", "stage": "interview",
               "outcome": "rejected", "decided_on": "2026-01-02"}


def test_json_api_refuses_unstorable_json_with_400(web):
    """Attack: JSON that parses but cannot be stored or walked: escaped lone surrogates ("\\ud800", valid JSON,
    no valid UTF-8), NUL, nesting past the recursion limit, invalid UTF-8 bytes. 4xx, never 500."""
    key = api_admin_key()
    client = web.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    good = json.dumps(API_OUTCOME)
    bodies = {
        "surrogate in a value": good.replace('"Ana Silva"', '"Ana \\ud800 Silva"'),
        "surrogate in a key": good.replace('"stage"', '"st\\udfffage"'),
        "surrogate in a list": json.dumps([API_OUTCOME]).replace('"Ana Silva"', '"\\ud83d"'),
        "NUL in a value": good.replace('"Ana Silva"', '"Ana \\u0000 Silva"'),
        "nested 100000 deep": "[" * 100_000 + "]" * 100_000,
        "nested objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
        "invalid UTF-8": good.encode().replace(b"Ana", b"\xff\xfe"),
        "raw NUL": good.encode().replace(b"Ana", b"\x00"),
        "not JSON": "{'candidate_name': 'x'}",
    }
    for label, body in bodies.items():
        response = client.post("/api/v1/outcomes", data=body, headers=headers)
        assert response.status_code in (400, 422), (label, response.status_code)
        assert response.is_json, label
    assert count(Application) == 0
    assert client.post("/api/v1/outcomes", data=good, headers=headers).status_code == 201  # the key works


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(st.characters(), max_size=30),
                      st.sampled_from(list(API_OUTCOME.values()) + ["", "withdrew", "screen", "2099-01-01"]))
JSON_VALUE = st.recursive(JSON_LEAF, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(HEADER + ["outcomes", "skip_invalid"]),
                              st.text(st.characters(), max_size=12)), children, max_size=6)), max_leaves=25)
# a valid outcome with one or two columns replaced by anything: gets past validation into the database
OUTCOME_LIKE = st.tuples(st.sampled_from(HEADER), st.one_of(st.text(st.characters(), max_size=30), JSON_LEAF)).map(
    lambda change: {**API_OUTCOME, change[0]: change[1]})
# ...or any text in a free-text column, which validation lets through to the database
TEXT_OUTCOME = st.tuples(st.sampled_from(["candidate_name", "position", "company", "application_ref"]),
                         st.lists(st.one_of(st.characters(), st.sampled_from("\ud800\udfff\ud83d\x00\r\n\u2028\ufeff")),
                                  min_size=1, max_size=30).map("".join), st.uuids()).map(
    lambda change: {**API_OUTCOME, "application_ref": str(change[2]), change[0]: change[1]})  # a new application


def test_fuzz_json_api_outcomes_never_fails(web):
    """Hypothesis: arbitrary JSON (any unicode, lone surrogates included, odd numbers, deep lists) and
    outcome-shaped objects posted to /api/v1/outcomes: 200/201 (stored), 400 or 422; never 500."""
    key = api_admin_key()
    client = web.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    @FUZZ
    @given(payload=st.one_of(TEXT_OUTCOME, TEXT_OUTCOME, OUTCOME_LIKE, st.lists(OUTCOME_LIKE, max_size=3), JSON_VALUE,
                             st.fixed_dictionaries({"outcomes": st.lists(OUTCOME_LIKE, max_size=3),
                                                    "skip_invalid": st.one_of(st.booleans(), JSON_LEAF)})))
    def post(payload):
        response = client.post("/api/v1/outcomes", data=json.dumps(payload), headers=headers)
        assert response.status_code in (200, 201, 400, 422), (response.status_code, response.get_data(as_text=True))
        assert response.is_json

    post()


# --- escaping ---------------------------------------------------------------------------------

def test_script_in_a_candidate_name_is_escaped_in_the_contacts_html_emails(import_csv, runner, smtp_server):
    """Attack: a candidate name carrying markup (stored before the import refused it), in the contact's single
    e-mail and in a digest listing several candidates. The HTML parts show it as text; the plain parts
    carry it verbatim."""
    assert import_csv([
        outcome_row(candidate_name="Script Name", candidate_email="s1@example.org", application_ref="X-1",
                    company_contact_email="single@acme-robotics.example.com"),
        outcome_row(candidate_name="Script Name", candidate_email="s2@example.org", application_ref="X-2",
                    company_contact_email="digest@acme-robotics.example.com"),
        outcome_row(candidate_name="Image Name", candidate_email="s3@example.org", application_ref="X-3",
                    company_contact_email="digest@acme-robotics.example.com"),
    ]).exit_code == 0
    store_unchecked_name("Script Name", SCRIPT)
    store_unchecked_name("Image Name", IMG)
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    for contact in ("single@acme-robotics.example.com", "digest@acme-robotics.example.com"):
        (message,) = messages_to(smtp_server, contact)
        body = html_part(message)
        assert "<script" not in body.lower() and "<img src=x" not in body, contact
        assert html.escape(SCRIPT, quote=False) in body or html.escape(SCRIPT) in body, contact
        assert SCRIPT in text_part(message)
    (digest,) = messages_to(smtp_server, "digest@acme-robotics.example.com")
    assert "onerror" not in html_part(digest) or "&lt;img" in html_part(digest)
    for address in ("s1@example.org", "s2@example.org"):
        (message,) = messages_to(smtp_server, address)
        assert "<script" not in html_part(message).lower()


def test_script_is_escaped_in_the_dev_mailbox(app, make_app, write_csv, smtp_server):
    dev = checked(make_app(DEV_MAILBOX=True))
    path = write_csv([outcome_row(company=f"Evil {IMG} Corp")])
    with dev.app_context():
        runner = dev.test_cli_runner()
        assert runner.invoke(args=["feedback", "import", str(path)]).exit_code == 0
        store_unchecked_name("Ana Silva", SCRIPT)
        assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    client = dev.test_client()
    index = client.get("/dev/mailbox/")
    assert index.status_code == 200
    assert "<script>alert" not in index.text and "<img src=x" not in index.text
    assert html.escape(SCRIPT, quote=False) in index.text or html.escape(SCRIPT) in index.text
    db.session.rollback()
    for message_id in db.session.scalars(sa.select(OutboxMessage.id)):
        shown = client.get(f"/dev/mailbox/{message_id}")
        assert shown.status_code == 200
        assert "<script>alert" not in shown.text and "<img src=x" not in shown.text
        part = client.get(f"/dev/mailbox/{message_id}/html")
        assert "<script>alert" not in part.text and "<img src=x" not in part.text


def test_markup_in_free_text_and_names_is_escaped_on_every_page(web, import_csv, runner, smtp_server, admin_client):
    """Attack: stored XSS through a company name, a candidate name and the contact's advice, shown on the
    survey forms, the review queue (text and textarea), the candidate's view, the dashboard, the overview
    and the audit log."""
    evil_company = f"Evil {SCRIPT} Corp"
    advice = f"Learn more. {SCRIPT}{IMG}</textarea><script>alert(3)</script>"
    assert import_csv([
        outcome_row(candidate_name="Eve", candidate_email="eve@example.org", company=evil_company,
                    company_contact_email="hm@evil.example.com", application_ref="E-1"),
    ]).exit_code == 0
    store_unchecked_name("Eve", f"Eve {IMG}")  # stored before the import refused markup in a name
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    browser = web.test_client()
    contact_link = link_of(smtp_server, "hm@evil.example.com")
    candidate_link = link_of(smtp_server, "eve@example.org")
    pages = {"contact form": browser.get(contact_link).text, "candidate form": browser.get(candidate_link).text}
    assert answer(browser, contact_link, {**COMPANY_ANSWERS, "strengthen": advice}).status_code == 200
    db.session.rollback()
    company = company_named(evil_company)
    admin = admin_client
    review = db.session.scalar(sa.select(AdviceReview))
    listing = admin.get("/recruiter/reviews").text
    pages["review queue"] = listing
    review_csrf = re.search(rf'name="r{review.id}-csrf_token" type="hidden" value="([^"]+)"', listing).group(1)
    assert admin.post(f"/recruiter/reviews/{review.id}", data={
        f"r{review.id}-csrf_token": review_csrf, f"r{review.id}-decision": "approve",
        f"r{review.id}-text": advice}).status_code == 302
    candidate_id = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == "eve@example.org"))
    pages["candidate view"] = web.test_client().get(f"/me/view/{candidate_view_token(candidate_id)}").text
    pages["dashboard"] = admin.get(f"/companies/{company.id}/dashboard").text
    pages["overview"] = admin.get("/recruiter/").text
    assert admin.get(f"/companies/{company.id}/export/aggregate.csv").status_code == 200  # audited
    pages["audit log"] = admin.get("/admin/audit").text
    assert str(escape(advice)) in pages["review queue"]  # shown as text, in the quote and in the textarea
    assert "Learn more." in pages["candidate view"]
    for label, page in pages.items():
        assert "<script>alert" not in page, label
        assert "<img src=x" not in page, label
        assert "</textarea><script>" not in page, label
    assert "Evil &lt;script&gt;" in pages["dashboard"] and "Evil &lt;script&gt;" in pages["audit log"]


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,1)", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1", SCRIPT]
EXPORT_COMMENTS = FORMULAS + ["plain 1", "plain 2", "plain 3"]  # ten: the export counts whole steps of k = 5


def test_exports_neutralise_formulas_and_markup(web, import_csv, runner, smtp_server, admin_client):
    """Attack: comments that a spreadsheet would run (CSV injection), or a browser would render, in the
    comments export. (Round-trip and every trigger: tests/test_dashboard.py.)"""
    rows = [outcome_row(candidate_email=f"x{i}@example.org", application_ref=f"CSV-{i}", outcome="withdrew",
                        company_contact_email="") for i in range(len(EXPORT_COMMENTS))]
    import_and_send(import_csv, runner, rows)
    browser = web.test_client()
    for i, text in enumerate(EXPORT_COMMENTS):
        assert answer(browser, link_of(smtp_server, f"x{i}@example.org"),
                      {**CANDIDATE_ANSWERS, "improve": text}).status_code == 200
    db.session.rollback()
    export = admin_client.get(f"/companies/{company_named(ACME).id}/export/comments.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv" and export.headers["X-Content-Type-Options"] == "nosniff"
    assert export.headers["Content-Disposition"].startswith("attachment;")
    cells = [cell for row in csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))) for cell in row]
    stored = {text.strip() for text in FORMULAS}
    assert len([cell for cell in cells if cell.lstrip("'") in stored]) == len(FORMULAS)
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# The one reviewed exception: the dashboard keeps its figures as the HTML that Jinja rendered from an
# autoescaped template (dashboard/_figures.html) without any request data; it is output, not user text.
# Fragments the app rendered itself through the autoescaping environment (.html templates), kept in
# the cache as text and marked safe again when the page includes them.
REVIEWED_MARKUP = {'feedback/dashboard/views.py: return {"nps": kept["nps"], "nps_n": kept["nps_n"], "figures": Markup(kept["html"])}',
                   "feedback/dashboard/views.py: return Markup(html)"}


def test_no_template_or_code_marks_user_data_safe():
    """Autoescaping must stay on everywhere: no |safe, Markup(), autoescape false or template strings."""
    patterns = re.compile(r"\|\s*safe\b|Markup\s*\(|autoescape\s+false|autoescape\s*=\s*False|"
                          r"render_template_string|jinja2\.Template\s*\(|from_string\s*\(", re.I)
    found = []
    for folder in (ROOT / "templates", ROOT / "feedback"):
        for path in folder.rglob("*"):
            if path.suffix in (".html", ".txt", ".py", ".jinja", ".j2") and path.is_file():
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if patterns.search(line) and f"{path.relative_to(ROOT)}: {line.strip()}" not in REVIEWED_MARKUP:
                        found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_every_html_template_is_autoescaped(app):
    names = [name for name in app.jinja_env.list_templates() if name.endswith(".html")]
    assert "email/company_request.html" in names and "recruiter/reviews.html" in names
    for name in names:
        assert app.jinja_env.autoescape(name) is True, name


# --- redirects --------------------------------------------------------------------------------

NEXT_ATTACKS = [
    "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "https://evil.example/", "http:evil.example", "https:/evil.example", "///evil.example", "/\t/evil.example",
    " //evil.example", "//evil.example/%2F..", "data:text/html,<script>alert(1)</script>", "evil.example",
    "/%2F/evil.example", "\uff0f\uff0fevil.example", "/\r\n/evil.example",
]


def lands_on_this_site(location: str) -> bool:
    """Where a browser goes with this Location (it drops tabs and newlines and reads \\ as /)."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    return urlsplit(urljoin(f"{PUBLIC_BASE}/login", cleaned)).netloc == urlsplit(PUBLIC_BASE).netloc


def test_redirect_targets_are_local_whatever_next_says(web, import_csv, runner, smtp_server, sign_in):
    """Attack: open redirects through next= on the login form, a forged Host header, and every redirect
    the app issues. (Plain next= cases and the logout redirect: tests/test_auth.py.)"""
    world = build_world(web, import_csv, runner, smtp_server)
    REDIRECTS_CHECKED.clear()
    for target in NEXT_ATTACKS:
        client = web.test_client()
        page = client.get("/login", query_string={"next": target})
        response = client.post("/login", query_string={"next": target},
                               data={"csrf_token": csrf_token(page.text) if page.status_code == 200 else "",
                                     "email": ADMIN, "password": PASSWORD})
        assert response.status_code in (302, 400), (target, response.status_code)
        if response.status_code == 302:
            assert lands_on_this_site(response.headers["Location"]), (target, response.headers["Location"])
    # a forged Host or X-Forwarded-Host never ends up in a Location
    for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}):
        response = web.test_client().get("/recruiter/", headers=headers)
        assert response.status_code == 302
        assert lands_on_this_site(response.headers["Location"]), response.headers["Location"]
    # the app's own redirects: login landing, upload confirm, cancel, review, logout
    admin = sign_in(ADMIN)
    csrf = any_csrf(admin)
    admin.post("/recruiter/upload/confirm", data={"csrf_token": csrf, "upload": "expired"}, follow_redirects=True)
    admin.post(f"/recruiter/batches/{world.batch_id}/cancel", data={"csrf_token": csrf}, follow_redirects=True)
    admin.post(f"/recruiter/reviews/{world.review_id}", data={"x": "y"})  # refused (CSRF), no redirect
    admin.post("/logout", data={"csrf_token": csrf}, follow_redirects=True)
    assert len(REDIRECTS_CHECKED) >= len(NEXT_ATTACKS)


# --- tokens in gunicorn's access log ----------------------------------------------------------

def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")


def fetch(url: str, method: str = "GET", headers: dict | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {},
                                     data=b"x=1" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


# gunicorn's default access-log format, then a path, a header and an environ atom that hold the
# token too, and a header no request sends (printed as "-").
ACCESS_FORMAT = ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
                 ' U=%(U)s ref=%({Referer}i)s raw=%({raw_uri}e)s absent=%({x-absent}i)s')


def test_gunicorn_access_log_never_holds_a_token(app, import_csv, runner, smtp_server, database_url, tmp_path):
    """Attack: read the tokens from the server's logs. A real gunicorn with gunicorn.conf.py serves /f/, /u/
    and /me/view/ URLs (good and tampered tokens, a query string, a token in Referer, paths and tokens
    percent-encoded); its access log shows /f/[token] and never a token, nor do its error log and stderr."""
    import_and_send(import_csv, runner, [outcome_row()])
    link = link_of(smtp_server, "ana.silva@example.org")
    token = link.removeprefix("/f/")
    unsubscribe = unsubscribe_path(messages_to(smtp_server, "ana.silva@example.org")[-1])
    candidate_id = db.session.scalar(sa.select(Candidate.id))
    view = f"/me/view/{candidate_view_token(candidate_id)}"
    secrets = [token, unsubscribe.removeprefix("/u/"), view.removeprefix("/me/view/"), token[:-3] + "AAA"]
    encoded_token = "".join(f"%{ord(char):02X}" for char in token)
    secrets += [encoded_token, token[-12:], encoded_token[-30:]]
    db.session.rollback()
    db.session.remove()

    port = free_port()
    access_log, error_log, stderr_log = tmp_path / "access.log", tmp_path / "error.log", tmp_path / "stderr.log"
    env = {key: value for key, value in os.environ.items() if key not in ("ACCESS_LOG", "FLASK_DEBUG", "BIND")}
    env |= {"SECRET_KEY": app.config["SECRET_KEY"], "DATABASE_URL": database_url, "FLASK_DEBUG": "0",
            "WEB_CONCURRENCY": "1", "PUBLIC_BASE_URL": PUBLIC_BASE, "RATELIMIT_ENABLED": "false"}
    with stderr_log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--access-logfile", str(access_log), "--error-logfile", str(error_log),
             "--access-logformat", ACCESS_FORMAT, "wsgi:app"],
            cwd=ROOT, env=env, stdout=stderr, stderr=stderr)
        try:
            wait_until_up(port, process)
            base = f"http://127.0.0.1:{port}"
            assert fetch(base + link) == 200
            assert fetch(f"{base}{link}?utm_source=mail") == 200
            assert fetch(base + unsubscribe) == 200
            assert fetch(base + view) == 200
            assert fetch(f"{base}/f/{secrets[3]}") == 404
            assert fetch(f"{base}{link}/renew", method="POST") == 400
            assert fetch(base + "/", headers={"Referer": f"{PUBLIC_BASE}{link}"}) == 200
            assert fetch(base + "/static/app.css", headers={"Referer": f"{PUBLIC_BASE}{view}"}) == 200
            # the same live link, percent-encoded three ways: the server decodes the path, so must the log
            assert fetch(f"{base}/%66/{token}") == 200
            assert fetch(f"{base}/f%2F{token}") == 200
            assert fetch(f"{base}/f/{encoded_token}") == 200
        finally:
            process.terminate()
            process.wait(timeout=30)
    logged = access_log.read_text()
    assert logged.count("/f/[token]") >= 4, logged
    lines = logged.splitlines()
    assert any(" U=/f/[token] " in line and " raw=/f/[token]?utm_source=mail " in line for line in lines), logged
    assert any(f"ref={PUBLIC_BASE}/f/[token]" in line for line in lines), logged
    assert all(line.endswith(" absent=-") for line in lines), logged
    assert "/u/[token]" in logged and "/me/view/[token]" in logged
    for name, text in (("access log", logged), ("error log", error_log.read_text()),
                       ("stderr", stderr_log.read_text())):
        for secret in secrets:
            assert secret not in text, f"a token in gunicorn's {name}"


# --- round two (issue 15): query strings, caching, sign-in, start-up --------------------------

BAD_QUERY_VALUES = [("position", "²"), ("position", "2147483648"), ("position", "-1"), ("position", "1e3"),
                    ("from", "0000-01"), ("to", "9999-12"), ("from", "2026-13"), ("stage", "lunch"),
                    ("page", "99999999999999999999"), ("page", "0"), ("page", "٣"), ("per_page", "10000")]


def test_malformed_query_values_answer_400_on_every_staff_page(web, import_csv, runner, smtp_server, admin_client):
    """Attack: type odd numbers and months into every filter. Each page answers 400 saying what is
    expected, never a 500; a period that starts after it ends is a 400 that says so."""
    import_and_send(import_csv, runner, [outcome_row()])
    acme = company_named(ACME).id
    db.session.rollback()
    key = api_admin_key()
    pages = {"dashboard": f"/companies/{acme}/dashboard", "aggregate": f"/companies/{acme}/export/aggregate.csv",
             "comments": f"/companies/{acme}/export/comments.csv", "audit": "/admin/audit"}
    filters = {"position", "from", "to", "stage"}
    for name, path in pages.items():
        for arg, value in BAD_QUERY_VALUES:
            if (arg in filters) != (name != "audit") or arg == "per_page":
                continue
            response = admin_client.get(path, query_string={arg: value})
            assert response.status_code == 400, (path, arg, value, response.status_code)
            assert arg in response.text, (path, arg)
    for arg, value in BAD_QUERY_VALUES:
        if arg in ("page", "per_page"):
            response = web.test_client().get("/api/v1/requests", query_string={arg: value},
                                             headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 400 and arg in json.dumps(response.get_json()["error"]), (arg, value)
    backwards = admin_client.get(pages["dashboard"], query_string={"from": "2026-05", "to": "2026-02"})
    assert backwards.status_code == 400 and "swap the two months" in backwards.text
    fine = admin_client.get(pages["dashboard"], query_string={"from": "1970-01", "to": "9998-12", "position": ""})
    assert fine.status_code == 200


def test_signed_in_pages_and_api_answers_are_never_cached(web, import_csv, runner, smtp_server, admin_client):
    """Attack: read the previous user's dashboard from a shared proxy cache or the browser's history.
    Every signed-in page and every API answer (refusals too) says Cache-Control: no-store; the
    public sign-in page may be cached as usual."""
    import_and_send(import_csv, runner, [outcome_row()])
    acme = company_named(ACME).id
    db.session.rollback()
    for path in ("/", f"/companies/{acme}/dashboard", f"/companies/{acme}/export/aggregate.csv", "/admin/audit"):
        response = admin_client.get(path)
        assert response.status_code in (200, 302), path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    anonymous = web.test_client()
    for path in ("/api/v1/requests", "/api/v1/openapi.json"):
        assert "no-store" in anonymous.get(path).headers.get("Cache-Control", ""), path
    assert "no-store" not in anonymous.get("/login").headers.get("Cache-Control", "")


def test_sign_ins_are_audited_without_the_password(web, make_user, sign_in):
    """The audit log shows every sign-in and every failed attempt, with the address tried, and
    never the password typed."""
    make_user(ADMIN, "admin")
    stranger = web.test_client()
    page = stranger.get("/login")
    wrong = stranger.post("/login", data={"csrf_token": csrf_token(page.text), "email": ADMIN,
                                          "password": "guess-number-one"})
    assert wrong.status_code == 401
    admin = sign_in(ADMIN)
    log = admin.get("/admin/audit").text
    assert "sign-in failed" in log and "sign-in" in log.replace("sign-in failed", "")
    assert "anonymous" in log and ADMIN in log
    dump = " ".join(str(value) for row in db.session.execute(sa.text("SELECT * FROM audit_events")) for value in row)
    assert "guess-number-one" not in dump and PASSWORD not in dump


def test_sign_in_attempts_are_limited_per_account_whatever_the_client(web, make_app, make_user):
    """Attack: try one account's password from many addresses (a botnet). Each client stays under its
    own limit, yet the account's attempts run out at 20 an hour; another account is unaffected."""
    make_user(ADMIN, "admin")
    limited = checked(make_app(RATELIMIT_ENABLED=True))

    def attempt(number: int, email: str = ADMIN) -> int:
        client = limited.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.{number // 250}.{number % 250 + 1}"
        page = client.get("/login")
        return client.post("/login", data={"csrf_token": csrf_token(page.text), "email": email,
                                           "password": "not the password"}).status_code

    statuses = [attempt(number) for number in range(20)]
    assert statuses == [401] * 20
    assert attempt(20) == 429
    assert attempt(21, email=" Admin@Feedback.example ") == 429  # the same account, written otherwise
    assert attempt(22, email="someone.else@feedback.example") == 401


def test_several_workers_without_shared_rate_limit_storage_refuse_to_start(database_url, tmp_path):
    """Rate limits must hold as configured: gunicorn with two workers and per-process (memory://)
    counters refuses to start and says why; with REDIS_URL, or one worker, it starts."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("FLASK_DEBUG", "REDIS_URL", "RATELIMIT_ENABLED", "WEB_CONCURRENCY")}
    env |= {"SECRET_KEY": "k" * 40, "DATABASE_URL": database_url, "WEB_CONCURRENCY": "2"}
    refused = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
                              f"127.0.0.1:{free_port()}", "wsgi:app"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode != 0
    assert "REDIS_URL" in refused.stderr and "2 workers" in refused.stderr, refused.stderr
    for extra in ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, {"WEB_CONCURRENCY": "1"}, {"RATELIMIT_ENABLED": "false"}):
        for name, value in {**env, **extra}.items():
            os.environ[name] = value
        try:
            assert feedback_config.rate_limit_storage_problem(int(os.environ["WEB_CONCURRENCY"])) is None, extra
        finally:
            for name in extra:
                os.environ.pop(name, None)


def test_production_warns_about_an_http_base_url_and_a_localhost_sender(monkeypatch, database_url, caplog):
    """RFC 8058 one-click unsubscribe needs HTTPS, and mail from feedback@localhost is junked: a
    production start with either says so in the log; https and a real domain start quietly."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "w" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://feedback.example.com")
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    with caplog.at_level("WARNING", logger="feedback.config"):
        feedback.create_app(feedback_config.Config())
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "not https" in warned and "RFC 8058" in warned and "localhost" in warned
    caplog.clear()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://feedback.example.com")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Feedback <feedback@example.com>")
    with caplog.at_level("WARNING", logger="feedback.config"):
        feedback.create_app(feedback_config.Config())
    assert not [record for record in caplog.records if record.name == "feedback.config"]


@pytest.mark.parametrize("typed", ["not an address", "ana@", "@example.org", "ana silva@example.org"])
def test_asking_for_a_view_link_with_a_non_address_is_a_form_error(web, typed):
    """/me with something that is not an e-mail address says so (400, the field marked), instead of
    'check your inbox' for a message that can never arrive."""
    client = web.test_client()
    page = client.get("/me")
    response = client.post("/me", data={"csrf_token": csrf_token(page.text), "email": typed})
    assert response.status_code == 400
    assert "Enter your e-mail address" in response.text
    assert "inbox" not in response.text.lower()


def test_only_the_newest_link_may_ask_for_a_successor(web, import_csv, runner, smtp_server):
    """Attack: keep an old, replaced link and ask for a fresh one every so often, each time killing
    the link the person is using and mailing them again. The replaced link's page offers nothing
    to ask for, its renew POST queues nothing, and the newest link keeps working."""
    from datetime import timedelta

    import_and_send(import_csv, runner, [outcome_row(outcome="withdrew", company_contact_email="")])
    first = link_of(smtp_server, "ana.silva@example.org")
    request = db.session.scalar(sa.select(FeedbackRequest).where(FeedbackRequest.audience == "candidate"))
    request.link_issued_at -= timedelta(days=40)  # the first link expired
    db.session.commit()
    client = web.test_client()
    while read_feedback_link_token(first.removeprefix("/f/")).signed_at.timestamp() + 1.01 > time.time():
        time.sleep(0.02)  # link times have one-second resolution
    assert client.post(f"{first}/renew", data={"csrf_token": any_csrf(client)}).status_code == 202
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    newest = link_of(smtp_server, "ana.silva@example.org")
    assert newest != first and client.get(newest).status_code == 200
    mailed = len(smtp_server.messages)

    replaced = client.get(first)
    assert replaced.status_code == 410 and "was replaced" in replaced.text
    assert "/renew" not in replaced.text
    time.sleep(1.05)
    assert client.post(f"{first}/renew", data={"csrf_token": any_csrf(client)}).status_code == 202
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "fresh_link", OutboxMessage.status == "queued")) == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    assert len(smtp_server.messages) == mailed
    assert client.get(newest).status_code == 200


def test_an_advice_decision_stands_unless_an_admin_reopens_it(web, import_csv, runner, smtp_server, sign_in):
    """Attack: approve, withhold, approve again the same advice (a recruiter flipping what a candidate
    sees). The second decision is a 409 and changes nothing; only an admin can reopen it (a recruiter
    gets 403), after which it can be decided again; each step is in the audit log."""
    world = build_world(web, import_csv, runner, smtp_server)
    recruiter, admin = sign_in(RECRUITER), sign_in(ADMIN)
    path = f"/recruiter/reviews/{world.review_id}"

    def decide(client, decision: str):
        return client.post(path, data={"csrf_token": any_csrf(client), f"r{world.review_id}-decision": decision})

    def status() -> str:
        db.session.rollback()
        return db.session.get(AdviceReview, world.review_id).status

    assert decide(recruiter, "withhold").status_code == 302 and status() == "withheld"
    again = decide(recruiter, "approve")
    assert again.status_code == 409 and "admin reopens" in again.text
    assert status() == "withheld"
    reopen = f"{path}/reopen"
    assert recruiter.post(reopen, data={"csrf_token": any_csrf(recruiter)}).status_code == 403
    listing = admin.get("/recruiter/reviews").text
    assert f'action="{reopen}"' in listing
    assert admin.post(reopen, data={"csrf_token": any_csrf(admin)}).status_code == 302 and status() == "pending"
    assert admin.post(reopen, data={"csrf_token": any_csrf(admin)}).status_code == 409
    assert decide(recruiter, "approve").status_code == 302 and status() == "approved"
    actions = list(db.session.scalars(sa.text("SELECT action FROM audit_events WHERE action LIKE 'advice%' ORDER BY id")))
    assert actions == ["advice reviewed", "advice reopened", "advice reviewed"]
    assert "advice reopened" in admin.get("/admin/audit").text


# --- text that reaches e-mail headers, and names that carry a message (items 10 and 17) -------

CONTROL_CHARACTERS = ["\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u202e", "\u2066"]
MESSAGES_IN_NAMES = ["URGENT: verify at https://evil.example/login", "Go to www.evil.example now",
                     "Call support@evil.example", "<a href=x>Ana</a>", "Ana &#60;b&#62;", "sign in at bank.com"]
NAMES_THAT_STAY = ["Zoë Ñúñez", "O'Brien-Smith", "Dr. J. R. Tolkien", "Node.js / ASP.NET Developer", "R&D Engineer"]
UNMAILABLE = ["=?utf-8?q?Support?=@example.org", "zoë@example.org"]


def hostile_rows() -> list[dict]:
    rows = [outcome_row(candidate_name=f"Ana{char}Silva", candidate_email=f"c{i}@example.org",
                        application_ref=f"CC-{i}") for i, char in enumerate(CONTROL_CHARACTERS)]
    rows += [outcome_row(position=f"QA{char}Engineer", candidate_email=f"p{i}@example.org",
                         application_ref=f"CP-{i}") for i, char in enumerate(CONTROL_CHARACTERS)]
    rows += [outcome_row(**{field: text, "candidate_email": f"m{i}{field[0]}@example.org",
                            "application_ref": f"M-{i}-{field}"})
             for i, text in enumerate(MESSAGES_IN_NAMES) for field in ("candidate_name", "position")]
    rows += [outcome_row(candidate_email=address, application_ref=f"U-{i}") for i, address in enumerate(UNMAILABLE)]
    rows += [outcome_row(company_contact_email=UNMAILABLE[0], application_ref="U-contact")]
    return rows


def test_control_characters_links_and_unmailable_addresses_are_line_errors_everywhere(
        web, make_app, runner, write_csv, smtp_server, make_user, sign_in):
    """Attack: control characters (VT, FF, ESC, DEL, C1, separators, bidi overrides) in names and positions,
    a phishing message or markup in a person or role field, and addresses no mail system can carry,
    through the CSV import, the upload, the JSON API and the webhook. Each is a line error naming the
    column; the names of real people and roles still pass; nothing is stored or queued."""
    rows = hostile_rows()
    result = runner.invoke(args=["feedback", "import", str(write_csv(rows))])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert len(errors) == len(rows), result.stderr
    for line in errors[:len(CONTROL_CHARACTERS)]:
        assert ": candidate_name: must not contain a control character" in line
    assert sum("without a link, an e-mail address or markup" in line for line in errors) == 2 * len(MESSAGES_IN_NAMES)
    assert "encoded word" in errors[-3] and "non-ASCII letters before the @" in errors[-2]
    assert ": company_contact_email: " in errors[-1]
    assert count(Candidate) == 0 and count(OutboxMessage) == 0

    kept = [outcome_row(candidate_name=name, position=name, candidate_email=f"k{i}@example.org",
                        application_ref=f"K-{i}") for i, name in enumerate(NAMES_THAT_STAY)]
    kept.append(outcome_row(candidate_name="Ana\t \tSilva", application_ref="K-tab"))
    assert runner.invoke(args=["feedback", "import", str(write_csv(kept))]).exit_code == 0
    db.session.rollback()
    assert set(db.session.scalars(sa.select(Candidate.name))) == {*NAMES_THAT_STAY, "Ana Silva"}

    make_user(RECRUITER, "recruiter", ACME)
    recruiter = sign_in(RECRUITER)
    preview = recruiter.post("/recruiter/upload", data={
        "csrf_token": any_csrf(recruiter), "file": (io.BytesIO(csv_bytes(rows)), "hostile.csv")})
    assert preview.status_code == 422 and "must not contain a control character" in preview.text
    assert "without a link, an e-mail address or markup" in preview.text

    keys = runner.invoke(args=["feedback", "keys", "create", RECRUITER])
    assert keys.exit_code == 0, keys.output
    api = web.test_client()
    answered = api.post("/api/v1/outcomes", json={"outcomes": rows},
                        headers={"Authorization": f"Bearer {keys.stdout.strip()}"})
    assert answered.status_code == 422
    assert len({error["index"] for error in answered.get_json()["errors"]}) == len(rows)

    secret = "whsec-hostile-0123456789"
    hook = make_app(WEBHOOK_SECRET=secret).test_client()
    for index, name in enumerate(["Ana\x1b[2JSilva", MESSAGES_IN_NAMES[0]]):
        body = json.dumps({"event": "candidate.rejected", "occurred_at": "2026-10-02T10:00:00Z", "application": {
            "id": f"WH-{index}", "stage": "interview", "job": {"title": "QA Engineer"}, "company": {"name": ACME},
            "candidate": {"name": name, "email": "wh@example.org"},
            "rejected_by": {"email": CONTACT}}}).encode()
        stamp = str(int(time.time()))
        signature = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        delivered = hook.post("/api/v1/webhooks/outcome", data=body, content_type="application/json",
                              headers={"X-Feedback-Timestamp": stamp, "X-Feedback-Signature": signature})
        assert delivered.status_code == 422, delivered.text
        assert delivered.get_json()["errors"][0]["field"] == "candidate_name"
    db.session.rollback()
    assert count(Candidate) == len(kept)  # the kept rows only


# --- promises that outlive a key (item 1) -----------------------------------------------------

def test_an_unsubscribe_holds_for_ever_across_key_rotations(app, make_app, write_csv, smtp_server):
    """Attack: rotate SECRET_KEY twice, so the key an unsubscribe was made under leaves the fallbacks.
    The address stays unsubscribed and its one-click link keeps working; a link of the release before
    (signed with a key since retired) still lets the person stop the mail, by typing the address; a
    suppression stored under the old key is carried to the address key while that key is configured."""
    old_key = app.config["SECRET_KEY"]  # the key configured when the migration ran
    keys = [f"rotation-{n}-0123456789abcdef0123456789abcdef" for n in range(3)]

    def run(flask_app, *rows: dict) -> None:
        with flask_app.app_context():
            runner = flask_app.test_cli_runner()
            imported = runner.invoke(args=["feedback", "import", str(write_csv(list(rows)))])
            assert imported.exit_code == 0, imported.output
            assert runner.invoke(args=["feedback", "send"]).exit_code == 0

    def withdrew(address: str, ref: str) -> dict:
        return outcome_row(candidate_email=address, outcome="withdrew", company_contact_email="", application_ref=ref)

    def legacy_digest(address: str, key: str) -> str:  # how the release before hashed an address
        return hmac.new(key.encode(), b"suppression:" + address.encode(), hashlib.sha256).hexdigest()

    first = checked(make_app(SECRET_KEY=keys[0]))
    run(first, withdrew("gone@example.org", "R-1"), withdrew("stays@example.org", "R-2"))
    link = unsubscribe_path(messages_to(smtp_server, "gone@example.org")[-1])
    assert first.test_client().post(link).status_code == 200
    # from the release before: a suppression hashed under keys[0], and a link signed with the retired key
    db.session.add(Suppression(address_hash=legacy_digest("carried@example.org", keys[0])))
    db.session.commit()
    old_link = "/u/" + URLSafeTimedSerializer(old_key, salt=UNSUBSCRIBE_SALT).dumps(
        legacy_digest("typed@example.org", old_key))

    overlap = checked(make_app(SECRET_KEY=keys[1], SECRET_KEY_FALLBACKS=[keys[0]]))
    run(overlap, withdrew("carried@example.org", "R-3"))  # found under keys[0], carried to the address key
    latest = checked(make_app(SECRET_KEY=keys[2], SECRET_KEY_FALLBACKS=[keys[1]]))
    client = latest.test_client()
    assert client.get(link).status_code == 200 and client.post(link).status_code == 200
    asked = client.get(old_link)
    assert asked.status_code == 200 and 'name="email"' in asked.text
    assert client.post(old_link).status_code == 400  # a one-click POST cannot say which address
    assert client.post(old_link, data={"csrf_token": csrf_token(asked.text),
                                       "email": "Typed@Example.org"}).status_code == 200
    for forged in (link[:-2] + ("00" if not link.endswith("00") else "11"), "/u/" + "0" * 64 + "." + "0" * 32,
                   "/u/" + URLSafeTimedSerializer("not-our-key", salt=UNSUBSCRIBE_SALT).dumps("a" * 64)):
        assert client.get(forged).status_code == 404, forged
    mailed = len(smtp_server.messages)
    run(latest, *[withdrew(address, f"R-9{i}") for i, address in enumerate(
        ["gone@example.org", "carried@example.org", "typed@example.org", "stays@example.org"])])
    assert [str(m["To"]) for m in smtp_server.messages[mailed:]] == ["stays@example.org"]


# --- one tenant's import never names another tenant's candidate (item 3) ----------------------

def test_an_import_never_reveals_or_changes_the_name_another_tenant_stored(web, import_csv, runner, smtp_server,
                                                                           make_user, sign_in):
    """Attack: a recruiter of company A uploads a row with company B's candidate's address, a made-up name
    and A's own contact. A's contact is mailed (and shown on the survey page) the name A gave, never the
    one B stored; B's mails, pages and the stored candidate keep B's name."""
    secret_name, bait = "Beatrix Hiddenname", "Anyone At All"
    import_and_send(import_csv, runner, [outcome_row(
        candidate_name=secret_name, candidate_email="bea@example.org", company="Borealis Logistics",
        company_contact_email="hm@borealis.example.com", position="Dispatcher", application_ref="B-1"),
        outcome_row(candidate_email="someone@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="A-0")])
    make_user(RECRUITER, "recruiter", ACME)
    recruiter = sign_in(RECRUITER)
    rows = [outcome_row(candidate_name=bait, candidate_email="BEA@example.org", company_contact_email=CONTACT,
                        application_ref="A-1")]
    preview = recruiter.post("/recruiter/upload", data={
        "csrf_token": any_csrf(recruiter), "file": (io.BytesIO(csv_bytes(rows)), "a.csv")})
    assert preview.status_code == 200, preview.text
    ticket = re.search(r'name="upload" type="hidden" value="([^"]+)"', preview.text).group(1)
    assert recruiter.post("/recruiter/upload/confirm", data={"csrf_token": any_csrf(recruiter),
                                                             "upload": ticket}).status_code == 302
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    (to_a,) = messages_to(smtp_server, CONTACT)
    assert bait in str(to_a["Subject"]) + text_part(to_a) and secret_name not in text_part(to_a) + html_part(to_a)
    page = web.test_client().get(link_of(smtp_server, CONTACT)).text
    assert bait in page and secret_name not in page
    (to_b,) = messages_to(smtp_server, "hm@borealis.example.com")
    assert secret_name in text_part(to_b)
    assert secret_name in web.test_client().get(link_of(smtp_server, "hm@borealis.example.com")).text
    db.session.rollback()
    assert db.session.scalar(sa.select(Candidate.name).where(Candidate.email == "bea@example.org")) == secret_name


# --- every staff figure on the same snapshot (item 4) -----------------------------------------

def test_the_overview_the_dashboard_and_the_api_show_the_same_snapshot(web, import_csv, runner, smtp_server,
                                                                       admin_client):
    """Attack: read the recruiter overview's NPS before and after one new answer, next to the API's list of
    who answered. The overview shows the dashboard's anonymity snapshot, as the API report does: one new
    answer moves none of them; the k-th after the snapshot moves all three together."""
    import_and_send(import_csv, runner, [
        outcome_row(candidate_email=f"snap{i}@example.org", outcome="withdrew", company_contact_email="",
                    application_ref=f"S-{i}") for i in range(10)])
    browser = web.test_client()

    def nps_everywhere() -> tuple:
        db.session.rollback()
        company_id = company_named(ACME).id
        overview = admin_client.get("/recruiter/").text
        shown = re.search(r">Acme Robotics</a></th>(?:\s*<td>[^<]*</td>){3}\s*<td>([^<]+)</td>", overview).group(1)
        dashboard = admin_client.get(f"/companies/{company_id}/dashboard").text
        keys = runner.invoke(args=["feedback", "keys", "create", ADMIN])
        report = web.test_client().get(f"/api/v1/companies/{company_id}/report",
                                       headers={"Authorization": f"Bearer {keys.stdout.strip()}"}).get_json()
        return shown.strip(), report["candidate_experience"]["nps"], "+100" in dashboard or "100" in dashboard

    for i in range(5):
        answer(browser, link_of(smtp_server, f"snap{i}@example.org"), {**CANDIDATE_ANSWERS, "nps": "10"})
    assert nps_everywhere() == ("+100", 100, True)
    answer(browser, link_of(smtp_server, "snap5@example.org"), {**CANDIDATE_ANSWERS, "nps": "0"})
    assert nps_everywhere() == ("+100", 100, True)  # the live figure would be +83: one person's 0
    for i in range(6, 10):
        answer(browser, link_of(smtp_server, f"snap{i}@example.org"), {**CANDIDATE_ANSWERS, "nps": "0"})
    overview, api, _ = nps_everywhere()
    assert overview == "+0" and api == 0  # ten counted: five promoters, five detractors


# --- races that a unique index settles (item 9) -----------------------------------------------

def at_once(*calls) -> list:
    """Run the calls in threads released together; their results (or the exception's repr)."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list = [None] * len(calls)

    def run(slot: int) -> None:
        try:
            barrier.wait()
            results[slot] = calls[slot]()
        except BaseException as exc:  # reported to the test, which fails on it
            barrier.abort()
            results[slot] = repr(exc)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def signed_delivery(secret: str, event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    signature = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, {"X-Feedback-Timestamp": stamp, "X-Feedback-Signature": signature}


def rejection_event(ref: str, email: str) -> dict:
    return {"event": "candidate.rejected", "occurred_at": "2026-10-02T10:00:00Z", "application": {
        "id": ref, "stage": "interview", "job": {"title": "QA Engineer"}, "company": {"name": ACME},
        "candidate": {"name": "Racing Person", "email": email}, "rejected_by": {"email": CONTACT}}}


def test_racing_writes_get_their_proper_answer_never_a_500(web, make_app, import_csv, runner, smtp_server,
                                                           make_user, sign_in):
    """Attack: one webhook delivery four times at once; two deliveries naming the same new candidate at
    once; two confirms of one upload ticket at once. Each loser gets what a repeat gets (409 for the
    same delivery, 201 or 200 for another, the "already imported" page for the upload), never a 500,
    and each thing is stored once."""
    assert import_csv([outcome_row()]).exit_code == 0  # Acme exists
    secret = "whsec-race-0123456789abcdef"
    hook = make_app(WEBHOOK_SECRET=secret)

    def deliver(body: bytes, headers: dict):
        return lambda: hook.test_client().post("/api/v1/webhooks/outcome", data=body, content_type="application/json",
                                               headers=headers).status_code

    for round_number in range(3):
        body, headers = signed_delivery(secret, rejection_event(f"SAME-{round_number}", f"same{round_number}@example.org"))
        statuses = at_once(*[deliver(body, headers)] * 4)
        assert sorted(statuses) == [201, 409, 409, 409], statuses
        first, second = (signed_delivery(secret, rejection_event(f"NEW-{round_number}-{side}",
                                                                 f"new{round_number}@example.org")) for side in "ab")
        assert sorted(at_once(deliver(*first), deliver(*second))) == [201, 201]
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Candidate)
                                 .where(Candidate.email == f"new{round_number}@example.org")) == 1

    make_user(RECRUITER, "recruiter", ACME)
    recruiter = sign_in(RECRUITER)
    for round_number in range(3):
        rows = [outcome_row(candidate_email=f"up{round_number}-{i}@example.org", application_ref=f"UP-{round_number}-{i}")
                for i in range(20)]
        preview = recruiter.post("/recruiter/upload", data={
            "csrf_token": any_csrf(recruiter), "file": (io.BytesIO(csv_bytes(rows)), "race.csv")})
        assert preview.status_code == 200, preview.text
        ticket = re.search(r'name="upload" type="hidden" value="([^"]+)"', preview.text).group(1)
        csrf = any_csrf(recruiter)

        def confirm(csrf=csrf, ticket=ticket):
            response = recruiter.post("/recruiter/upload/confirm", data={"csrf_token": csrf, "upload": ticket})
            return response.status_code, urlsplit(response.headers.get("Location", "")).path

        results = at_once(confirm, confirm)
        assert all(status == 302 for status, _path in results), results
        assert sorted(path.startswith("/recruiter/batches/") for _status, path in results) == [False, True], results
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)
                                 .where(Application.application_ref.like(f"UP-{round_number}-%"))) == 20


# --- a webhook secret per company (item 16) ---------------------------------------------------

def test_a_connector_imports_for_its_own_company_only_and_never_creates_one(app, make_app, import_csv, runner):
    """Attack: hold company A's connector secret and aim at company B: sign for B's connector (401), name B
    or a new company in A's connector (422, nothing written, no company created), use a revoked or
    unknown connector or another kind's path (404). The operator's webhook never creates a company."""
    assert import_csv([outcome_row(), outcome_row(company="Borealis Logistics", candidate_email="b@example.org",
                                                  application_ref="B-1")]).exit_code == 0
    paths = {}
    for company, secret in ((ACME, "secret-of-acme-0123456789"), ("Borealis Logistics", "secret-of-borealis-0123")):
        created = runner.invoke(args=["feedback", "connectors", "create", "--kind", "generic", "--company", company,
                                      "--secret", secret])
        assert created.exit_code == 0, created.output
        paths[company] = urlsplit(created.stdout.splitlines()[0].removeprefix("url: ")).path
    hook = make_app(WEBHOOK_SECRET="operator-secret-0123456789").test_client()

    def post(path: str, secret: str, company: str | None, ref: str = "WH-1"):
        event = rejection_event(ref, "new.person@example.org")
        if company is None:
            del event["application"]["company"]
        else:
            event["application"]["company"]["name"] = company
        body, headers = signed_delivery(secret, event)
        return hook.post(path, data=body, content_type="application/json", headers=headers)

    def companies() -> set[str]:
        db.session.rollback()
        return set(db.session.scalars(sa.select(sa.text("name")).select_from(sa.table("companies"))))

    before = companies()
    assert post(paths["Borealis Logistics"], "secret-of-acme-0123456789", None).status_code == 401
    for named in ("Borealis Logistics", "Brand New Company"):
        refused = post(paths[ACME], "secret-of-acme-0123456789", named)
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "company", refused.text
    refused = post("/api/v1/webhooks/outcome", "operator-secret-0123456789", "Brand New Company")
    assert refused.status_code == 422
    assert companies() == before and count(Candidate) == 2
    assert post(paths[ACME], "secret-of-acme-0123456789", None).status_code == 201  # its own company, implied
    listed = runner.invoke(args=["feedback", "connectors", "list"])
    assert listed.exit_code == 0 and "last event: no event yet" in listed.stdout
    assert sum("last event: 20" in line for line in listed.stdout.splitlines()) == 1
    connector_id = paths[ACME].rsplit("/", 1)[1]
    assert runner.invoke(args=["feedback", "connectors", "revoke", connector_id]).exit_code == 0
    for path in (paths[ACME], f"/hooks/greenhouse/{paths['Borealis Logistics'].rsplit('/', 1)[1]}",
                 "/hooks/generic/999999", "/hooks/generic/99999999999999"):
        gone = post(path, "secret-of-acme-0123456789", None, ref="WH-2")
        assert gone.status_code == 404 and gone.mimetype == "application/json", path
    assert runner.invoke(args=["feedback", "connectors", "create", "--kind", "generic", "--company", "Nobody"]
                         ).exit_code != 0


# --- uploads an attacker cannot use to exhaust a worker (item 5) ------------------------------

def test_a_file_of_a_million_bad_lines_is_refused_small_and_quickly_grouped(app, make_app, import_csv, runner,
                                                                           write_csv, tmp_path, make_user, sign_in):
    """Attack: upload (and dry-run) 2 MB of a million one-field lines, a file whose header holds a 1 MiB
    field, and more rows than an upload takes. Each is a 422 page of a bounded size that stops at the
    first 1,000 problems and says how many lines it did not check; the CLI prints 1,000 problems and a
    summary, no traceback; repeated problems are grouped ("296 lines: …"). (Time and memory: make bench.)"""
    assert import_csv([outcome_row()]).exit_code == 0
    make_user(RECRUITER, "recruiter", ACME)
    web = checked(make_app(UPLOAD_MAX_ROWS=50))
    recruiter = sign_in(RECRUITER, on=web)

    def upload(content: bytes, name: str = "bad.csv"):
        return recruiter.post("/recruiter/upload", data={
            "csrf_token": any_csrf(recruiter), "file": (io.BytesIO(content), name)})

    million = ",".join(HEADER).encode() + b"\n" + b"x\n" * 1_000_000
    page = upload(million)
    assert page.status_code == 422 and len(page.data) < 300_000
    stopped = int(re.search(r"stopped after 1000 problems at line (\d+)", page.text).group(1))
    assert f"; {1_000_001 - stopped} more lines were not checked" in page.text  # the header and a million
    assert page.text.split('class="table problems"')[1].count("<tr><td>") == 1000
    path = tmp_path / "million.csv"
    path.write_bytes(million)
    dry = runner.invoke(args=["feedback", "import", "--dry-run", str(path)])
    assert dry.exit_code == 1 and isinstance(dry.exception, SystemExit)
    problems = [line for line in dry.stderr.splitlines() if line.startswith("line ")]
    assert len(problems) == 1000 and "error: stopped after 1000 problems" in dry.stderr

    wide = ",".join(HEADER).replace("position", "position" + "p" * (1024 * 1024 + 10)).encode() + b"\nx\n"
    page = upload(wide)
    assert page.status_code == 422 and "<td>header</td><td>is longer than 65536 characters" in page.text
    path.write_bytes(wide)
    dry = runner.invoke(args=["feedback", "import", "--dry-run", str(path)])
    assert dry.exit_code == 1 and "line 1: header: is longer than" in dry.stderr and "Traceback" not in dry.output

    foreign = [outcome_row(company="Granite Bank", candidate_email=f"g{i}@example.org", application_ref=f"G-{i}")
               for i in range(30)]
    page = upload(csv_bytes(foreign))
    assert page.status_code == 422
    assert "<strong>30 lines (2–31)</strong>: company: &#39;Granite Bank&#39; is not one of your companies" in re.sub(
        "</?bdi>", "", page.text)
    big = [outcome_row(candidate_email=f"b{i}@example.org", application_ref=f"B-{i}") for i in range(51)]
    page = upload(csv_bytes(big))
    assert page.status_code == 422 and "has 51 rows; an upload takes at most 50" in page.text
    assert "feedback import" in page.text


# --- /me tells nothing by its time (item 12) --------------------------------------------------

def test_me_does_the_same_work_for_a_known_and_an_unknown_address(web, import_csv, runner, smtp_server):
    """Attack: time /me with addresses to learn which are candidates. The request runs the very same SQL
    statements whatever the address (one insert of a request the sender looks up later), so there is
    no difference to time; the candidate alone gets the mail. (Timings are not asserted in tests.)"""
    import_and_send(import_csv, runner, [outcome_row(candidate_email="known@example.org", outcome="withdrew",
                                                     company_contact_email="")])
    db.session.remove()

    def statements_of(address: str) -> list[str]:
        client = web.test_client()
        csrf = any_csrf(client)
        seen: list[str] = []

        def note(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        with web.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            answered = client.post("/me", data={"csrf_token": csrf, "email": address})
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        assert answered.status_code == 200 and "Check your inbox" in answered.text
        return seen

    known, unknown = statements_of("known@example.org"), statements_of("stranger@example.org")
    assert known == unknown and any(statement.startswith("INSERT") for statement in known)
    mailed = len(smtp_server.messages)
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    assert [str(m["To"]) for m in smtp_server.messages[mailed:]] == ["known@example.org"]
