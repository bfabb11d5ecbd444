"""The language of each e-mail (CONTRACT §2): the recipient's, in the whole message and in its HTML root.

A candidate's e-mail is in the language of their application (else their company's), a contact's in
their company's, a notice without a request in the candidate's own, an escalation in its recruiter's
login's; none of them: FEEDBACK_DEFAULT_LOCALE. The HTML part says which: ``<html lang dir>``.
"""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sqlalchemy as sa
from conftest import HEADER, outcome_row
from test_email_snapshots import CASES, NOW, escalation

import feedback.mail
from feedback.extensions import db
from feedback.mail import load_outgoing, render_items
from feedback.models import Application, Company, FeedbackRequest, OutboxMessage
from feedback.timeutil import utcnow

CONTACT = "hiring@acme-robotics.example.com"


@pytest.fixture
def import_rows(runner, write_csv):
    """Import rows through the real CLI, with the CSV's optional ``locale`` column."""

    def run(*rows: dict) -> None:
        path = write_csv(list(rows), header=[*HEADER, "locale"])
        result = runner.invoke(args=["feedback", "import", str(path)])
        assert result.exit_code == 0, result.output

    return run


def invitation(audience: str):
    """The rendered invitation of the (one) request to ``audience``."""
    db.session.rollback()  # see what the CLI committed in its own session
    outbox_id = db.session.scalar(
        sa.select(OutboxMessage.id).join(FeedbackRequest, FeedbackRequest.id == OutboxMessage.request_id)
        .where(FeedbackRequest.audience == audience, OutboxMessage.kind == "invitation"))
    assert outbox_id is not None
    items = load_outgoing([outbox_id])
    return items[outbox_id], render_items([items[outbox_id]], issued_at=utcnow().replace(microsecond=0))


def html_root(html: str) -> str:
    return re.search(r"<html [^>]*>", html).group(0)


def test_a_candidate_invitation_is_in_the_language_of_their_application(app, import_rows):
    import_rows(outcome_row(locale="fr"))
    item, email = invitation("candidate")
    assert item.locale == "fr"
    # wording: see test_catalogue_is_complete (the French text itself comes with the catalogue)
    assert html_root(email.html) == '<html lang="fr" dir="ltr">'
    assert isinstance(email.subject, str) and email.subject
    # The company's contact is not the candidate: their e-mail stays in the company's language.
    contact, contact_email = invitation("company")
    assert contact.locale is None and html_root(contact_email.html) == '<html lang="en" dir="ltr">'


def test_an_arabic_email_runs_right_to_left(app, import_rows):
    import_rows(outcome_row(locale="ar"))
    item, email = invitation("candidate")
    assert item.locale == "ar"
    # wording: see test_catalogue_is_complete
    assert html_root(email.html) == '<html lang="ar" dir="rtl">'
    assert isinstance(email.subject, str) and email.subject
    assert "text-align:left" not in email.html
    # The score row runs from the right, 0 first: each end's label sits under its end.
    assert re.search(r'<td align="right"[^>]*>0 = ', email.html) and re.search(r'<td align="left"[^>]*>10 = ', email.html)


def test_without_a_language_of_its_own_a_candidate_gets_the_companys(app, import_rows):
    import_rows(outcome_row())
    db.session.rollback()
    db.session.execute(sa.update(Company).values(locale="pt-BR"))
    db.session.commit()
    candidate, email = invitation("candidate")
    assert candidate.locale == "pt-BR" and html_root(email.html) == '<html lang="pt-BR" dir="ltr">'
    contact, email = invitation("company")
    assert contact.locale == "pt-BR" and html_root(email.html) == '<html lang="pt-BR" dir="ltr">'
    # A language stored on the application wins over the company's.
    db.session.execute(sa.update(Application).values(locale="de"))
    db.session.commit()
    candidate, email = invitation("candidate")
    assert candidate.locale == "de" and html_root(email.html) == '<html lang="de" dir="ltr">'


def test_nothing_set_means_the_default_language(app, import_rows):
    import_rows(outcome_row())
    item, email = invitation("candidate")
    assert item.locale is None and html_root(email.html) == '<html lang="en" dir="ltr">'


def test_an_escalation_is_in_its_recruiters_language(app, make_user):
    user = make_user("recruiter@feedback.example", "admin")
    user.locale = "ar"
    db.session.commit()
    email = render_items(escalation(), issued_at=NOW)
    assert html_root(email.html) == '<html lang="ar" dir="rtl">'
    # Another recruiter, with no language of their own: the default, whatever the company's.
    others = [replace(item, to_address="admin@feedback.example", locale="fr") for item in escalation()]
    assert html_root(render_items(others, issued_at=NOW).html) == '<html lang="en" dir="ltr">'


# An escalation's language is its recruiter's (test_an_escalation_is_in_its_recruiters_language).
TO_PEOPLE = [case for case in CASES if case.template != "escalation"]


@pytest.mark.parametrize("case", TO_PEOPLE, ids=[case.name for case in TO_PEOPLE])
def test_every_email_renders_right_to_left(app, monkeypatch, case):
    """Each kind of e-mail, in Arabic: its root says so, and no alignment is fixed to the left."""
    monkeypatch.setattr(feedback.mail, "_companies_with_news", lambda candidate_id, outbox_id: [
        "Acme Robotics", "Brasserie Côté"])
    items = [replace(item, locale="ar") for item in case.items]
    email = render_items(items, issued_at=NOW)
    assert html_root(email.html) == '<html lang="ar" dir="rtl">'
    assert isinstance(email.subject, str) and email.subject
    assert "text-align:left" not in email.html
    assert "\n-- \n" in email.body
