"""feedback: closes the loop after a hiring decision. ``create_app`` is the table of contents."""
from __future__ import annotations

import os

from flask import Flask

from .config import PROJECT_ROOT, Config, config_for_environment


def create_app(config: Config | None = None) -> Flask:
    """Build the app from ``config`` (default: from the environment, CONTRACT §2)."""
    config = config or config_for_environment()
    config.validate()
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
    register_cli(app)
    return app


def register_logging(app: Flask) -> None:
    from .logging import install_token_redaction

    install_token_redaction()


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every table known to Alembic and the mapper
    from .database import configure_engine_events
    from .extensions import csrf, db, mail, migrate

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


def register_blueprints(app: Flask) -> None:
    from .devmail import bp as devmail_bp
    from .pages import bp as pages_bp
    from .survey import bp as survey_bp
    from .unsubscribe import bp as unsubscribe_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(unsubscribe_bp)
    app.register_blueprint(devmail_bp)


def register_error_handlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_security_headers(app: Flask) -> None:
    from .security import add_security_headers

    app.after_request(add_security_headers)


def register_cli(app: Flask) -> None:
    from .cli import feedback_cli

    app.cli.add_command(feedback_cli)
