"""E-mails: one function per kind, each a plain-text and an HTML template in templates/email/.

Messages are rendered from ``OutgoingItem``s: flat rows loaded for a whole batch in one query, so
sending never walks lazy relationships message by message. A rendered ``OutgoingEmail`` becomes an
``EmailMessage`` in ``message.email_message``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import babel_name, resolve, tag_of, text_direction
from ..models import (
    AdviceReview,
    Answer,
    Application,
    Candidate,
    Company,
    FeedbackRequest,
    OutboxMessage,
    Position,
    Response,
    User,
)
from ..tokens import candidate_view_token, contact_token, feedback_link_token, public_url, unsubscribe_token
from ..workdays import add_working_days, working_days_between
from .items import OutgoingItem, load_outgoing
from .wording import TEMPLATE_HELPERS, name_list

__all__ = ["OutgoingEmail", "OutgoingItem", "load_outgoing", "render_items"]


@dataclass
class OutgoingEmail:
    """One rendered e-mail: its parts and the headers that differ from message to message."""

    to_address: str
    subject: str
    body: str
    html: str
    message_id: str
    unsubscribe_url: str


def message_id(outbox_id: int) -> str:
    """A Message-ID derived from the outbox row, so a receiver can drop a repeated delivery."""
    domain = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    return f"<feedback.outbox.{outbox_id}@{domain}>"


def feedback_link(item: OutgoingItem, issued_at: datetime) -> str:
    """The request's link, signed now. ``issued_at`` starts the expiry clock of a first link."""
    if item.link_issued_at is None:
        item.link_issued_at = issued_at
    return public_url(f"/f/{feedback_link_token(item.request_id)}")


def _expires_on(item: OutgoingItem) -> date:
    return _link_expiry(item.link_issued_at)


def _link_expiry(signed_at: datetime) -> date:
    """The last day a feedback or contact link signed at ``signed_at`` works (FEEDBACK_LINK_MAX_AGE_DAYS)."""
    return (signed_at + timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])).date()


@dataclass
class Due:
    """When a contact's feedback is due (FEEDBACK_SLA_DAYS working days after the decision), seen on a day."""

    on: date
    working_days_left: int  # 0: due today; negative: overdue by that many working days

    @property
    def overdue(self) -> bool:
        return self.working_days_left < 0


def feedback_due(decided_on: date | None, today: date) -> Due | None:
    """The due date of the feedback on a decision of ``decided_on``, as seen ``today``."""
    if decided_on is None:
        return None
    on = add_working_days(decided_on, current_app.config["FEEDBACK_SLA_DAYS"])
    left = working_days_between(today, on) if on >= today else -working_days_between(on, today)
    return Due(on, left)


def _render(template: str, context: dict) -> str:
    # The e-mail templates use only what they are given: straight from the Jinja environment (its
    # own cache), without the request context processors and signals of render_template().
    return current_app.jinja_env.get_template(template).render(context)


def _build(item: OutgoingItem, subject: str, template: str, **context) -> OutgoingEmail:
    unsubscribe = public_url(f"/u/{unsubscribe_token(item.to_address)}")
    # The language render_items forced: <html lang dir> of the HTML part.
    locale = get_locale()
    context = TEMPLATE_HELPERS | {"sla_days": current_app.config["FEEDBACK_SLA_DAYS"]} | context | {
        "unsubscribe_url": unsubscribe, "recipient": item.to_address, "audience": item.audience, "subject": subject,
        "lang": tag_of(locale), "dir": text_direction(locale)}
    return OutgoingEmail(
        to_address=item.to_address,
        subject=subject,
        body=_render(f"email/{template}.txt", context),
        # Lines of only spaces mean nothing in HTML; leaving them out spares the SMTP server work.
        html="\n".join(line for line in _render(f"email/{template}.html", context).split("\n") if line.strip()),
        message_id=message_id(item.outbox_id),
        unsubscribe_url=unsubscribe,
    )


