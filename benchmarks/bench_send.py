"""`feedback send`: deliver_queued() in-process vs a bare Flask-Mail loop over one mail.connect(),
both to the same aiosmtpd sink (a separate process), the same number of messages.
"""
from __future__ import annotations

import subprocess
import time

from flask import Flask
from flask_mail import Mail, Message

from .common import PYTHON, ROOT, stop, wait_for_port


def start_sink(port: int) -> subprocess.Popen:
    """aiosmtpd's Sink handler: accepts every message and throws it away."""
    process = subprocess.Popen(
        [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    return process


MULTIPART_TEXT = "Tell Bench Company 001 how its hiring process felt: http://127.0.0.1/f/token\n" * 20
MULTIPART_HTML = ("<html><body>" + "<p>Tell <strong>Bench Company 001</strong> how its hiring process felt: "
                  "<a href=\"http://127.0.0.1/f/token\">answer</a></p>\n" * 30 + "</body></html>")


def bare_send(port: int, count: int, multipart: bool = False) -> float:
    """The baseline: Flask-Mail, one connection, ``count`` simple messages. Seconds.

    ``multipart`` (a diagnostic, not the target's baseline): messages shaped like the app's, a
    text and an HTML part, the List-Unsubscribe headers and a Message-ID, so that the cost of the
    e-mail itself can be told from the cost of the outbox around it.
    """
    bare = Flask("bare_mail")
    bare.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DEFAULT_SENDER="bench@localhost",
                       MAIL_SUPPRESS_SEND=False)
    mail = Mail(bare)
    with bare.app_context():
        started = time.perf_counter()
        with mail.connect() as connection:
            for number in range(count):
                if multipart:
                    message = Message(
                        subject="How was applying to Bench Company 001? (2 minutes)",
                        recipients=[f"c{number}@candidates.example.org"], body=MULTIPART_TEXT, html=MULTIPART_HTML,
                        extra_headers={"List-Unsubscribe": "<http://127.0.0.1/u/token>",
                                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                                       "Auto-Submitted": "auto-generated"},
                    )
                    message.msgId = f"<feedback.outbox.{number}@127.0.0.1>"
                else:
                    message = Message(
                        subject=f"How was applying? ({number})", recipients=[f"c{number}@candidates.example.org"],
                        body="Tell us how the process felt: http://127.0.0.1/f/token\n",
                    )
                connection.send(message)
        return time.perf_counter() - started


def run(app, gen, port: int, count: int) -> dict:
    """Queue ``count`` invitations, deliver them with the real code path, then the bare loop."""
    from feedback.extensions import db
    from feedback.jobs.delivery import deliver_queued

    queued = gen.queued_invitations(count)
    sink = start_sink(port)
    try:
        bare_send(port, 200)  # warm-up of the sink and the connection path
        baseline_seconds = bare_send(port, count)
        multipart_seconds = bare_send(port, count, multipart=True)
        with app.app_context():
            started = time.perf_counter()
            result = deliver_queued()
            seconds = time.perf_counter() - started
            db.session.remove()
    finally:
        stop(sink)
    if result.emails != queued:
        raise RuntimeError(f"send delivered {result.emails} of {queued} e-mails ({result.line()})")
    return {
        "messages": queued, "app_seconds": seconds, "app_rate": queued / seconds,
        "baseline_seconds": baseline_seconds, "baseline_rate": count / baseline_seconds,
        "multipart_baseline_rate": count / multipart_seconds,
    }
