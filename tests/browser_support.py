"""What the browser tests share: Chromium's settings, viewports, axe-core, artefacts and helpers.

The fixtures (``live``, ``chromium``, ``database_name``) are in conftest.py.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from conftest import PASSWORD, ROOT, LiveServer, csrf_token

from feedback.extensions import db
from feedback.models import Response

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
AXE_VERSION = re.search(r"axe v([\d.]+)", AXE.read_text(encoding="utf-8")[:200]).group(1)
ARTIFACTS = ROOT / "artifacts"
BLOCKING_IMPACTS = ("serious", "critical")

def proof_dir() -> Path:
    """Where the issue's proof pictures go: artifacts/proof/ in a test run (nothing in the work tree
    changes), PROOF_DIR when set (`PROOF_DIR=docs/proof-19 …pytest tests/test_browser_upload.py`)."""
    path = Path(os.environ.get("PROOF_DIR") or ARTIFACTS / "proof")
    path.mkdir(parents=True, exist_ok=True)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def artefact_dir(*parts: str) -> Path:
    path = ARTIFACTS.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


class Steps:
    """Times each step of the journey and takes a screenshot after it (not counted in its time)."""

    def __init__(self, screenshots: Path) -> None:
        self.screenshots = screenshots
        self.rows: list[dict] = []

    @contextmanager
    def step(self, name: str, page=None) -> Iterator[None]:
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        shot = None
        if page is not None:
            shot = self.screenshots / f"{len(self.rows) + 1:02d}-{slug(name)}.png"
            page.screenshot(path=str(shot), full_page=True)
        self.rows.append({"step": name, "seconds": round(seconds, 3),
                          "screenshot": str(shot.relative_to(ROOT)) if shot else None})

    def table(self, title: str) -> str:
        width = max(len(row["step"]) for row in self.rows)
        lines = [title, f"  #  {'step'.ljust(width)}  seconds"]
        lines += [f"{i:>3}  {row['step'].ljust(width)}  {row['seconds']:7.3f}" for i, row in enumerate(self.rows, 1)]
        lines.append(f"     {'total'.ljust(width)}  {sum(row['seconds'] for row in self.rows):7.3f}")
        return "\n".join(lines)


def watch_console(page, problems: list[str]) -> None:
    """Collect script errors and Content-Security-Policy reports: the pages should cause neither."""
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.on("console", lambda message: problems.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)


def sign_in(page, live: LiveServer, address: str) -> None:
    page.goto(live.url("/login"))
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def card(page, heading: str):
    """A dashboard or batch card, found by its heading."""
    return page.locator(".card").filter(has=page.get_by_role("heading", name=heading, exact=True))


# --- in-process helpers (the same forms, through the Flask test client) -------------------------

def answer_in_process(client, path: str, fields: dict) -> None:
    form = client.get(path)
    assert form.status_code == 200, form.text
    data = {"csrf_token": csrf_token(form.text)} | {key: str(value) for key, value in fields.items()}
    answered = client.post(path, data=data)
    assert answered.status_code == 200 and "Thank you" in answered.text, answered.text


def signed_in_client(live: LiveServer, address: str):
    client = live.app.test_client()
    page = client.get("/login")
    signed_in = client.post("/login", data={"csrf_token": csrf_token(page.text), "email": address,
                                            "password": PASSWORD})
    assert signed_in.status_code == 302
    return client


def messages_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if message["To"] == address]


def link_in(message, pattern: re.Pattern) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    (link,) = dict.fromkeys(pattern.findall(body))  # the form's link, also under each ?nps=N score
    return link


def company_responses(company_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                             .where(Response.company_id == company_id, Response.audience == "candidate"))


def run_axe(page) -> dict:
    """axe-core on the page as loaded (its default rules: WCAG 2.x A/AA and best practices).

    Violations in full; rules passed, and those axe could not decide ("needs review", e.g. the
    contrast of SVG chart text), for the record.
    """
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const results = await axe.run(document);
        return {
            violations: results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")),
            })),
            incomplete: results.incomplete.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(" "))})),
            passes: results.passes.map(v => v.id),
        };
    }""")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
