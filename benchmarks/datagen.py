"""Fast synthetic data with bulk inserts (no ORM objects): up to 1,000,000 answer rows.

Companies, positions, candidates, applications, feedback requests, responses and answers, with
explicit ids (continuing after whatever the tables already hold), inserted in chunks with
``connection.execute(table.insert(), list_of_dicts)`` (COPY on PostgreSQL). The survey and question ids are the real
ones stored by ``ensure_builtin_surveys()``.

    python -m benchmarks.datagen --database-url sqlite:////tmp/x.db --answers 100000   (empties it first)
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from .common import COMPANY_LOGIN, COMPANY_PASSWORD

CHUNK = 10_000
STAGES = ("application", "screen", "interview", "final", "offer")
STAGE_WEIGHTS = (0.25, 0.25, 0.3, 0.15, 0.05)
OUTCOMES = ("rejected", "withdrew", "offer_declined")
OUTCOME_WEIGHTS = (0.7, 0.2, 0.1)
POSITION_TITLES = ("Backend Engineer", "QA Engineer", "Product Designer", "Data Analyst", "Sales Manager",
                   "Support Specialist", "DevOps Engineer", "Recruiter")
CANDIDATE_ANSWER_SHARE = 0.6
COMPANY_ANSWER_SHARE = 0.5
IMPROVE_TEXTS = (
    "Tell candidates earlier when the process will take longer than announced.",
    "The take-home task was far longer than the two hours it was said to need.",
    "Interviewers had not read my CV; the first ten minutes were spent on basics.",
    "Clearer salary range up front would have saved both of us time.",
    "Everything was well organised, thank you.",
)
STRENGTHEN_TEXTS = (
    "Practise system design for services with a few thousand requests per second.",
    "Show concrete examples of projects you led end to end.",
)
DECLINE_CODES = ("compensation", "other_offer", "role_mismatch", "process_length", "location")
REASON_CODES = ("technical_skills", "experience", "communication", "stronger_match", "role_changed")


def company_name(number: int) -> str:
    return f"Bench Company {number:03d}"


@dataclass
class Ids:
    """The next free id per table."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class DataGen:
    """Generates data into the app's database; ``app`` is a created feedback app."""

    TABLES = ("companies", "positions", "candidates", "applications", "feedback_requests", "responses", "answers",
              "outbox_messages")

    def __init__(self, app, companies: int = 100, seed: int = 7) -> None:
        self.app = app
        self.n_companies = companies
        self.random = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        with app.app_context():
            from feedback.extensions import db

            self.db = db
            self.engine = db.engine
            self.metadata = db.metadata
        self.tables = {name: self.metadata.tables[name] for name in self.TABLES}
        self.surveys: dict[str, int] = {}
        self.questions: dict[str, dict[str, int]] = {}
        self.company_ids: list[int] = []
        # The measured company (the first) gets twice the average share, so that it has more than
        # FEEDBACK_MIN_RESPONSES responses (figures shown) from the smallest data level on.
        self.company_pool: list[int] = []
        self.positions: dict[int, list[int]] = {}

    # -- set-up -------------------------------------------------------------------------------------

    def seed_base(self) -> dict:
        """Surveys (the real ones), companies, positions and a company login for the first company."""
        from feedback.models import Company
        from feedback.services.accounts import create_user
        from feedback.services.surveys import ensure_builtin_surveys

        with self.app.app_context():
            surveys = ensure_builtin_surveys()
            self.db.session.commit()
            for key, survey in surveys.items():
                self.surveys[key] = survey.id
                self.questions[key] = {q.key: q.id for q in survey.questions}
            ids = self._ids()
            companies, positions = [], []
            for number in range(1, self.n_companies + 1):
                company_id = ids.take("companies")
                companies.append({"id": company_id, "name": company_name(number), "created_at": self.now})
                for title in self.random.sample(POSITION_TITLES, 5):
                    position_id = ids.take("positions")
                    positions.append({"id": position_id, "company_id": company_id, "title": title})
                    self.positions.setdefault(company_id, []).append(position_id)
                self.company_ids.append(company_id)
            self.company_pool = [self.company_ids[0], *self.company_ids]
            with self.engine.begin() as conn:
                self._insert(conn, "companies", companies)
                self._insert(conn, "positions", positions)
                self._fix_sequences(conn)
            first = self.db.session.get(Company, self.company_ids[0])
            create_user(COMPANY_LOGIN, COMPANY_PASSWORD, "company", [first])
            self.db.session.commit()
        return {"company_id": self.company_ids[0], "company_name": company_name(1)}

    def attach(self) -> None:
        """Work on a database seeded earlier (for profiling by hand): read its surveys, companies, positions."""
        from feedback.services.surveys import ensure_builtin_surveys

        with self.app.app_context():
            for key, survey in ensure_builtin_surveys().items():
                self.surveys[key] = survey.id
                self.questions[key] = {q.key: q.id for q in survey.questions}
            self.db.session.rollback()
        with self.engine.connect() as conn:
            names = dict(conn.execute(sa.text("SELECT name, id FROM companies")).all())
            self.company_ids = [names[company_name(n)] for n in range(1, self.n_companies + 1)
                                if company_name(n) in names]
            for company_id, position_id in conn.execute(sa.text("SELECT company_id, id FROM positions ORDER BY id")):
                if company_id in self.company_ids:
                    self.positions.setdefault(company_id, []).append(position_id)
        self.company_pool = [self.company_ids[0], *self.company_ids]

    # -- growth -------------------------------------------------------------------------------------

    def answer_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM answers"))

    def grow_answers(self, target: int) -> dict:
        """Add answered (and unanswered) requests until the answers table holds ``target`` rows."""
        started = time.perf_counter()
        have = self.answer_count()
        ids = self._ids()
        added = dict.fromkeys(("candidates", "applications", "feedback_requests", "responses", "answers"), 0)
        while have < target:
            batch = self._application_batch(ids, min(5000, max(50, (target - have) // 6)))
            rows = batch["answers"]
            if have + len(rows) > target:  # trim the last batch's answers to land on the target
                rows = rows[: target - have]
                keep = {row["response_id"] for row in rows}
                batch["answers"] = rows
                batch["responses"] = [r for r in batch["responses"] if r["id"] in keep]
                answered = {r["request_id"] for r in batch["responses"]}
                for request in batch["feedback_requests"]:
                    if request["answered_at"] is not None and request["id"] not in answered:
                        request["answered_at"] = None
            with self.engine.begin() as conn:
                for name in ("candidates", "applications", "feedback_requests", "responses", "answers"):
                    self._insert(conn, name, batch[name])
                    added[name] += len(batch[name])
            have += len(batch["answers"])
        with self.engine.begin() as conn:
            self._fix_sequences(conn)
        with self.app.app_context():
            from feedback.services.responses import rebuild_answer_tallies

            rebuild_answer_tallies()  # what the app keeps up to date answer by answer
            self.db.session.commit()
        self.analyze()
        return {"answers": have, "added": added, "seconds": time.perf_counter() - started}

    def _application_batch(self, ids: Ids, count: int) -> dict[str, list[dict]]:
        rnd = self.random
        out: dict[str, list[dict]] = {k: [] for k in ("candidates", "applications", "feedback_requests",
                                                       "responses", "answers")}
        for _ in range(count):
            application, candidate = self._application(ids)
            out["candidates"].append(candidate)
            out["applications"].append(application)
            submitted = self.now - timedelta(seconds=rnd.randrange(1, 360 * 86400))
            audiences = [("candidate", CANDIDATE_ANSWER_SHARE, candidate["email"])]
            if application["outcome"] == "rejected":
                audiences.append(("company", COMPANY_ANSWER_SHARE, application["contact_email"]))
            for audience, share, email in audiences:
                survey_key = "candidate_experience" if audience == "candidate" else "candidate_feedback"
                answered = rnd.random() < share
                request_id = ids.take("feedback_requests")
                issued = submitted - timedelta(days=2)
                out["feedback_requests"].append({
                    "id": request_id, "application_id": application["id"], "company_id": application["company_id"],
                    "survey_id": self.surveys[survey_key],
                    "audience": audience, "recipient_email": email, "created_at": issued,
                    "link_issued_at": issued, "first_sent_at": issued, "answered_at": submitted if answered else None,
                    "cancelled_at": None, "reminded_day_mark": 0,
                })
                if not answered:
                    continue
                response_id = ids.take("responses")
                out["responses"].append({
                    "id": response_id, "request_id": request_id, "survey_id": self.surveys[survey_key],
                    "audience": audience, "company_id": application["company_id"],
                    "position_id": application["position_id"], "stage": application["stage"],
                    "outcome": application["outcome"], "submitted_at": submitted,
                })
                make = self._candidate_answers if audience == "candidate" else self._company_answers
                for question, number, text in make(application):
                    out["answers"].append({"id": ids.take("answers"), "response_id": response_id,
                                           "question_id": question, "number": number, "text": text,
                                           "company_id": application["company_id"], "audience": audience,
                                           "stage": application["stage"]})
        return out

    def _application(self, ids: Ids, company_id: int | None = None, outcome: str | None = None,
                     stage: str | None = None) -> tuple[dict, dict]:
        rnd = self.random
        company_id = company_id or rnd.choice(self.company_pool or self.company_ids)
        candidate_id = ids.take("candidates")
        application_id = ids.take("applications")
        outcome = outcome or rnd.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        candidate = {"id": candidate_id, "email": f"c{candidate_id}@candidates.example.org",
                     "name": f"Candidate {candidate_id}", "created_at": self.now}
        application = {
            "id": application_id, "company_id": company_id, "position_id": rnd.choice(self.positions[company_id]),
            "candidate_id": candidate_id, "import_batch_id": None,
            "stage": stage or rnd.choices(STAGES, STAGE_WEIGHTS)[0], "outcome": outcome,
            "decided_on": date.today() - timedelta(days=rnd.randrange(3, 365)),
            "application_ref": f"GEN-{application_id}" if application_id % 2 else None,
            "contact_email": f"hiring{company_id % 7}@company{company_id}.example.com" if outcome == "rejected" else None,
            "created_at": self.now,
        }
        return application, candidate

    def _candidate_answers(self, application: dict) -> list[tuple[int, int | None, str | None]]:
        rnd, q = self.random, self.questions["candidate_experience"]
        rows = [(q["nps"], rnd.choices(range(11), (1, 1, 1, 2, 2, 4, 5, 7, 9, 8, 6))[0], None)]
        for key in ("communication", "timeliness", "role_clarity", "interviewer_preparation", "fairness", "respect"):
            if key == "interviewer_preparation" and application["stage"] in ("application", "screen") \
                    and rnd.random() < 0.5:
                rows.append((q[key], None, "not_applicable"))
            else:
                rows.append((q[key], rnd.choices((1, 2, 3, 4, 5), (1, 2, 3, 4, 3))[0], None))
        if application["outcome"] != "rejected":
            for code in rnd.sample(DECLINE_CODES, rnd.choice((1, 1, 2))):
                rows.append((q["decline_reasons"], None, code))
        if rnd.random() < 0.3:
            rows.append((q["improve"], None, rnd.choice(IMPROVE_TEXTS)))
        return rows

    def _company_answers(self, _application: dict) -> list[tuple[int, int | None, str | None]]:
        rnd, q = self.random, self.questions["candidate_feedback"]
        rows = [(q["reasons"], None, code) for code in rnd.sample(REASON_CODES, rnd.choice((1, 1, 2)))]
        for key in ("technical_skills", "relevant_experience", "communication_skills", "problem_solving"):
            rows.append((q[key], rnd.randint(1, 4), None))
        if rnd.random() < 0.2:
            rows.append((q["strengthen"], None, rnd.choice(STRENGTHEN_TEXTS)))
        yes = rnd.random() < 0.4
        rows.append((q["reconsider"], 1 if yes else 0, "yes" if yes else "no"))
        return rows

    # -- live links and queued mail -----------------------------------------------------------------

    def live_requests(self, count: int, outcome: str = "withdrew", stage: str = "interview") -> list[int]:
        """Unanswered candidate requests whose link was issued a minute ago (live): their ids."""
        ids = self._ids()
        issued = self.now - timedelta(minutes=1)
        candidates, applications, requests = [], [], []
        for _ in range(count):
            application, candidate = self._application(ids, outcome=outcome, stage=stage)
            candidates.append(candidate)
            applications.append(application)
            requests.append({
                "id": ids.take("feedback_requests"), "application_id": application["id"],
                "company_id": application["company_id"],
                "survey_id": self.surveys["candidate_experience"], "audience": "candidate",
                "recipient_email": candidate["email"], "created_at": issued, "link_issued_at": issued,
                "first_sent_at": issued, "answered_at": None, "cancelled_at": None, "reminded_day_mark": 0,
            })
        with self.engine.begin() as conn:
            self._insert(conn, "candidates", candidates)
            self._insert(conn, "applications", applications)
            self._insert(conn, "feedback_requests", requests)
            self._fix_sequences(conn)
        return [request["id"] for request in requests]

    def queued_invitations(self, count: int) -> int:
        """``count`` candidate invitations waiting in the outbox (one e-mail each)."""
        ids = self._ids()
        candidates, applications, requests, messages = [], [], [], []
        past = self.now - timedelta(minutes=5)
        for _ in range(count):
            application, candidate = self._application(ids)
            candidates.append(candidate)
            applications.append(application)
            request_id = ids.take("feedback_requests")
            requests.append({
                "id": request_id, "application_id": application["id"], "company_id": application["company_id"],
                "survey_id": self.surveys["candidate_experience"], "audience": "candidate",
                "recipient_email": candidate["email"], "created_at": past, "link_issued_at": None,
                "first_sent_at": None, "answered_at": None, "cancelled_at": None, "reminded_day_mark": 0,
            })
            messages.append({
                "id": ids.take("outbox_messages"), "kind": "invitation", "request_id": request_id,
                "candidate_id": None, "to_address": candidate["email"], "status": "queued", "attempts": 0,
                "next_attempt_at": past, "claimed_until": None, "last_error": None, "created_at": past,
                "sent_at": None, "subject": None, "body_text": None, "body_html": None,
            })
        with self.engine.begin() as conn:
            for name, rows in (("candidates", candidates), ("applications", applications),
                               ("feedback_requests", requests), ("outbox_messages", messages)):
                self._insert(conn, name, rows)
            self._fix_sequences(conn)
        return len(messages)

    def link_tokens(self, request_ids: list[int]) -> list[str]:
        from feedback.tokens import feedback_link_token

        with self.app.app_context():
            return [feedback_link_token(request_id) for request_id in request_ids]

    # -- helpers ------------------------------------------------------------------------------------

    def _ids(self) -> Ids:
        with self.engine.connect() as conn:
            return Ids({name: (conn.scalar(sa.text(f"SELECT max(id) FROM {name}")) or 0) + 1 for name in self.TABLES})

    def _insert(self, conn: sa.Connection, name: str, rows: list[dict]) -> None:
        table = self.tables[name]
        if not rows:
            return
        if self.engine.dialect.name == "postgresql":
            # PostgreSQL's bulk path: COPY (executemany is ~5x slower here and dominated the run).
            columns = list(rows[0])
            # Like pg_restore: the generated rows are consistent by construction, so skip the
            # per-row foreign-key triggers for this transaction (the constraints stay in place).
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            # psycopg's COPY, on the pooled DBAPI connection inside the Connection's transaction.
            with conn.connection.cursor() as cursor, \
                    cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
            return
        for start in range(0, len(rows), CHUNK):
            conn.execute(table.insert(), rows[start:start + CHUNK])

    def _fix_sequences(self, conn: sa.Connection) -> None:
        """PostgreSQL: explicit ids leave the serial sequences behind; move them past the rows."""
        if self.engine.dialect.name != "postgresql":
            return
        for name in self.TABLES:
            conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
            ))

    def analyze(self) -> None:
        """What autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would have done by now:
        the planner's statistics (and PostgreSQL's visibility map)."""
        if self.engine.dialect.name != "postgresql":
            with self.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def main() -> None:
    from .common import create_bench_app, migrate, reset_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=100)
    args = parser.parse_args()
    reset_database(args.database_url)  # always from empty: the migrations, then the data
    migrate(args.database_url)
    gen = DataGen(create_bench_app(args.database_url), companies=args.companies)
    print(gen.seed_base())
    print(gen.grow_answers(args.answers))


if __name__ == "__main__":
    main()
