"""The ATS connectors page of the recruiter workspace, and the connector secrets at rest.

A recruiter creates a connector for one of their companies and sees its secret once; the secret is
stored encrypted (never as given) and still opens after a SECRET_KEY rotation through
SECRET_KEY_FALLBACKS; another company's connector can neither be seen nor revoked.
"""
from __future__ import annotations

import json
import re
import time

import sqlalchemy as sa
from conftest import csrf_token, outcome_row
from test_webhook import EVENT, sign

from feedback.extensions import db
from feedback.models import AuditEvent, Connector

ACME = "Acme Robotics"
BOREALIS = "Borealis Logistics"
RECRUITER = "recruiter.acme@feedback.example"


def seed(import_csv, make_user):
    imported = import_csv([outcome_row(application_ref="SEED-1"),
                           outcome_row(company=BOREALIS, candidate_email="b@example.org", application_ref="SEED-2")])
    assert imported.exit_code == 0, imported.output
    make_user(RECRUITER, "recruiter", ACME)


def company_id(name: str) -> int:
    return db.session.scalar(sa.text("SELECT id FROM companies WHERE name = :name"), {"name": name})


def test_a_recruiter_creates_a_connector_sees_the_secret_once_and_revokes_it(import_csv, make_user, sign_in,
                                                                               runner):
    seed(import_csv, make_user)
    browser = sign_in(RECRUITER)
    page = browser.get("/recruiter/connectors")
    assert page.status_code == 200
    assert "No connector yet." in page.text
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.text)
    assert [name for _id, name in options] == [ACME]  # only the recruiter's companies

    # a Lever connector needs its API key; a Greenhouse one takes none
    refused = browser.post("/recruiter/connectors", data={"csrf_token": csrf_token(page.text),
                                                          "company": company_id(ACME), "kind": "lever"})
    assert refused.status_code == 400
    assert "needs the company&#39;s Lever API key" in refused.text
    created = browser.post("/recruiter/connectors", data={"csrf_token": csrf_token(page.text),
                                                          "company": company_id(ACME), "kind": "greenhouse"})
    assert created.status_code == 201
    secret = re.search(r'<code id="connector-secret">([^<]+)</code>', created.text).group(1)
    assert len(secret) >= 32
    assert "shown only once" in created.text
    db.session.rollback()
    connector = db.session.scalars(sa.select(Connector)).one()
    assert connector.kind == "greenhouse" and connector.company_id == company_id(ACME)
    assert f"/hooks/greenhouse/{connector.id}" in created.text
    # at rest: encrypted, never the secret itself
    assert secret not in connector.secret and connector.secret.startswith("fernet:")
    # and never again on the page
    again = browser.get("/recruiter/connectors")
    assert secret not in again.text and f"/hooks/greenhouse/{connector.id}" in again.text
    audit = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("connector%"))).all()
    assert audit == ["connector created"]

    # another company's connector: not listed, not revocable
    other = runner.invoke(args=["feedback", "connectors", "create", "--kind", "ashby", "--company", BOREALIS])
    assert other.exit_code == 0, other.output
    db.session.rollback()
    theirs = db.session.scalar(sa.select(Connector.id).where(Connector.kind == "ashby"))
    assert f"/hooks/ashby/{theirs}" not in browser.get("/recruiter/connectors").text
    assert browser.post(f"/recruiter/connectors/{theirs}/revoke",
                        data={"csrf_token": csrf_token(again.text)}).status_code == 404

    revoked = browser.post(f"/recruiter/connectors/{connector.id}/revoke", data={"csrf_token": csrf_token(again.text)},
                           follow_redirects=True)
    assert revoked.status_code == 200
    assert f"Connector #{connector.id} revoked" in revoked.text
    db.session.rollback()
    assert db.session.get(Connector, connector.id).revoked_at is not None
    assert db.session.get(Connector, theirs).revoked_at is None


def test_a_connector_secret_survives_a_secret_key_rotation(app, make_app, import_csv, make_user):
    seed(import_csv, make_user)
    old_key = app.config["SECRET_KEY"]
    created = app.test_cli_runner().invoke(args=["feedback", "connectors", "create", "--kind", "generic",
                                                 "--company", ACME, "--secret", "a-connector-secret-0123456789"])
    assert created.exit_code == 0, created.output
    path = created.stdout.splitlines()[0].removeprefix("url: http://feedback.example")
    body = json.dumps({**EVENT, "application": {**EVENT["application"], "id": "ROT-1"}}).encode()

    def deliver(on) -> int:
        timestamp = int(time.time())
        return on.test_client().post(path, data=body, content_type="application/json", headers={
            "X-Feedback-Timestamp": str(timestamp),
            "X-Feedback-Signature": sign(body, timestamp, "a-connector-secret-0123456789")}).status_code

    rotated = make_app(SECRET_KEY="a-new-secret-key-for-rotation-0123456789", SECRET_KEY_FALLBACKS=[old_key])
    assert deliver(rotated) == 201  # the old key still opens the stored secret
    forgotten = make_app(SECRET_KEY="a-new-secret-key-for-rotation-0123456789", SECRET_KEY_FALLBACKS=[])
    assert deliver(forgotten) == 503  # nothing opens it: the operator is told, no event is taken
