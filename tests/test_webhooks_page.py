"""The webhooks page of the recruiter workspace: a company's outgoing webhook endpoints.

A recruiter creates an endpoint for one of their companies and sees its secret once (stored
encrypted, never logged), sees what became of its webhooks, and revokes it; another company's
endpoints can neither be seen nor revoked, and the page never points webhooks at this machine.
"""
from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from conftest import company_named, csrf_token, outcome_row

from feedback.extensions import db
from feedback.jobs.webhook_delivery import deliver_due
from feedback.models import AuditEvent, WebhookEndpoint, WebhookMessage
from feedback.services.outgoing_webhooks import MAX_LIVE_ENDPOINTS, create_endpoint, queue_event
from feedback.timeutil import utcnow

ACME = "Acme Robotics"
BOREALIS = "Borealis Logistics"
RECRUITER = "recruiter.acme@feedback.example"
HOOK = "https://hooks.acme-robotics.example.com/feedback"


@pytest.fixture
def acme_recruiter(import_csv, make_user, sign_in):
    imported = import_csv([outcome_row(application_ref="SEED-1"),
                           outcome_row(company=BOREALIS, candidate_email="b@example.org", application_ref="SEED-2")])
    assert imported.exit_code == 0, imported.output
    make_user(RECRUITER, "recruiter", ACME)
    return sign_in(RECRUITER)


def create(browser, page_text: str, **fields):
    data = {"csrf_token": csrf_token(page_text), "company": company_named(ACME).id, "url": HOOK,
            "events": ["response.created", "feedback.overdue"], **fields}
    return browser.post("/recruiter/webhooks", data=data)


def test_a_recruiter_creates_an_endpoint_and_sees_its_secret_once(acme_recruiter, caplog):
    caplog.set_level(logging.DEBUG)
    page = acme_recruiter.get("/recruiter/webhooks")
    assert page.status_code == 200
    assert "No webhook endpoint yet." in page.text
    assert 'href="/recruiter/webhooks"' in page.text  # in the workspace's menu
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.text)
    assert [name for _id, name in options] == [ACME]  # only the recruiter's companies
    # both events are ticked by default
    checkboxes = re.findall(r'<input ([^>]*)name="events" type="checkbox"', page.text)
    assert len(checkboxes) == 2 and all("checked" in attrs and "required" not in attrs for attrs in checkboxes)

    created = create(acme_recruiter, page.text, events=["response.created"])
    assert created.status_code == 201
    secret = re.search(r'<code id="webhook-secret" dir="ltr">([^<]+)</code>', created.text).group(1)
    assert secret.startswith("whsec_") and "shown only once" in created.text
    assert re.search(r'<input [^>]*name="url"[^>]*value=""', created.text)  # a blank form for the next one
    db.session.rollback()
    endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
    assert (endpoint.company_id, endpoint.url, endpoint.events) == (company_named(ACME).id, HOOK, "response.created")
    assert secret not in endpoint.secret and endpoint.secret.startswith("fernet:")  # encrypted at rest
    assert secret not in caplog.text
    again = acme_recruiter.get("/recruiter/webhooks")
    assert secret not in again.text and HOOK in again.text
    assert "<code>response.created</code>" in again.text and "<code>feedback.overdue</code>" not in again.text
    german = acme_recruiter.get("/recruiter/webhooks", headers={"Accept-Language": "de"}).text
    assert "Neuer Endpunkt" in german and "Zugestellt" in german and HOOK in german
    audit = db.session.execute(sa.select(AuditEvent.action, AuditEvent.target, AuditEvent.details)
                               .where(AuditEvent.action.like("webhook endpoint%"))).all()
    assert audit == [("webhook endpoint created", f"webhook endpoint {endpoint.id}",
                      {"company": ACME, "url": HOOK, "events": "response.created"})]


WHOLE = "Give a whole address starting with https://"
PRIVATE = "not to this machine or a private network"
PLAIN = "Write the host in letters, digits, hyphens and dots"


