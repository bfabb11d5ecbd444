"""API v1 (CONTRACT §3 `keys create`, §7 `/api/v1/…`): bearer keys, scoping, outcomes, requests, report, errors.

Keys are made through the real CLI. HTTP calls go to ``web``, a second app on the test database:
the ``app`` fixture keeps an app context pushed, and requests to that app would share its ``g``
(where the API puts the key's user) across requests made with different keys. Each request to
``web`` gets an app context of its own, as in production. The data is set up through ``app``.
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import (
    ApiKey,
    Application,
    Candidate,
    Company,
    FeedbackRequest,
    ImportBatch,
    OutboxMessage,
    Position,
)
from feedback.services.accounts import create_user
from feedback.timeutil import utcnow

A = "Acme Robotics"
B = "Borealis Logistics"
CONTACT_A = "hiring@acme-robotics.example.com"
CONTACT_B = "hiring@borealis.example.com"
ADMIN = "admin@feedback.example"
RECRUITER_A = "recruiter.a@feedback.example"
COMPANY_A = "people@acme-robotics.example.com"
WRITTEN = (Company, Position, Candidate, Application, FeedbackRequest, OutboxMessage, ImportBatch)
JSON = "application/json"


# --- helpers ----------------------------------------------------------------------------------

def count(model) -> int:
    db.session.rollback()  # see what the other app committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def counts() -> dict[str, int]:
    return {model.__name__: count(model) for model in WRITTEN}


def company_named(name: str) -> Company:
    db.session.rollback()
    return db.session.scalar(sa.select(Company).where(Company.name == name))


def create_key(runner, email: str) -> str:
    """`feedback keys create EMAIL`: the key is the one line on stdout."""
    result = runner.invoke(args=["feedback", "keys", "create", email])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def user_with_key(runner, email: str, role: str, companies: tuple[str, ...] = ()) -> str:
    """A login with a key; returns the key."""
    create_user(email, PASSWORD, role, [company_named(name) for name in companies])
    db.session.commit()
    return create_key(runner, email)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == JSON, response.headers
    body = response.get_json()
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["title"], str) and error["title"]
    assert isinstance(error["detail"], str) and error["detail"]
    assert "<html" not in response.get_data(as_text=True).lower()
    return error


def two_companies(import_csv) -> None:
    """Companies A and B, each with one rejected and one withdrawn application."""
    rows = [
        outcome_row(candidate_email="a1@example.org", application_ref="A-1"),
        outcome_row(candidate_email="a2@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="A-2"),
        outcome_row(company=B, company_contact_email=CONTACT_B, candidate_email="b1@example.org",
                    position="Dispatcher", application_ref="B-1"),
        outcome_row(company=B, company_contact_email="", candidate_email="b2@example.org", position="Dispatcher",
                    outcome="withdrew", application_ref="B-2"),
    ]
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output


def post_outcomes(client, key: str, payload):
    return client.post("/api/v1/outcomes", json=payload, headers=bearer(key))


def api_outcome(**values) -> dict:
    """An outcome as JSON: outcome_row without the empty optional columns."""
    return {column: value for column, value in outcome_row(**values).items() if value != ""}


@pytest.fixture
def admin_key(app, runner) -> str:
    return user_with_key(runner, ADMIN, "admin")


# --- keys -------------------------------------------------------------------------------------

def test_keys_create_prints_the_key_once_and_stores_only_its_sha256(web, runner, import_csv):
    two_companies(import_csv)
    create_user(RECRUITER_A, PASSWORD, "recruiter", [company_named(A)])
    db.session.commit()
    result = runner.invoke(args=["feedback", "keys", "create", RECRUITER_A])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n"  # the key alone on stdout, for `KEY=$(… keys create …)`
    assert key.startswith("fbk_") and len(key) >= 40
    assert key not in result.stderr and key[:12] in result.stderr  # stderr names it by its prefix only
    assert result.output.count(key) == 1  # shown once

    db.session.rollback()
    (record,) = db.session.scalars(sa.select(ApiKey)).all()
    assert record.key_hash != key
    assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert record.prefix == key[:12]
    assert record.revoked_at is None and record.last_used_at is None

    # The key itself is in no column of any table (its hash and 12-character prefix are).
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                for value in row:
                    assert key not in str(value), (table.name, value)

    # A second `keys create` makes another key: there is no way to print the first one again.
    second = create_key(runner, RECRUITER_A)
    assert second != key
    assert count(ApiKey) == 2

    client = web.test_client()
    response = client.get("/api/v1/companies", headers=bearer(key))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # a key never opens a browser session
    db.session.rollback()
    assert db.session.get(ApiKey, record.id).last_used_at is not None


def test_keys_create_for_an_unknown_login_fails(runner):
    result = runner.invoke(args=["feedback", "keys", "create", "nobody@feedback.example"])
    assert result.exit_code != 0
    assert "no login" in result.stderr
    assert result.stdout == ""
    assert count(ApiKey) == 0


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer fbk_not-a-key-that-exists-000000000000000000000",
    "Bearer not-even-our-prefix",
    "Basic YWRtaW46cGFzc3dvcmQ=",
    "Bearer " + "fbk_" + "x" * 500,
], ids=["none", "empty", "scheme-only", "scheme-blank", "unknown-key", "foreign-prefix", "basic", "overlong"])
def test_requests_without_a_valid_key_get_401_json(web, admin_key, authorization):
    client = web.test_client()
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("GET", "/api/v1/companies"), ("GET", "/api/v1/requests"),
                         ("GET", "/api/v1/companies/1/report"), ("POST", "/api/v1/outcomes")):
        response = client.open(path, method=method, headers=headers, json=api_outcome() if method == "POST" else None)
        error = assert_json_error(response, 401)
        assert "Bearer" in error["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(Application) == 0


def test_a_key_in_another_scheme_case_still_works_and_a_revoked_key_gets_401(web, runner, admin_key):
    client = web.test_client()
    assert client.get("/api/v1/companies", headers={"Authorization": f"bearer {admin_key}"}).status_code == 200
    assert client.get("/api/v1/companies", headers=bearer(admin_key)).status_code == 200

    other_key = create_key(runner, ADMIN)
    revoked = runner.invoke(args=["feedback", "keys", "revoke", admin_key[:12]])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 1" in revoked.stdout

    response = client.get("/api/v1/companies", headers=bearer(admin_key))
    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/companies", headers=bearer(other_key)).status_code == 200  # only that key

    again = runner.invoke(args=["feedback", "keys", "revoke", admin_key[:12]])
    assert again.exit_code != 0
    assert "no live key" in again.stderr


# --- scoping ----------------------------------------------------------------------------------

def test_keys_are_scoped_like_their_users(web, runner, import_csv):
    two_companies(import_csv)
    id_a, id_b = company_named(A).id, company_named(B).id
    keys = {
        "admin": user_with_key(runner, ADMIN, "admin"),
        "recruiter_a": user_with_key(runner, RECRUITER_A, "recruiter", (A,)),
        "company_a": user_with_key(runner, COMPANY_A, "company", (A,)),
    }
    client = web.test_client()

    def names(key: str) -> list[str]:
        response = client.get("/api/v1/companies", headers=bearer(key))
        assert response.status_code == 200
        return [item["name"] for item in response.get_json()["items"]]

    assert names(keys["admin"]) == [A, B]
    assert names(keys["recruiter_a"]) == [A]
    assert names(keys["company_a"]) == [A]

    # Reports: another tenant's company is 404, exactly like a company that does not exist.
    for role in keys:
        assert client.get(f"/api/v1/companies/{id_a}/report", headers=bearer(keys[role])).status_code == 200
        assert_json_error(client.get(f"/api/v1/companies/{id_b + 1000}/report", headers=bearer(keys[role])), 404)
    assert client.get(f"/api/v1/companies/{id_b}/report", headers=bearer(keys["admin"])).status_code == 200
    for role in ("recruiter_a", "company_a"):
        error = assert_json_error(client.get(f"/api/v1/companies/{id_b}/report", headers=bearer(keys[role])), 404)
        assert B not in error["detail"]

    # Requests: the recruiter of A lists only A's; the admin lists all of them.
    def request_companies(key: str) -> list[str]:
        response = client.get("/api/v1/requests", headers=bearer(key))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["total"] == len(body["items"])
        return sorted(item["company"] for item in body["items"])

    assert request_companies(keys["admin"]) == [A, A, A, B, B, B]
    assert request_companies(keys["recruiter_a"]) == [A, A, A]
    recruiter_emails = {item["recipient_email"] for item in
                        client.get("/api/v1/requests", headers=bearer(keys["recruiter_a"])).get_json()["items"]}
    assert recruiter_emails == {"a1@example.org", "a2@example.org", CONTACT_A}

    # A company key reads its own report, but may neither send outcomes nor follow who answered.
    error = assert_json_error(post_outcomes(client, keys["company_a"], api_outcome(application_ref="A-9")), 403)
    assert "recruiter" in error["detail"]
    assert_json_error(client.get("/api/v1/requests", headers=bearer(keys["company_a"])), 403)
    assert count(Application) == 4


# --- POST /api/v1/outcomes --------------------------------------------------------------------

def test_one_outcome_a_list_or_a_wrapped_list_are_imported(web, admin_key):
    client = web.test_client()
    single = post_outcomes(client, admin_key, api_outcome(candidate_email="one@example.org"))
    assert single.status_code == 201, single.get_json()
    body = single.get_json()
    assert set(body) == {"batch_id", "received", "created", "requests_queued", "already_known", "skipped"}
    assert (body["received"], body["created"], body["requests_queued"], body["already_known"], body["skipped"]) == (
        1, 1, 2, 0, [])

    listed = post_outcomes(client, admin_key, [
        api_outcome(candidate_email="two@example.org", outcome="withdrew"),
        api_outcome(candidate_email="three@example.org", outcome="offer_declined", stage="offer"),
    ])
    assert listed.status_code == 201, listed.get_json()
    assert {key: listed.get_json()[key] for key in ("received", "created", "requests_queued", "already_known")} == {
        "received": 2, "created": 2, "requests_queued": 2, "already_known": 0}

    wrapped = post_outcomes(client, admin_key, {"outcomes": [
        api_outcome(candidate_email="four@example.org", company=B, company_contact_email=CONTACT_B)]})
    assert wrapped.status_code == 201, wrapped.get_json()
    assert wrapped.get_json()["created"] == 1 and wrapped.get_json()["requests_queued"] == 2

    batch_ids = {body["batch_id"], listed.get_json()["batch_id"], wrapped.get_json()["batch_id"]}
    assert len(batch_ids) == 3
    db.session.rollback()
    assert {batch.source for batch in db.session.scalars(sa.select(ImportBatch))} == {"api"}
    assert count(Application) == 4
    assert count(FeedbackRequest) == 6
    assert sorted(db.session.scalars(sa.select(Company.name))) == [A, B]


def test_json_outcomes_queue_the_same_requests_and_mail_as_the_csv_import(web, admin_key, import_csv):
    csv_rows = [outcome_row(candidate_email="csv1@example.org", application_ref="CSV-1"),
                outcome_row(candidate_email="csv2@example.org", outcome="withdrew", company_contact_email="",
                            application_ref="CSV-2")]
    api_rows = [api_outcome(candidate_email="api1@example.org", application_ref="API-1"),
                api_outcome(candidate_email="api2@example.org", outcome="withdrew", application_ref="API-2")]
    api_rows[1].pop("company_contact_email")
    assert import_csv(csv_rows).exit_code == 0
    response = post_outcomes(web.test_client(), admin_key, api_rows)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["requests_queued"] == 3

    def mail_by_ref(prefix: str) -> list[tuple]:
        db.session.rollback()
        rows = db.session.execute(
            sa.select(Application.application_ref, Application.stage, Application.outcome, FeedbackRequest.audience,
                      OutboxMessage.kind, OutboxMessage.status, OutboxMessage.to_address)
            .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
            .join(OutboxMessage, OutboxMessage.request_id == FeedbackRequest.id)
            .where(Application.application_ref.like(f"{prefix}-%"))
            .order_by(Application.application_ref, FeedbackRequest.audience)
        ).all()
        return [(ref.split("-")[1], stage, outcome, audience, kind, status,
                 address.replace(prefix.lower(), "x")) for ref, stage, outcome, audience, kind, status, address in rows]

    expected = [
        ("1", "interview", "rejected", "candidate", "invitation", "queued", "x1@example.org"),
        ("1", "interview", "rejected", "company", "invitation", "queued", CONTACT_A),
        ("2", "interview", "withdrew", "candidate", "invitation", "queued", "x2@example.org"),
    ]
    assert mail_by_ref("CSV") == expected
    assert mail_by_ref("API") == expected


def test_any_invalid_item_gets_422_with_every_problem_and_nothing_is_written(web, admin_key):
    client = web.test_client()
    items = [
        api_outcome(candidate_email="good@example.org"),
        api_outcome(candidate_email="not-an-email"),
        api_outcome(stage="lunch", candidate_email="c@example.org"),
        "not an object",
        api_outcome(outcome="rejected", candidate_email="d@example.org", company_contact_email=None),
        api_outcome(decided_on="2999-01-01", candidate_email="e@example.org"),
        api_outcome(candidate_email="f@example.org", position=42),
        api_outcome(candidate_email="good@example.org"),  # repeats item 0
    ]
    items[4].pop("company_contact_email")
    before = counts()
    response = post_outcomes(client, admin_key, items)
    assert response.status_code == 422
    assert response.mimetype == JSON
    errors = response.get_json()["errors"]
    assert all(set(error) == {"index", "field", "message"} for error in errors)
    by_index = {(error["index"], error["field"]) for error in errors}
    assert by_index == {(1, "candidate_email"), (2, "stage"), (3, "item"), (4, "company_contact_email"),
                        (5, "decided_on"), (6, "position"), (7, "row")}
    messages = {error["index"]: error["message"] for error in errors}
    assert "lunch" in messages[2]
    assert "item 0" in messages[7]
    assert counts() == before == dict.fromkeys(before, 0)

    # A missing required field is named; the wrapped form without skip_invalid is just as strict.
    missing = {key: value for key, value in api_outcome().items() if key != "candidate_name"}
    response = post_outcomes(client, admin_key, {"outcomes": [api_outcome(), missing]})
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.get_json()["errors"]] == [(1, "candidate_name")]
    assert counts() == before

    for empty in ([], {"outcomes": []}):
        response = post_outcomes(client, admin_key, empty)
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["index"] is None
    assert counts() == before


def test_skip_invalid_imports_the_valid_items_and_lists_the_skipped(web, admin_key):
    client = web.test_client()
    items = [
        api_outcome(candidate_email="one@example.org", application_ref="S-1"),
        api_outcome(candidate_email="bad", application_ref="S-2"),
        api_outcome(candidate_email="three@example.org", outcome="withdrew", application_ref="S-3"),
    ]
    response = post_outcomes(client, admin_key, {"outcomes": items, "skip_invalid": True})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["received"], body["created"], body["requests_queued"], body["already_known"]) == (3, 2, 3, 0)
    assert [(e["index"], e["field"]) for e in body["skipped"]] == [(1, "candidate_email")]
    db.session.rollback()
    assert sorted(db.session.scalars(sa.select(Application.application_ref))) == ["S-1", "S-3"]

    # With nothing valid left there is nothing to import: 422.
    response = post_outcomes(client, admin_key, {"outcomes": [items[1]], "skip_invalid": True})
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.get_json()["errors"]] == [(0, "candidate_email")]
    # skip_invalid is true or false, nothing else (the document says boolean).
    for flag in ("yes", 1, {}, None):
        response = post_outcomes(client, admin_key, {"outcomes": [api_outcome(application_ref="S-4"), items[1]],
                                                     "skip_invalid": flag})
        assert response.status_code == 422, flag
        assert response.get_json()["errors"] == [
            {"index": None, "field": "skip_invalid", "message": "must be true or false"}]
    assert count(Application) == 2


def test_null_optional_fields_are_the_same_as_leaving_them_out(web, admin_key):
    client = web.test_client()
    response = post_outcomes(client, admin_key, api_outcome(outcome="withdrew", company_contact_email=None,
                                                            application_ref=None))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["requests_queued"] == 1
    db.session.rollback()
    (application,) = db.session.scalars(sa.select(Application)).all()
    assert application.application_ref is None and application.contact_email is None
    # A required field is never null, and a rejection needs its contact.
    response = post_outcomes(client, admin_key, [api_outcome(candidate_name=None, application_ref="N-1"),
                                                 api_outcome(company_contact_email=None, application_ref="N-2")])
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.get_json()["errors"]] == [
        (0, "candidate_name"), (1, "company_contact_email")]


def test_posting_the_same_outcomes_again_creates_and_sends_nothing(web, admin_key, runner):
    client = web.test_client()
    items = [api_outcome(candidate_email="one@example.org", application_ref="ATS-1"),
             api_outcome(candidate_email="two@example.org", outcome="withdrew")]
    first = post_outcomes(client, admin_key, items)
    assert first.status_code == 201
    assert first.get_json()["created"] == 2
    snapshot = counts()
    again = post_outcomes(client, admin_key, items)
    assert again.status_code == 201
    body = again.get_json()
    assert (body["received"], body["created"], body["requests_queued"], body["already_known"]) == (2, 0, 0, 2)
    after = counts()
    assert after["ImportBatch"] == snapshot["ImportBatch"] + 1  # the call is recorded as a batch
    assert {k: v for k, v in after.items() if k != "ImportBatch"} == {
        k: v for k, v in snapshot.items() if k != "ImportBatch"}


def test_identity_is_the_application_ref_when_given_else_the_natural_key(web, admin_key, import_csv):
    client = web.test_client()
    # Imported by CSV first: the API shares its identity rules (one code path).
    assert import_csv([outcome_row(candidate_email="ref@example.org", application_ref="ATS-7"),
                       outcome_row(candidate_email="natural@example.org")]).exit_code == 0

    def post(**values) -> dict:
        response = post_outcomes(client, admin_key, api_outcome(**values))
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return {"created": body["created"], "already_known": body["already_known"]}

    KNOWN, NEW = {"created": 0, "already_known": 1}, {"created": 1, "already_known": 0}
    # With a ref, the ref (per company) is the identity, whatever else changed.
    assert post(candidate_email="ref@example.org", application_ref="ATS-7") == KNOWN
    assert post(candidate_email="someone.else@example.org", stage="final", decided_on="2026-09-01",
                application_ref="ATS-7") == KNOWN
    assert post(company="ACME  robotics", candidate_email="ref@example.org", application_ref="ATS-7") == KNOWN
    assert post(company=B, company_contact_email=CONTACT_B, candidate_email="ref@example.org",
                application_ref="ATS-7") == NEW  # another company's ATS-7
    # Without a ref: (company, position, candidate e-mail, decided_on), names folded, address lower-cased.
    assert post(candidate_email="natural@example.org") == KNOWN
    assert post(candidate_email="NATURAL@example.org", company="acme robotics", position="qa  engineer",
                stage="screen") == KNOWN
    assert post(candidate_email="natural@example.org", decided_on="2026-10-03") == NEW
    assert post(candidate_email="natural@example.org", position="Data Analyst") == NEW
    assert count(Application) == 2 + 3


def test_a_recruiter_sends_outcomes_only_for_its_own_companies(web, runner, import_csv):
    two_companies(import_csv)
    key = user_with_key(runner, RECRUITER_A, "recruiter", (A,))
    client = web.test_client()
    before = counts()
    response = post_outcomes(client, key, [
        api_outcome(candidate_email="ok@example.org", application_ref="A-3"),
        api_outcome(company=B, company_contact_email=CONTACT_B, candidate_email="x@example.org",
                    application_ref="B-3"),
        api_outcome(company="Brand New Company", candidate_email="y@example.org", application_ref="N-1"),
    ])
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "company"), (2, "company")]
    assert all("not one of your companies" in e["message"] for e in errors)
    assert counts() == before

    response = post_outcomes(client, key, api_outcome(company="ACME ROBOTICS", candidate_email="ok@example.org",
                                                       application_ref="A-3"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["created"] == 1
    assert [c.name for c in db.session.scalars(sa.select(Company).order_by(Company.name))] == [A, B]


@pytest.mark.parametrize("data, content_type", [
    ("this is not json", JSON),
    ('{"candidate_name": ', JSON),
    ("", JSON),
    ("null", JSON),
    (json.dumps(api_outcome()), "text/plain"),
    (b"\xff\xfe\x00garbage", JSON),
    (json.dumps(api_outcome()).replace('"Ana Silva"', '"Ana \\ud800"'), JSON),  # a lone surrogate: unstorable
    ("[" * 100_000 + "]" * 100_000, JSON),  # deeper than Python's recursion limit
], ids=["text", "truncated", "empty", "null", "text/plain", "not-utf8", "surrogate", "nested"])
def test_a_body_that_is_not_json_gets_400_json(web, admin_key, data, content_type):
    response = web.test_client().post("/api/v1/outcomes", data=data, content_type=content_type,
                                      headers=bearer(admin_key))
    error = assert_json_error(response, 400)
    assert "JSON" in error["detail"]
    assert count(Application) == 0


# --- GET /api/v1/requests ---------------------------------------------------------------------

def answer_candidate_survey(browser, message, nps: int = 9) -> None:
    (path,) = links_in(message)
    page = browser.get(path)
    assert page.status_code == 200
    answered = browser.post(path, data={"csrf_token": csrf_token(page.text), "nps": str(nps),
                                        "communication": "4"}, follow_redirects=True)
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text


def test_requests_carry_their_status_and_filter_by_it(web, admin_key, import_csv, runner, smtp_server):
    addresses = {status: f"{status}@example.org" for status in ("sent", "answered", "expired", "failed")}
    rows = [outcome_row(candidate_email=address, outcome="withdrew", company_contact_email="",
                        application_ref=f"R-{status}") for status, address in addresses.items()]
    assert import_csv(rows).exit_code == 0
    smtp_server.handler.refuse_recipients[addresses["failed"]] = "550 5.1.1 no such user"
    sent = runner.invoke(args=["feedback", "send"])
    assert "sent: 3, failed: 1" in sent.stdout, sent.output

    (message,) = [m for m in smtp_server.messages if m["To"] == addresses["answered"]]
    answer_candidate_survey(web.test_client(), message)

    db.session.rollback()
    expired = db.session.scalar(
        sa.select(FeedbackRequest).where(FeedbackRequest.recipient_email == addresses["expired"]))
    expired.link_issued_at = utcnow() - timedelta(days=31)
    db.session.commit()

    # Imported after the send: still queued; one more whose unsent mail was cancelled.
    assert import_csv([
        outcome_row(candidate_email="queued@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="R-queued"),
        outcome_row(candidate_email="cancelled@example.org", outcome="withdrew", company_contact_email="",
                    application_ref="R-cancelled"),
    ]).exit_code == 0
    db.session.rollback()
    cancelled = db.session.scalar(
        sa.select(FeedbackRequest).where(FeedbackRequest.recipient_email == "cancelled@example.org"))
    cancelled.cancelled_at = utcnow()
    db.session.commit()

    client = web.test_client()
    everything = client.get("/api/v1/requests", headers=bearer(admin_key))
    assert everything.status_code == 200
    body = everything.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (6, 1, 50)
    status_of = {item["recipient_email"]: item["status"] for item in body["items"]}
    assert status_of == {**{address: status for status, address in addresses.items()},
                         "queued@example.org": "queued", "cancelled@example.org": "cancelled"}
    ids = [item["id"] for item in body["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    answered = next(item for item in body["items"] if item["status"] == "answered")
    assert answered["answered_at"] and answered["first_sent_at"]
    assert (answered["company"], answered["position"], answered["stage"], answered["outcome"],
            answered["audience"], answered["application_ref"]) == (A, "QA Engineer", "interview", "withdrew",
                                                                  "candidate", "R-answered")
    queued = next(item for item in body["items"] if item["status"] == "queued")
    assert queued["first_sent_at"] is None and queued["answered_at"] is None

    for status in ("queued", "sent", "answered", "expired", "failed", "cancelled"):
        response = client.get("/api/v1/requests", query_string={"status": status}, headers=bearer(admin_key))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert page["total"] == 1, (status, page)
        (item,) = page["items"]
        assert item["status"] == status
        assert item["recipient_email"] == f"{status}@example.org"


def test_requests_are_paginated(web, admin_key, import_csv):
    rows = [outcome_row(candidate_email=f"c{i}@example.org", application_ref=f"P-{i}") for i in range(6)]
    assert import_csv(rows).exit_code == 0  # 6 rejections: 12 requests
    client = web.test_client()

    def page(**query) -> dict:
        response = client.get("/api/v1/requests", query_string=query, headers=bearer(admin_key))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    pages = [page(page=number, per_page=5) for number in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [5, 5, 2, 0]
    assert {p["total"] for p in pages} == {12}
    assert [(p["page"], p["per_page"]) for p in pages] == [(1, 5), (2, 5), (3, 5), (4, 5)]
    ids = [item["id"] for p in pages for item in p["items"]]
    assert len(set(ids)) == 12 and ids == sorted(ids, reverse=True)
    assert [item["id"] for item in page(per_page=200)["items"]] == ids
    assert len(page(per_page=1)["items"]) == 1
    assert page(status="queued", per_page=3)["total"] == 12

    for query in ({"per_page": 0}, {"per_page": 201}, {"per_page": -1}, {"per_page": "ten"}, {"page": 0},
                  {"page": "x"}, {"page": 1_000_001}, {"status": "bogus"}, {"status": ""}, {"status": "QUEUED"},
                  {"per_page": "\u00b2"}, {"page": "\u00b2"}, {"per_page": "\uff11"}, {"page": "9" * 5000},
                  {"per_page": " 5"}, {"page": "1.0"}, {"page": ""}, {"per_page": ""}):
        response = client.get("/api/v1/requests", query_string=query, headers=bearer(admin_key))
        error = assert_json_error(response, 400)
        assert next(iter(query)) in error["detail"], (query, error)


# --- GET /api/v1/companies/<id>/report --------------------------------------------------------

def test_the_report_is_the_cli_json_at_each_threshold_step_and_frozen_in_between(
        web, admin_key, import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=f"cand{i}@example.org",
                        outcome="withdrew", company_contact_email="", application_ref=f"K-{i}",
                        stage=("interview", "screen")[i % 2]) for i in range(10)]
    assert import_csv(rows).exit_code == 0
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    company_id = company_named(A).id
    browser, client = web.test_client(), web.test_client()
    scores = [10, 9, 8, 6, 10, 0, 3, 9, 9, 7]

    def answer(number: int) -> None:
        (message,) = [m for m in smtp_server.messages if m["To"] == f"cand{number}@example.org"]
        answer_candidate_survey(browser, message, nps=scores[number])

    def api_report() -> dict:
        response = client.get(f"/api/v1/companies/{company_id}/report", headers=bearer(admin_key))
        assert response.status_code == 200
        assert response.mimetype == JSON
        return response.get_json()

    def cli_report() -> dict:
        db.session.rollback()
        result = runner.invoke(args=["feedback", "report", "--company", A, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    # No answers: the same report, everything withheld.
    assert api_report() == cli_report()
    assert api_report()["candidate_experience"]["withheld"] is True

    for number in range(5):
        answer(number)
    at_five = api_report()
    assert at_five == cli_report()
    assert at_five["candidate_experience"]["responses"] == 5
    assert at_five["candidate_experience"]["withheld"] is False
    assert at_five["candidate_experience"]["nps"] == pytest.approx(100 * (3 - 1) / 5)  # 10, 9, 8, 6, 10

    answer(5)  # a 0: the operator's CLI moves at once, the API does not
    cli = cli_report()
    assert cli["candidate_experience"]["responses"] == 6
    assert cli["candidate_experience"]["nps"] == pytest.approx(100 * (3 - 2) / 6)
    at_six = api_report()
    assert at_six["candidate_experience"] == at_five["candidate_experience"]
    assert at_six["candidate_experience"]["responses"] == 5
    assert at_six != cli

    for number in range(6, 9):
        answer(number)
    assert api_report()["candidate_experience"] == at_five["candidate_experience"]
    answer(9)
    at_ten = api_report()
    assert at_ten == cli_report()
    assert at_ten["candidate_experience"]["responses"] == 10
    assert at_ten["candidate_experience"]["nps"] == pytest.approx(100 * (5 - 3) / 10)


# --- JSON errors everywhere under /api --------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/companies/abc/report", "/api/v2/companies",
                                  "/api", "/api/", "/api/v1/companies/-1/report",
                                  "/api/v1/companies/2147483648/report",  # past INTEGER: no company, no overflow
                                  "/api/v1/companies/99999999999999999999999/report"])
def test_unknown_paths_under_api_get_404_json(web, admin_key, path):
    assert_json_error(web.test_client().get(path, headers=bearer(admin_key)), 404)


def test_wrong_method_gets_405_json_with_allow(web, admin_key):
    client = web.test_client()
    response = client.get("/api/v1/outcomes", headers=bearer(admin_key))
    assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_json_error(client.delete("/api/v1/companies", headers=bearer(admin_key)), 405)
    assert_json_error(client.get("/api/v1/webhooks/outcome"), 405)
    assert_json_error(client.put("/api/v1/openapi.json"), 405)


def test_a_body_over_the_limit_gets_413_json(app, make_app, runner):
    key = user_with_key(runner, ADMIN, "admin")
    small = make_app(MAX_CONTENT_LENGTH=1000, WEBHOOK_SECRET="s3cret")
    client = small.test_client()
    big = [api_outcome(candidate_email=f"c{i}@example.org", application_ref=f"BIG-{i}") for i in range(20)]
    assert len(json.dumps(big)) > 1000
    assert_json_error(post_outcomes(client, key, big), 413)
    assert_json_error(client.post("/api/v1/webhooks/outcome", data=b"{" + b" " * 5000 + b"}",
                                  content_type=JSON), 413)
    assert count(Application) == 0
    # Under the limit the same app answers normally.
    assert post_outcomes(client, key, api_outcome()).status_code == 201


def test_too_many_requests_get_429_json(app, make_app):
    limited = make_app(RATELIMIT_ENABLED=True, WEBHOOK_SECRET="s3cret")
    client = limited.test_client()
    statuses = [client.post("/api/v1/webhooks/outcome", json={}).status_code for _ in range(120)]
    assert set(statuses) == {401}
    response = client.post("/api/v1/webhooks/outcome", json={})
    error = assert_json_error(response, 429)
    assert "120" in error["detail"]
    assert "Retry-After" in response.headers


def test_an_unexpected_error_gets_500_json(app, make_app, caplog):
    broken = make_app()

    @broken.route("/api/v1/boom")
    def boom():
        raise RuntimeError("kaboom: internal detail")

    @broken.route("/not-api/boom")
    def page_boom():
        raise RuntimeError("kaboom")

    client = broken.test_client()
    response = client.get("/api/v1/boom")
    error = assert_json_error(response, 500)
    assert "kaboom" not in response.get_data(as_text=True)  # no internals leak
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("unhandled error" in record.message for record in caplog.records)
    html = client.get("/not-api/boom")  # elsewhere, the site's error page
    assert html.status_code == 500 and html.mimetype == "text/html"
    assert error["title"]
