#!/bin/bash
# Proof for issue 17: a demo database of its own, the follow_up JSON, the escalation digest, screenshots.
set -e
cd "$(dirname "$0")/../.."
mkdir -p /tmp/proof
export FLASK_DEBUG=1 DATABASE_URL=sqlite:////tmp/proof/demo.db PUBLIC_BASE_URL=http://127.0.0.1:5077
rm -f /tmp/proof/demo.db
F=".venv/bin/flask --app wsgi"
$F db upgrade >/dev/null 2>&1
$F feedback demo > /tmp/proof/demo.txt
$F feedback report --company "Acme Robotics" --format json | .venv/bin/python -c "import json,sys; print(json.dumps(json.load(sys.stdin)['follow_up'], indent=2))" > /tmp/proof/follow_up.json
$F feedback report --company "Acme Robotics" | sed -n '/Follow-up speed/,$p' > /tmp/proof/follow_up.txt
# The demo mailed everything just now: as if two days ago, so that escalation may go.
sqlite3 /tmp/proof/demo.db "UPDATE feedback_requests SET first_sent_at = datetime(first_sent_at, '-2 days') WHERE first_sent_at > datetime('now', '-1 day')" 2>/dev/null || .venv/bin/python - <<'PY'
import sqlite3; c = sqlite3.connect("/tmp/proof/demo.db")
c.execute("UPDATE feedback_requests SET first_sent_at = datetime(first_sent_at, '-2 days') WHERE first_sent_at > datetime('now', '-1 day')"); c.commit()
PY
$F feedback remind > /tmp/proof/remind.txt
$F feedback send > /tmp/proof/send.txt
.venv/bin/python - <<'PY'
import sqlite3; c = sqlite3.connect("/tmp/proof/demo.db")
rows = c.execute("SELECT to_address, subject, body_text FROM outbox_messages WHERE kind = 'escalation' AND body_text IS NOT NULL GROUP BY to_address").fetchall()
with open("/tmp/proof/escalation.txt", "w") as out:
    for to, subject, body in rows:
        out.write(f"To: {to}\nSubject: {subject}\n\n{body}\n{'=' * 70}\n")
PY
