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
            return render_template("unsubscribe/done.html")
        return render_template("unsubscribe/by_address.html", form=form), (400 if form.errors else 200)
    if request.method == "GET":
        return render_template("unsubscribe/confirm.html", token=token)
    suppress_address_hash(digest)
    db.session.commit()
    return render_template("unsubscribe/done.html")
