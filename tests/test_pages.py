"""Home page, /healthz, error pages in the site's look, security headers, the dev mailbox."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import outcome_row

from feedback.extensions import db
from feedback.models import OutboxMessage

FEEDBACK_LINK = re.compile(r"http://feedback\.example(/f/[A-Za-z0-9_.\-]+)")


def assert_security_headers(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def assert_site_look(page: str) -> None:
    assert '<header class="site-header">' in page
    assert re.search(r'<a class="brand" href="/">Feedback</a>', page)
    assert 'href="/static/app.css"' in page


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
    "sqlite:////nonexistent-directory-for-feedback-tests/sub/feedback.db",
])
def test_healthz_503_when_the_database_is_unreachable(make_app, url):
    broken = make_app(SQLALCHEMY_DATABASE_URI=url)  # the app is still creatable
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["status"] != "ok"
    assert "nothing" not in response.text and "nonexistent" not in response.text
    assert_security_headers(response)
    # the rest of the site that needs no database still answers
    assert broken.test_client().get("/").status_code == 200


def test_unknown_url_is_a_404_page_in_the_site_look(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert_site_look(response.text)
    assert "Page not found" in response.text
    assert 'href="/">Go to the home page</a>' in response.text
    assert_security_headers(response)


def test_a_failing_view_gives_a_500_page_in_the_site_look(make_app):
    fresh = make_app()

    @fresh.route("/boom-for-tests")
    def boom():
        raise RuntimeError("secret internal detail")

    response = fresh.test_client().get("/boom-for-tests")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert_site_look(response.text)
    assert "Something went wrong" in response.text
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert 'href="/">Go to the home page</a>' in response.text
    assert_security_headers(response)


def test_method_not_allowed_is_a_405_page(client):
    response = client.put("/healthz")
    assert response.status_code == 405
    assert_site_look(response.text)
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/", "/healthz", "/u/not-a-token"])
def test_security_headers_on_normal_pages(client, path):
    response = client.get(path)
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers  # the tests run on http://


def test_security_headers_are_added_once_and_a_view_keeps_its_own(app):
    """The headers come once each; a header the view set itself is left as it is, and a token
    page's Referrer-Policy and Cache-Control replace any other."""
    from flask import make_response

    from feedback.security import add_security_headers

    with app.test_request_context("/"):
        response = add_security_headers(make_response("x"))
        names = [name.lower() for name, _value in response.headers]
        assert len(names) == len(set(names))
        own = make_response("x")
        own.headers["X-Frame-Options"] = "SAMEORIGIN"
        assert add_security_headers(own).headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    with app.test_request_context("/f/some-token"):
        own = make_response("x")
        own.headers["Referrer-Policy"] = "no-referrer"
        response = add_security_headers(own)
        assert response.headers.getlist("Referrer-Policy") == ["same-origin"]
        assert response.headers["Cache-Control"] == "no-store"


def test_pages_link_under_the_prefix_they_are_served_at(client):
    """Addresses in pages are kept once built (url_for in templates), per script root: an app
    mounted under a prefix links under it, the same app at the root does not."""
    for _ in range(2):
        assert 'href="/static/app.css"' in client.get("/").text
        prefixed = client.get("/", environ_overrides={"SCRIPT_NAME": "/feedback"}).text
        assert 'href="/feedback/static/app.css"' in prefixed and 'href="/static/app.css"' not in prefixed


def test_kept_addresses_differ_by_id_and_text_is_never_kept(app):
    url_for = app.jinja_env.globals["url_for"]
    with app.test_request_context("/"):
        assert url_for("dashboard.company", company_id=1) == "/companies/1/dashboard"
        assert url_for("dashboard.company", company_id=2) == "/companies/2/dashboard"
        assert url_for("survey.renew", token="first") == "/f/first/renew"
        assert url_for("survey.renew", token="second") == "/f/second/renew"
        assert ("", "dashboard.company", ("company_id", 2)) in url_for.kept
        assert all("first" not in str(key) and "second" not in str(key) for key in url_for.kept)


def test_home_page_without_dev_mailbox_link(client):
    response = client.get("/")
    assert response.status_code == 200
    assert_site_look(response.text)
    assert "/dev/mailbox" not in response.text
    assert "Dev mode" not in response.text


def test_dev_mailbox_is_404_outside_dev_mode(client, import_csv, runner):
    assert import_csv([outcome_row()]).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    db.session.rollback()
    message = db.session.scalars(sa.select(OutboxMessage)).first()
    for path in ("/dev/mailbox/", f"/dev/mailbox/{message.id}", f"/dev/mailbox/{message.id}/html"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_security_headers(response)
    # outside dev mode the bodies (which hold live links) are not kept
    assert message.body_text is None and message.body_html is None


def test_dev_mailbox_lists_and_shows_messages_in_dev_mode(app, make_app, write_csv, smtp_server):
    dev = make_app(DEV_MAILBOX=True)
    path = write_csv([outcome_row()])
    with dev.app_context():  # CLI commands run in the current app context when there is one
        runner = dev.test_cli_runner()
        imported = runner.invoke(args=["feedback", "import", str(path)])
        assert imported.exit_code == 0, imported.output
        sent = runner.invoke(args=["feedback", "send"])
        assert sent.exit_code == 0, sent.output
        assert "sent: 2, failed: 0, left: 0" in sent.stdout
    assert smtp_server.messages == []  # nothing went out over SMTP

    client = dev.test_client()
    home = client.get("/")
    assert home.status_code == 200
    assert 'href="/dev/mailbox/"' in home.text

    index = client.get("/dev/mailbox/")
    assert index.status_code == 200
    assert_site_look(index.text)
    assert "ana.silva@example.org" in index.text
    assert "hiring@acme-robotics.example.com" in index.text
    assert "How was applying to Acme Robotics?" in index.text
    assert "Feedback for Ana Silva (QA Engineer)" in index.text

    db.session.rollback()
    candidate = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.to_address == "ana.silva@example.org")
    ).one()
    assert candidate.status == "sent"
    (link_path,) = set(FEEDBACK_LINK.findall(candidate.body_text))
    assert f'href="/dev/mailbox/{candidate.id}"' in index.text

    shown = client.get(f"/dev/mailbox/{candidate.id}")
    assert shown.status_code == 200
    assert f'href="http://feedback.example{link_path}"' in shown.text
    html = client.get(f"/dev/mailbox/{candidate.id}/html")
    assert html.status_code == 200
    assert f"http://feedback.example{link_path}" in html.text
    assert client.get("/dev/mailbox/999999").status_code == 404

    # the link in the mailbox works: a newcomer can click it
    form = client.get(link_path)
    assert form.status_code == 200
    assert "Acme Robotics" in form.text
