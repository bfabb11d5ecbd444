"""Configuration: the only module that reads ``os.environ`` (CONTRACT §2)."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
log = logging.getLogger(__name__)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""

    def line(self) -> str:
        """What a newcomer reads instead of a traceback: what is wrong, and where to look."""
        return f"error: {self}. See the README, Configuration (for development: FLASK_DEBUG=1)."


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default, kind=int):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, not {raw!r}") from None


def _int_list(name: str, default: str) -> tuple[int, ...]:
    raw = os.environ.get(name, default)
    try:
        return tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated whole numbers, not {raw!r}") from None


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip() or default
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants psycopg 3 spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def rate_limit_storage_problem(workers: int) -> str | None:
    """Why production must not start with ``workers`` processes (gunicorn.conf.py asks), or None.

    Flask-Limiter's memory:// storage counts per process: "10 per minute" would let 10 × workers
    through. Several workers therefore need the shared counters of REDIS_URL (or limits switched off).
    """
    if workers <= 1 or _flag("FLASK_DEBUG", "false") or not _flag("RATELIMIT_ENABLED", "true"):
        return None
    if os.environ.get("REDIS_URL"):
        return None
    return (f"{workers} workers would each keep their own rate-limit counters: set REDIS_URL "
            "(shared counters) or run one worker (WEB_CONCURRENCY=1)")


def _default_locale() -> str:
    from .i18n import UnknownLocale, shipped_tag

    value = os.environ.get("FEEDBACK_DEFAULT_LOCALE", "en")
    try:
        return shipped_tag(value) or "en"
    except UnknownLocale as exc:
        raise ConfigError(f"FEEDBACK_DEFAULT_LOCALE: {exc}") from None


class Config:
    """Production settings, read from the environment when the app is created."""

    DEV_MODE = False
    TESTING = False

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
        self.SECRET_KEY_FALLBACKS = [
            key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
        ]
        self.SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'feedback.db'}")
        # werkzeug's scrypt: a memory-hard KDF with a per-password salt (the hash names its method).
        self.PASSWORD_HASH_METHOD = "scrypt"
        # A pooled connection is tested at checkout, so a database restart fails no request; an
        # error's message leaves out the statement's values (answers' free text, addresses).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = _number("MAIL_PORT", 25)
        self.MAIL_USE_TLS = _flag("MAIL_USE_TLS", "false")
        self.MAIL_USE_SSL = _flag("MAIL_USE_SSL", "false")
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "feedback@localhost")
        self.MAIL_TIMEOUT_SECONDS = _number("MAIL_TIMEOUT_SECONDS", 30)
        self.MAIL_MAX_PER_SECOND = _number("MAIL_MAX_PER_SECOND", 0.0, float)
        # Whether the SMTP server offers SMTPUTF8: without it an address with non-ASCII letters
        # before the @ can never be sent, so the import refuses it with a line error.
        self.MAIL_SMTPUTF8 = _flag("MAIL_SMTPUTF8", "false")
        # Flask-Mail would silently drop mail under TESTING; the tests talk to a real SMTP server.
        self.MAIL_SUPPRESS_SEND = False

        # The port `make run` serves on (CONTRACT §2); in dev mode the links of e-mails point there
        # unless PUBLIC_BASE_URL says otherwise.
        self.DEV_PORT = _number("DEV_PORT", 5000)
        if not 1 <= self.DEV_PORT <= 65535:
            raise ConfigError(f"DEV_PORT must be a port number from 1 to 65535, not {self.DEV_PORT}")
        default_base_url = f"http://127.0.0.1:{self.DEV_PORT}" if self.DEV_MODE else "http://127.0.0.1:5000"
        self.PUBLIC_BASE_URL = (os.environ.get("PUBLIC_BASE_URL", "").strip() or default_base_url).rstrip("/")
        self.FEEDBACK_LINK_MAX_AGE_DAYS = _number("FEEDBACK_LINK_MAX_AGE_DAYS", 30)
        self.FEEDBACK_MIN_RESPONSES = _number("FEEDBACK_MIN_RESPONSES", 5)
        # The language of a person with no locale of their own (CONTRACT §2); Flask-Babel's catalogues.
        self.FEEDBACK_DEFAULT_LOCALE = _default_locale()
        self.BABEL_DEFAULT_LOCALE = self.FEEDBACK_DEFAULT_LOCALE.replace("-", "_")
        self.BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "feedback" / "translations")
        self.FEEDBACK_REMINDER_DAYS = _int_list("FEEDBACK_REMINDER_DAYS", "3,7")
        # The most rows a browser upload imports in its request (bigger files: the CLI or the API),
        # so that a confirm never runs past gunicorn's timeout.
        self.UPLOAD_MAX_ROWS = _number("UPLOAD_MAX_ROWS", 20_000)
        # No survey fatigue (CONTRACT §2): months within which a company surveys a candidate once.
        self.FEEDBACK_RESURVEY_MONTHS = _number("FEEDBACK_RESURVEY_MONTHS", 6)
        # Follow-up speed (CONTRACT §2, §5, §6): working days after the decision by which a company
        # contact's feedback is due, and at which its absence goes to the company's recruiters.
        self.FEEDBACK_SLA_DAYS = _number("FEEDBACK_SLA_DAYS", 3)
        self.FEEDBACK_ESCALATE_DAYS = _number("FEEDBACK_ESCALATE_DAYS", 5)
        if self.FEEDBACK_SLA_DAYS < 0 or self.FEEDBACK_ESCALATE_DAYS < 1:
            raise ConfigError("FEEDBACK_SLA_DAYS must be 0 or more and FEEDBACK_ESCALATE_DAYS 1 or more")
        self.WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET", "")
        # Native ATS connectors (CONTRACT §8): where a Lever connector reads what its events leave
        # out (a connector may name its own), and how long one read may take.
        self.LEVER_API_URL = os.environ.get("LEVER_API_URL", "https://api.lever.co/v1").rstrip("/")
        self.ATS_API_TIMEOUT_SECONDS = _number("ATS_API_TIMEOUT_SECONDS", 10)
        # Outgoing webhooks: how long one delivery may take before it is retried.
        self.OUTGOING_WEBHOOK_TIMEOUT_SECONDS = _number("OUTGOING_WEBHOOK_TIMEOUT_SECONDS", 10)
        # Whether webhooks and ATS API reads may go to loopback and private addresses (a receiver or
        # an API beside the service): off in production, so that no address a workspace user gives
        # reaches the service's own network, whatever its name resolves to (feedback/outbound.py).
        self.OUTBOUND_PRIVATE_ADDRESSES = _flag("OUTBOUND_PRIVATE_ADDRESSES", "true" if self.DEV_MODE else "false")
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or self.REDIS_URL
        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", "true")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Flask-Caching (extensions.cache): each process its own by default, shared through Redis when
        # REDIS_URL is set. Entries are named by all they depend on, so the timeout only frees space.
        self.CACHE_TYPE = "RedisCache" if self.REDIS_URL else "SimpleCache"
        self.CACHE_REDIS_URL = self.REDIS_URL
        self.CACHE_KEY_PREFIX = "feedback:"
        self.CACHE_DEFAULT_TIMEOUT = 3600
        self.CACHE_THRESHOLD = 2000  # SimpleCache: entries per process

        secure = self.PUBLIC_BASE_URL.startswith("https://")
        self.SESSION_COOKIE_SECURE = secure
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = secure
        self.SEND_HSTS = secure
        # A candidate may leave the form open for a while before answering on a phone.
        self.WTF_CSRF_TIME_LIMIT = 24 * 3600
        # Benchmark-only (make bench): load generators post forms without a CSRF token. Never in production.
        self.BENCH_DISABLE_CSRF = _flag("FEEDBACK_BENCH_DISABLE_CSRF", "false")
        if self.BENCH_DISABLE_CSRF:
            self.WTF_CSRF_ENABLED = False
        # Behind N reverse proxies, trust N X-Forwarded-For/-Proto hops (rate limits key on the client's IP).
        self.PROXY_FIX_HOPS = _number("PROXY_FIX_HOPS", 0)
        self.MAX_CONTENT_LENGTH = 16 * 1024 * 1024
        # In dev mode mail stays in the outbox and is read on the dev mailbox page.
        self.DEV_MAILBOX = self.DEV_MODE

    def validate(self) -> None:
        """Refuse to run production without a real secret key."""
        if self.DEV_MODE or self.TESTING:
            return
        if not self.SECRET_KEY:
            raise ConfigError("SECRET_KEY is not set; the app refuses to start in production without it")
        if len(self.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SECRET_KEY is too short; use at least {MIN_SECRET_KEY_LENGTH} random characters")
        if self.BENCH_DISABLE_CSRF and urlsplit(self.PUBLIC_BASE_URL).hostname not in LOOPBACK_HOSTS:
            raise ConfigError("FEEDBACK_BENCH_DISABLE_CSRF is for benchmarks on loopback only; unset it")
        if DEV_SECRET_KEY in (self.SECRET_KEY, *self.SECRET_KEY_FALLBACKS):
            raise ConfigError("SECRET_KEY is the public dev key from the source code; set a random one")
        if any(len(key) < MIN_SECRET_KEY_LENGTH for key in self.SECRET_KEY_FALLBACKS):
            raise ConfigError(f"SECRET_KEY_FALLBACKS holds a key shorter than {MIN_SECRET_KEY_LENGTH} characters")
        for warning in self.warnings():
            log.warning("%s", warning)

    def warnings(self) -> list[str]:
        """Settings production can run with, but should not."""
        found = []
        host = urlsplit(self.PUBLIC_BASE_URL).hostname or ""
        if self.PUBLIC_BASE_URL.startswith("http://") and host not in LOOPBACK_HOSTS:
            found.append(f"PUBLIC_BASE_URL {self.PUBLIC_BASE_URL} is not https: one-click unsubscribe (RFC 8058) "
                         "needs HTTPS, and cookies are sent unprotected")
        sender_domain = self.MAIL_DEFAULT_SENDER.rpartition("@")[2].strip(" >").lower()
        if sender_domain in LOOPBACK_HOSTS or sender_domain.endswith(".localhost"):
            found.append(f"MAIL_DEFAULT_SENDER {self.MAIL_DEFAULT_SENDER} is at {sender_domain}: receivers will "
                         "refuse or junk the mail; set an address of your domain")
        uncompiled = sorted(po.parent.parent.name for po in Path(self.BABEL_TRANSLATION_DIRECTORIES).glob(
            "*/LC_MESSAGES/messages.po") if not po.with_suffix(".mo").exists())
        if uncompiled:
            found.append(f"the catalogues of {', '.join(uncompiled)} are not compiled: those readers get English. "
                         "Run make install (or pybabel compile -d feedback/translations)")
        return found


class DevConfig(Config):
    """``make run``: FLASK_DEBUG=1, the embedded database, a dev mailbox instead of SMTP."""

    DEV_MODE = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = self.SECRET_KEY or DEV_SECRET_KEY


class TestConfig(Config):
    """The test suite: DATABASE_URL when given (PostgreSQL in CI), else a throw-away SQLite file."""

    TESTING = True

    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        self.SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
        self.SECRET_KEY_FALLBACKS = []
        if database_url:
            self.SQLALCHEMY_DATABASE_URI = database_url
        self.MAIL_DEFAULT_SENDER = "Feedback <feedback@feedback.example>"
        self.PUBLIC_BASE_URL = "http://feedback.example"
        self.FEEDBACK_MIN_RESPONSES = 5
        self.FEEDBACK_LINK_MAX_AGE_DAYS = 30
        self.FEEDBACK_REMINDER_DAYS = (3, 7)
        # Tests import one candidate at one company many times; the rule has tests of its own.
        self.FEEDBACK_RESURVEY_MONTHS = 0
        self.RATELIMIT_ENABLED = False
        self.OUTBOUND_PRIVATE_ADDRESSES = True  # the receivers and fake APIs listen on loopback
        self.CACHE_TYPE = "SimpleCache"  # each app (each test) its own, whatever REDIS_URL says
        # The tests check logins, not the hash's cost: one PBKDF2 round instead of scrypt at full cost.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
        self.SESSION_COOKIE_SECURE = False
        self.SEND_HSTS = False


def test_database_url() -> str | None:
    """The database the test suite runs on, from DATABASE_URL (None: a temporary SQLite file)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return _database_url(url) if url else None


def config_for_environment() -> Config:
    """Dev mode is FLASK_DEBUG=1; anything else is production (CONTRACT §2)."""
    return DevConfig() if _flag("FLASK_DEBUG", "0") else Config()
