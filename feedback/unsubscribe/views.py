"""GET shows a confirmation page and changes nothing; POST unsubscribes, with or without a cookie."""
from __future__ import annotations

from flask import abort, render_template, request

from ..extensions import csrf, db, limiter
from ..services.suppressions import suppress_address_hash
from ..tokens import read_unsubscribe_token
from . import bp


@bp.route("/u/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
@csrf.exempt  # RFC 8058: the mail client posts with no cookie and no form token
def unsubscribe(token: str):
    """Confirm (GET) or perform (POST) an unsubscribe; repeating it is harmless."""
    digest = read_unsubscribe_token(token)
    if digest is None:
        abort(404)
    if request.method == "GET":
        return render_template("unsubscribe/confirm.html", token=token)
    suppress_address_hash(digest)
    db.session.commit()
    return render_template("unsubscribe/done.html")