def feedback_request_email(item: OutgoingItem, issued_at: datetime) -> OutgoingEmail:
    """The invitation, reminder or fresh link for one feedback request."""
    link = feedback_link(item, issued_at)
    context = {
        "kind": item.kind,
        "link": link,
        "company": item.company,
        "position": item.position,
        "candidate_name": item.candidate_name,
        "stage": item.stage,
        "outcome": item.outcome,
        "expires_on": _expires_on(item),
        "due": feedback_due(item.decided_on, issued_at.date()) if item.audience == "company" else None,
    }
    company, who = item.company, item.candidate_name or _("a candidate")
    if item.audience == "candidate":
        subjects = {
            "invitation": _("How was applying to %(company)s? (2 minutes)", company=company),
            "reminder": _("Reminder: your view of %(company)s's hiring process", company=company),
            "fresh_link": _("Your new link: feedback on %(company)s's hiring process", company=company),
        }
        template = "candidate_request"
    else:
        subjects = {
            "invitation": _("Feedback for %(candidate)s (%(position)s)", candidate=who, position=item.position),
            "reminder": (_("Overdue: feedback for %(candidate)s", candidate=who)
                         if context["due"] and context["due"].overdue
                         else _("Reminder: feedback for %(candidate)s", candidate=who)),
            "fresh_link": _("Your new link: feedback for %(candidate)s", candidate=who),
        }
        template = "company_request"
    return _build(item, subjects[item.kind], template, **context)


def candidate_view_email(item: OutgoingItem) -> OutgoingEmail:
    """The private link a candidate asked for, to read the feedback on their applications."""
    link = public_url(f"/me/view/{candidate_view_token(item.candidate_id)}")
    return _build(item, _("Your feedback link"), "candidate_view", link=link, candidate_name=item.candidate_name,
                  company=None, position=None)


def _companies_with_news(candidate_id: int, outbox_id: int) -> list[str]:
    """The companies whose feedback about the candidate arrived, or whose advice was approved, since
    the candidate's last feedback-ready notice went out (every one, for the first)."""
    since = db.session.scalar(sa.select(sa.func.max(OutboxMessage.sent_at)).where(
        OutboxMessage.candidate_id == candidate_id, OutboxMessage.kind == "feedback_ready",
        OutboxMessage.id != outbox_id))
    about = (sa.select(Company.name).join(Application, Application.company_id == Company.id)
             .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
             .join(Response, Response.request_id == FeedbackRequest.id)
             .where(Application.candidate_id == candidate_id, Response.audience == "company"))
    if since is not None:
        approved = (sa.select(Answer.response_id).join(AdviceReview, AdviceReview.answer_id == Answer.id)
                    .where(AdviceReview.status == "approved", AdviceReview.reviewed_at > since))
        about = about.where(sa.or_(Response.submitted_at > since, Response.id.in_(approved)))
    return sorted(set(db.session.scalars(about)))


def feedback_ready_email(item: OutgoingItem) -> OutgoingEmail:
    """The notice that one or more companies shared feedback, with the candidate's private view link."""
    companies = _companies_with_news(item.candidate_id, item.outbox_id)
    named = name_list(companies) if companies else _("A company")
    link = public_url(f"/me/view/{candidate_view_token(item.candidate_id)}")
    return _build(item, _("%(companies)s shared feedback with you", companies=named), "feedback_ready", link=link, companies=companies,
                  named=named, candidate_name=item.candidate_name, company=None, position=None)


def company_digest_email(items: list[OutgoingItem], issued_at: datetime) -> OutgoingEmail:
    """One e-mail to a company contact listing every candidate to give feedback on, each with its link."""
    first = items[0]
    entries = [{
        "candidate_name": item.candidate_name,
        "position": item.position,
        "stage": item.stage,
        "link": feedback_link(item, issued_at),
        "expires_on": _expires_on(item),
        "due": feedback_due(item.decided_on, issued_at.date()),
    } for item in items]
    companies = sorted({item.company for item in items})
    count = len(entries)
    if first.kind == "reminder" and any(entry["due"] and entry["due"].overdue for entry in entries):
        subject = ngettext("Overdue: feedback for %(num)d candidate you declined",
                           "Overdue: feedback for %(num)d candidates you declined", count)
    elif first.kind == "reminder":
        subject = ngettext("Reminder: feedback for %(num)d candidate you declined",
                           "Reminder: feedback for %(num)d candidates you declined", count)
    else:
        subject = ngettext("Feedback for %(num)d candidate you declined",
                           "Feedback for %(num)d candidates you declined", count)
    positions = {entry["position"] for entry in entries}
    soonest = min((entry["due"] for entry in entries if entry["due"]), key=lambda due: due.on, default=None)
    overdue = sum(1 for entry in entries if entry["due"] and entry["due"].overdue)
    return _build(first, subject, "company_digest", kind=first.kind, items=entries, company=", ".join(companies),
                  soonest=soonest, overdue=overdue,
                  position=_("several positions") if len(positions) > 1 else entries[0]["position"],
                  contact_link=public_url(f"/c/{contact_token(first.request_id)}"),
                  # The contact page's token is signed now, so its clock starts now.
                  contact_link_expires_on=_link_expiry(issued_at))


