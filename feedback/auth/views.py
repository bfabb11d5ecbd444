"""Sign in, sign out, and where a signed-in user lands."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter
from ..i18n import SESSION_KEY, UnknownLocale, shipped_tag
from ..models import User
from ..safety import safe_next_url
from ..services.accounts import audited_address, authenticate, end_sessions
from ..services.audit import record
from . import bp
from .forms import LoginForm


def landing_url(user) -> str:
    """Where each role starts: companies on their dashboard, recruiters and admins on the overview."""
    if user.role == "company":
        return url_for("dashboard.company", company_id=user.company_id)
    return url_for("recruiter.overview")


def _account_key() -> str:
    """The account a sign-in names: its attempts are counted whichever client makes them."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:320]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_account_key)
def login():
    """The sign-in form; one generic error whatever was wrong. Every attempt is audited (never the password)."""
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            record("sign-in", target=user.email, by=user)
            db.session.commit()
            next_url = safe_next_url(request.args.get("next"))
            session.clear()  # a fresh session at login: nothing from before survives
            login_user(user)
            return redirect(next_url or landing_url(user))
        status = 401
        record("sign-in failed", target=audited_address(form.email.data or ""), anonymous=True)
        db.session.commit()
        form.password.data = ""
        flash(gettext("That e-mail address and password do not match an account."), "error")
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out everywhere: the session cookie and any copy of it stop working."""
    user = db.session.get(User, current_user.id)
    if user is not None:  # erased meanwhile: no session of theirs is left to end
        end_sessions(user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """The language switch of a signed-in page: kept with the login (and this session), then back to the page."""
    try:
        tag = shipped_tag(request.form.get("lang"))
    except UnknownLocale:
        tag = None
    if tag is None:
        abort(400)
    session[SESSION_KEY] = tag
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        if user is not None:
            user.locale = tag
            db.session.commit()
    return redirect(safe_next_url(request.form.get("next")) or url_for("pages.home"))
