"""Signing in and out: one generic error, a fresh session at login, a dead session after logout,
local ``next=`` targets only; and the ``users create`` command.

Browsers talk to ``web`` (conftest.py): requests to the ``app`` fixture's app would share its pushed
app context, and with it ``g`` (the signed-in user Flask-Login caches there) across clients, which
would hide exactly what these tests look for.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from conftest import ADMIN, PASSWORD, company_named, csrf_token, outcome_row

from feedback import config as feedback_config
from feedback.extensions import db
from feedback.models import Company, User

RECRUITER = "recruiter@feedback.example"
COMPANY_USER = "people@acme-robotics.example.com"


@pytest.fixture
def acme(import_csv) -> Company:
    imported = import_csv([outcome_row()])
    assert imported.exit_code == 0, imported.output
    return company_named("Acme Robotics")


@pytest.fixture
def accounts(acme, make_user) -> dict[str, User]:
    return {"recruiter": make_user(RECRUITER, "recruiter", acme), "company": make_user(COMPANY_USER, "company", acme)}


def post_login(client, email: str, password: str, **query):
    page = client.get("/login", query_string=query)
    assert page.status_code == 200
    return client.post("/login", query_string=query,
                       data={"csrf_token": csrf_token(page.text), "email": email, "password": password})


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


# --- the login form ---------------------------------------------------------------------------

def normalised(html: str, address: str) -> str:
    """The page without what legitimately differs between two attempts: the token and the address typed."""
    html = re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+', r"\1TOKEN", html)
    return html.replace(address, "ADDRESS")


def test_login_error_is_the_same_for_unknown_address_and_wrong_password(web, accounts):
    unknown = post_login(web.test_client(), "nobody@feedback.example", "some password here")
    wrong = post_login(web.test_client(), RECRUITER, "not the right password")
    assert unknown.status_code == wrong.status_code == 401
    assert "That e-mail address and password do not match an account." in unknown.text
    assert normalised(unknown.text, "nobody@feedback.example") == normalised(wrong.text, RECRUITER)
    for words in ("unknown", "no account", "not found", "does not exist", "no such", "wrong password",
                  "incorrect password", "not registered"):
        assert words not in unknown.text.lower()
        assert words not in wrong.text.lower()
    # neither attempt signed anybody in
    assert db.session.scalar(sa.select(User.last_login_at).where(User.email == RECRUITER)) is None


def test_login_succeeds_with_the_right_password_whatever_the_case_of_the_address(web, accounts, acme):
    client = web.test_client()
    signed_in = post_login(client, "People@ACME-Robotics.example.com", PASSWORD)
    assert urlsplit(location(signed_in)).path == f"/companies/{acme.id}/dashboard"
    assert client.get(f"/companies/{acme.id}/dashboard").status_code == 200


def test_login_renews_the_session(web, accounts):
    client = web.test_client()
    page = client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone before the login"  # e.g. a fixated session
    before = session_cookie(client)
    signed_in = client.post("/login", data={"csrf_token": csrf_token(page.text), "email": RECRUITER,
                                            "password": PASSWORD})
    assert location(signed_in) == "/recruiter/"
    after = session_cookie(client)
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id", "").startswith(f"{accounts['recruiter'].id}:")
    # the cookie from before the login does not carry the login
    stale = web.test_client()
    stale.set_cookie("session", before)
    assert urlsplit(location(stale.get("/recruiter/"))).path == "/login"
    assert client.get("/recruiter/").status_code == 200


def test_a_copied_session_cookie_stops_working_at_logout(web, accounts, acme, sign_in):
    client = sign_in(COMPANY_USER)
    dashboard = f"/companies/{acme.id}/dashboard"
    copied = session_cookie(client)

    thief = web.test_client()
    thief.set_cookie("session", copied)
    assert thief.get(dashboard).status_code == 200  # the copy works while the session lives

    token = csrf_token(client.get("/me").text)
    logged_out = client.post("/logout", data={"csrf_token": token})
    assert urlsplit(location(logged_out)).path == "/login"
    assert urlsplit(location(client.get(dashboard))).path == "/login"

    for stale in (thief, web.test_client()):
        stale.set_cookie("session", copied)
        response = stale.get(dashboard)
        assert urlsplit(location(response)).path == "/login"
        assert "Acme Robotics" not in response.text


def test_logout_needs_a_post_with_a_csrf_token(accounts, acme, sign_in):
    client = sign_in(COMPANY_USER)
    dashboard = f"/companies/{acme.id}/dashboard"
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: a cross-site form cannot sign you out
    assert client.get(dashboard).status_code == 200


@pytest.mark.parametrize("target", [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "evil.example",
])
def test_next_accepts_local_paths_only(web, accounts, target):
    signed_in = post_login(web.test_client(), RECRUITER, PASSWORD, next=target)
    assert location(signed_in) == "/recruiter/"


def test_next_takes_you_to_a_local_path(web, accounts, acme):
    target = f"/companies/{acme.id}/dashboard?stage=interview"
    signed_in = post_login(web.test_client(), COMPANY_USER, PASSWORD, next=target)
    assert location(signed_in) == target


def test_the_login_redirect_remembers_the_page(web, accounts, acme):
    client = web.test_client()
    dashboard = f"/companies/{acme.id}/dashboard"
    sent_away = urlsplit(location(client.get(dashboard)))
    assert sent_away.path == "/login"
    back = client.post("/login?" + sent_away.query,
                       data={"csrf_token": csrf_token(client.get("/login?" + sent_away.query).text),
                             "email": COMPANY_USER, "password": PASSWORD})
    assert urlsplit(location(back)).path == dashboard


# --- users create -----------------------------------------------------------------------------

def create_command(runner, email: str, *options: str, password: str = "password123"):
    return runner.invoke(args=["feedback", "users", "create", email, *options], input=password + "\n")


def test_users_create_reads_the_password_from_stdin_and_hashes_it(app, web, runner, acme):
    result = create_command(runner, "new.recruiter@feedback.example", "--role", "recruiter",
                            "--company", "acme robotics")
    assert result.exit_code == 0, result.output
    assert "created recruiter login new.recruiter@feedback.example for Acme Robotics" in result.stdout
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "new.recruiter@feedback.example"))
    assert user.role == "recruiter"
    assert [company.name for company in user.companies] == ["Acme Robotics"]
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"])  # the configured method
    assert "password123" not in user.password_hash
    assert user.check_password("password123")
    assert not user.check_password("password123\n")
    # the new login works in the browser
    signed_in = post_login(web.test_client(), "new.recruiter@feedback.example", "password123")
    assert location(signed_in) == "/recruiter/"


def test_production_hashes_passwords_with_scrypt(make_app, acme):
    """Only the test configuration hashes cheaply: production stores werkzeug's scrypt."""
    method = feedback_config.Config().PASSWORD_HASH_METHOD
    assert method == "scrypt"
    production_hashing = make_app(PASSWORD_HASH_METHOD=method)
    with production_hashing.app_context():  # the command runs in the current app context
        result = create_command(production_hashing.test_cli_runner(), ADMIN, "--role", "admin")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == ADMIN))
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("password123")