@pytest.mark.parametrize(("url", "message"), [
    ("", "Give the receiver's address."),
    ("http://hooks.acme-robotics.example.com/feedback", WHOLE),
    ("javascript:alert(1)", WHOLE),
    ("https://", WHOLE),
    ("https://hooks.example.com:99999/x", WHOLE),
    ("https://hooks.example.com:0/x", WHOLE),
    ("https://hooks.example.com/a b", WHOLE),
    ("https://evil@hooks.example.com/x", "without a user name or password"),
    ("https://%31%32%37.0.0.1/x", PLAIN),  # urllib would decode these to 127.0.0.1 and localhost
    ("https://%6c%6fcalhost/x", PLAIN),
    ("https://127.0.0.1%2e/x", PLAIN),
    ("https://bücher.example/x", PLAIN),
    ("https://localhost/feedback", PRIVATE),
    ("https://LocalHost./feedback", PRIVATE),
    ("https://redis:6379/", PRIVATE),
    ("https://metadata/computeMetadata/v1/", PRIVATE),
    ("https://printer.local/feedback", PRIVATE),
    ("https://db.internal/feedback", PRIVATE),
    ("https://127.0.0.1:6379/", PRIVATE),
    ("https://127.1/feedback", PRIVATE),
    ("https://2130706433/feedback", PRIVATE),
    ("https://0x7f.0.0.1/feedback", PRIVATE),
    ("https://[::1]/feedback", PRIVATE),
    ("https://[::ffff:192.168.0.1]/feedback", PRIVATE),
    ("https://[fe80::1%25eth0]/feedback", PRIVATE),
    ("https://10.0.0.7/feedback", PRIVATE),
    ("https://169.254.169.254/latest/meta-data", PRIVATE),
    ("https://" + "a" * 500 + ".example.com/", "Field cannot be longer than 500 characters."),
])
def test_an_address_the_page_refuses_is_named_and_nothing_is_made(acme_recruiter, url, message):
    page = acme_recruiter.get("/recruiter/webhooks")
    refused = create(acme_recruiter, page.text, url=url)
    assert refused.status_code == 400
    assert message in refused.text
    url_input = re.search(r'<input [^>]*name="url"[^>]*>', refused.text).group(0)
    assert 'aria-describedby="url-help url-errors"' in url_input and 'aria-invalid="true"' in url_input
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_a_public_address_is_taken_as_written_with_its_scheme_in_lower_case(acme_recruiter):
    page = acme_recruiter.get("/recruiter/webhooks")
    assert create(acme_recruiter, page.text, url="  HTTPS://Hooks.Acme-Robotics.example.com/In  ").status_code == 201
    assert create(acme_recruiter, page.text, url="https://93.184.216.34:8443/in").status_code == 201
    assert create(acme_recruiter, page.text, url="https://[2001:4860:4860::8888]/in").status_code == 201
    db.session.rollback()
    assert db.session.scalars(sa.select(WebhookEndpoint.url).order_by(WebhookEndpoint.id)).all() == [
        "https://Hooks.Acme-Robotics.example.com/In", "https://93.184.216.34:8443/in",
        "https://[2001:4860:4860::8888]/in"]


