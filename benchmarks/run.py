"""`make bench`: every path against its baseline, on SQLite and on PostgreSQL, in one go.

    python -m benchmarks.run [--databases sqlite,postgresql] [--duration 10] [--answers 1000000]

Each database runs in a child process of its own (``--one``), one after the other, so they never
share the two cores. Prints one table and writes artifacts/bench/results.json and results.md.
Timings are benchmarks, never assertions: the exit code only says whether the harness ran.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .common import PG_URL, PYTHON, ROOT, create_bench_app, free_port, migrate, reset_database, section

ARTIFACTS = ROOT / "artifacts" / "bench"
LEVELS = (10_000, 100_000, 1_000_000)
GET_LINKS = 3_000
POST_LINKS_PER_SECOND = 2_000  # comfortably above any plausible rate on 2 cores: no link is used twice
SEND_MESSAGES = 5_000
COMPANIES = 100


# -- one database --------------------------------------------------------------------------------

def run_one(kind: str, duration: float, warmup: float, max_answers: int, out: Path,
            parts: frozenset[str] = frozenset(("http", "send", "import"))) -> None:
    from . import bench_dashboard, bench_http, bench_import, bench_report, bench_send, bench_upload
    from .datagen import DataGen

    work = Path(tempfile.mkdtemp(prefix=f"feedback-bench-{kind}-"))
    if kind == "sqlite":
        url = f"sqlite:///{work / 'feedback.db'}"
        baseline_url = f"sqlite:///{work / 'baseline.db'}"
    else:
        url = baseline_url = PG_URL
    result: dict = {"database": kind, "url": url.split("@")[-1]}
    started = time.perf_counter()
    try:
        with section(f"{kind}: empty database, migrations"):
            reset_database(url)
            migrate(url)
        smtp_port = free_port()
        app = create_bench_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port),
                               MAIL_DEFAULT_SENDER="Feedback <feedback@bench.example>")
        gen = DataGen(app, companies=COMPANIES)
        base = gen.seed_base()
        company_id = base["company_id"]
        result["company"] = base["company_name"]
        growth: dict = {}
        for level in (lvl for lvl in LEVELS if lvl <= max_answers):
            with section(f"{kind}: data up to {level:,} answers"):
                made = gen.grow_answers(level)
            with section(f"{kind}: report and dashboard at {level:,} answers"):
                growth[level] = {
                    "datagen_seconds": made["seconds"],
                    "report": bench_report.measure(app, company_id),
                    "dashboard": bench_dashboard.measure(app, company_id),
                }
        result["growth"] = growth
        result["answers"] = gen.answer_count()

        if "http" in parts:
            with section(f"{kind}: live links"):
                get_ids = gen.live_requests(GET_LINKS)
                post_ids = gen.live_requests(int(POST_LINKS_PER_SECOND * duration) + 5_000)
                warm_ids = gen.live_requests(int(POST_LINKS_PER_SECOND * warmup) + 1_000)
                tokens = {name: gen.link_tokens(ids) for name, ids in
                          (("get", get_ids), ("post", post_ids), ("warm", warm_ids))}
            _release(app)
            with section(f"{kind}: HTTP (gunicorn, wrk {duration:g} s per run)"):
                result["http"] = bench_http.run(url, baseline_url, company_id, tokens["get"], tokens["post"],
                                                tokens["warm"], duration, warmup)
        if "send" in parts:
            with section(f"{kind}: send {SEND_MESSAGES} e-mails"):
                result["send"] = bench_send.run(app, gen, smtp_port, SEND_MESSAGES)
            _release(app)
        if "import" in parts:
            with section(f"{kind}: import"):
                result["import"] = bench_import.run(url, work, COMPANIES)
            with section(f"{kind}: 16 MB of bad lines (upload, import --dry-run)"):
                result["bad_lines"] = bench_upload.run(url, work)
    finally:
        result["seconds"] = time.perf_counter() - started
        out.write_text(json.dumps(result, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)


def _release(app) -> None:
    """Close this process's connections before other processes take the database."""
    from feedback.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# -- the table -----------------------------------------------------------------------------------

