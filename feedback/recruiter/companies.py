"""A company's settings in the recruiter workspace: the language of its contacts and of its candidates
who named none (``feedback companies locale`` on the command line), for an admin or its recruiter."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ..access import company_or_404, roles_required, visible_companies
from ..extensions import db
from ..i18n import SHIPPED, default_tag, language_name
from ..services.audit import record
from . import bp
from .forms import CompanyLanguageForm

STAFF = ("admin", "recruiter")


def _form() -> CompanyLanguageForm:
    form = CompanyLanguageForm()
    form.locale.choices = [SelectChoice("", _("None of its own (%(language)s, the service's default)",
                                              language=language_name(default_tag()))),
                           *(SelectChoice(tag, language_name(tag)) for tag in SHIPPED)]
    return form


@bp.route("/companies")
@roles_required(*STAFF)
def companies():
    """The user's companies, each with its language and a form to change it."""
    return render_template("recruiter/companies.html", companies=visible_companies(current_user),
                           choices=_form().locale.choices)


@bp.route("/companies/<int:company_id>/language", methods=["POST"])
@roles_required(*STAFF)
def company_language(company_id: int):
    """Set the company's language: its contacts' e-mails and pages, and its candidates' where their
    row named no language. Audited, as the command is."""
    company = company_or_404(company_id)
    form = _form()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, _("The form expired; reload the page and try again."))
        abort(400, _("Choose one of the languages listed."))
    company.locale = form.locale.data or None
    record("company language set", target=company.name, locale=company.locale or "none")
    db.session.commit()
    flash(_("%(company)s: %(language)s.", company=company.name,
            language=language_name(company.locale) if company.locale else _("no language of its own")), "info")
    return redirect(url_for("recruiter.companies")), 303
