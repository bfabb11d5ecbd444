"""Fixtures: the app on SQLite (default) or PostgreSQL (DATABASE_URL), a real SMTP server, factories.

The schema comes from the Alembic migrations, once per session; each test starts from empty tables.
"""
from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from playwright import sync_api
from webhook_receiver import Receiver
from werkzeug.serving import make_server

from feedback import config as feedback_config
from feedback import create_app
from feedback.extensions import db
from feedback.models import Application, Candidate, Company, Position, User
from feedback.services.accounts import create_user

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT / "demo" / "outcomes-sample.csv"
BAD_CSV = ROOT / "tests" / "data" / "outcomes-bad.csv"
KEPT_TABLES = {"surveys", "questions", "alembic_version", "app_keys"}
HEADER = ["candidate_name", "candidate_email", "company", "company_contact_email", "position", "stage",
          "outcome", "decided_on", "application_ref"]


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "postgresql_only: needs PostgreSQL (SKIP LOCKED); deselected on SQLite runs")
    config.addinivalue_line("markers", "no_database: never opens a database (a subprocess with an empty "
                                       "environment); run once, in the SQLite run, deselected on PostgreSQL runs")


def pytest_collection_modifyitems(config, items) -> None:
    """Leave out (deselect, not skip) what the other run covers: on SQLite what only PostgreSQL can do;
    on PostgreSQL what never opens a database, and the real-browser journeys (the tests that take the
    ``chromium`` fixture: they drive the same pages, and the PostgreSQL run checks every page's data
    without a browser), so that neither is run twice and `make test` stays well under 10 minutes."""
    on_postgresql = feedback_config.test_database_url() is not None
    marker = "no_database" if on_postgresql else "postgresql_only"

    def other_run(item) -> bool:
        return item.get_closest_marker(marker) is not None or (on_postgresql and "chromium" in item.fixturenames)

    selected = [item for item in items if not other_run(item)]
    deselected = [item for item in items if other_run(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _prepare_database(url: str) -> None:
    """Start from an empty schema: PostgreSQL's public schema is dropped; SQLite is a new file."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"DATABASE_URL={url} is unreachable: {exc}", returncode=3)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = feedback_config.test_database_url()
    if url is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'feedback-test.db'}"
    _prepare_database(url)
    app = create_app(feedback_config.TestConfig(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


# A TRUNCATE waits for every lock on its tables: a connection some test left idle in a transaction
# would hang the whole run. Such a connection belongs to an app already disposed (tables are
# emptied before a test's apps exist and after they are done with), so it is ended, and a lock
# that is still not released fails the test in 30 s instead of hanging.
_END_LEFTOVERS = sa.text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state IN ('idle in transaction', 'idle in transaction (aborted)')")


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        ended = db.session.execute(_END_LEFTOVERS).all()
        if ended:
            warnings.warn(f"ended {len(ended)} connection(s) a test left idle in a transaction", stacklevel=1)
        db.session.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def make_app(database_url, smtp_server):
    """Build an app on the test database, with optional config overrides."""
    apps = []

    def factory(**overrides):
        config = feedback_config.TestConfig(database_url)
        config.MAIL_SERVER = smtp_server.hostname
        config.MAIL_PORT = smtp_server.port
        for key, value in overrides.items():
            setattr(config, key, value)
        if str(config.SQLALCHEMY_DATABASE_URI).startswith("postgresql") and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            # a lock a test leaks fails that test instead of hanging the run
            config.SQLALCHEMY_ENGINE_OPTIONS = {**config.SQLALCHEMY_ENGINE_OPTIONS,
                                                "connect_args": {"options": "-c lock_timeout=60s"}}
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        _empty_tables()
    with app.app_context():
        yield app
        db.session.rollback()
    with app.app_context():
        _empty_tables()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def web(app, make_app):
    """The app browsers talk to: a second app on the test database; the data is set up through ``app``.

    ``app`` keeps an app context pushed, and requests to it would share its ``g`` (Flask-Login's
    user, Flask-WTF's CSRF token, the API key's user) across clients. Each request to ``web`` gets an
    app context of its own, as in production.
    """
    return make_app()


# --- Logins -----------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"
ADMIN = "admin@feedback.example"


def company_named(name: str) -> Company:
    return db.session.scalar(sa.select(Company).where(Company.name == name))


def store_unchecked_name(old: str, new: str) -> None:
    """Rename stored candidates and positions called ``old`` to ``new``, past the import's rules: the
    pages and e-mails must stay safe with whatever the database holds (rows from before a rule)."""
    db.session.execute(sa.update(Candidate).where(Candidate.name == old).values(name=new))
    db.session.execute(sa.update(Application).where(Application.candidate_name == old).values(candidate_name=new))
    db.session.execute(sa.update(Position).where(Position.title == old).values(title=new))
    db.session.commit()


@pytest.fixture
def make_user(app) -> Callable[..., User]:
    """Create a login through the accounts service and commit; companies as rows or by name."""

    def make(email: str, role: str, *companies: Company | str, password: str = PASSWORD) -> User:
        rows = [company_named(c) if isinstance(c, str) else c for c in companies]
        user = create_user(email, password, role, rows)
        db.session.commit()
        return user

    return make


@pytest.fixture
def sign_in(web) -> Callable[..., FlaskClient]:
    """A test client signed in through the login form, on ``web`` unless another app is given."""

    def sign_in(email: str, password: str = PASSWORD, on: Flask | None = None) -> FlaskClient:
        client = (on or web).test_client()
        page = client.get("/login")
        signed_in = client.post("/login", data={"csrf_token": csrf_token(page.text), "email": email,
                                                "password": password})
        assert signed_in.status_code == 302, signed_in.text
        return client

    return sign_in


@pytest.fixture
def admin_client(make_user, sign_in) -> FlaskClient:
    """A browser signed in as an admin (who sees every company)."""
    make_user(ADMIN, "admin")
    return sign_in(ADMIN)


# --- A real SMTP server on loopback -----------------------------------------------------------

class RecordingHandler:
    """Keeps every message it accepts; can refuse recipients or whole messages on request."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_recipients: dict[str, str] = {}
        # A relay that refuses everyone alike: every RCPT (or every DATA) gets this answer ("{address}" filled in).
        self.refuse_every_recipient: str | None = None
        self.refuse_every_message: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_recipients:
            return self.refuse_recipients[address.lower()]
        if self.refuse_every_recipient:
            return self.refuse_every_recipient.replace("{address}", address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_every_message:
            return self.refuse_every_message
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()
            self.refuse_recipients.clear()
            self.refuse_every_recipient = self.refuse_every_message = None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.hostname = "127.0.0.1"
        self.port = free_port()
        self.controller = Controller(self.handler, hostname=self.hostname, port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.handler.messages


@pytest.fixture(scope="session")
def _smtp_session():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(_smtp_session):
    _smtp_session.handler.reset()
    yield _smtp_session
    _smtp_session.handler.reset()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (tests/webhook_receiver.py): set ``secrets[path]`` to verify."""
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join()


# --- Factories and helpers --------------------------------------------------------------------

def outcome_row(**values) -> dict:
    """A valid outcomes row; keyword arguments override columns."""
    row = {
        "candidate_name": "Ana Silva",
        "candidate_email": "ana.silva@example.org",
        "company": "Acme Robotics",
        "company_contact_email": "hiring@acme-robotics.example.com",
        "position": "QA Engineer",
        "stage": "interview",
        "outcome": "rejected",
        "decided_on": "2026-10-02",
        "application_ref": "",
    }
    row.update(values)
    return row


@pytest.fixture
def write_csv(tmp_path) -> Callable[..., Path]:
    """Write rows (dicts) as an outcomes CSV and return its path."""
    counter = iter(range(1, 10_000))

    def write(rows: list[dict], header: list[str] | None = None, delimiter: str = ",", bom: bool = False,
              line_ending: str = "\n") -> Path:
        header = header or HEADER
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_ending)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
        path = tmp_path / f"outcomes-{next(counter)}.csv"
        path.write_bytes((("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8"))
        return path

    return write


@pytest.fixture
def import_csv(runner, write_csv):
    """Import rows through the real CLI command; return the click result."""

    def run(rows: list[dict], *args: str):
        path = write_csv(rows)
        return runner.invoke(args=["feedback", "import", str(path), *args])

    return run


LINK = re.compile(r"http://feedback\.example(/f/[A-Za-z0-9_.\-]+)")


def links_in(message) -> list[str]:
    """The feedback-link paths in a received message's plain-text part, each once, in order (a
    candidate's e-mail holds its link twelve times: the eleven scores ``?nps=N`` and the form)."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    return list(dict.fromkeys(LINK.findall(body)))


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


# --- the browser tests: the served app and Debian's Chromium (helpers in browser_support.py) ----

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

class LiveServer:
    def __init__(self, app, base_url: str) -> None:
        self.app = app
        self.base_url = base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def link_pattern(self, prefix: str) -> re.Pattern:
        return re.compile(re.escape(self.base_url) + re.escape(prefix) + r"[A-Za-z0-9_.\-]+")

    def cli(self, *args: str) -> str:
        """``flask feedback ...`` in-process on the served app (so e-mailed links name this server).

        Its own app context is pushed: the CLI would otherwise run in the ``app`` fixture's.
        """
        with self.app.app_context():
            result = self.app.test_cli_runner().invoke(args=["feedback", *args])
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]


@pytest.fixture
def live(app, make_app) -> Iterator[LiveServer]:
    """The app on a loopback port, sharing the test database with the ``app`` fixture."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    served = make_app(PUBLIC_BASE_URL=base_url)
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(served, base_url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium through Playwright. Fails loudly, never skips: a missing browser must not
    pass as a green run."""
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium: "
                    "apt-get install chromium (make test and .ci/run install it when run as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def database_name(app) -> str:
    return db.engine.dialect.name