def escalation_email(items: list[OutgoingItem], today: date) -> OutgoingEmail:
    """The daily digest to a recruiter (or admin) of the feedback still missing past FEEDBACK_ESCALATE_DAYS:
    per company and contact, each candidate with its working days overdue, and the contact's page."""
    sla = current_app.config["FEEDBACK_SLA_DAYS"]
    companies: dict[str, dict[str, dict]] = {}
    for item in sorted(items, key=lambda item: (item.company or "", item.contact_address or "", item.decided_on)):
        contacts = companies.setdefault(item.company or "", {})
        entry = contacts.setdefault(item.contact_address or "", {
            "address": item.contact_address, "link": public_url(f"/c/{contact_token(item.request_id)}"),
            "candidates": []})
        entry["candidates"].append({
            "name": item.candidate_name, "position": item.position, "stage": item.stage,
            "decided_on": item.decided_on,
            "days_overdue": max(working_days_between(item.decided_on, today) - sla, 0)})
    count = len(items)
    names = list(companies)
    named = (", ".join(names) if len(names) <= 3
             else _("%(companies)s and %(count)d more", companies=", ".join(names[:2]), count=len(names) - 2))
    subject = ngettext("Overdue: feedback on %(num)d declined candidate (%(companies)s)",
                       "Overdue: feedback on %(num)d declined candidates (%(companies)s)", count, companies=named)
    return _build(items[0], subject, "escalation", companies=companies, count=count, sla_days=sla,
                  overview_url=public_url("/recruiter/"), company=None, position=None, staff=True)


def render_items(items: list[OutgoingItem], issued_at: datetime) -> OutgoingEmail:
    """The one e-mail some outbox rows stand for: a single message, or a contact's digest.

    A request without a link yet gets ``issued_at`` as its link's issue time (set on the item; the
    caller stores it once the message went out). The whole message is in the recipient's language
    (``OutgoingItem.locale``; an escalation's recruiter's own), else FEEDBACK_DEFAULT_LOCALE.
    """
    locale = _recruiter_locale(items[0].to_address) if items[0].kind == "escalation" else items[0].locale
    with force_locale(babel_name(tag_of(resolve(locale)))):
        return _render_items(items, issued_at)


def _recruiter_locale(address: str) -> str | None:
    """The language a recruiter (or admin) chose, by the address an escalation goes to."""
    return db.session.scalar(sa.select(User.locale).where(User.email == address.lower()))


def _render_items(items: list[OutgoingItem], issued_at: datetime) -> OutgoingEmail:
    if items[0].kind == "escalation":
        if any(item.kind != "escalation" or item.request_id is None for item in items):
            raise ValueError("an escalation digest holds only escalations of requests")
        return escalation_email(items, issued_at.date())
    if len(items) == 1:
        item = items[0]
        if item.kind in ("candidate_view", "feedback_ready"):
            if item.candidate_id is None:
                raise ValueError(f"outbox message {item.outbox_id} names no candidate")
            return candidate_view_email(item) if item.kind == "candidate_view" else feedback_ready_email(item)
        if item.request_id is None:
            raise ValueError(f"outbox message {item.outbox_id} has no feedback request")
        return feedback_request_email(item, issued_at)
    if any(item.request_id is None or item.audience != "company" for item in items):
        raise ValueError("only a company contact's requests are sent as a digest")
    return company_digest_email(items, issued_at)
