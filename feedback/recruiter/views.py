"""Recruiter workspace: overview across companies, upload with preview, batches, advice review."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import (
    batch_or_404,
    importable_company_names,
    may_see_company_or_404,
    roles_required,
    visible_companies,
)
from ..extensions import db, limiter
from ..models import STAGE_LABELS, ImportBatch
from ..queries.recruiter import (
    batch_funnel,
    batch_rows,
    company_overview,
    overdue_contacts,
    pending_reviews,
    recent_batches,
)
from ..queries.webhooks import recently_failed
from ..query_args import page_arg
from ..services.audit import record
from ..services.batches import cancel_unsent_mail, requeue_cancelled_mail
from ..services.import_preview import preview_import
from ..services.imports import import_outcomes
from ..services.reminders import remind_contact_now
from ..services.uploads import (
    claim_upload,
    discard_upload,
    read_upload_ticket,
    save_upload,
    upload_name,
    upload_path,
    upload_ticket,
    valid_rows,
    validate_upload,
)
from ..timeutil import today, utcnow
from ..transactions import commit_racing
from . import bp
from .forms import (
    CancelBatchForm,
    ConfirmImportForm,
    RemindContactForm,
    RequeueBatchForm,
    UploadForm,
)

STAFF = ("admin", "recruiter")
BATCH_ROWS_PER_PAGE = 50
OVERDUE_PER_PAGE = 25
# A batch row's status code (queries/recruiter.py BATCH_ROW_ORDER) as the page shows it.
BATCH_STATUS_LABELS = {"failed": _l("failed"), "not sent": _l("not sent"), "cancelled": _l("cancelled"),
                       "queued": _l("queued"), "sent": _l("sent"), "answered": _l("answered")}


def utc_minute(moment) -> str:
    """A UTC moment as the pages write it: "2026-11-05 09:03" (Babel's pattern, not rebased)."""
    return format_datetime(moment, "yyyy-MM-dd HH:mm", rebase=False)


def iso_day(moment) -> str:
    """A date (or a UTC moment's date) as the pages write it: "2026-11-05"."""
    return format_date(moment, "yyyy-MM-dd", rebase=False)


def percent_of(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percentage, "12%" (``whole`` is not 0)."""
    return format_percent(part / whole, "#,##0%")


def signed(value: float) -> str:
    """A score with its sign, "+12" / "-3" / "+0", as the overview writes NPS."""
    return format_decimal(value, "+#,##0;-#,##0")


@bp.context_processor
def formats() -> dict:
    """The recruiter pages' dates and numbers, in the reader's locale (what strftime wrote by hand)."""
    return {"utc_minute": utc_minute, "iso_day": iso_day, "percent_of": percent_of, "signed": signed}


@bp.route("/")
@roles_required(*STAFF)
def overview():
    """Across the recruiter's companies: response rates, pending answers, lowest scores first."""
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    overdue_page = page_arg(request.args, "overdue_page")
    overdue, overdue_total = overdue_contacts(current_user, current_app.config["FEEDBACK_SLA_DAYS"], today(),
                                              overdue_page, OVERDUE_PER_PAGE)
    return render_template(
        "recruiter/overview.html",
        companies=company_overview(current_user, k),
        overdue=overdue, overdue_page=overdue_page,
        overdue_pages=max((overdue_total + OVERDUE_PER_PAGE - 1) // OVERDUE_PER_PAGE, 1),
        sla_days=current_app.config["FEEDBACK_SLA_DAYS"], remind_form=RemindContactForm(),
        batches=recent_batches(current_user),
        pending_reviews=len(pending_reviews(current_user)),
        failed_webhooks=recently_failed(current_user, utcnow()),
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
    page = page_arg(request.form, "overdue_page")
    back = url_for("recruiter.overview", overdue_page=page if page > 1 else None, _anchor="overdue")
    queued = remind_contact_now(company_id, address, current_app.config["FEEDBACK_SLA_DAYS"], utcnow())
    if queued is None:
        flash(_("%(address)s was already reminded in the last 24 hours.", address=address), "info")
        return redirect(back), 303
    if not queued:
        flash(_("Nothing to remind %(address)s of: no feedback of theirs is overdue, or they unsubscribed.",
                address=address), "info")
        return redirect(back), 303
    record("contact reminded", target=address, company_id=company_id, requests=queued)
    db.session.commit()
    flash(ngettext("Reminder queued for %(address)s (%(num)d candidate).",
                   "Reminder queued for %(address)s (%(num)d candidates).", queued, address=address), "info")
    return redirect(back), 303


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*STAFF)
def upload():
    """Upload an outcomes CSV and see every problem, with its line number, and what importing would
    do, before anything is written."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("recruiter/upload.html", form=form), (400 if form.errors else 200)
    filename = upload_name(form.file.data.filename)
    upload_id = save_upload(form.file.data.stream)
    allowed = importable_company_names(current_user)
    try:
        report = validate_upload(upload_path(upload_id), allowed)
        plan = None
        if report.valid_rows_importable:
            comparable = None if allowed is None else [company.name for company in visible_companies(current_user)]
            plan = preview_import(valid_rows(upload_path(upload_id), allowed), comparable)
    except BaseException:  # nothing of a file that could not be read stays on disk
        discard_upload(upload_id)
        raise
    if plan is None or plan.all_known:  # nothing to import: the file is not kept
        discard_upload(upload_id)
    confirm = ConfirmImportForm(upload=upload_ticket(upload_id, current_user.id, filename))
    return render_template("recruiter/preview.html", report=report, plan=plan, confirm=confirm,
                           filename=filename), (422 if report.problems else 200)


@bp.route("/upload/confirm", methods=["POST"])
@roles_required(*STAFF)
def confirm_upload():
    """Import a previewed file (or only its valid rows): applications, requests and e-mails in one
    transaction. A file whose every row is known already makes no batch."""
    form = ConfirmImportForm()
    ticket = read_upload_ticket(form.upload.data or "", current_user.id) if form.validate_on_submit() else None
    path = claim_upload(ticket[0]) if ticket else None  # a second confirm of the same file finds nothing
    if path is None:
        flash(_("That upload has expired or was already imported. Upload the file again."), "error")
        return redirect(url_for("recruiter.upload"))
    filename = ticket[1]
    try:
        allowed = importable_company_names(current_user)
        report = validate_upload(path, allowed)
        if report.problems and not (form.valid_only.data == "1" and report.valid_rows_importable):
            abort(409, _("The file has problems; import only its valid rows, or fix it and upload it again."))

        def store():
            summary = import_outcomes(valid_rows(path, allowed), source=f"upload: {filename}",
                                      rows_in_file=report.rows_read)
            if summary.applications_created == 0:  # known already (another import got there first)
                db.session.rollback()
                return summary, None
            batch = db.session.get(ImportBatch, summary.batch_id)
            batch.created_by_id = current_user.id
            record("import", target=f"batch {batch.id}", source="upload", file=filename,
                   applications=summary.applications_created, requests=summary.requests_queued,
                   lines_skipped=report.rows_read - report.valid_rows)
            return summary, batch.id

        summary, batch_id = commit_racing(store)
    finally:
        path.unlink(missing_ok=True)
    if batch_id is None:
        flash(_("Nothing imported: every row of %(file)s is known already.", file=filename), "info")
        return redirect(url_for("recruiter.overview"))
    skipped = report.rows_read - report.valid_rows
    counts = {"file": filename, "new": summary.applications_created, "queued": summary.requests_queued,
              "known": summary.rows_known, "skipped": skipped}
    flash(_("Imported %(file)s: %(new)s new applications, %(queued)s e-mails queued, %(known)s rows already known, "
            "%(skipped)s lines with problems skipped.", **counts) if skipped
          else _("Imported %(file)s: %(new)s new applications, %(queued)s e-mails queued, %(known)s rows already known.",
                 **counts), "info")
    return redirect(url_for("recruiter.batch", batch_id=batch_id))


@bp.route("/batches/<int:batch_id>")
@roles_required(*STAFF)
def batch(batch_id: int):
    """One import batch: its delivery funnel, its rows (failures first, paged), and its unsent mail
    to cancel, or its cancelled mail to queue again."""
    found = batch_or_404(batch_id)
    page = page_arg(request.args)
    rows, total = batch_rows(found.id, current_user, page, BATCH_ROWS_PER_PAGE)
    pages = max((total + BATCH_ROWS_PER_PAGE - 1) // BATCH_ROWS_PER_PAGE, 1)
    return render_template("recruiter/batch.html", batch=found, funnel=batch_funnel(found.id), rows=rows,
                           total=total, page=page, pages=pages, per_page=BATCH_ROWS_PER_PAGE, stage_labels=STAGE_LABELS,
                           form=CancelBatchForm(), requeue_form=RequeueBatchForm(), status_labels=BATCH_STATUS_LABELS)


@bp.route("/batches/<int:batch_id>/cancel", methods=["GET", "POST"])
@roles_required(*STAFF)
def cancel_batch(batch_id: int):
    """Cancel every e-mail of the batch that has not gone out yet, after a confirmation with the count."""
    found = batch_or_404(batch_id)
    form = CancelBatchForm()
    if request.method == "GET":
        return render_template("recruiter/cancel.html", batch=found, funnel=batch_funnel(found.id), form=form)
    if not form.validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    cancelled = cancel_unsent_mail(found)
    record("batch cancelled", target=f"batch {found.id}", emails=cancelled)
    db.session.commit()
    flash(ngettext("%(num)d unsent e-mail cancelled. You can queue them again from this page.",
                   "%(num)d unsent e-mails cancelled. You can queue them again from this page.", cancelled), "info")
    return redirect(url_for("recruiter.batch", batch_id=found.id))


@bp.route("/batches/<int:batch_id>/requeue", methods=["POST"])
@roles_required(*STAFF)
def requeue_batch(batch_id: int):
    """Queue again the e-mails that cancelling the batch stopped."""
    found = batch_or_404(batch_id)
    if not RequeueBatchForm().validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    queued = requeue_cancelled_mail(found)
    record("batch requeued", target=f"batch {found.id}", emails=queued)
    db.session.commit()
    flash(ngettext("%(num)d e-mail queued again.", "%(num)d e-mails queued again.", queued) if queued
          else _("Nothing to queue again: no e-mail of this import was cancelled."), "info")
    return redirect(url_for("recruiter.batch", batch_id=found.id))
