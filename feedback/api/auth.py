"""Bearer-key authentication for the API: the key acts with its user's rights."""
from __future__ import annotations

from functools import wraps

from flask import abort, g

from ..extensions import db
from ..services.api_keys import user_for_api_key


def authenticate(authorization: str | None) -> None:
    """Make the key's user the current user for this request, or answer 401."""
    scheme, _, key = (authorization or "").partition(" ")
    user = user_for_api_key(key.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, "Send a valid API key as 'Authorization: Bearer <key>'.")
    db.session.commit()  # last_used_at
    # Flask-Login reads the current user from here; no session cookie is written for API calls.
    g._login_user = user


def key_required(view):
    """Authenticate the request by its API key before the view runs."""
    from flask import request

    @wraps(view)
    def wrapped(*args, **kwargs):
        authenticate(request.headers.get("Authorization"))
        return view(*args, **kwargs)

    return wrapped
