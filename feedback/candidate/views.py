"""``/me``: ask for your feedback; ``/me/view/<token>``: read it."""
from __future__ import annotations

from flask import abort, current_app, render_template

from ..extensions import db, limiter
from ..models import STAGE_LABELS, Candidate
from ..queries.candidate import candidate_applications, candidate_summary, peer_bands
from ..reports_text import QUESTION_LABELS
from ..services.candidate_view import request_candidate_view_link
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


def band_label(value: float | None) -> str:
    """A mean band as the nearest band's words (never an exact score)."""
    if value is None:
        return "–"
    return BAND_LABELS[min(max(round(value), 1), 4) - 1]


@bp.route("/me/view/<token>")
@limiter.limit("60 per minute")
def view(token: str):
    """The candidate's applications with the companies' released feedback, and a summary across them."""
    candidate_id, expired = read_candidate_view_token(token)
    if expired:
        return render_template("candidate/expired.html"), 410
    candidate = db.session.get(Candidate, candidate_id) if candidate_id else None
    if candidate is None or candidate.email is None:  # unknown, or erased
        abort(404)
    items = candidate_applications(candidate.id)
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    peers = peer_bands({item.stage for item in items if item.bands}, candidate.id, k)
    return render_template(
        "candidate/view.html", candidate=candidate, items=items, summary=candidate_summary(items), peers=peers,
        reason_labels=dict(REJECTION_REASONS), band_keys=BAND_KEYS, band_labels=BAND_LABELS,
        skill_labels=QUESTION_LABELS, stage_labels=STAGE_LABELS, band_label=band_label,
    )
