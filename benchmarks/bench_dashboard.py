"""The company dashboard in-process (Flask test client, signed in as the company's user): time per
page and SQL statements per page, counted with a before_cursor_execute listener.

The rate under load (wrk against gunicorn vs the bare first-row page) is in bench_http.
"""
from __future__ import annotations

import sqlalchemy as sa

from .common import COMPANY_LOGIN, COMPANY_PASSWORD, USER_AGENT, median_time


def measure(app, company_id: int) -> dict:
    from feedback.extensions import db

    client = app.test_client()
    headers = {"User-Agent": USER_AGENT}
    signed_in = client.post("/login", data={"email": COMPANY_LOGIN, "password": COMPANY_PASSWORD}, headers=headers)
    if signed_in.status_code != 302:
        raise RuntimeError(f"sign-in answered {signed_in.status_code}")
    url = f"/companies/{company_id}/dashboard"
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    first = client.get(url, headers=headers)
    if first.status_code != 200:
        raise RuntimeError(f"dashboard answered {first.status_code}")
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(url, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    timing = median_time(lambda: client.get(url, headers=headers), min_runs=3, max_runs=30, budget=4.0)
    # The snapshot's cutoff query now runs on every page; counted apart for older commits' results.
    cutoff = 0
    return {"page_ms": timing["median_s"] * 1000, "runs": timing["runs"], "queries": len(statements),
            "snapshot_cutoff_queries": cutoff, "status": page.status_code,
            "figures_shown": "Where you fell short" in page.get_data(as_text=True)}
