"""Signing in and out (``/login``)."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views
