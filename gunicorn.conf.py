"""gunicorn settings: sync workers, one per core, and access logs without link tokens.

    gunicorn -c gunicorn.conf.py wsgi:app
"""
import multiprocessing
import os

from gunicorn.glogging import Logger

from feedback.logging import redact

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "sync"  # CPU-bound pages: sync workers measured fastest on 2 cores
accesslog = os.environ.get("ACCESS_LOG", "-")
timeout = 30


class RedactingLogger(Logger):
    """Every access-log atom (request line, path, referer…) with /f/, /u/ and /me/view/ tokens replaced."""

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger
