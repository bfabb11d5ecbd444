#!/bin/bash
# Proof for issue 18: Lighthouse 12.2.3 (mobile) on the candidate form and its thank-you page, on a
# demo database of its own served on 127.0.0.1:5078. Lighthouse is installed from the npm registry
# into /tmp/lighthouse-12.2.3 (not into the project). Prints the scores; writes /tmp/proof18/.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=/tmp/proof18 LH=/tmp/lighthouse-12.2.3 PORT=5078
mkdir -p "$OUT" "$LH"
export FLASK_DEBUG=1 DATABASE_URL=sqlite:///$OUT/demo.db PUBLIC_BASE_URL=http://127.0.0.1:$PORT
rm -f "$OUT/demo.db"
F=".venv/bin/flask --app wsgi"
$F db upgrade >/dev/null 2>&1
$F feedback demo > "$OUT/demo.txt"
[ -x "$LH/node_modules/.bin/lighthouse" ] || (cd "$LH" && npm i -E --silent lighthouse@12.2.3)
cp docs/proof-18/lighthouse.mjs "$LH/"
LINK=$(.venv/bin/python - "$OUT/demo.db" <<'PY'
import re, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT o.body_text FROM outbox_messages o JOIN feedback_requests r ON r.id = o.request_id "
    "WHERE r.audience = 'candidate' AND r.answered_at IS NULL AND o.kind = 'invitation' "
    "AND o.body_text IS NOT NULL LIMIT 1").fetchall()
print(re.search(r"http://127\.0\.0\.1:\d+/f/[A-Za-z0-9_.\-]+", rows[0][0]).group(0))
PY
)
$F run --port $PORT > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 3
CHROME_PATH=/usr/bin/chromium node "$LH/lighthouse.mjs" "$LINK" "$OUT"
