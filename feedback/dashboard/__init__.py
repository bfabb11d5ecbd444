"""The company dashboard: where did our process fall short?"""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/companies")

from . import views
