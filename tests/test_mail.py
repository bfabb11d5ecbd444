"""E-mail: what arrives at a real SMTP server, how the outbox records it, and what happens when SMTP fails."""
from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import SMTPServer, free_port, links_in, outcome_row, store_unchecked_name

from feedback.extensions import db
from feedback.mail import OutgoingEmail, message_id
from feedback.mail.message import email_message, sender_address
from feedback.models import FeedbackRequest, OutboxMessage, Suppression
from feedback.timeutil import utcnow

CANDIDATE = "ana.silva@example.org"
CONTACT = "hiring@acme-robotics.example.com"
HTML_LINK = re.compile(r'href="(http://feedback\.example/f/[A-Za-z0-9_.\-]+)"')
UNSUBSCRIBE_HEADER = re.compile(r"^<(http://feedback\.example(/u/[A-Za-z0-9_.\-]+))>$")


def send(runner, *args: str):
    return runner.invoke(args=["feedback", "send", *args])


def outbox_rows() -> list[OutboxMessage]:
    db.session.rollback()  # see what the CLI committed in its own session
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def message_to(smtp_server, address: str):
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    return message


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def unsubscribe_path(message) -> str:
    match = UNSUBSCRIBE_HEADER.match(str(message["List-Unsubscribe"]))
    assert match, message["List-Unsubscribe"]
    return match.group(2)


def test_send_delivers_one_message_per_request_with_both_parts_and_headers(import_csv, runner, smtp_server):
    rows = [
        outcome_row(),  # rejected: the candidate and the company contact
        outcome_row(candidate_name="Bo Berg", candidate_email="bo@example.org", outcome="withdrew",
                    stage="screen", application_ref="ATS-2"),
    ]
    assert import_csv(rows).exit_code == 0
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "sent: 3, failed: 0, left: 0" in result.stdout

    assert sorted(m["To"] for m in smtp_server.messages) == sorted([CANDIDATE, CONTACT, "bo@example.org"])
    by_address = {row.to_address: row for row in outbox_rows()}
    for message in smtp_server.messages:
        assert message.get_body(preferencelist=("plain",)) is not None
        assert message.get_body(preferencelist=("html",)) is not None
        assert UNSUBSCRIBE_HEADER.match(str(message["List-Unsubscribe"]))
        assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
        assert str(message["Message-ID"]) == message_id(by_address[message["To"]].id)
        (path,) = links_in(message)
        html_links = HTML_LINK.findall(html_part(message))
        assert html_links, "the HTML part has no feedback link"
        assert {urlsplit(link).path for link in html_links} == {path}
        assert all(link == "http://feedback.example" + path for link in html_links)
    assert len({str(m["Message-ID"]) for m in smtp_server.messages}) == 3

    candidate = message_to(smtp_server, CANDIDATE)
    for body in (text_part(candidate), html_part(candidate)):
        assert "Acme Robotics" in body and "QA Engineer" in body
    assert "Acme Robotics" in str(candidate["Subject"])
    contact = message_to(smtp_server, CONTACT)
    for body in (text_part(contact), html_part(contact)):
        assert "Ana Silva" in body
    assert "Ana Silva" in str(contact["Subject"])
    # one link per request: the candidate's and the contact's links differ
    assert links_in(candidate) != links_in(contact)


def test_unsubscribe_link_confirms_on_get_acts_on_post_and_is_respected(app, import_csv, runner, smtp_server):
    assert import_csv([outcome_row()]).exit_code == 0
    assert send(runner).exit_code == 0
    path = unsubscribe_path(message_to(smtp_server, CANDIDATE))

    # A second application for Ana is queued before she unsubscribes.
    second = outcome_row(company="Birch Labs", company_contact_email="people@birch.example.com",
                         position="Data Analyst")
    assert import_csv([second]).exit_code == 0
    queued_for_ana = [r for r in outbox_rows() if r.to_address == CANDIDATE and r.status == "queued"]
    assert len(queued_for_ana) == 1

    page = app.test_client().get(path)
    assert page.status_code == 200
    assert "<form" in page.text and 'method="post"' in page.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0

    # RFC 8058 one-click: the mail client posts with no cookie and no CSRF token
    done = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "Location" not in done.headers
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1
    # repeating it is harmless
    assert app.test_client().post(path).status_code == 200

    # a new import for the same address queues nothing for her (the company contact is still mailed)
    before = len([r for r in outbox_rows() if r.to_address == CANDIDATE])
    third = outcome_row(company="Cedar Works", company_contact_email="hr@cedar.example.com", position="Tester")
    imported = import_csv([third])
    assert imported.exit_code == 0, imported.output
    rows = outbox_rows()
    assert len([r for r in rows if r.to_address == CANDIDATE]) == before
    assert any(r.to_address == "hr@cedar.example.com" for r in rows)

    # the message queued before the unsubscribe is not sent
    smtp_server.handler.reset()
    sent = send(runner)
    assert sent.exit_code == 0, sent.output
    recipients = [m["To"] for m in smtp_server.messages]
    assert CANDIDATE not in recipients
    assert sorted(recipients) == ["hr@cedar.example.com", "people@birch.example.com"]
    stale = next(r for r in outbox_rows() if r.id == queued_for_ana[0].id)
    assert stale.status != "sent" and stale.sent_at is None
    assert stale.status != "queued"


