"""The survey pages reached through a feedback link (``/f/<token>``) and a contact's page (``/c/<token>``)."""
from flask import Blueprint

bp = Blueprint("survey", __name__)

from . import contact, views