def test_users_create_company_login(web, runner, acme):
    result = create_command(runner, "contact@acme-robotics.example.com", "--role", "company",
                            "--company", "Acme Robotics")
    assert result.exit_code == 0, result.output
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "contact@acme-robotics.example.com"))
    assert user.role == "company" and user.company_id == acme.id


def test_users_create_refuses_duplicates(runner, acme):
    first = create_command(runner, "admin@feedback.example", "--role", "admin")
    assert first.exit_code == 0, first.output
    for spelling in ("admin@feedback.example", "Admin@Feedback.Example"):
        again = create_command(runner, spelling, "--role", "admin", password="another password")
        assert again.exit_code != 0
        assert again.stderr.startswith("error:")
        assert "already exists" in again.stderr
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_users_create_refuses_a_company_login_without_company(runner, acme):
    result = create_command(runner, "contact@acme-robotics.example.com", "--role", "company")
    assert result.exit_code != 0
    assert result.stderr.startswith("error:")
    assert "--company" in result.stderr
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize("options, message", [
    (("--role", "recruiter"), "--company"),
    (("--role", "recruiter", "--company", "No Such Company"), "No Such Company"),
    (("--role", "company", "--company", "Acme Robotics", "--company", "Acme Robotics"), "exactly one"),
])
def test_users_create_refuses_other_bad_requests(runner, acme, options, message):
    result = create_command(runner, "someone@feedback.example", *options)
    assert result.exit_code != 0
    assert message in result.stderr
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_users_create_refuses_a_short_password(runner, acme):
    result = create_command(runner, "admin@feedback.example", "--role", "admin", password="short")
    assert result.exit_code != 0
    assert "at least" in result.stderr
