"""Outcomes files uploaded in the browser: kept on disk between preview and confirmation."""
from __future__ import annotations

import secrets
import time
from pathlib import Path

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..timeutil import today
from .outcomes_csv import Problem, check_outcomes, restrict_to_companies
from .validation import ValidationReport, count_lines_after, summarise

UPLOAD_SALT = "feedback.upload.v1"
UPLOAD_MAX_AGE_SECONDS = 3600
CHUNK = 64 * 1024


def _upload_dir() -> Path:
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def discard_stale_uploads() -> int:
    """Remove the stored files whose ticket has expired (previewed, never confirmed); how many."""
    cutoff = time.time() - UPLOAD_MAX_AGE_SECONDS
    removed = 0
    for path in _upload_dir().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another process took it first
            continue
    return removed


def discard_uploads_naming(address: str) -> int:
    """Remove every stored upload that holds ``address`` (any case), and every stale one; how many."""
    removed = discard_stale_uploads()
    needle = address.lower().encode()
    for path in _upload_dir().iterdir():
        try:
            with path.open("rb") as stream:
                # chunks overlap by the needle's length, so an address across two chunks is found
                tail = b""
                while chunk := stream.read(CHUNK):
                    if needle in (tail + chunk).lower():
                        break
                    tail = chunk[-len(needle):]
                else:
                    continue
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
    return removed


def save_upload(stream) -> str:
    """Store an uploaded file under a random name (sweeping the stale ones first); return the name."""
    discard_stale_uploads()
    upload_id = secrets.token_hex(16)
    with (_upload_dir() / f"{upload_id}.csv").open("wb") as target:
        while chunk := stream.read(CHUNK):
            target.write(chunk)
    return upload_id


def upload_path(upload_id: str) -> Path | None:
    """The stored file for an upload id, or None."""
    if len(upload_id) != 32 or not all(c in "0123456789abcdef" for c in upload_id):
        return None
    path = _upload_dir() / f"{upload_id}.csv"
    return path if path.exists() else None


def claim_upload(upload_id: str) -> Path | None:
    """Take the stored file for importing, atomically (a rename): of two confirms of one upload at
    the same moment, one gets the file and the other None, as for an upload already imported."""
    path = upload_path(upload_id)
    if path is None:
        return None
    claimed = path.with_suffix(f".importing-{secrets.token_hex(8)}")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def discard_upload(upload_id: str) -> None:
    path = upload_path(upload_id)
    if path is not None:
        path.unlink(missing_ok=True)


def _serializer() -> URLSafeTimedSerializer:
    keys = [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=UPLOAD_SALT)


def upload_name(filename: str | None) -> str:
    """The name an uploaded file is known by (its batch's name): the last part of what the browser
    sent, without control characters, at most 200 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:200] or "upload"


def upload_ticket(upload_id: str, user_id: int, filename: str = "upload") -> str:
    """A signed ticket that lets only this user confirm this upload, for an hour."""
    return _serializer().dumps([upload_id, user_id, filename])


def read_upload_ticket(ticket: str, user_id: int) -> tuple[str, str] | None:
    """The upload id and file name of a ticket of this user's, or None."""
    try:
        upload_id, owner, filename = _serializer().loads(ticket, max_age=UPLOAD_MAX_AGE_SECONDS)
    except (BadData, ValueError, TypeError):
        return None
    return (upload_id, upload_name(filename)) if owner == user_id and isinstance(upload_id, str) else None


def scoped_results(path: Path, allowed_companies: set[str] | None):
    """Validation results of a stored upload, plus a problem for every company outside the user's scope."""
    with path.open("r", encoding="utf-8-sig", newline="") as stream:
        yield from restrict_to_companies(check_outcomes(stream, today(), current_app.config["MAIL_SMTPUTF8"]), allowed_companies)


def valid_rows(path: Path, allowed_companies: set[str] | None):
    """The rows of a stored upload that pass every check (what "import the valid rows" imports)."""
    return (row for row, _problems in scoped_results(path, allowed_companies) if row is not None)


def validate_upload(path: Path, allowed_companies: set[str] | None) -> ValidationReport:
    """The same validation as the CLI import, plus the user's company scope and UPLOAD_MAX_ROWS:
    it stops at the first MAX_PROBLEMS problems, so a page and its worker stay small and quick."""
    report = summarise(scoped_results(path, allowed_companies))
    if report.stopped_at is not None:
        report.lines_not_checked = count_lines_after(path, report.stopped_at)
    limit = current_app.config["UPLOAD_MAX_ROWS"]
    if report.stopped_at is None and report.rows_read > limit:
        report.problems.insert(0, Problem(1, "file", f"has {report.rows_read} rows; an upload takes at most {limit}. "
                                                     "Import it with `flask --app wsgi feedback import` or the API"))
        report.problem_count += 1
    return report
