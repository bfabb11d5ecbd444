"""The import baseline, run as its own process: parse the CSV with ``csv``, check both addresses
with email-validator, insert one row per line with Core executemany (chunks of 1,000), one transaction.

    python -m benchmarks.baseline_import DATABASE_URL PATH
"""
from __future__ import annotations

import csv
import sys

import sqlalchemy as sa
from email_validator import validate_email

from .common import baseline_table_name, sqlite_pragmas

COLUMNS = ("candidate_name", "candidate_email", "company", "company_contact_email", "position", "stage",
           "outcome", "decided_on", "application_ref")


def table_for(url: str) -> sa.Table:
    name = baseline_table_name(url, "outcomes")
    schema, _, bare = name.rpartition(".")
    return sa.Table(bare, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    *(sa.Column(column, sa.String(320)) for column in COLUMNS), schema=schema or None)


def main(url: str, path: str) -> int:
    engine = sa.create_engine(url)
    sqlite_pragmas(engine)
    table = table_for(url)
    table.metadata.create_all(engine)
    count = 0
    with open(path, encoding="utf-8-sig", newline="") as stream, engine.begin() as conn:
        chunk: list[dict] = []
        for record in csv.DictReader(stream):
            record["candidate_email"] = validate_email(record["candidate_email"], check_deliverability=False).normalized
            if record.get("company_contact_email"):
                record["company_contact_email"] = validate_email(
                    record["company_contact_email"], check_deliverability=False).normalized
            chunk.append(record)
            if len(chunk) >= 1000:
                conn.execute(table.insert(), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            conn.execute(table.insert(), chunk)
            count += len(chunk)
    print(f"rows: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