def _row(path: str, db: str, unit: str, app: float | None, baseline: float | None, ratio: float | None,
         target: str, met: bool | None, note: str = "") -> dict:
    return {"path": path, "database": db, "unit": unit, "app": app, "baseline": baseline, "ratio": ratio,
            "target": target, "met": met, "note": note}


def table_rows(results: dict[str, dict]) -> list[dict]:
    rows: list[dict] = []
    for kind, res in results.items():
        http = res.get("http", {})
        if "get_link" in http:
            app, base = http["get_link"]["app"], http["get_link"]["baseline"]
            ratio = app["ok_rate"] / base["ok_rate"]
            rows.append(_row("GET /f/<token> (live link)", kind, "req/s", app["ok_rate"], base["ok_rate"], ratio,
                             "≥ 0.7", ratio >= 0.7, _errors(app, base)))
        if "post_answer" in http:
            app, base = http["post_answer"]["app"], http["post_answer"]["baseline"]
            ratio = app["ok_rate"] / base["ok_rate"]
            rows.append(_row("POST /f/<token> (full answer)", kind, "req/s", app["ok_rate"], base["ok_rate"], ratio,
                             "≥ 0.4", ratio >= 0.4, _errors(app, base)))
        if "send" in res:
            send = res["send"]
            ratio = send["app_rate"] / send["baseline_rate"]
            note = ""
            if "multipart_baseline_rate" in send:
                note = (f"bare loop of app-shaped text+HTML messages: {send['multipart_baseline_rate']:,.0f} msg/s "
                        f"(ratio {send['app_rate'] / send['multipart_baseline_rate']:.2f})")
            rows.append(_row(f"feedback send ({send['messages']} msgs)", kind, "msg/s", send["app_rate"],
                             send["baseline_rate"], ratio, "≥ 0.8", ratio >= 0.8, note))
        imports = res.get("import", {})
        if 100_000 in imports or "100000" in imports:
            big = imports.get(100_000) or imports.get("100000")
            small = imports.get(10_000) or imports.get("10000")
            ratio = big["app_rate"] / big["baseline_rate"]
            rows.append(_row("feedback import 100k rows", kind, "rows/s", big["app_rate"], big["baseline_rate"],
                             ratio, "≥ 0.4", ratio >= 0.4,
                             f"{big['app_seconds']:.1f} s vs {big['baseline_seconds']:.1f} s"))
            if small:
                mem = big["app_peak_rss_mb"] / small["app_peak_rss_mb"]
                rows.append(_row("import peak RSS 100k / 10k", kind, "MB", big["app_peak_rss_mb"],
                                 small["app_peak_rss_mb"], mem, "≤ 1.3", mem <= 1.3,
                                 "app column: 100k, baseline column: 10k"))
        bad = res.get("bad_lines")
        if bad:
            limit = 30  # gunicorn's timeout: no request may tie a worker up longer
            for label, figures in (("upload", bad["upload"]), ("import --dry-run", bad["dry_run"])):
                note = f"peak RSS {figures['peak_rss_mb']:.0f} MB"
                if "page_bytes" in figures:
                    note += f"; page {figures['page_bytes'] / 1024:.0f} KiB"
                rows.append(_row(f"{label} of {bad['file_mb']:.0f} MB of bad lines ({bad['lines']:,} lines)", kind,
                                 "s", figures["seconds"], limit, figures["seconds"] / limit,
                                 "≤ 30 s, RSS ≤ 256 MB", figures["seconds"] <= limit and figures["peak_rss_mb"] <= 256,
                                 note + "; baseline column: gunicorn's timeout"))
        growth = res.get("growth", {})
        top = max((int(k) for k in growth), default=None)
        if top is not None:
            report = growth.get(top) or growth.get(str(top))
            rep = report["report"]
            ratio = rep["report_ms"] / rep["baseline_ms"]
            note = f"{rep['queries']} queries; company has {rep['company_responses']} candidate responses"
            if "app_schema_group_by_ms" in rep:
                note += f"; the same GROUP BY on the app's tables: {rep['app_schema_group_by_ms']:.1f} ms"
            rows.append(_row(f"feedback report ({top:,} answers)", kind, "ms", rep["report_ms"], rep["baseline_ms"],
                             ratio, "≤ 3 × time", ratio <= 3, note))
        if "dashboard" in http:
            app, base = http["dashboard"]["app"], http["dashboard"]["baseline"]
            ratio = app["ok_rate"] / base["ok_rate"]
            rows.append(_row(f"company dashboard ({res.get('answers', 0):,} answers)", kind, "req/s", app["ok_rate"],
                             base["ok_rate"], ratio, "≥ 0.3", ratio >= 0.3, _errors(app, base)))
        if growth:
            levels = sorted(growth, key=int)
            dash = [growth[k]["dashboard"] for k in levels]
            shown = [(k, d) for k, d in zip(levels, dash) if d.get("figures_shown", True)]
            comparable = {d["queries"] - d.get("snapshot_cutoff_queries", 0) for _k_, d in shown}
            constant = len(comparable) == 1 and len(shown) >= 2
            note = ", ".join(f"{d['queries']} at {_k(int(k))}" for k, d in zip(levels, dash))
            if len(shown) < len(levels):
                note += "; figures withheld (too few responses) at " + ", ".join(
                    _k(int(k)) for k, d in zip(levels, dash) if not d.get("figures_shown", True))
            rows.append(_row("dashboard SQL queries per page", kind, "queries", dash[-1]["queries"],
                             dash[0]["queries"], None, "constant", constant, note))
            after = dash[-1].get("after_answer_elsewhere_ratio")
            if after is not None:
                rows.append(_row(f"dashboard right after an answer at another company ({_k(int(levels[-1]))})", kind,
                                 "ms", statistics.median(dash[-1]["after_answer_elsewhere_ms"]),
                                 statistics.median(dash[-1]["warm_before_ms"]), after, "≤ 3 × a warm page",
                                 after <= 3, "app column: the page after the answer, baseline: a warm page"))
            stream = dash[-1].get("stream_ratio")
            if stream is not None:
                rows.append(_row(f"dashboard under a stream of answers elsewhere ({_k(int(levels[-1]))})", kind,
                                 "pages/s", dash[-1]["stream_pages_per_s"], dash[-1]["quiet_pages_per_s"], stream,
                                 "≥ 0.3 of quiet", stream >= 0.3,
                                 f"{dash[-1]['stream_answers']} answers at other companies in "
                                 f"{dash[-1]['stream_seconds']:.0f} s; baseline column: the quiet rate"))
    return rows


