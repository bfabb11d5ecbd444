"""``/me``: ask for your feedback; ``/me/view/<token>``: read it."""
from __future__ import annotations

import json

from flask import abort, current_app, make_response, render_template
from flask_babel import format_date, gettext

from ..extensions import db, limiter
from ..i18n import use_person_locale
from ..labels import QUESTION_NAMES, STAGE_IN_SENTENCE
from ..models import STAGE_LABELS, Candidate
from ..queries.candidate import candidate_applications, candidate_summary, peer_bands
from ..queries.candidate_export import candidate_export
from ..reports_text import QUESTION_LABELS
from ..services.candidate_view import request_candidate_view_link
from ..services.suppressions import suppression_scopes
from ..surveys.candidate_words import BAND_MEANINGS, COMPANY_REASONS, next_steps, reason_words
from ..surveys.definitions import BAND_KEYS, BAND_LABELS, REJECTION_REASONS
from ..tokens import read_candidate_view_token
from . import bp
from .forms import AskForFeedbackForm


@bp.route("/me", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def ask():
    """Ask for a link to your feedback; the answer is the same whether the address is known or not."""
    form = AskForFeedbackForm()
    if form.validate_on_submit():
        request_candidate_view_link(form.email.data)
        db.session.commit()
        return render_template("candidate/asked.html")
    return render_template("candidate/ask.html", form=form), (400 if form.errors else 200)


def day(value) -> str:
    """A day as the page shows it (2026-11-05)."""
    return format_date(value, "yyyy-MM-dd")


def band_label(value: float | None) -> str:
    """A mean band as the nearest band's words (never an exact score), in the reader's language."""
    if value is None:
        return "–"
    return gettext(BAND_LABELS[min(max(round(value), 1), 4) - 1])


def _candidate_of(token: str) -> Candidate:
    """The candidate a view link names; 410 once it expired, 404 when it names nobody (or an erased person)."""
    candidate_id, expired = read_candidate_view_token(token)
    if expired:
        abort(make_response(render_template("candidate/expired.html"), 410))
    candidate = db.session.get(Candidate, candidate_id) if candidate_id else None
    if candidate is None or candidate.email is None:  # unknown, or erased
        abort(404)
    use_person_locale(candidate.locale)
    return candidate


@bp.route("/me/view/<token>/export.json")
@limiter.limit("20 per minute")
def export(token: str):
    """Everything held about the candidate, as a JSON download (GDPR Art. 15)."""
    candidate = _candidate_of(token)
    stopped = suppression_scopes([candidate.email]).get(candidate.email)
    response = current_app.response_class(
        json.dumps(candidate_export(candidate, stopped), ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-feedback-data.json"'
    return response


@bp.route("/me/view/<token>")
@limiter.limit("60 per minute")
def view(token: str):
    """The candidate's applications with the companies' released feedback, and a summary across them."""
    candidate = _candidate_of(token)
    items = candidate_applications(candidate.id)
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    peers = peer_bands({item.stage for item in items if item.bands}, candidate.id, k)
    return render_template(
        "candidate/view.html", candidate=candidate, items=items, summary=candidate_summary(items), peers=peers,
        reason_labels=dict(REJECTION_REASONS), band_keys=BAND_KEYS, band_labels=BAND_LABELS,
        skill_labels={key: str(QUESTION_NAMES.get(key, label)) for key, label in QUESTION_LABELS.items()},
        stage_labels=STAGE_LABELS, band_label=band_label, token=token,
        band_meanings={label: str(meaning) for label, meaning in BAND_MEANINGS.items()}, next_steps=next_steps, reason_words=reason_words,
        company_reasons=COMPANY_REASONS, day=day,
        stage_names={code: str(name) for code, name in STAGE_IN_SENTENCE.items()},
    )
