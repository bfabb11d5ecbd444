"""The OpenAPI 3.1 document at /api/v1/openapi.json matches the implementation (schemathesis).

Every operation of the document is exercised with generated requests (positive and negative data,
schemathesis' examples, coverage and fuzzing phases), once with a valid key of each role and once
with no key. Every response must be no 5xx and conform to the document: status code declared,
content type, body schema, headers, plus schemathesis' other default checks (invalid data
rejected, auth not ignored, …). In the keyed runs a middleware signs the webhook's deliveries with
the app's WEBHOOK_SECRET, so its 201/200/409/422 answers are exercised too; in the run without a
key they go unsigned (401).

The connectors' hooks (POST /hooks/<kind>/{connector_id}, no key) are exercised twice, each case
sent to the world's connector of that kind whatever id was generated (an id the router does not
take stays a 404): signed, the middleware playing each ATS (its signature over the exact bytes
forwarded), and unsigned (401).

The cases come from the document as built at import time (schemathesis parametrizes while
collecting; its lazy ``from_fixture`` loader does not run under pytest 9). They are sent to an app
on the test database, which must serve exactly that document, with two companies, sent e-mails and
enough answers for the report to show figures.
A summary (operations, cases, failures, statuses seen) is printed at the end of the module (-s).
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import time
from collections import Counter, defaultdict

import jsonschema_rs
import pytest
import schemathesis
from conftest import csrf_token, links_in, outcome_row
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from feedback import config as feedback_config
from feedback import create_app
from feedback.api.openapi import openapi_document
from feedback.extensions import db
from feedback.models import CONNECTOR_KINDS

SECRET = "openapi-test-webhook-secret"
CONNECTOR_SECRET = "openapi-test-connector-secret"
A, B = "Acme Robotics", "Borealis Logistics"
WEBHOOK = "/api/v1/webhooks/outcome"
HOOK = re.compile(r"/hooks/([a-z]+)/([^/]*)")
MAX_EXAMPLES = 30
HOOK_MAX_EXAMPLES = 10  # per hook operation: six alike operations, the coverage phase adds its own cases
USERS = {
    "admin": ("admin@feedback.example", "admin", ()),
    "recruiter": ("recruiter.a@feedback.example", "recruiter", (A,)),
    "company": ("people@acme-robotics.example.com", "company", (A,)),
}

# run -> operation label -> cases sent; statuses seen; failures.
CASES: dict[str, Counter] = defaultdict(Counter)
STATUSES: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
FAILURES: dict[str, Counter] = defaultdict(Counter)
OPERATIONS: set[str] = set()


def _document() -> dict:
    """The document, built at import time (schemathesis parametrizes tests when collecting them).

    The app is a throw-away one that never connects to its database: the document depends only
    on the code and PUBLIC_BASE_URL. The tests check that the app under test serves this document.
    """
    with create_app(feedback_config.TestConfig("sqlite://")).app_context():
        return json.loads(json.dumps(openapi_document()))


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
api_schema = schema.exclude(path_regex="^/hooks/")
hooks_schema = schema.include(path_regex="^/hooks/")


# --- the app under test -----------------------------------------------------------------------

class Signer:
    """WSGI middleware playing the ATS: signs the deliveries that carry their signature.

    The case goes out exactly as schemathesis generated it (so every check applies to it); only the
    signature is replaced: the operator's webhook and a generic connector get a fresh timestamp and
    the HMAC of the body, a vendor's hook the vendor's header over the exact bytes forwarded, and
    Lever (which signs inside the body, only ``token`` + ``triggeredAt``) a ``signature`` field
    made from the two (the body serialised again). A delivery without its signature, and every
    case whose point is an invalid header, stays unsigned. With ``route`` on, a hook's connector
    id, whatever the generated integer, becomes the world's connector of that kind.
    """

    def __init__(self, wsgi_app, connectors: dict[str, int]) -> None:
        self.wsgi_app = wsgi_app
        self.connectors = connectors
        self.enabled = False  # sign
        self.route = False  # send a hook to the world's connector

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        hook = HOOK.fullmatch(path)
        kind = hook and hook.group(1)
        if self.route and hook and kind in self.connectors and routable(hook.group(2)) and int(hook.group(2)) > 0:
            environ["PATH_INFO"] = f"/hooks/{kind}/{self.connectors[kind]}"
        if self.enabled and (path == WEBHOOK or kind in self.connectors):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            body = self.sign(environ, WEBHOOK if path == WEBHOOK else kind, body)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def sign(environ, kind: str, body: bytes) -> bytes:
        """Put the signature ``kind`` takes on a delivery that carries one; returns the body to forward."""
        if kind in (WEBHOOK, "generic"):
            if "HTTP_X_FEEDBACK_TIMESTAMP" in environ and "HTTP_X_FEEDBACK_SIGNATURE" in environ:
                timestamp = str(int(time.time()))
                environ["HTTP_X_FEEDBACK_TIMESTAMP"] = timestamp
                environ["HTTP_X_FEEDBACK_SIGNATURE"] = sign(body, timestamp,
                                                            SECRET if kind == WEBHOOK else CONNECTOR_SECRET)
        elif kind == "lever":
            return lever_signed(body)
        elif VENDOR_HEADERS[kind] in environ:
            digest = hmac.new(CONNECTOR_SECRET.encode(), body, hashlib.sha256).hexdigest()
            environ[VENDOR_HEADERS[kind]] = VENDOR_PREFIXES.get(kind, "") + digest
        return body


# The header each vendor signs in (as the WSGI environ names it), and what precedes the hex digest.
VENDOR_HEADERS = {"greenhouse": "HTTP_SIGNATURE", "ashby": "HTTP_ASHBY_SIGNATURE",
                  "recruitee": "HTTP_X_RECRUITEE_SIGNATURE", "workable": "HTTP_X_WORKABLE_SIGNATURE"}
VENDOR_PREFIXES = {"greenhouse": "sha256 ", "ashby": "sha256="}


def lever_signed(body: bytes) -> bytes:
    """The body with ``signature`` = hex HMAC-SHA256 of ``token + triggeredAt``, when it has the three."""
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if not isinstance(event, dict) or "signature" not in event:
        return body
    token, triggered = event.get("token"), event.get("triggeredAt")
    if not isinstance(token, str) or isinstance(triggered, bool) or not isinstance(triggered, (int, str)):
        return body
    event["signature"] = hmac.new(CONNECTOR_SECRET.encode(), f"{token}{triggered}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(event).encode()


class World:
    def __init__(self, web, keys: dict[str, str], connectors: dict[str, int]) -> None:
        self.web = web
        self.keys = keys
        self.signer = web.wsgi_app = Signer(web.wsgi_app, connectors)


@pytest.fixture
def world(app, make_app, runner, import_csv, smtp_server, make_user) -> World:
    """Two companies with requests in every state worth listing, answers for a report, a key per role,
    a connector of each kind for A."""
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=f"cand{i}@example.org",
                        application_ref=f"A-{i}", stage=("interview", "screen")[i % 2]) for i in range(5)]
    rows += [outcome_row(company=B, company_contact_email="hiring@borealis.example.com",
                         candidate_email="b1@example.org", position="Dispatcher", application_ref="B-1")]
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(args=["feedback", "send"]).exit_code == 0
    web = make_app(WEBHOOK_SECRET=SECRET)
    browser = web.test_client()
    for i in range(5):  # enough candidate answers for the report to show figures
        (message,) = [m for m in smtp_server.messages if m["To"] == f"cand{i}@example.org"]
        (path,) = links_in(message)
        page = browser.get(path)
        answered = browser.post(path, data={"csrf_token": csrf_token(page.text), "nps": str(5 + i),
                                            "communication": "4", "fairness": "3"}, follow_redirects=True)
        assert answered.status_code == 200, answered.text
    assert import_csv([outcome_row(candidate_email="queued@example.org", application_ref="A-Q")]).exit_code == 0

    db.session.rollback()
    keys = {}
    for role, (email, kind, names) in USERS.items():
        make_user(email, kind, *names)
        created = runner.invoke(args=["feedback", "keys", "create", email])
        assert created.exit_code == 0, created.output
        keys[role] = created.stdout.strip()
    connectors = {}
    for kind in CONNECTOR_KINDS:
        lever = ["--api-key", "k"] if kind == "lever" else []
        created = runner.invoke(args=["feedback", "connectors", "create", "--kind", kind, "--company", A,
                                      "--secret", CONNECTOR_SECRET, *lever])
        assert created.exit_code == 0, created.output
        (url,) = [line for line in created.stdout.splitlines() if line.startswith("url: ")]
        connectors[kind] = int(url.rsplit("/", 1)[1])
    served = web.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == DOCUMENT  # the document the cases come from
    return World(web, keys, connectors)


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def headers_are_negative(case) -> bool:
    """Whether this case's point is an invalid header (then it is sent as generated)."""
    meta = case.meta
    component = meta.components.get(ParameterLocation.HEADER) if meta is not None else None
    return component is not None and component.mode.is_negative


