"""feedback: closes the loop after a hiring decision. ``create_app`` is the table of contents."""
from __future__ import annotations

import copy
import os

import click
from flask import Flask, has_request_context, request

from .config import PROJECT_ROOT, Config, ConfigError, config_for_environment


def create_app(config: Config | None = None, *, defer_config_check: bool = False) -> Flask:
    """Build the app from ``config`` (default: from the environment, CONTRACT §2).

    A configuration production refuses raises ConfigError; with ``defer_config_check`` (the command
    line listing or looking up its commands, wsgi.py) the app is built all the same, so that every
    --help works, and each of its commands refuses to run with the one line of what is missing.
    """
    config = config or config_for_environment()
    problem = None
    try:
        config.validate()
    except ConfigError as exc:
        if not defer_config_check:
            raise
        problem = exc
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)  # the embedded SQLite database lives there
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_cli(app, problem)
    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    return app


def register_logging(app: Flask) -> None:
    from .logging import install_token_redaction

    install_token_redaction()


def register_extensions(app: Flask) -> None:
    from . import (
        access,  # noqa: F401 - registers the user loader
        models,  # noqa: F401 - every table known to Alembic and the mapper
    )
    from .database import configure_engine_events
    from .extensions import babel, cache, csrf, db, limiter, login_manager, mail, migrate
    from .i18n import remember_choice, select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
    from .models.base import render_migration_item

    migrate.init_app(
        app, db, directory=str(PROJECT_ROOT / "migrations"),
        render_as_batch=True, compare_type=True, render_item=render_migration_item,
    )
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(remember_choice)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see that page.")
    login_manager.session_protection = "basic"


def register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    class DatabaseIntegerConverter(IntegerConverter):
        """<int:…> in every route stops at the largest id the databases hold (else a 404, never a 500)."""

        def __init__(self, map, *args, **kwargs) -> None:
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseIntegerConverter
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .api.hooks import hooks_bp
    from .auth import bp as auth_bp
    from .candidate import bp as candidate_bp
    from .dashboard import bp as dashboard_bp
    from .devmail import bp as devmail_bp
    from .pages import bp as pages_bp
    from .recruiter import bp as recruiter_bp
    from .survey import bp as survey_bp
    from .unsubscribe import bp as unsubscribe_bp

    for blueprint in (pages_bp, auth_bp, survey_bp, unsubscribe_bp, candidate_bp, dashboard_bp, recruiter_bp,
                      admin_bp, api_bp, hooks_bp, devmail_bp):
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    from .security import StrictJSONProvider, add_security_headers, refuse_malformed_input

    app.json = StrictJSONProvider(app)

    # First of all before_request functions: Flask-WTF's CSRF check parses the form, after which the raw
    # body (and its invalid UTF-8) can no longer be read.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_malformed_input)
    app.after_request(add_security_headers)


def register_template_helpers(app: Flask) -> None:
    from .i18n import page_language

    app.jinja_env.globals["url_for"] = _fixed_urls_kept(app.url_for)
    app.jinja_env.filters["month_label"] = month_label
    from .mail.wording import long_date

    # '5 November 2026', '5. November 2026', '5 نوفمبر 2026': a day as the page's language writes it.
    app.jinja_env.filters["long_date"] = long_date
    # {% trans %} blocks are extracted and looked up with their whitespace collapsed (babel.cfg: trimmed).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.context_processor(page_language)


def month_label(month: str) -> str:
    """'2026-12' as people read it in the page's language: 'Dec 2026', 'Dez. 2026'."""
    from datetime import date

    from babel.dates import format_skeleton
    from flask_babel import get_locale

    try:
        year, number = (int(part) for part in month.split("-"))
        return format_skeleton("yMMM", date(year, number, 1), locale=get_locale() or "en")
    except ValueError:
        return month


def _fixed_urls_kept(url_for):
    """Templates' url_for, with addresses built once and kept.

    Every page's header and navigation link to the same few addresses (the stylesheet, home,
    sign-in and -out, a company's dashboard); building each through the URL map costs more than
    the rest of the header. Kept, per script root (an app mounted under a prefix): calls whose
    arguments are all ids (integers) and static files, up to URLS_KEPT addresses; the URL map never
    changes once the app is built. Anything else (text such as filters or link tokens, _external…)
    is built every time, as before, and is never kept.
    """
    kept: dict[tuple, str] = {}

    def cached_url_for(endpoint: str, **values) -> str:
        if endpoint == "static":
            keep = list(values) == ["filename"]
        else:
            keep = not endpoint.startswith(".") and all(type(value) is int for value in values.values())
        if not keep or not has_request_context():
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        url = kept.get(key)
        if url is None:
            url = url_for(endpoint, **values)
            if len(kept) < URLS_KEPT:
                kept[key] = url
        return url

    cached_url_for.kept = kept
    return cached_url_for


URLS_KEPT = 4096


def register_cli(app: Flask, problem: ConfigError | None = None) -> None:
    from .cli import feedback_cli

    app.cli.add_command(feedback_cli)
    if problem is not None:  # every command of this app (feedback, Flask-Migrate's db) refuses to run
        for name, command in list(app.cli.commands.items()):
            app.cli.commands[name] = _refusing(command, problem)


def _refusing(command: click.Command, problem: ConfigError) -> click.Command:
    """A copy of ``command`` and its subcommands: the same options and help, but running it prints
    ``problem`` in one line and exits 1 (the shared command objects stay as they are)."""
    refusing = copy.copy(command)
    if isinstance(command, click.Group):
        refusing.commands = {name: _refusing(sub, problem) for name, sub in command.commands.items()}
    else:
        def refuse(*_args, **_kwargs):
            raise SystemExit(problem.line())

        refusing.callback = refuse
    return refusing
