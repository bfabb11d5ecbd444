"""Headers sent with every response, error pages included."""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import abort, current_app, request, session
from flask.json.provider import DefaultJSONProvider

# Pages whose address carries a link token (errors under them included): the URL never leaves the site.
TOKEN_PATH_PREFIXES = ("/f/", "/u/", "/me/view/", "/c/")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def referrer_policy(path: str) -> str:
    """same-origin where the address holds a token, strict-origin-when-cross-origin elsewhere."""
    return "same-origin" if path.startswith(TOKEN_PATH_PREFIXES) else "strict-origin-when-cross-origin"


_DEFAULT_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response):
    """CSP without inline script, no framing, no sniffing; HSTS only behind https (CONTRACT §2).

    Each header is added unless the view set its own (checked against the names present once:
    werkzeug's setdefault raises and catches an exception for every header it has to add).
    """
    headers = response.headers
    if referrer_policy(request.path) == "same-origin":
        # Token pages (errors under them too): never cached, and the token never leaves in a Referer.
        headers["Referrer-Policy"] = "same-origin"
        headers["Cache-Control"] = "no-store"
    elif _private(request):
        # A signed-in page or an API answer holds one account's view of the data: no shared cache
        # (nor the browser's back button after sign-out) may keep it.
        headers["Cache-Control"] = "no-store"
    present = {name.lower() for name, _value in headers}
    defaults = (*_DEFAULT_HEADERS, _HSTS) if current_app.config.get("SEND_HSTS") else _DEFAULT_HEADERS
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def _private(req) -> bool:
    """A response for one account: a signed-in session, or the API (a key, or its refusals)."""
    return req.path.startswith("/api/") or "Authorization" in req.headers or "_user_id" in session


def _strict_utf8(raw: bytes) -> bool:
    """True when every key and value of a query string or urlencoded body decodes as UTF-8.

    Decoded in one go: the separators (& and =) are ASCII, so no multi-byte sequence can span two
    pieces, and the whole decodes exactly when each piece does."""
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def refuse_malformed_input() -> None:
    """400 for invalid UTF-8 or NUL characters in the query string or a form (PostgreSQL stores no NUL)."""
    req = request._get_current_object()  # one look-up of the request, not one per attribute
    if req.query_string:  # no query string, no arguments to check
        if not _strict_utf8(req.query_string):
            abort(400, "The address contains characters that are not valid UTF-8.")
        if any("\x00" in key or "\x00" in value for key, value in req.args.items(multi=True)):
            abort(400, "The address contains a NUL character.")
    if "\x00" in req.path:
        abort(400, "The address contains a NUL character.")
    if req.method not in ("POST", "PUT", "PATCH"):
        return
    mimetype = req.mimetype
    if mimetype == "application/x-www-form-urlencoded" and not _strict_utf8(req.get_data(cache=True)):
        abort(400, "The form contains characters that are not valid UTF-8.")
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and any(
            "\x00" in key or "\x00" in value for key, value in req.form.items(multi=True)):
        abort(400, "The form contains a NUL character.")


class StrictJSONProvider(DefaultJSONProvider):
    """Request JSON that cannot be stored is malformed (400), never a 500 further down.

    JSON may escape lone surrogates ("\\ud800") that no database can encode, and may nest deeper than
    Python's recursion limit; both become the ValueError that ``get_json`` reports as a bad request.
    """

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
            self.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        except UnicodeEncodeError:
            raise ValueError("the JSON holds characters that are not valid Unicode text") from None
        return value
