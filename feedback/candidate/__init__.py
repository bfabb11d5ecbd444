"""The candidate's own view: "where did I fall short?" (``/me``)."""
from flask import Blueprint

bp = Blueprint("candidate", __name__)

from . import views
