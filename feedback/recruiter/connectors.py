"""The company's ATS connectors (CONTRACT §8), for an admin or the company's recruiter: the list
with each one's last event and count, a new one (its secret shown once), and revoking one."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from ..access import roles_required, scope_to_companies, visible_companies
from ..extensions import db
from ..models import Connector
from ..services.audit import record
from ..services.connectors import ConnectorError, create_connector, revoke_connector
from ..tokens import public_url
from . import bp
from .forms import ConnectorForm, RevokeConnectorForm

STAFF = ("admin", "recruiter")
KIND_NAMES = {"greenhouse": "Greenhouse", "ashby": "Ashby", "lever": "Lever", "recruitee": "Recruitee",
              "workable": "Workable", "generic": _l("Generic")}


def _page(form: ConnectorForm, created=None, status: int = 200):
    connectors = db.session.scalars(scope_to_companies(
        sa.select(Connector).order_by(Connector.revoked_at.is_not(None), Connector.id.desc()),
        Connector.company_id, current_user)).all()
    return render_template("recruiter/connectors.html", form=form, connectors=connectors, created=created,
                           kind_names=KIND_NAMES, revoke_form=RevokeConnectorForm(), hook_url=hook_url), status


def hook_url(connector: Connector) -> str:
    return public_url(f"/hooks/{connector.kind}/{connector.id}")


def _form(**kwargs) -> ConnectorForm:
    form = ConnectorForm(**kwargs)
    form.company.choices = [SelectChoice(company.id, company.name) for company in visible_companies(current_user)]
    return form


@bp.route("/connectors", methods=["GET", "POST"])
@roles_required(*STAFF)
def connectors():
    """List the connectors of the user's companies; a valid POST creates one and shows its secret once."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    company = next(company for company in visible_companies(current_user) if company.id == form.company.data)
    try:
        created = create_connector(form.kind.data, company, api_key=form.api_key.data or None,
                                   api_base_url=form.api_url.data or None)
    except ConnectorError as exc:
        form.kind.errors = [*form.kind.errors, str(exc)]
        return _page(form, status=400)
    record("connector created", target=f"connector {created.connector.id}", kind=form.kind.data,
           company=company.name)
    db.session.commit()
    return _page(_form(formdata=None), created=created, status=201)  # a blank form for the next one


@bp.route("/connectors/<int:connector_id>/revoke", methods=["POST"])
@roles_required(*STAFF)
def revoke_ats_connector(connector_id: int):
    """Revoke a connector of one of the user's companies: its URL answers 404 from now on."""
    found = db.session.scalar(scope_to_companies(sa.select(Connector).where(Connector.id == connector_id),
                                                 Connector.company_id, current_user))
    if found is None:
        abort(404)
    if not RevokeConnectorForm().validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    if revoke_connector(found.id):
        record("connector revoked", target=f"connector {found.id}")
        db.session.commit()
        flash(_("Connector #%(id)s revoked: its address answers 404 from now on.", id=found.id), "info")
    else:
        flash(_("Connector #%(id)s was revoked already.", id=found.id), "info")
    return redirect(url_for("recruiter.connectors"))
