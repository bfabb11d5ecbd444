"""`feedback import` of 10,000 and 100,000 rows (the real CLI in a subprocess) vs the bare
csv + email-validator + executemany script (also a subprocess): wall time and peak RSS of each.
"""
from __future__ import annotations

import csv
import random
import re
from datetime import date, timedelta
from pathlib import Path

from .common import PYTHON, app_env, run_measured
from .datagen import POSITION_TITLES, STAGES, company_name

HEADER = ("candidate_name", "candidate_email", "company", "company_contact_email", "position", "stage", "outcome",
          "decided_on", "application_ref")


def write_csv(path: Path, rows: int, tag: str, companies: int, seed: int = 11) -> Path:
    """An outcomes CSV with the real columns: existing companies, new candidates, half with an ATS id."""
    rnd = random.Random(seed)
    today = date.today()
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for number in range(rows):
            company = rnd.randint(1, companies)
            outcome = rnd.choices(("rejected", "withdrew", "offer_declined"), (0.7, 0.2, 0.1))[0]
            writer.writerow((
                f"Imported Candidate {tag}-{number}",
                f"imp-{tag}-{number}@candidates.example.org",
                company_name(company),
                f"hiring{number % 5}@company{company}.example.com" if outcome == "rejected" else "",
                rnd.choice(POSITION_TITLES),
                rnd.choice(STAGES),
                outcome,
                (today - timedelta(days=rnd.randrange(1, 300))).isoformat(),
                f"ATS-{tag}-{number}" if number % 2 else "",
            ))
    return path


def run(database_url: str, work: Path, companies: int, sizes: tuple[int, ...] = (10_000, 100_000)) -> dict:
    results = {}
    env = app_env(database_url)
    for size in sizes:
        path = write_csv(work / f"outcomes-{size}.csv", size, f"s{size}", companies)
        print(f"[bench]   import {size} rows …", flush=True)
        real = run_measured([PYTHON, "-m", "flask", "--app", "wsgi", "feedback", "import", str(path)], env)
        if real["returncode"] != 0:
            raise RuntimeError(f"feedback import failed: {real['stderr'][-2000:]}")
        created = int(re.search(r"new applications: (\d+)", real["stdout"]).group(1))
        if created != size:
            raise RuntimeError(f"feedback import created {created} applications of {size}")
        base = run_measured([PYTHON, "-m", "benchmarks.baseline_import", database_url, str(path)], env)
        if base["returncode"] != 0:
            raise RuntimeError(f"baseline import failed: {base['stderr'][-2000:]}")
        results[size] = {
            "app_seconds": real["seconds"], "app_peak_rss_mb": real["peak_rss_mb"],
            "app_cpu_seconds": real["cpu_seconds"],
            "baseline_seconds": base["seconds"], "baseline_peak_rss_mb": base["peak_rss_mb"],
            "app_rate": size / real["seconds"], "baseline_rate": size / base["seconds"],
        }
    # What a process costs before it reads a line: the app's start-up (imports, create_app).
    startup = run_measured([PYTHON, "-m", "flask", "--app", "wsgi", "feedback", "--help"], env)
    results["startup"] = {"seconds": startup["seconds"], "peak_rss_mb": startup["peak_rss_mb"]}
    return results
