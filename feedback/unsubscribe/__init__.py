"""One-click unsubscribe (RFC 8058) at ``/u/<token>``."""
from flask import Blueprint

bp = Blueprint("unsubscribe", __name__)

from . import views
