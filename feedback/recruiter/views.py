"""Recruiter workspace: overview across companies, upload with preview, batches, advice review."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import (
    batch_or_404,
    importable_company_names,
    may_see_company_or_404,
    roles_required,
    scope_to_companies,
)
from ..advice_rules import advice_flags
from ..extensions import db, limiter
from ..models import STAGE_LABELS, AdviceReview, ImportBatch
from ..queries.recruiter import (
    batch_funnel,
    company_overview,
    decided_reviews,
    overdue_contacts,
    pending_reviews,
    recent_batches,
)
from ..services.audit import record
from ..services.batches import cancel_unsent_mail
from ..services.imports import import_outcomes
from ..services.moderation import AdviceAlreadyDecided, reopen_advice, review_advice
from ..services.reminders import remind_contact_now
from ..services.uploads import (
    claim_upload,
    discard_upload,
    read_upload_ticket,
    save_upload,
    scoped_results,
    upload_path,
    upload_ticket,
    validate_upload,
)
from ..timeutil import today, utcnow
from ..transactions import commit_racing
from . import bp
from .forms import CancelBatchForm, ConfirmImportForm, RemindContactForm, ReopenReviewForm, ReviewForm, UploadForm

STAFF = ("admin", "recruiter")


@bp.route("/")
@roles_required(*STAFF)
def overview():
    """Across the recruiter's companies: response rates, pending answers, lowest scores first."""
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    return render_template(
        "recruiter/overview.html",
        companies=company_overview(current_user, k),
        overdue=overdue_contacts(current_user, current_app.config["FEEDBACK_SLA_DAYS"], today()),
        sla_days=current_app.config["FEEDBACK_SLA_DAYS"], remind_form=RemindContactForm(),
        batches=recent_batches(current_user),
        pending_reviews=len(pending_reviews(current_user)),
        k=k,
    )