def test_unknown_unsubscribe_token_is_404(client):
    assert client.get("/u/not-a-token").status_code == 404
    assert client.post("/u/not-a-token").status_code == 404


def test_candidate_name_is_escaped_in_html_and_verbatim_in_text(import_csv, runner, smtp_server):
    name = "<b>Bold</b> & Co"  # refused by today's import; stored before it was
    assert import_csv([outcome_row()]).exit_code == 0
    store_unchecked_name("Ana Silva", name)
    assert send(runner).exit_code == 0

    for address in (CONTACT, CANDIDATE):
        message = message_to(smtp_server, address)
        html = html_part(message)
        assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
        assert "<b>Bold</b>" not in html
        assert name in text_part(message)
        assert "&lt;" not in text_part(message) and "&amp;" not in text_part(message)


def test_sent_rows_are_marked_with_sent_at_and_first_sent_at(app, import_csv, runner, smtp_server):
    rows = [outcome_row(), outcome_row(candidate_email="bo@example.org", application_ref="ATS-2")]
    assert import_csv(rows).exit_code == 0
    assert all(row.status == "queued" and row.sent_at is None for row in outbox_rows())
    started = utcnow()
    assert send(runner).exit_code == 0

    rows = outbox_rows()
    assert len(rows) == 4
    for row in rows:
        assert row.status == "sent"
        assert row.sent_at is not None and started <= row.sent_at <= utcnow()
        assert row.attempts == 1
        assert row.last_error is None
    requests = db.session.scalars(sa.select(FeedbackRequest)).all()
    assert len(requests) == 4
    for feedback_request in requests:
        assert feedback_request.first_sent_at is not None
        assert started <= feedback_request.first_sent_at <= utcnow()
        assert feedback_request.link_issued_at is not None

    # nothing is sent twice
    again = send(runner)
    assert again.exit_code == 0
    assert "sent: 0, failed: 0, left: 0" in again.stdout
    assert len(smtp_server.messages) == 3  # two candidates, and one digest for their shared contact