def _k(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _errors(app: dict, base: dict) -> str:
    parts = []
    for name, side in (("app", app), ("baseline", base)):
        if side.get("non_2xx_3xx") or side.get("socket_errors"):
            parts.append(f"{name}: {side['non_2xx_3xx']} non-2xx, {side['socket_errors']} socket errors")
    return "; ".join(parts)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value:.1f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def render_table(rows: list[dict]) -> str:
    header = ("path", "database", "app", "baseline", "unit", "ratio", "target", "met?", "note")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        met = "–" if row["met"] is None else ("yes" if row["met"] else "NO")
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.2f}" if row["ratio"] >= 0.01 else f"{row['ratio']:.4f}"
        lines.append("| " + " | ".join((row["path"], row["database"], _fmt(row["app"], row["unit"]),
                                         _fmt(row["baseline"], row["unit"]), row["unit"], ratio, row["target"],
                                         met, row["note"])) + " |")
    return "\n".join(lines)


def render_growth(results: dict[str, dict]) -> str:
    lines = ["| database | answers | report ms | baseline GROUP BY ms (covering index) | same GROUP BY on the app's "
             "tables ms | dashboard page ms | dashboard queries |",
             "|---|---|---|---|---|---|---|"]
    for kind, res in results.items():
        for level in sorted(res.get("growth", {}), key=int):
            g = res["growth"][level]
            lines.append(f"| {kind} | {int(level):,} | {g['report']['report_ms']:.1f} | "
                         f"{g['report']['baseline_ms']:.2f} | {g['report'].get('app_schema_group_by_ms', 0):.2f} | "
                         f"{g['dashboard']['page_ms']:.1f} | "
                         f"{g['dashboard']['queries']} |")
    lines += ["", "| database | import rows | app time s | app peak RSS MB | baseline time s | baseline peak RSS MB |",
              "|---|---|---|---|---|---|"]
    for kind, res in results.items():
        imports = res.get("import", {})
        for size in sorted((k for k in imports if str(k).isdigit()), key=int):
            i = imports[size]
            lines.append(f"| {kind} | {int(size):,} | {i['app_seconds']:.1f} | {i['app_peak_rss_mb']:.0f} | "
                         f"{i['baseline_seconds']:.1f} | {i['baseline_peak_rss_mb']:.0f} |")
        if "startup" in imports:
            lines.append(f"| {kind} | (app start-up only) | {imports['startup']['seconds']:.1f} | "
                         f"{imports['startup']['peak_rss_mb']:.0f} | | |")
    return "\n".join(lines)


