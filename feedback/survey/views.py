"""The feedback link: show the form, take one answer, explain a used or expired link."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_babel import get_locale
from sqlalchemy.exc import IntegrityError

from ..extensions import db, limiter
from ..i18n import tag_of, use_person_locale
from ..labels import QUESTION_NAMES, STAGE_IN_SENTENCE
from ..models import STAGE_LABELS, FeedbackRequest
from ..queries.links import answered_at, linked_request
from ..reports_text import QUESTION_LABELS
from ..services.responses import AlreadyAnswered, link_expires_at, request_fresh_link, submit_response
from ..services.surveys import stored_survey, survey_in
from ..surveys.candidate_words import BAND_MEANINGS, COMPANY_REASONS, next_steps, reason_words
from ..surveys.definitions import BAND_KEYS, BAND_LABELS, NOT_APPLICABLE
from ..surveys.rules import applicable_questions
from ..timeutil import utcnow
from ..tokens import LinkCheck, read_feedback_link_token
from . import bp
from .contact import sitting_links, sitting_of
from .forms import RenewLinkForm, answers_from_form, survey_form_class


def candidate_preview(form) -> dict:
    """What the candidate's page will show of a contact's valid answers (advice: once approved)."""
    bands = {key: int(form[key].data) for key in BAND_KEYS
             if key in form and form[key].data not in (None, "", NOT_APPLICABLE)}
    return {"reasons": list(dict.fromkeys(form.reasons.data or [])) if "reasons" in form else [],
            "bands": bands, "advice": (form.strengthen.data or "").strip() if "strengthen" in form else "",
            "reconsider": "reconsider" in form and form.reconsider.data == "yes"}


def _load(token: str) -> tuple[sa.Row, LinkCheck]:
    """The request a link names (queries.links.linked_request), or a 404 that says nothing about anyone
    (also when the person it was sent to, or the candidate it is about, has been erased)."""
    check = read_feedback_link_token(token)
    if check is None:
        abort(404)
    link = linked_request(check.request_id)
    if link is None or link.link_issued_at is None or link.recipient_email is None:
        abort(404)
    use_person_locale(link.locale)
    return link, check


def _expired(link: sa.Row, check: LinkCheck) -> bool:
    return check.expired or utcnow() >= link_expires_at(link.link_issued_at)


def _refusal(link: sa.Row, check: LinkCheck, token: str):
    """The 410 page for a used, closed, replaced or expired link, or None if the link is live."""
    if link.answered_at is not None:
        return render_template("survey/used.html", answered_at=link.answered_at), 410
    if link.cancelled_at is not None:
        return render_template("survey/closed.html"), 410
    replaced = check.signed_at < link.link_issued_at
    if replaced or _expired(link, check):
        return render_template("survey/expired.html", token=token, form=RenewLinkForm(), replaced=replaced), 410
    return None


def _score_from_email(form) -> bool:
    """A score chosen in the e-mail (``?nps=N``, CONTRACT §5) is preselected; nothing is recorded
    until the person submits. Anything else in ``nps`` is ignored."""
    score = request.args.get("nps", "")
    if "nps" not in form or score not in {choice.value for choice in form.nps.choices}:
        return False
    form.nps.data = score
    return True


@bp.route("/f/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def answer(token: str):
    """Show a live link's survey (GET never uses it up) and take its one valid submission."""
    link, check = _load(token)
    refusal = _refusal(link, check, token)
    if refusal is not None:
        return refusal
    # The wording in the page's language: the same version and question keys as the request's.
    survey = stored_survey(survey_in(link.survey_id, tag_of(get_locale())))
    questions = applicable_questions(survey, link)
    form = survey_form_class(survey, link, link.company_name)()
    status, preview = 200, None
    from_email = link.audience == "candidate" and (
        _score_from_email(form) if request.method == "GET" else request.form.get("started") == "email")
    previewing = link.audience == "company" and request.form.get("action") == "preview"
    if request.method == "POST":
        valid = form.validate()
        if valid and previewing:  # nothing is stored: the contact sees the candidate's page first
            preview = candidate_preview(form)
        elif valid:
            try:
                submit_response(link.id, answers_from_form(form, questions), started_from_email=from_email,
                                survey_id=survey.id)
                db.session.commit()
            except (AlreadyAnswered, IntegrityError):
                db.session.rollback()
                return render_template("survey/used.html", answered_at=answered_at(link.id)), 410
            sitting = sitting_of(link.id) if link.audience == "company" else None
            return render_template("survey/thanks.html", audience=link.audience, company=link.company_name,
                                   outcome=link.outcome, sitting=sitting,
                                   links=sitting_links(sitting, link.id) if sitting else None)
        else:
            status = 400
    return render_template(
        "survey/form.html",
        form=form,
        preview=preview,
        band_labels=BAND_LABELS, band_meanings=BAND_MEANINGS,
        skill_labels={key: str(QUESTION_NAMES.get(key, label)) for key, label in QUESTION_LABELS.items()},
        company_reasons=COMPANY_REASONS, reason_words=reason_words, next_steps=next_steps,
        survey=survey,
        questions=questions,
        link=link,
        stage_label=str(STAGE_IN_SENTENCE.get(link.stage, STAGE_LABELS[link.stage].lower())),
        expires_at=link_expires_at(link.link_issued_at),
        sitting=sitting_of(link.id) if link.audience == "company" else None,
        from_email=from_email,
        answered=sum(1 for question in questions if form[question.key].data not in (None, "", [])),
    ), status


@bp.route("/f/<token>/renew", methods=["POST"])
@limiter.limit("5 per hour")
def renew(token: str):
    """Ask for a fresh link for an expired one; the answer is the same whatever happened."""
    link, check = _load(token)
    replaced = check.signed_at < link.link_issued_at
    # Only the newest link, once expired, may ask for a successor: a live link is never replaced
    # from outside, and whoever holds an old, replaced one cannot kill the one in use.
    if RenewLinkForm().validate_on_submit() and not replaced and _expired(link, check):
        request_fresh_link(db.session.get(FeedbackRequest, link.id))
        db.session.commit()
    return render_template("survey/renewed.html"), 202