def test_send_limit_sends_that_many_and_reports_the_rest_as_left(import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_email=f"c{i}@example.org", application_ref=f"ATS-{i}", outcome="withdrew")
            for i in range(5)]
    assert import_csv(rows).exit_code == 0
    result = send(runner, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "sent: 2, failed: 0, left: 3" in result.stdout
    assert len(smtp_server.messages) == 2
    assert [r.status for r in outbox_rows()].count("queued") == 3

    rest = send(runner)
    assert "sent: 3, failed: 0, left: 0" in rest.stdout
    assert len(smtp_server.messages) == 5
    assert len({m["To"] for m in smtp_server.messages}) == 5


def test_send_with_smtp_down_fails_loudly_and_loses_nothing(app, make_app, import_csv, runner, smtp_server):
    assert import_csv([outcome_row(), outcome_row(candidate_email="bo@example.org", application_ref="ATS-2")]).exit_code == 0
    port = free_port()
    down = make_app(MAIL_PORT=port)
    with down.app_context():  # a CLI command runs in the current app context when there is one
        result = down.test_cli_runner().invoke(args=["feedback", "send"])
    assert result.exit_code != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error:")
    assert f"127.0.0.1:{port}" in errors[0]
    assert "Traceback" not in result.output

    rows = outbox_rows()
    assert len(rows) == 4
    assert all(row.status == "queued" and row.sent_at is None for row in rows)
    assert all(row.next_attempt_at <= utcnow() for row in rows)
    assert smtp_server.messages == []

    retry = send(runner)
    assert retry.exit_code == 0, retry.output
    assert "sent: 4, failed: 0, left: 0" in retry.stdout
    assert len(smtp_server.messages) == 3  # two candidates, and one digest for their shared contact
    assert all(row.status == "sent" for row in outbox_rows())


def test_one_refused_recipient_is_recorded_and_does_not_stop_the_batch(import_csv, runner, smtp_server):
    addresses = ["a1@example.org", "refused@example.org", "a3@example.org", "a4@example.org"]
    rows = [outcome_row(candidate_email=address, application_ref=f"ATS-{i}", outcome="withdrew")
            for i, address in enumerate(addresses)]
    assert import_csv(rows).exit_code == 0
    smtp_server.handler.refuse_recipients["refused@example.org"] = "550 5.1.1 no such user"

    result = send(runner)
    assert result.exit_code != 0
    assert "sent: 3, failed: 1" in result.stdout
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(set(addresses) - {"refused@example.org"})

    by_address = {row.to_address: row for row in outbox_rows()}
    refused = by_address.pop("refused@example.org")
    assert refused.status == "failed"
    assert refused.sent_at is None
    assert refused.attempts == 1
    assert "550" in refused.last_error
    assert all(row.status == "sent" for row in by_address.values())


def test_temporary_refusal_keeps_the_message_queued_for_a_later_retry(import_csv, runner, smtp_server):
    rows = [outcome_row(candidate_email="later@example.org", outcome="withdrew", application_ref="ATS-1"),
            outcome_row(candidate_email="now@example.org", outcome="withdrew", application_ref="ATS-2")]
    assert import_csv(rows).exit_code == 0
    before = next(r for r in outbox_rows() if r.to_address == "later@example.org")
    first_due, row_id = before.next_attempt_at, before.id
    smtp_server.handler.refuse_recipients["later@example.org"] = "450 4.2.1 try later"

    started = utcnow()
    result = send(runner)
    assert result.exit_code != 0
    assert "sent: 1, failed: 1, left: 1" in result.stdout
    assert [m["To"] for m in smtp_server.messages] == ["now@example.org"]

    row = next(r for r in outbox_rows() if r.id == row_id)
    assert row.status == "queued"
    assert row.attempts == 1
    assert row.sent_at is None
    assert "450" in row.last_error
    assert row.next_attempt_at > first_due
    assert row.next_attempt_at > started

    # not due yet: a second run right away leaves it alone
    again = send(runner)
    assert "sent: 0, failed: 0, left: 1" in again.stdout
    assert len(smtp_server.messages) == 1


def test_non_ascii_names_and_markup_arrive_intact_in_headers_and_both_parts(import_csv, runner, smtp_server):
    position = "QA Engineer – Ünïcode"
    row = outcome_row(candidate_name="Zoë Ångström", company="Café <script>", position=position)
    assert import_csv([row]).exit_code == 0
    assert send(runner).exit_code == 0

    candidate, contact = message_to(smtp_server, CANDIDATE), message_to(smtp_server, CONTACT)
    # encoded, it is folded over two lines: the space before "Ünïcode" must survive (Flask-Mail lost it)
    assert str(contact["Subject"]) == f"Feedback for Zoë Ångström ({position})"
    assert str(candidate["Subject"]) == "How was applying to Café <script>? (2 minutes)"
    assert "Zoë Ångström" in text_part(contact) and "Zoë Ångström" in html_part(contact)
    assert "Café <script>" in text_part(candidate)
    assert "Café &lt;script&gt;" in html_part(candidate) and "<script>" not in html_part(candidate)
    for message in (candidate, contact):
        unsubscribe = "http://feedback.example" + unsubscribe_path(message)
        for body in (text_part(message), html_part(message)):
            assert "reply to this message" in body and unsubscribe in body  # the privacy notice
        raw = dict(message.raw_items())
        # as sent: the URL itself in angle brackets, which one-click unsubscribe reads as it is
        assert raw["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
        assert all(value.isascii() for value in raw.values())  # non-ASCII only as RFC 2047 encoded words


def test_the_space_between_non_ascii_words_reaches_the_reader(import_csv, runner, smtp_server):
    # a decoder drops the white space between two encoded words: it must be encoded with them (the
    # import folds the tab and the spaces of a name to one space)
    assert import_csv([outcome_row(candidate_name="Zoë \t Ångström")]).exit_code == 0
    assert send(runner).exit_code == 0
    contact = message_to(smtp_server, CONTACT)
    assert str(contact["Subject"]) == "Feedback for Zoë Ångström (QA Engineer)"
    assert dict(contact.raw_items())["Subject"].isascii()


def test_a_non_ascii_local_part_goes_out_with_smtputf8_where_the_server_offers_it(app, import_csv, runner,
                                                                                  smtp_server):
    app.config["MAIL_SMTPUTF8"] = True  # the operator says the server takes them
    assert import_csv([outcome_row(candidate_email="zoë@bücher.example", outcome="withdrew")]).exit_code == 0
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "sent: 1, failed: 0" in result.stdout
    (message,) = smtp_server.messages
    # the local part as written; the domain in its ASCII form, which every server can route
    assert str(message["To"]) == "zoë@xn--bcher-kva.example"
    assert smtp_server.handler.envelopes == [("feedback@feedback.example", ["zoë@xn--bcher-kva.example"])]
    assert "Acme Robotics" in text_part(message)


def test_a_non_ascii_local_part_fails_clearly_where_the_server_has_no_smtputf8(app, make_app, import_csv,
                                                                               smtp_server):
    app.config["MAIL_SMTPUTF8"] = True  # said wrongly: the server below does not offer SMTPUTF8
    rows = [outcome_row(candidate_email="zoë@example.org", outcome="withdrew", application_ref="ATS-1"),
            outcome_row(candidate_email="bo@example.org", outcome="withdrew", application_ref="ATS-2")]
    assert import_csv(rows).exit_code == 0
    ascii_server = SMTPServer()
    ascii_server.controller = Controller(ascii_server.handler, hostname=ascii_server.hostname,
                                         port=ascii_server.port, enable_SMTPUTF8=False)
    ascii_server.start()
    try:
        ascii_app = make_app(MAIL_PORT=ascii_server.port)
        with ascii_app.app_context():
            result = ascii_app.test_cli_runner().invoke(args=["feedback", "send"])
    finally:
        ascii_server.stop()
    assert result.exit_code == 1
    assert "sent: 1, failed: 1, left: 0" in result.stdout
    assert [m["To"] for m in ascii_server.messages] == ["bo@example.org"]
    refused = next(row for row in outbox_rows() if row.to_address == "zoë@example.org")
    assert refused.status == "failed" and refused.sent_at is None
    assert "SMTPUTF8" in refused.last_error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0  # the address is not bad


@pytest.mark.parametrize("sender, name, address", [
    (("Acme, Inc.", "hiring@acme.example"), "Acme, Inc.", "hiring@acme.example"),
    ("Team (HR) <hr@acme.example>", "Team (HR)", "hr@acme.example"),
    (("Zoë, Café", "zoe@cafe.example"), "Zoë, Café", "zoe@cafe.example"),
    (('Zoë "Z" Café', "zoe@cafe.example"), 'Zoë "Z" Café', "zoe@cafe.example"),
    ('"The \\"Hiring\\" Team" <team@acme.example>', 'The "Hiring" Team', "team@acme.example"),
    (('Zoë "Z", Café', "zoe@cafe.example"), 'Zoë "Z", Café', "zoe@cafe.example"),
    ("Feedback <feedback@feedback.example>", "Feedback", "feedback@feedback.example"),
])
def test_sender_names_with_commas_quotes_or_accents_reach_the_reader_whole(make_app, import_csv, smtp_server,
                                                                         sender, name, address):
    """MAIL_DEFAULT_SENDER as a (name, address) pair or a string: one From address, the name as a client shows it."""
    assert import_csv([outcome_row(outcome="withdrew")]).exit_code == 0
    app = make_app(MAIL_DEFAULT_SENDER=sender)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["feedback", "send"]).exit_code == 0
    (message,) = smtp_server.messages
    (parsed,) = message["From"].addresses
    assert (parsed.display_name, parsed.addr_spec) == (name, address)
    assert dict(message.raw_items())["From"].isascii()
    assert smtp_server.handler.envelopes == [(address, [CANDIDATE])]


def test_a_body_line_longer_than_smtp_allows_arrives_whole(app):
    long_line = "Zoë " + "x" * 1500  # SMTP allows 998 octets a line: encoded instead of cut
    rendered = OutgoingEmail(CANDIDATE, "Long", f"Hello,\n{long_line}\nBye", f"<p>{long_line}</p>",
                             "<a@feedback.example>", "http://feedback.example/u/x")
    raw = email_message(rendered, sender_address("Feedback <feedback@feedback.example>")).as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert text_part(message).splitlines() == ["Hello,", long_line, "Bye"]
    assert html_part(message).splitlines() == [f"<p>{long_line}</p>"]
