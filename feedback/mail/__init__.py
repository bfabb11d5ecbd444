"""E-mails: one function per kind, each a plain-text and an HTML template in templates/email/."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message

from ..extensions import db
from ..models import Candidate, FeedbackRequest, OutboxMessage
from ..timeutil import utcnow
from ..tokens import candidate_view_token, feedback_link_token, public_url, unsubscribe_token


def message_id(outbox_id: int) -> str:
    """A Message-ID derived from the outbox row, so a receiver can drop a repeated delivery."""
    domain = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    return f"<feedback.outbox.{outbox_id}@{domain}>"


def feedback_link(request: FeedbackRequest) -> str:
    """The request's link, signed now; issuing the request's first link starts its expiry clock."""
    if request.link_issued_at is None:
        request.link_issued_at = utcnow().replace(microsecond=0)
    return public_url(f"/f/{feedback_link_token(request.id)}")


def _expires_on(request: FeedbackRequest):
    days = current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"]
    return (request.link_issued_at + timedelta(days=days)).date()


def _build(outbox: OutboxMessage, subject: str, template: str, **context) -> Message:
    unsubscribe = public_url(f"/u/{unsubscribe_token(outbox.to_address)}")
    context |= {"unsubscribe_url": unsubscribe, "recipient": outbox.to_address}
    message = Message(
        subject=subject,
        recipients=[outbox.to_address],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
        extra_headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.msgId = message_id(outbox.id)
    return message


def feedback_request_email(outbox: OutboxMessage) -> Message:
    """The invitation, reminder or fresh link for one feedback request."""
    request = outbox.request
    application = request.application
    link = feedback_link(request)
    context = {
        "kind": outbox.kind,
        "link": link,
        "company": application.company.name,
        "position": application.position.title,
        "candidate_name": application.candidate.name,
        "stage": application.stage,
        "outcome": application.outcome,
        "expires_on": _expires_on(request),
    }
    company = application.company.name
    if request.audience == "candidate":
        subjects = {
            "invitation": f"How was applying to {company}? (2 minutes)",
            "reminder": f"Reminder: your view of {company}'s hiring process",
            "fresh_link": f"Your new link: feedback on {company}'s hiring process",
        }
        template = "candidate_request"
    else:
        subjects = {
            "invitation": f"Feedback for {application.candidate.name or 'a candidate'} ({application.position.title})",
            "reminder": f"Reminder: feedback for {application.candidate.name or 'a candidate'}",
            "fresh_link": f"Your new link: feedback for {application.candidate.name or 'a candidate'}",
        }
        template = "company_request"
    return _build(outbox, subjects[outbox.kind], template, **context)


def candidate_view_email(outbox: OutboxMessage) -> Message:
    """The private link a candidate asked for, to read the feedback on their applications."""
    candidate = db.session.get(Candidate, outbox.candidate_id)
    link = public_url(f"/me/view/{candidate_view_token(candidate.id)}")
    return _build(outbox, "Your feedback link", "candidate_view", link=link, candidate_name=candidate.name,
                  company=None, position=None)


def render_outbox_message(outbox: OutboxMessage) -> Message:
    """The e-mail an outbox row stands for."""
    if outbox.kind == "candidate_view":
        return candidate_view_email(outbox)
    if outbox.request is None:
        raise ValueError(f"outbox message {outbox.id} has no feedback request")
    return feedback_request_email(outbox)


def company_digest_email(rows: list[OutboxMessage]) -> Message:
    """One e-mail to a company contact listing every candidate to give feedback on, each with its link."""
    first = rows[0]
    items = []
    for outbox in rows:
        request = outbox.request
        application = request.application
        items.append({
            "candidate_name": application.candidate.name,
            "position": application.position.title,
            "stage": application.stage,
            "link": feedback_link(request),
            "expires_on": _expires_on(request),
        })
    companies = sorted({outbox.request.application.company.name for outbox in rows})
    count = len(items)
    subject = (f"Reminder: feedback for {count} candidates you declined" if first.kind == "reminder"
               else f"Feedback for {count} candidates you declined")
    return _build(first, subject, "company_digest", kind=first.kind, items=items, company=", ".join(companies),
                  position="several positions" if len({i["position"] for i in items}) > 1 else items[0]["position"])


def render_outbox_messages(rows: list[OutboxMessage]) -> Message:
    """The one e-mail several outbox rows stand for: a single message, or a contact's digest."""
    if len(rows) == 1:
        return render_outbox_message(rows[0])
    if any(row.request is None or row.request.audience != "company" for row in rows):
        raise ValueError("only a company contact's requests are sent as a digest")
    return company_digest_email(rows)
