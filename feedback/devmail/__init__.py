"""The dev mailbox: in dev mode, mail stays in the outbox and is read here. Never in production."""
from flask import Blueprint

bp = Blueprint("devmail", __name__, url_prefix="/dev/mailbox")

from . import views
