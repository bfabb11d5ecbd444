"""The advice review queue: what companies wrote for candidates, approved, edited or withheld by a
recruiter before it reaches them (one decision per item, or the unflagged in bulk)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import roles_required, scope_to_companies
from ..advice_rules import advice_flags
from ..extensions import db
from ..models import STAGE_LABELS, AdviceReview
from ..queries.recruiter import decided_reviews, pending_reviews
from ..reports_text import QUESTION_LABELS, REASON_LABELS
from ..services.audit import record
from ..services.moderation import AdviceAlreadyDecided, reopen_advice, review_advice
from ..surveys.definitions import BAND_LABELS
from . import bp
from .forms import ApproveUnflaggedForm, ReopenReviewForm, ReviewForm

STAFF = ("admin", "recruiter")


@bp.route("/reviews")
@roles_required(*STAFF)
def reviews():
    """Advice companies wrote for candidates, waiting for review, with what else the company said."""
    items = [(item, STAGE_LABELS.get(item.stage, item.stage), advice_flags(item.text),
              ReviewForm(prefix=f"r{item.review.id}", text=item.text))
             for item in pending_reviews(current_user)]
    unflagged = [item.review.id for item, _stage, flags, _form in items if not flags]
    decided = decided_reviews() if current_user.role == "admin" else []
    return render_template("recruiter/reviews.html", items=items, decided=decided, reopen_form=ReopenReviewForm(),
                           unflagged=unflagged, flagged=len(items) - len(unflagged),
                           bulk_form=ApproveUnflaggedForm(ids=",".join(map(str, unflagged))),
                           reason_labels=REASON_LABELS, skill_labels=QUESTION_LABELS, band_labels=BAND_LABELS)


@bp.route("/reviews/approve-unflagged", methods=["POST"])
@roles_required(*STAFF)
def approve_unflagged():
    """Approve as written the listed advice that the rules flag nothing in; flagged advice is left for
    a person to read, whatever ids are posted, and advice decided meanwhile is skipped."""
    form = ApproveUnflaggedForm()
    if not form.validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    ids = {int(value) for value in form.ids.data.split(",")}
    found = db.session.scalars(scope_to_companies(
        sa.select(AdviceReview).where(AdviceReview.id.in_(ids), AdviceReview.status == "pending")
        .order_by(AdviceReview.id), AdviceReview.company_id, current_user)).all()
    approved = 0
    for review_row in found:
        if advice_flags(review_row.answer.text):
            continue
        try:
            review_advice(review_row, "approve", current_user)
        except AdviceAlreadyDecided:
            continue
        record("advice reviewed", target=f"review {review_row.id}", decision="approve", edited=False, bulk=True)
        approved += 1
    db.session.commit()
    left = sum(1 for item in pending_reviews(current_user) if advice_flags(item.text))
    flash(_("%(approved)s approved; %(left)s flagged left for you to read.", approved=approved, left=left), "info")
    return redirect(url_for("recruiter.reviews")), 303


@bp.route("/reviews/<int:review_id>/reopen", methods=["POST"])
@roles_required("admin")
def reopen_review(review_id: int):
    """Put a decided piece of advice back in the queue (admins only)."""
    found = db.session.get(AdviceReview, review_id)
    if found is None:
        abort(404)
    if not ReopenReviewForm().validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    if found.status == "pending":
        abort(409, _("This advice is waiting for a decision already."))
    previous = found.status
    reopen_advice(found)
    record("advice reopened", target=f"review {found.id}", previous=previous)
    db.session.commit()
    flash(_("Advice reopened: it waits for a decision again."), "info")
    return redirect(url_for("recruiter.reviews"))


@bp.route("/reviews/<int:review_id>", methods=["POST"])
@roles_required(*STAFF)
def review(review_id: int):
    """Approve (as written or edited) or withhold one piece of advice."""
    found = db.session.scalar(scope_to_companies(
        sa.select(AdviceReview).where(AdviceReview.id == review_id), AdviceReview.company_id, current_user))
    if found is None:
        abort(404)
    form = ReviewForm(prefix=f"r{review_id}")
    if not form.validate_on_submit():
        flash(_("Choose approve or withhold."), "error")
        return redirect(url_for("recruiter.reviews"))
    as_written = form.decision.data == "approve_as_written"
    decision = "approve" if as_written else form.decision.data
    text = None if as_written else form.text.data
    try:
        review_advice(found, decision, current_user, text)
    except AdviceAlreadyDecided:
        abort(409, _("This advice was already approved; a decision stands unless an admin reopens it.")
              if found.status == "approved" else
              _("This advice was already withheld; a decision stands unless an admin reopens it.")
              if found.status == "withheld" else
              _("This advice was already %(status)s; a decision stands unless an admin reopens it.", status=found.status))
    record("advice reviewed", target=f"review {found.id}", decision=decision,
           edited=bool(text and text.strip() != found.answer.text))
    db.session.commit()
    flash(_("Advice approved.") if decision == "approve" else _("Advice withheld."), "info")
    return redirect(url_for("recruiter.reviews"))
