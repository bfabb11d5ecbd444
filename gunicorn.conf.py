"""gunicorn settings: sync workers, one per core, and access logs without link tokens.

    gunicorn -c gunicorn.conf.py wsgi:app
"""
import multiprocessing
import os
import re

from gunicorn.glogging import Logger

from feedback.config import rate_limit_storage_problem
from feedback.logging import redact

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "sync"  # CPU-bound pages: sync workers measured fastest on 2 cores
accesslog = os.environ.get("ACCESS_LOG", "-")
timeout = 30


class RedactingLogger(Logger):
    """The access-log atoms the format prints (request line, path, referer…), with /f/, /u/ and
    /me/view/ tokens replaced.

    gunicorn offers every header and environ variable as an atom (some 80 per request); only the
    ones the format names are kept and redacted, so a line costs what it prints. An atom the format
    names but the request lacks prints as "-", as gunicorn's own atoms do.
    """

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(atoms[key]) if isinstance(atoms[key], str) else atoms[key]
                for key in self._printed_atoms() if key in atoms}

    def _printed_atoms(self) -> frozenset[str]:
        """The atom names in access_log_format (``{header}i`` names lower-cased, as gunicorn looks them up)."""
        fmt = self.cfg.access_log_format
        if getattr(self, "_atoms_format", None) != fmt:
            names = re.findall(r"%\((.*?)\)", fmt)
            self._atoms_names = frozenset(name.lower() if name.startswith("{") else name for name in names)
            self._atoms_format = fmt
        return self._atoms_names


logger_class = RedactingLogger


def on_starting(server):
    """Refuse to start workers whose rate limits would not hold as configured (README, Serving)."""
    problem = rate_limit_storage_problem(server.cfg.workers)
    if problem:
        server.log.error("refusing to start: %s", problem)
        raise SystemExit(1)