@bp.route("/contacts/remind", methods=["POST"])
@roles_required(*STAFF)
@limiter.limit("60 per hour", methods=["POST"], key_func=lambda: f"remind:{current_user.id}")
def remind_contact():
    """Remind one overdue contact of a company the user looks after, now: once a day at most, audited."""
    form = RemindContactForm()
    if not form.validate_on_submit() or not form.company.data.isdigit():
        abort(400)
    company_id = int(form.company.data)
    may_see_company_or_404(company_id)
    address = form.contact.data.strip().lower()
    queued = remind_contact_now(company_id, address, current_app.config["FEEDBACK_SLA_DAYS"], utcnow())
    if queued is None:
        flash(f"{address} was already reminded in the last 24 hours.", "info")
        return redirect(url_for("recruiter.overview")), 303
    if not queued:
        flash(f"Nothing to remind {address} of: no feedback of theirs is overdue, or they unsubscribed.", "info")
        return redirect(url_for("recruiter.overview")), 303
    record("contact reminded", target=address, company_id=company_id, requests=queued)
    db.session.commit()
    flash(f"Reminder queued for {address} ({queued} candidate{'' if queued == 1 else 's'}).", "info")
    return redirect(url_for("recruiter.overview")), 303


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*STAFF)
def upload():
    """Upload an outcomes CSV and see every problem, with its line number, before anything is written."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("recruiter/upload.html", form=form), (400 if form.errors else 200)
    upload_id = save_upload(form.file.data.stream)
    try:
        report = validate_upload(upload_path(upload_id), importable_company_names(current_user))
    except BaseException:  # nothing of a file that could not be read stays on disk
        discard_upload(upload_id)
        raise
    if report.problems:
        discard_upload(upload_id)
    confirm = ConfirmImportForm(upload=upload_ticket(upload_id, current_user.id))
    return render_template("recruiter/preview.html", report=report, confirm=confirm,
                           filename=form.file.data.filename), (422 if report.problems else 200)


@bp.route("/upload/confirm", methods=["POST"])
@roles_required(*STAFF)
def confirm_upload():
    """Import a previewed file: applications, requests and e-mails in one transaction."""
    form = ConfirmImportForm()
    upload_id = read_upload_ticket(form.upload.data or "", current_user.id) if form.validate_on_submit() else None
    path = claim_upload(upload_id) if upload_id else None  # a second confirm of the same file finds nothing
    if path is None:
        flash("That upload has expired or was already imported. Upload the file again.", "error")
        return redirect(url_for("recruiter.upload"))
    try:
        allowed = importable_company_names(current_user)
        if validate_upload(path, allowed).problems:
            abort(409)

        def store():
            rows = (row for row, _problems in scoped_results(path, allowed) if row is not None)
            summary = import_outcomes(rows, source="upload")
            batch = db.session.get(ImportBatch, summary.batch_id)
            batch.created_by_id = current_user.id
            record("import", target=f"batch {batch.id}", source="upload",
                   applications=summary.applications_created, requests=summary.requests_queued)
            return summary, batch.id

        summary, batch_id = commit_racing(store)
    finally:
        path.unlink(missing_ok=True)
    flash(f"Imported: {summary.applications_created} new applications, {summary.requests_queued} e-mails queued, "
          f"{summary.rows_known} rows already known.", "info")
    return redirect(url_for("recruiter.batch", batch_id=batch_id))


@bp.route("/batches/<int:batch_id>")
@roles_required(*STAFF)
def batch(batch_id: int):
    """One import batch: its delivery funnel and a way to cancel its unsent mail."""
    found = batch_or_404(batch_id)
    return render_template("recruiter/batch.html", batch=found, funnel=batch_funnel(found.id), form=CancelBatchForm())


@bp.route("/batches/<int:batch_id>/cancel", methods=["POST"])
@roles_required(*STAFF)
def cancel_batch(batch_id: int):
    """Cancel every e-mail of the batch that has not gone out yet."""
    found = batch_or_404(batch_id)
    if CancelBatchForm().validate_on_submit():
        cancelled = cancel_unsent_mail(found)
        record("batch cancelled", target=f"batch {found.id}", emails=cancelled)
        db.session.commit()
        flash(f"{cancelled} unsent e-mail{'' if cancelled == 1 else 's'} cancelled.", "info")
    return redirect(url_for("recruiter.batch", batch_id=found.id))


@bp.route("/reviews")
@roles_required(*STAFF)
def reviews():
    """Advice companies wrote for candidates, waiting for review."""
    items = [(review, text, company, STAGE_LABELS.get(stage, stage), advice_flags(text),
              ReviewForm(prefix=f"r{review.id}", text=text))
             for review, text, company, stage in pending_reviews(current_user)]
    decided = decided_reviews() if current_user.role == "admin" else []
    return render_template("recruiter/reviews.html", items=items, decided=decided, reopen_form=ReopenReviewForm())


@bp.route("/reviews/<int:review_id>/reopen", methods=["POST"])
@roles_required("admin")
def reopen_review(review_id: int):
    """Put a decided piece of advice back in the queue (admins only)."""
    found = db.session.get(AdviceReview, review_id)
    if found is None:
        abort(404)
    if not ReopenReviewForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    if found.status == "pending":
        abort(409, "This advice is waiting for a decision already.")
    previous = found.status
    reopen_advice(found)
    record("advice reopened", target=f"review {found.id}", previous=previous)
    db.session.commit()
    flash("Advice reopened: it waits for a decision again.", "info")
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
        flash("Choose approve or withhold.", "error")
        return redirect(url_for("recruiter.reviews"))
    try:
        review_advice(found, form.decision.data, current_user, form.text.data)
    except AdviceAlreadyDecided:
        abort(409, f"This advice was already {found.status}; a decision stands unless an admin reopens it.")
    record("advice reviewed", target=f"review {found.id}", decision=form.decision.data,
           edited=bool(form.text.data and form.text.data.strip() != found.answer.text))
    db.session.commit()
    flash("Advice approved." if form.decision.data == "approve" else "Advice withheld.", "info")
    return redirect(url_for("recruiter.reviews"))
