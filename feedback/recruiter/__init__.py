"""The recruiter workspace: overview, uploads, import batches, advice review."""
from flask import Blueprint

bp = Blueprint("recruiter", __name__, url_prefix="/recruiter")

from . import companies, connectors, reviews, views, webhooks
