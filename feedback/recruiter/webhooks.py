"""A company's outgoing webhooks (Standard Webhooks), for an admin or the company's recruiter: the
endpoints with what became of their webhooks, a new one (its secret shown once), and revoking one.
``feedback webhooks …`` does the same on the command line."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ..access import company_or_404, roles_required, scope_to_companies, visible_companies
from ..extensions import db, limiter
from ..models import WebhookEndpoint
from ..queries.webhooks import endpoints_with_deliveries
from ..services.audit import record
from ..services.outgoing_webhooks import (
    MAX_LIVE_ENDPOINTS,
    EndpointError,
    TooManyEndpoints,
    create_endpoint,
    queue_test,
    revoke_endpoint,
)
from ..timeutil import utcnow
from . import bp
from .forms import RevokeWebhookForm, WebhookEndpointForm

STAFF = ("admin", "recruiter")


def _form(**kwargs) -> WebhookEndpointForm:
    form = WebhookEndpointForm(**kwargs)
    form.company.choices = [SelectChoice(company.id, company.name) for company in visible_companies(current_user)]
    return form


def problem(error: str | None) -> str | None:
    """A delivery's problem as the page tells it: the receiver's status code, or only that it could
    not be reached. The worker's log keeps the detail (refused, timed out, TLS), which on the page
    would tell a workspace user which ports of a network answer."""
    if error is None:
        return None
    if error.startswith("HTTP "):
        return " ".join(error.split()[:2])  # "HTTP 500": the reason phrase is the receiver's own text
    if error == "endpoint revoked":
        return _("the endpoint was revoked")
    if "SECRET_KEY" in error:
        return _("its secret cannot be read: SECRET_KEY changed without SECRET_KEY_FALLBACKS")
    return _("could not reach it")


def _page(form: WebhookEndpointForm, created=None, status: int = 200):
    return render_template("recruiter/webhooks.html", form=form, endpoints=endpoints_with_deliveries(current_user),
                           created=created, revoke_form=RevokeWebhookForm(), problem=problem), status


@bp.route("/webhooks", methods=["GET", "POST"])
@roles_required(*STAFF)
def webhooks():
    """List the endpoints of the user's companies; a valid POST creates one and shows its secret once."""
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    company = company_or_404(form.company.data)
    try:
        endpoint, secret = create_endpoint(company, form.url.data, form.events.data)
    except TooManyEndpoints:
        form.company.errors = [*form.company.errors, _(
            "%(company)s has %(count)s live endpoints, the most a company may have: revoke one first.",
            company=company.name, count=MAX_LIVE_ENDPOINTS)]
        return _page(form, status=409)
    except EndpointError:  # the form checks more than the service; kept for a rule added there later
        form.url.errors = [*form.url.errors, _("This address cannot receive webhooks.")]
        return _page(form, status=400)
    record("webhook endpoint created", target=f"webhook endpoint {endpoint.id}", company=company.name,
           url=endpoint.url, events=endpoint.events)
    db.session.commit()
    return _page(_form(formdata=None), created=(endpoint, secret), status=201)  # a blank form for the next one


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    """An endpoint of one of the user's companies, for a POST with the page's CSRF token."""
    found = db.session.scalar(scope_to_companies(sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id),
                                                 WebhookEndpoint.company_id, current_user))
    if found is None:
        abort(404)
    if not RevokeWebhookForm().validate_on_submit():
        abort(400, _("The form expired; reload the page and try again."))
    return found


@bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@roles_required(*STAFF)
@limiter.limit("20 per hour", key_func=lambda: f"webhook-test:{current_user.id}")
def test_webhook(endpoint_id: int):
    """Queue a webhook.test for a live endpoint of the user's companies; the worker sends it."""
    found = _endpoint_or_404(endpoint_id)
    if not queue_test(found.id, utcnow()):
        abort(409, _("Webhook endpoint #%(id)s is revoked: nothing is sent to it.", id=found.id))
    db.session.commit()
    flash(_("A test webhook for endpoint #%(id)s is queued: the worker sends it within a minute. Reload this "
            "page to see it delivered, or what the receiver answered.", id=found.id), "info")
    return redirect(url_for("recruiter.webhooks"))


@bp.route("/webhooks/<int:endpoint_id>/revoke", methods=["POST"])
@roles_required(*STAFF)
def revoke_webhook(endpoint_id: int):
    """Revoke an endpoint of one of the user's companies: nothing more is sent to it."""
    found = _endpoint_or_404(endpoint_id)
    if revoke_endpoint(found.id):
        record("webhook endpoint revoked", target=f"webhook endpoint {found.id}", company=found.company.name,
               url=found.url)
        db.session.commit()
        flash(_("Webhook endpoint #%(id)s revoked: nothing more is sent to it.", id=found.id), "info")
    else:
        flash(_("Webhook endpoint #%(id)s was revoked already.", id=found.id), "info")
    return redirect(url_for("recruiter.webhooks"))