def run_case(run: str, case, world: World, key: str | None, signed: bool | None = None):
    """Send the case (with the key; deliveries signed in the keyed runs, or as ``signed`` says) and validate it."""
    label = case.operation.label
    OPERATIONS.add(label)
    CASES[run][label] += 1
    signed = key is not None if signed is None else signed
    # A case whose point is a missing or broken header (Authorization among them) goes as generated.
    headers = {"Authorization": f"Bearer {key}"} if key and not headers_are_negative(case) else {}
    world.signer.enabled = signed and not headers_are_negative(case)
    world.signer.route = case.operation.path.startswith("/hooks/")
    excluded = []
    if case.operation.method.upper() == "POST":
        # The imports judge what no schema can say (a decision date not in the future, an address
        # email-validator takes, a recruiter's own companies, no repeats within one request): a
        # schema-valid outcome may get the declared 422. Every other check still applies.
        excluded.append(positive_data_acceptance)
    if case.operation.path.startswith("/hooks/") and "/generic/" not in case.operation.path:
        # A vendor's event is read leniently (CONTRACT §8): one of another type, or a field the
        # document types otherwise, is answered 200 "ignored" rather than refused, so that the
        # vendor does not retry it for hours. The document describes what the vendor sends.
        excluded.append(negative_data_rejection)
    try:
        case.operation.schema.app = world.web  # for the checks' own probes (e.g. ignored_auth) too
        response = case.call_and_validate(app=world.web, headers=headers, excluded_checks=excluded)
    except Exception:
        FAILURES[run][label] += 1
        raise
    STATUSES[run][label][answer_kind(case, response)] += 1
    assert response.status_code < 500
    return response