def test_no_event_or_an_unknown_one_is_refused(acme_recruiter):
    page = acme_recruiter.get("/recruiter/webhooks")
    none = create(acme_recruiter, page.text, events=[])
    assert none.status_code == 400 and "Tick at least one event." in none.text
    assert 'aria-describedby="events-errors"' in none.text
    unknown = create(acme_recruiter, page.text, events=["response.deleted"])
    assert unknown.status_code == 400
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_the_page_tells_what_became_of_the_webhooks_and_escapes_the_address(acme_recruiter, receiver):
    # the operator's service call (and CLI) may point at a receiver on this machine; the page may not
    endpoint, secret = create_endpoint(company_named(ACME), receiver.base_url + "/in?a=<b>")
    receiver.secrets["/in?a=<b>"] = secret
    db.session.commit()
    now = utcnow()
    receiver.statuses = [500]
    queue_event(company_named(ACME).id, "response.created", {"response_id": 1}, now)
    db.session.commit()
    assert deliver_due(now).line() == "sent: 0, failed: 0, left: 1"  # a retry later
    queue_event(company_named(ACME).id, "response.created", {"response_id": 2}, now)
    db.session.commit()
    assert deliver_due(now).line() == "sent: 1, failed: 0, left: 1"
    assert [request.verified is not None for request in receiver.received] == [True, True]
    page = acme_recruiter.get("/recruiter/webhooks").text
    row = re.search(rf"<tr>\s*<td>{endpoint.id}</td>.*?</tr>", page, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[4:7] == ["1", "1", "0"]  # delivered, waiting, failed
    assert cells[7].endswith("UTC") and cells[8] == "HTTP 500"  # the status; never the receiver's own text
    assert "/in?a=&lt;b&gt;" in row and "<b>" not in row


def test_another_companys_endpoint_is_neither_listed_nor_revocable(acme_recruiter, runner):
    page = acme_recruiter.get("/recruiter/webhooks")
    assert create(acme_recruiter, page.text).status_code == 201
    theirs = runner.invoke(args=["feedback", "webhooks", "create", "--company", BOREALIS,
                                 "--url", "https://hooks.borealis.example.com/in"])
    assert theirs.exit_code == 0, theirs.output
    db.session.rollback()
    ours = db.session.scalar(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.url == HOOK))
    theirs_id = db.session.scalar(sa.select(WebhookEndpoint.id).where(WebhookEndpoint.url != HOOK))
    listed = acme_recruiter.get("/recruiter/webhooks").text
    assert "hooks.borealis.example.com" not in listed and BOREALIS not in listed
    assert acme_recruiter.post(f"/recruiter/webhooks/{theirs_id}/revoke",
                               data={"csrf_token": csrf_token(listed)}).status_code == 404
    # a revoke without the form's token is refused, and revokes nothing
    assert acme_recruiter.post(f"/recruiter/webhooks/{ours}/revoke").status_code == 400

    revoked = acme_recruiter.post(f"/recruiter/webhooks/{ours}/revoke", data={"csrf_token": csrf_token(listed)},
                                  follow_redirects=True)
    assert revoked.status_code == 200
    assert f"Webhook endpoint #{ours} revoked" in revoked.text and "revoked 20" in revoked.text
    twice = acme_recruiter.post(f"/recruiter/webhooks/{ours}/revoke", data={"csrf_token": csrf_token(listed)},
                                follow_redirects=True)
    assert f"Webhook endpoint #{ours} was revoked already." in twice.text
    db.session.rollback()
    assert db.session.get(WebhookEndpoint, ours).revoked_at is not None
    assert db.session.get(WebhookEndpoint, theirs_id).revoked_at is None
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("webhook endpoint%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["webhook endpoint created", "webhook endpoint created", "webhook endpoint revoked"]


def test_an_unreachable_receiver_is_told_without_the_network_detail(acme_recruiter, caplog):
    endpoint, _secret = create_endpoint(company_named(ACME), "http://127.0.0.1:9/closed")  # the discard port
    db.session.commit()
    now = utcnow()
    queue_event(company_named(ACME).id, "response.created", {"response_id": 1}, now)
    db.session.commit()
    deliver_due(now)
    page = acme_recruiter.get("/recruiter/webhooks").text
    row = re.search(rf"<tr>\s*<td>{endpoint.id}</td>.*?</tr>", page, re.S).group(0)
    assert "could not reach it" in row and "refused" not in row.lower() and "Errno" not in row
    assert "refused" in caplog.text.lower()  # the operator's log keeps it


def test_a_company_has_at_most_ten_live_endpoints(acme_recruiter, runner):
    for number in range(MAX_LIVE_ENDPOINTS):
        create_endpoint(company_named(ACME), f"https://hooks.acme-robotics.example.com/{number}")
    db.session.commit()
    page = acme_recruiter.get("/recruiter/webhooks")
    refused = create(acme_recruiter, page.text)
    assert refused.status_code == 409
    assert f"Acme Robotics has {MAX_LIVE_ENDPOINTS} live endpoints, the most a company may have" in refused.text
    cli = runner.invoke(args=["feedback", "webhooks", "create", "--company", ACME, "--url", HOOK])
    assert cli.exit_code == 1 and "revoke one first" in cli.output
    first = db.session.scalar(sa.select(sa.func.min(WebhookEndpoint.id)))
    assert acme_recruiter.post(f"/recruiter/webhooks/{first}/revoke",
                               data={"csrf_token": csrf_token(page.text)}).status_code == 302
    assert create(acme_recruiter, page.text).status_code == 201  # a revoked one makes room


def test_an_admin_sees_and_revokes_every_companys_endpoints(acme_recruiter, make_user, sign_in):
    ours = create_endpoint(company_named(ACME), HOOK)[0].id
    theirs = create_endpoint(company_named(BOREALIS), "https://hooks.borealis.example.com/in")[0].id
    db.session.commit()
    make_user("admin@feedback.example", "admin")
    admin = sign_in("admin@feedback.example")
    page = admin.get("/recruiter/webhooks").text
    assert HOOK in page and "https://hooks.borealis.example.com/in" in page
    assert [name for _id, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)] == [ACME, BOREALIS]
    assert admin.post(f"/recruiter/webhooks/{theirs}/revoke", data={"csrf_token": csrf_token(page)}).status_code == 302
    db.session.rollback()
    assert db.session.get(WebhookEndpoint, theirs).revoked_at is not None
    assert db.session.get(WebhookEndpoint, ours).revoked_at is None
    (details,) = db.session.scalars(sa.select(AuditEvent.details).where(AuditEvent.action == "webhook endpoint revoked"))
    assert details == {"company": BOREALIS, "url": "https://hooks.borealis.example.com/in"}


