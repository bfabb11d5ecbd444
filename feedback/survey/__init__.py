"""The survey pages reached through a feedback link (``/f/<token>``)."""
from flask import Blueprint

bp = Blueprint("survey", __name__)

from . import views