def answer_kind(case, response) -> str:
    """The status, and for a hook's 2xx what it answered (``200 ignored``, ``201 created``, …)."""
    code = response.status_code
    hook = case.operation.path.startswith("/hooks/") and case.method.upper() == "POST"  # not OPTIONS
    body = response.json() if hook and 200 <= code < 300 else None
    if not isinstance(body, dict):
        return str(code)
    if "already_known" in body:
        return f"{code} {'known' if body['already_known'] else 'created'}"
    return f"{code} {next(iter(body), '')}"


BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.filter_too_much, HealthCheck.data_too_large])


@api_schema.parametrize()
@BOUNDED
def test_every_operation_with_an_admin_key(case, world):
    run_case("admin key", case, world, world.keys["admin"])


@api_schema.parametrize()
@BOUNDED
def test_every_operation_with_a_recruiter_key(case, world):
    run_case("recruiter key", case, world, world.keys["recruiter"])


@api_schema.parametrize()
@BOUNDED
def test_every_operation_with_a_company_key(case, world):
    run_case("company key", case, world, world.keys["company"])


@api_schema.parametrize()
@BOUNDED
def test_every_operation_without_a_key(case, world):
    response = run_case("no key", case, world, None)
    if case.method.upper() != case.operation.method.upper():  # schemathesis probing other methods
        assert response.status_code in (200, 405), response.status_code  # 200: OPTIONS
    elif case.operation.path == WEBHOOK:  # not keyed: signed, and unsigned here
        assert response.status_code in (400, 401, 413, 422), response.status_code
    elif "{company_id}" in case.operation.path and not routable(case.path_parameters.get("company_id")):
        assert response.status_code == 404, (response.status_code, case.path_parameters)  # no such route
    else:  # nothing without a key: 401, or 400 where the input guard refuses the request first (NUL, bad UTF-8)
        assert response.status_code in (400, 401), (response.status_code, case.query)
        if response.status_code == 400:
            assert "\x00" in repr(case.query) + repr(case.path_parameters) or "\\x" in repr(case.query), case


HOOK_BOUNDED = settings(BOUNDED, max_examples=HOOK_MAX_EXAMPLES)


