"""`feedback report` for one company: company_report() in-process vs the raw per-company GROUP BY.

The baseline is the one aggregate a report cannot do without, done the bare way: a GROUP BY over
one company's numeric answers on an index that covers it. So that it does not depend on the
app's current indexes (nor change them), it runs on a copy of the numeric answers in the
baselines' own table (company_id, audience, question_id, number), indexed on those columns,
rebuilt at each data level. For diagnosis, the same GROUP BY on the app's own tables
(responses JOIN answers, on their existing indexes) is timed too.
Everything runs on the app's engine, median of repeated runs after a warm-up.
"""
from __future__ import annotations

import time

import sqlalchemy as sa

from .common import baseline_table_name, median_time

APP_SCHEMA_SQL = sa.text(
    "SELECT a.question_id, count(a.number), sum(a.number) "
    "FROM responses r JOIN answers a ON a.response_id = r.id "
    "WHERE r.company_id = :company_id AND r.audience = 'candidate' AND a.number IS NOT NULL "
    "GROUP BY a.question_id"
)


def build_baseline_table(engine: sa.Engine) -> tuple[sa.TextClause, float]:
    """(the baseline query, seconds it took to build its table)."""
    started = time.perf_counter()
    url = str(engine.url)
    table = baseline_table_name(url, "answer_facts")
    index = "ix_bench_baseline_answer_facts"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        conn.execute(sa.text(
            f"CREATE TABLE {table} AS SELECT r.company_id, r.audience, a.question_id, a.number "
            "FROM answers a JOIN responses r ON r.id = a.response_id WHERE a.number IS NOT NULL"
        ))
        conn.execute(sa.text(f"CREATE INDEX {index} ON {table} (company_id, audience, question_id, number)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {table}" if engine.dialect.name == "postgresql" else f"ANALYZE {table}"))
    query = sa.text(
        f"SELECT question_id, count(number), sum(number) FROM {table} "
        "WHERE company_id = :company_id AND audience = 'candidate' GROUP BY question_id"
    )
    return query, time.perf_counter() - started


def measure(app, company_id: int) -> dict:
    from feedback.extensions import db
    from feedback.models import Company
    from feedback.queries.reports import company_report

    with app.app_context():
        baseline_sql, build_seconds = build_baseline_table(db.engine)
        company = db.session.get(Company, company_id)
        k = app.config["FEEDBACK_MIN_RESPONSES"]
        queries = {"n": 0}

        def count(*_args, **_kwargs) -> None:
            queries["n"] += 1

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            company_report(company, k)
            queries["n"] = 0
            report = company_report(company, k)
            per_report = queries["n"]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        real = median_time(lambda: company_report(company, k))
        params = {"company_id": company_id}
        baseline = median_time(lambda: db.session.execute(baseline_sql, params).all())
        app_schema = median_time(lambda: db.session.execute(APP_SCHEMA_SQL, params).all())
        db.session.rollback()
        db.session.remove()
    return {
        "report_ms": real["median_s"] * 1000, "baseline_ms": baseline["median_s"] * 1000,
        "app_schema_group_by_ms": app_schema["median_s"] * 1000,
        "runs": real["runs"], "baseline_runs": baseline["runs"], "queries": per_report,
        "company_responses": report["candidate_experience"]["responses"],
        "baseline_table_seconds": build_seconds,
    }
