"""Outgoing HTTP reaches public addresses only (feedback/outbound.py), unless the operator allows
private ones (OUTBOUND_PRIVATE_ADDRESSES, on in the tests' configuration and in dev mode).

The address is checked after the name is resolved, on the very address connected to: a name that
points at this machine ("localhost" here) is refused like 127.0.0.1, and the receiver never sees a
request. Webhooks and the Lever connector's API reads go through it.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import company_named, outcome_row

from feedback.extensions import db
from feedback.jobs.webhook_delivery import deliver_due
from feedback.models import WebhookMessage
from feedback.outbound import PrivateAddress, checked_socket, is_public
from feedback.services.outgoing_webhooks import create_endpoint, queue_event
from feedback.timeutil import utcnow


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("::1", False), ("10.1.2.3", False), ("172.16.0.9", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::ffff:127.0.0.1", False),
    ("fe80::1%eth0", False), ("fd00::1", False),
])
def test_which_addresses_are_public(address, public):
    assert is_public(address) is public


def test_a_name_for_this_machine_is_refused_before_any_connection():
    with pytest.raises(PrivateAddress, match="localhost resolves to no public address"):
        checked_socket("localhost", 9, 1, allow_private=False)


def test_webhooks_to_this_machine_are_not_sent_unless_the_operator_allows_it(app, import_csv, receiver):
    assert import_csv([outcome_row()]).exit_code == 0
    acme = company_named("Acme Robotics")
    port = receiver.server.server_port
    by_ip, secret_ip = create_endpoint(acme, f"http://127.0.0.1:{port}/ip")  # the CLI's way: no page check
    by_name, secret_name = create_endpoint(acme, f"http://localhost:{port}/name")
    receiver.secrets.update({"/ip": secret_ip, "/name": secret_name})
    db.session.commit()
    app.config["OUTBOUND_PRIVATE_ADDRESSES"] = False  # production's default
    now = utcnow()
    queue_event(acme.id, "response.created", {"response_id": 1}, now)
    db.session.commit()
    assert deliver_due(now).line() == "sent: 0, failed: 0, left: 2"  # each waits for a retry
    assert receiver.received == []  # nothing reached the receiver
    errors = dict(db.session.execute(sa.select(WebhookMessage.endpoint_id, WebhookMessage.last_error)).all())
    assert "127.0.0.1 resolves to no public address" in errors[by_ip.id]
    assert "localhost resolves to no public address" in errors[by_name.id]

    app.config["OUTBOUND_PRIVATE_ADDRESSES"] = True  # a receiver beside the service, as the operator says
    db.session.execute(sa.update(WebhookMessage).values(next_attempt_at=now))
    db.session.commit()
    assert deliver_due(now).line() == "sent: 2, failed: 0, left: 0"
    assert sorted(request.path for request in receiver.received) == ["/ip", "/name"]
    assert all(request.verified for request in receiver.received)
