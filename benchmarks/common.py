"""Shared helpers: environment, databases, processes, timing."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"
# BENCH_PG_URL points a run at another database (several people benchmark on one server).
PG_URL = os.environ.get("BENCH_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/feedback_bench"
BASELINE_SCHEMA = "bench_baseline"  # PostgreSQL: the baselines' own tables live apart from the app's
COMPANY_LOGIN = "company@bench.example"
COMPANY_PASSWORD = "bench-password-0123"
USER_AGENT = "feedback-bench"


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment the app runs under in every benchmark (production mode, no rate limits, no CSRF)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "DATABASE_URL")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        RATELIMIT_ENABLED="false",
        FEEDBACK_BENCH_DISABLE_CSRF="1",  # benchmark-only switch (README, Configuration)
        PUBLIC_BASE_URL="http://127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def create_bench_app(database_url: str, **extra: str):
    """The real app, configured from the benchmark environment (set in this process's os.environ)."""
    env = app_env(database_url, **extra)
    os.environ.pop("FLASK_DEBUG", None)
    os.environ.update(env)
    from feedback import create_app

    return create_app()


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def reset_database(url: str) -> None:
    """An empty database: a fresh SQLite file, or PostgreSQL's public schema dropped and recreated."""
    if is_postgres(url):
        _create_database_if_missing(url)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {BASELINE_SCHEMA} CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            conn.execute(sa.text(f"CREATE SCHEMA {BASELINE_SCHEMA}"))
        engine.dispose()
    else:
        path = Path(sa.make_url(url).database)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)


def _create_database_if_missing(url: str) -> None:
    """PostgreSQL: create the benchmark database (through the server's ``postgres`` database) if absent."""
    target = sa.make_url(url)
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        engine.dispose()


def migrate(url: str) -> None:
    """The schema from the Alembic migrations, as an operator would create it."""
    subprocess.run(
        [PYTHON, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=app_env(url), check=True, capture_output=True,
    )


def baseline_table_name(url: str, name: str) -> str:
    return f"{BASELINE_SCHEMA}.{name}" if is_postgres(url) else f"{BASELINE_SCHEMA}_{name}"


def sqlite_pragmas(engine: sa.Engine) -> None:
    """The same SQLite settings as the app (WAL, busy timeout, synchronous=NORMAL) for the baselines."""
    from feedback.database import configure_engine_events

    configure_engine_events(engine)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(process: subprocess.Popen | None) -> None:
    """Stop a process this harness started (by its own pid), politely then firmly."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> dict:
    """Run a child to completion through benchmarks.measure: wall time, peak RSS (MB), exit code, output."""
    import json
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        completed = subprocess.run([PYTHON, "-m", "benchmarks.measure", report.name, "--", *cmd],
                                   cwd=cwd, env=env, capture_output=True, text=True)
        figures = json.loads(Path(report.name).read_text() or "{}")
    figures.setdefault("returncode", completed.returncode)
    return figures | {"stdout": completed.stdout, "stderr": completed.stderr}


def median_time(fn, min_runs: int = 5, max_runs: int = 50, budget: float = 3.0, warmup: int = 1) -> dict:
    """Median wall time of ``fn()`` over repeated runs (at least min_runs, at most max_runs or ~budget s)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - started < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times)}


@contextmanager
def section(title: str):
    started = time.perf_counter()
    print(f"[bench] {title} …", flush=True)
    yield
    print(f"[bench] {title}: {time.perf_counter() - started:.1f} s", flush=True)