def test_the_overview_tells_of_webhooks_that_failed_for_good(acme_recruiter, receiver, make_user, sign_in):
    assert "failed for good" not in acme_recruiter.get("/recruiter/").text
    endpoint, secret = create_endpoint(company_named(ACME), receiver.base_url + "/gone")
    receiver.secrets["/gone"] = secret
    db.session.commit()
    receiver.statuses = [410]  # "Gone": the receiver asks to stop; the webhook fails at once
    now = utcnow()
    queue_event(company_named(ACME).id, "response.created", {"response_id": 1}, now)
    db.session.commit()
    assert deliver_due(now).line() == "sent: 0, failed: 1, left: 0"
    overview = acme_recruiter.get("/recruiter/").text
    assert "<bdi>1</bdi> webhook to a company's own systems failed for good in the last 7 days" in overview
    assert 'href="/recruiter/webhooks"' in overview
    page = acme_recruiter.get("/recruiter/webhooks").text
    row = re.search(rf"<tr>\s*<td>{endpoint.id}</td>.*?</tr>", page, re.S).group(0)
    assert "HTTP 410" in row and "revoked 20" in row  # the receiver's 410 revoked the endpoint
    make_user("recruiter.borealis@feedback.example", "recruiter", BOREALIS)
    other = sign_in("recruiter.borealis@feedback.example").get("/recruiter/").text
    assert "failed for good" not in other  # another company's failures are not theirs


def test_a_test_webhook_checks_the_receiver_end_to_end(acme_recruiter, receiver, runner):
    endpoint, secret = create_endpoint(company_named(ACME), receiver.base_url + "/check", ["feedback.overdue"])
    receiver.secrets["/check"] = secret
    db.session.commit()
    page = acme_recruiter.get("/recruiter/webhooks")
    queued = acme_recruiter.post(f"/recruiter/webhooks/{endpoint.id}/test", data={"csrf_token": csrf_token(page.text)},
                                 follow_redirects=True)
    assert queued.status_code == 200
    assert f"A test webhook for endpoint #{endpoint.id} is queued" in queued.text
    assert deliver_due(utcnow()).line() == "sent: 1, failed: 0, left: 0"
    (request,) = receiver.at("/check")
    # sent whatever types the endpoint takes, signed with its secret, naming it and nobody
    assert request.verified == {"type": "webhook.test", "timestamp": request.verified["timestamp"],
                                "data": {"endpoint_id": endpoint.id, "company_id": company_named(ACME).id}}
    row = re.search(rf"<tr>\s*<td>{endpoint.id}</td>.*?</tr>", acme_recruiter.get("/recruiter/webhooks").text,
                    re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[4:7] == ["1", "0", "0"]

    # the CLI does the same; a revoked endpoint takes no test
    assert runner.invoke(args=["feedback", "webhooks", "test", str(endpoint.id)]).exit_code == 0
    assert runner.invoke(args=["feedback", "webhooks", "revoke", str(endpoint.id)]).exit_code == 0
    refused = runner.invoke(args=["feedback", "webhooks", "test", str(endpoint.id)])
    assert refused.exit_code == 1 and f"no live webhook endpoint {endpoint.id}" in refused.output
    revoked = acme_recruiter.post(f"/recruiter/webhooks/{endpoint.id}/test", data={"csrf_token": csrf_token(page.text)})
    assert revoked.status_code == 409 and "is revoked: nothing is sent to it" in revoked.text
    assert "Send a test to" not in acme_recruiter.get("/recruiter/webhooks").text


def test_another_companys_endpoint_takes_no_test_from_a_recruiter(acme_recruiter):
    theirs = create_endpoint(company_named(BOREALIS), "https://hooks.borealis.example.com/in")[0].id
    db.session.commit()
    page = acme_recruiter.get("/recruiter/webhooks")
    assert acme_recruiter.post(f"/recruiter/webhooks/{theirs}/test",
                               data={"csrf_token": csrf_token(page.text)}).status_code == 404
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookMessage)) == 0