@hooks_schema.parametrize()
@HOOK_BOUNDED
def test_every_connector_hook_signed_as_its_ats_signs(case, world):
    run_case("hooks, signed", case, world, None, signed=True)


@hooks_schema.parametrize()
@HOOK_BOUNDED
def test_every_connector_hook_unsigned(case, world):
    response = run_case("hooks, unsigned", case, world, None, signed=False)
    if case.method.upper() != case.operation.method.upper():  # schemathesis probing other methods
        assert response.status_code in (200, 405), response.status_code  # 200: OPTIONS
    elif response.status_code == 404:  # an id the router does not take, or 0 (the others go to the connector)
        connector_id = case.path_parameters["connector_id"]
        assert not routable(connector_id) or int(str(connector_id)) == 0, case.path_parameters
    else:
        assert response.status_code in (401, 413), response.status_code


def routable(company_id) -> bool:
    """Whether the router takes this company (or connector) id (an int route with max=2**31-1)."""
    text = str(company_id)
    return text.isascii() and text.isdigit() and int(text) <= 2**31 - 1


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if not CASES:
        return
    lines = ["", "schemathesis summary (GET /api/v1/openapi.json as served by the app)",
             f"  operations in the document: {len(OPERATIONS)}"]
    for run in CASES:
        total, failures = sum(CASES[run].values()), sum(FAILURES[run].values())
        lines.append(f"  {run}: {len(CASES[run])} operations, {total} cases, {failures} failures")
        for label in sorted(CASES[run]):
            statuses = ", ".join(f"{code}×{n}" for code, n in sorted(STATUSES[run][label].items()))
            lines.append(f"    {label}: {CASES[run][label]} cases ({statuses})"
                         + (f", {FAILURES[run][label]} failing" if FAILURES[run][label] else ""))
    print("\n".join(lines))


# --- the document itself ----------------------------------------------------------------------

def api_rules(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every /api/v1 route of the app, but the document's own."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert "<" not in path, f"{rule.rule}: a converter the check does not know"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((path, method.lower()))
    return found


def test_every_api_route_is_in_the_document_and_nothing_else(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    routes = api_rules(app)
    assert routes - {("/api/v1/openapi.json", "get")} == {(path, method) for path, method in documented
                                                         if path.startswith("/api/")}
    assert ("/api/v1/openapi.json", "get") in routes
    # The connectors' one route, /hooks/<kind>/<id>: a path per kind a connector can be made of.
    (hook,) = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/hooks/")]
    assert hook.methods - {"HEAD", "OPTIONS"} == {"POST"}
    assert {(path, method) for path, method in documented if path.startswith("/hooks/")} == {
        (f"/hooks/{kind}/{{connector_id}}", "post") for kind in CONNECTOR_KINDS}
    assert len(documented) == 5 + len(CONNECTOR_KINDS)
    # Each operation has an id, and its path parameters are declared.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"], (path, method)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, (path, method)


def test_the_document_is_valid_openapi_31(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document == json.loads(json.dumps(openapi_document()))  # served as built
    assert document["openapi"].startswith("3.1.")
    OPENAPI_31_VALIDATOR.validate(document)  # the OpenAPI 3.1 meta-schema
    loaded = schemathesis.openapi.from_dict(document)
    loaded.validate()
    # Every schema in it is a valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1).
    for component in document["components"]["schemas"].values():
        jsonschema_rs.meta.validate({"$schema": "https://json-schema.org/draft/2020-12/schema", **component})
    # Security: the bearer scheme applies everywhere but to the signed webhook.
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert document["paths"][WEBHOOK]["post"]["security"] == []
    for kind in CONNECTOR_KINDS:  # and the connectors' hooks, each signed as its ATS signs
        operation = document["paths"][f"/hooks/{kind}/{{connector_id}}"]["post"]
        assert operation["security"] == []
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}
        assert headers == {"greenhouse": {"Signature"}, "ashby": {"Ashby-Signature"}, "lever": set(),
                           "recruitee": {"X-Recruitee-Signature"}, "workable": {"X-Workable-Signature"},
                           "generic": {"X-Feedback-Timestamp", "X-Feedback-Signature"}}[kind]
    # Every error status the API answers is described, with the JSON error schema.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "404", "405", "413", "429"):
                assert status in operation["responses"], (path, method, status)
