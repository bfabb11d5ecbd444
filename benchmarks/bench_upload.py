"""16 MB of bad lines, the worst an upload can be: the browser upload's preview (the real view, in a
child process) and `feedback import --dry-run` (the real CLI): wall time and peak RSS of each.

    python -m benchmarks.bench_upload upload DATABASE_URL PATH   (the child that uploads once)

Every line is a row with one field, so each has a problem in every other required column: before the
validation was bounded, 2 MB of such lines took 82 s and 816 MB in the CLI.
"""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from .common import PYTHON, app_env, create_bench_app, run_measured

HEADER = "candidate_name,candidate_email,company,company_contact_email,position,stage,outcome,decided_on\n"
SIZE_BYTES = 16 * 1024 * 1024 - 1024  # under MAX_CONTENT_LENGTH with the form around it
GUNICORN_TIMEOUT_SECONDS = 30


def write_bad_lines(path: Path) -> Path:
    lines = (SIZE_BYTES - len(HEADER)) // 2
    path.write_text(HEADER + "x\n" * lines)
    return path


def upload_once(database_url: str, path: Path) -> int:
    """Sign in as an admin and upload ``path`` through the real form; print status and page size."""
    app = create_bench_app(database_url)
    with app.app_context():
        from feedback.extensions import db
        from feedback.models import User
        from feedback.services.accounts import create_user

        if db.session.scalar(db.select(User).where(User.email == "upload-admin@bench.example")) is None:
            create_user("upload-admin@bench.example", "bench-password-0123", "admin", [])
            db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "upload-admin@bench.example", "password": "bench-password-0123"})
    response = client.post("/recruiter/upload", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(path.read_bytes()), "bad-lines.csv")})
    print(f"status {response.status_code} page {len(response.data)}")
    return 0 if response.status_code == 422 else 1


def run(database_url: str, work: Path) -> dict:
    path = write_bad_lines(work / "bad-lines-16mb.csv")
    env = app_env(database_url)
    results = {"file_mb": path.stat().st_size / 1024 / 1024, "lines": path.read_bytes().count(b"\n")}
    print("[bench]   upload 16 MB of bad lines …", flush=True)
    upload = run_measured([PYTHON, "-m", "benchmarks.bench_upload", "upload", database_url, str(path)], env)
    if upload["returncode"] != 0:
        raise RuntimeError(f"the upload did not answer 422: {upload['stdout'][-500:]} {upload['stderr'][-2000:]}")
    page = int(re.search(r"page (\d+)", upload["stdout"]).group(1))
    results["upload"] = {"seconds": upload["seconds"], "peak_rss_mb": upload["peak_rss_mb"], "page_bytes": page}
    print("[bench]   import --dry-run of 16 MB of bad lines …", flush=True)
    dry = run_measured([PYTHON, "-m", "flask", "--app", "wsgi", "feedback", "import", "--dry-run", str(path)], env)
    if dry["returncode"] != 1 or "stopped after" not in dry["stderr"]:
        raise RuntimeError(f"the dry run did not stop at its problem limit: {dry['stderr'][-2000:]}")
    results["dry_run"] = {"seconds": dry["seconds"], "peak_rss_mb": dry["peak_rss_mb"]}
    return results


if __name__ == "__main__":
    assert sys.argv[1] == "upload", __doc__
    sys.exit(upload_once(sys.argv[2], Path(sys.argv[3])))
