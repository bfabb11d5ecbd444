"""Configuration from the environment (CONTRACT §2)."""
from __future__ import annotations

import pytest

import feedback
import feedback.config as feedback_config
from feedback.extensions import db

LONG_KEY = "k" * feedback_config.MIN_SECRET_KEY_LENGTH
PRODUCTION_ONLY = ("SECRET_KEY", "FLASK_DEBUG", "PUBLIC_BASE_URL", "FEEDBACK_REMINDER_DAYS", "DATABASE_URL")


@pytest.fixture
def environment(monkeypatch, database_url):
    """A clean production environment whose database is the test database."""
    for name in PRODUCTION_ONLY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return monkeypatch


def build(config):
    app = feedback.create_app(config)
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_refuses_to_start_without_a_secret_key(environment):
    config = feedback_config.Config()
    assert config.SECRET_KEY == ""
    with pytest.raises(feedback_config.ConfigError, match="SECRET_KEY"):
        feedback.create_app(config)
    # and so does the default, environment-driven path
    assert type(feedback_config.config_for_environment()) is feedback_config.Config
    with pytest.raises(feedback_config.ConfigError):
        feedback.create_app()


def test_production_refuses_a_short_secret_key(environment):
    environment.setenv("SECRET_KEY", "k" * (feedback_config.MIN_SECRET_KEY_LENGTH - 1))
    with pytest.raises(feedback_config.ConfigError, match="SECRET_KEY"):
        feedback.create_app(feedback_config.Config())


def test_production_starts_with_a_long_secret_key(environment):
    environment.setenv("SECRET_KEY", LONG_KEY)
    app = build(feedback_config.Config())
    try:
        assert app.config["SECRET_KEY"] == LONG_KEY
        assert app.config["DEV_MAILBOX"] is False
        assert app.debug is False
        assert app.test_client().get("/dev/mailbox/").status_code == 404
    finally:
        dispose(app)


def test_production_mode_is_only_flask_debug(environment):
    environment.setenv("FLASK_DEBUG", "0")
    environment.setenv("SECRET_KEY", LONG_KEY)
    assert type(feedback_config.config_for_environment()) is feedback_config.Config


def test_dev_mode_gets_a_dev_key_and_the_dev_mailbox(environment):
    environment.setenv("FLASK_DEBUG", "1")
    config = feedback_config.config_for_environment()
    assert isinstance(config, feedback_config.DevConfig)
    assert config.SECRET_KEY == feedback_config.DEV_SECRET_KEY
    assert config.DEV_MAILBOX is True
    app = build(config)
    try:
        assert app.config["SECRET_KEY"] == feedback_config.DEV_SECRET_KEY
        home = app.test_client().get("/")
        assert home.status_code == 200
        assert 'href="/dev/mailbox/"' in home.text
    finally:
        dispose(app)


def test_dev_mode_keeps_a_given_secret_key(environment):
    environment.setenv("FLASK_DEBUG", "1")
    environment.setenv("SECRET_KEY", LONG_KEY)
    assert feedback_config.config_for_environment().SECRET_KEY == LONG_KEY


def test_https_base_url_means_secure_cookies_and_hsts(environment):
    environment.setenv("SECRET_KEY", LONG_KEY)
    environment.setenv("PUBLIC_BASE_URL", "https://feedback.example.com/")
    config = feedback_config.Config()
    assert config.PUBLIC_BASE_URL == "https://feedback.example.com"
    assert config.SESSION_COOKIE_SECURE is True
    app = build(config)
    try:
        client = app.test_client()
        for path in ("/", "/no/such/page"):
            response = client.get(path, base_url="https://feedback.example.com")
            assert "max-age=" in response.headers["Strict-Transport-Security"]
        assert app.config["SESSION_COOKIE_SECURE"] is True
    finally:
        dispose(app)


def test_http_base_url_means_neither(environment):
    environment.setenv("SECRET_KEY", LONG_KEY)
    environment.setenv("PUBLIC_BASE_URL", "http://10.0.0.5:8000")
    config = feedback_config.Config()
    assert config.SESSION_COOKIE_SECURE is False
    app = build(config)
    try:
        response = app.test_client().get("/")
        assert response.status_code == 200
        assert "Strict-Transport-Security" not in response.headers
        assert app.config["SESSION_COOKIE_SECURE"] is False
    finally:
        dispose(app)


@pytest.mark.parametrize(("raw", "expected"), [("3,7", (3, 7)), (" 7, 3 ", (3, 7)), ("1,2,10", (1, 2, 10))])
def test_reminder_days_parse(environment, raw, expected):
    environment.setenv("FEEDBACK_REMINDER_DAYS", raw)
    assert expected == feedback_config.Config().FEEDBACK_REMINDER_DAYS


def test_reminder_days_default(environment):
    assert feedback_config.Config().FEEDBACK_REMINDER_DAYS == (3, 7)


def test_reminder_days_must_be_numbers(environment):
    environment.setenv("FEEDBACK_REMINDER_DAYS", "3,soon")
    with pytest.raises(feedback_config.ConfigError, match="FEEDBACK_REMINDER_DAYS"):
        feedback_config.Config()


@pytest.mark.parametrize(("raw", "expected"), [
    ("postgres://user:pw@db.example:5432/feedback", "postgresql+psycopg://user:pw@db.example:5432/feedback"),
    ("postgresql://user:pw@db.example/feedback", "postgresql+psycopg://user:pw@db.example/feedback"),
    ("postgresql+psycopg://user@db.example/feedback", "postgresql+psycopg://user@db.example/feedback"),
    ("sqlite:////var/lib/feedback.db", "sqlite:////var/lib/feedback.db"),
])
def test_database_url_is_given_the_psycopg_driver(environment, raw, expected):
    environment.setenv("DATABASE_URL", raw)
    assert expected == feedback_config.Config().SQLALCHEMY_DATABASE_URI


def test_database_url_defaults_to_the_instance_sqlite_file(environment):
    environment.delenv("DATABASE_URL")
    uri = feedback_config.Config().SQLALCHEMY_DATABASE_URI
    assert uri == f"sqlite:///{feedback_config.INSTANCE_DIR / 'feedback.db'}"


def test_a_pooled_connection_that_died_is_replaced_without_an_error(app):
    """pool_pre_ping (the app's engine options): a connection that died while it sat in the pool is
    tested at checkout and replaced, and the caller sees no error."""
    import sqlalchemy as sa

    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    with engine.connect() as connection:
        dead = connection.connection.dbapi_connection
    dead.close()  # as a database restart or an idle timeout would
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT 1")) == 1
        assert connection.connection.dbapi_connection is not dead
    engine.dispose()
