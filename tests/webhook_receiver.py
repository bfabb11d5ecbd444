"""A webhook receiver for tests: an HTTP server on loopback that records every request and
verifies it with the ``standardwebhooks`` package's own verifier (the ``receiver`` fixture)."""
from __future__ import annotations

from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: dict | None  # the payload, when standardwebhooks' verifier accepted the request
    error: str | None


class Receiver:
    """An HTTP server on 127.0.0.1 that verifies each webhook with the secret of its path."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.statuses: list = []  # what to answer next, in order (a status, or a status and headers); then 204
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                try:
                    verified, error = Webhook(receiver.secrets[self.path]).verify(body, headers), None
                except (KeyError, WebhookVerificationError) as exc:
                    verified, error = None, repr(exc)
                lowered = {name.lower(): value for name, value in headers.items()}  # HTTP names ignore case
                receiver.received.append(Received(self.path, lowered, body, verified, error))
                answer = receiver.statuses.pop(0) if receiver.statuses else 204
                status, extra = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"

    def at(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == path]