def _versions() -> dict:
    import sqlite3

    info = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cores": os.cpu_count(),
            "machine": platform.machine(), "kernel": platform.release()}
    try:  # read-only: which code was measured (others may be changing it)
        info["commit"] = subprocess.run(["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip()
        info["modified_files"] = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
            capture_output=True, text=True).stdout.split("\n")[:-1]
    except OSError:
        info["commit"] = "unknown"
    try:
        info["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        info["wrk"] = "missing"
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(sa.make_url(PG_URL).set(database="postgres"))  # the server, even before the bench database exists
        with engine.connect() as conn:
            info["postgresql"] = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    except Exception as exc:
        info["postgresql"] = f"unreachable: {exc}"
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description="feedback benchmarks")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 10)),
                        help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk warm-up before each run")
    parser.add_argument("--answers", type=int, default=1_000_000, help="the largest data level (answers)")
    parser.add_argument("--parts", default="http,send,import", help="which of http,send,import to run "
                        "(report and dashboard growth always run)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        run_one(args.one, args.duration, args.warmup, args.answers, Path(args.out),
                frozenset(args.parts.split(",")))
        return 0

    started = time.perf_counter()
    machine = _versions()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    failed = []
    for kind in args.databases.split(","):
        out = ARTIFACTS / f"raw-{kind}.json"
        out.unlink(missing_ok=True)
        code = subprocess.call([PYTHON, "-m", "benchmarks.run", "--one", kind, "--out", str(out),
                                "--duration", str(args.duration), "--warmup", str(args.warmup),
                                "--answers", str(args.answers), "--parts", args.parts], cwd=ROOT)
        if out.exists():
            results[kind] = json.loads(out.read_text())
        if code != 0:
            failed.append(kind)
    total = time.perf_counter() - started
    rows = table_rows(results)
    table, growth = render_table(rows), render_growth(results)
    summary = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_seconds": total, "machine": machine, "settings": {
            "wrk_seconds": args.duration, "wrk_warmup_seconds": args.warmup, "wrk_threads": 2,
            "wrk_connections": 16, "gunicorn": f"sync workers × {os.cpu_count()}", "companies": COMPANIES,
            "send_messages": SEND_MESSAGES,
        },
        "rows": rows, "results": results, "failed": failed,
    }
    (ARTIFACTS / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    markdown = (f"# feedback benchmarks\n\n{summary['finished_at']}, commit {machine.get('commit')}"
                f"{' (with local changes)' if machine.get('modified_files') else ''}, {os.cpu_count()} cores, "
                f"total {total / 60:.1f} min\n\n{table}\n\n## Growth\n\n{growth}\n")
    (ARTIFACTS / "results.md").write_text(markdown)
    print()
    print(table)
    print()
    print(growth)
    print(f"\nCommit {machine.get('commit')}; load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    print(f"\nTotal: {total / 60:.1f} min. Results in {ARTIFACTS.relative_to(ROOT)}/results.json and results.md")
    if failed:
        print(f"error: the {', '.join(failed)} run(s) failed; see the output above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
