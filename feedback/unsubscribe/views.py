"""GET shows a confirmation page and changes nothing; POST unsubscribes, with or without a cookie."""
from __future__ import annotations

from flask import abort, render_template, request

from ..address_form import AddressForm
from ..extensions import csrf, db, limiter
from ..names import normalise_address
from ..services.suppressions import suppress_address, suppress_address_hash
from ..tokens import read_unsubscribe_token
from . import bp


@bp.route("/u/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
@csrf.exempt  # RFC 8058: the mail client posts with no cookie and no form token
def unsubscribe(token: str):
    """Confirm (GET) or perform (POST) an unsubscribe; repeating it is harmless.

    A link signed with a SECRET_KEY that has since been retired names a hash no key can match any
    more: the page asks for the address instead (a form with its CSRF token) and stops mail to it.
    """
    found = read_unsubscribe_token(token)
    if found is None:
        abort(404)
    digest, retired = found
    if retired:
        form = AddressForm()
        if form.validate_on_submit():
            suppress_address(normalise_address(form.email.data))
            db.session.commit()
            return render_template("unsubscribe/done.html", scope="all")
        return render_template("unsubscribe/by_address.html", form=form), (400 if form.errors else 200)
    if request.method == "GET":
        return render_template("unsubscribe/confirm.html", token=token)
    # The page's "surveys only" button says so; the one-click POST of a mail client (RFC 8058,
    # "List-Unsubscribe=One-Click") and the page's other button stop everything.
    scope = "requests" if request.form.get("scope") == "requests" else "all"
    suppress_address_hash(digest, scope=scope)
    db.session.commit()
    return render_template("unsubscribe/done.html", scope=scope)
