"""The JSON API (``/api/v1``): bearer API keys, JSON errors everywhere, an OpenAPI 3.1 document."""
from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer keys are not sent by browsers on their own, so cross-site requests cannot use them: no CSRF.
csrf.exempt(bp)

from . import views, webhook
