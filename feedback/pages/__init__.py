"""The home page and the health check."""
from flask import Blueprint

bp = Blueprint("pages", __name__)

from . import views
