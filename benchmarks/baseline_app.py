"""The bare baselines the real pages are compared with: no app factory, no blueprints, no login.

    BENCH_BASELINE_DB_URL=... BENCH_APP_DB_URL=... gunicorn -w 2 -k sync benchmarks.baseline_app:app

- ``GET /form``: a WTForms form of 10 radio questions and a textarea, rendered by Jinja.
- ``POST /submit``: validates a 10-field form and inserts one row into a one-table database
  (``BENCH_BASELINE_DB_URL``: a SQLite file or PostgreSQL schema of its own).
- ``GET /first-row``: the bare page of the first row of the app's ``responses`` table
  (``BENCH_APP_DB_URL``, the same database the real dashboard reads).
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, abort, render_template, request
from jinja2 import DictLoader
from wtforms import Form, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from benchmarks.common import baseline_table_name, sqlite_pragmas

LIKERT = [(str(value), label) for value, label in enumerate(
    ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"], start=1)]
QUESTIONS = [f"q{number}" for number in range(1, 11)]

TEMPLATES = {
    "form.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Survey</title></head>
<body><main><h1>How did the hiring process feel?</h1>
<form method="post" action="/submit">
{% for field in form %}
  <fieldset><legend>{{ field.label.text }}</legend>{{ field() }}
  {% for error in field.errors %}<p class="error">{{ error }}</p>{% endfor %}</fieldset>
{% endfor %}
<button type="submit">Send</button>
</form></main></body></html>""",
    "thanks.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thanks</title></head>
<body><main><h1>Thank you</h1><p>Answer {{ row_id }} stored.</p></main></body></html>""",
    "row.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>First row</title></head>
<body><main><h1>Response {{ row.id }}</h1>
<table>{% for key, value in row._mapping.items() %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}</table>
</main></body></html>""",
}


# 10 radio questions and a textarea (GET).
SurveyForm = type("SurveyForm", (Form,), {
    **{name: RadioField(f"Statement {name[1:]}", choices=LIKERT, validators=[Optional()]) for name in QUESTIONS},
    "improve": TextAreaField("What could be done better?", validators=[Optional(), Length(max=2000)]),
})
# 10 required fields, validated on POST.
SubmitForm = type("SubmitForm", (Form,), {
    name: RadioField(name, choices=LIKERT, validators=[InputRequired()]) for name in QUESTIONS
})


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    sqlite_pragmas(engine)
    return engine


def submissions_table(url: str, metadata: sa.MetaData) -> sa.Table:
    """The baseline's one table: 10 integers per submitted form."""
    return sa.Table(
        baseline_table_name(url, "submissions").split(".")[-1],
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        *(sa.Column(name, sa.Integer, nullable=False) for name in QUESTIONS),
        schema="bench_baseline" if url.startswith("postgresql") else None,
    )


def create_tables(url: str) -> None:
    """Called by the harness once before the workers start (never at import)."""
    engine = _engine(url)
    metadata = sa.MetaData()
    submissions_table(url, metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()


BASELINE_URL = os.environ.get("BENCH_BASELINE_DB_URL", "sqlite:///baseline.db")
APP_URL = os.environ.get("BENCH_APP_DB_URL", BASELINE_URL)
baseline_engine = _engine(BASELINE_URL)
app_engine = baseline_engine if APP_URL == BASELINE_URL else _engine(APP_URL)
submissions = submissions_table(BASELINE_URL, sa.MetaData())

app = Flask(__name__)
app.jinja_loader = DictLoader(TEMPLATES)


@app.get("/form")
def form():
    return render_template("form.html", form=SurveyForm())


@app.post("/submit")
def submit():
    submitted = SubmitForm(request.form)
    if not submitted.validate():
        return render_template("form.html", form=submitted), 400
    with baseline_engine.begin() as conn:
        row_id = conn.execute(
            submissions.insert().values({name: int(submitted[name].data) for name in QUESTIONS})
        ).inserted_primary_key[0]
    return render_template("thanks.html", row_id=row_id)


@app.get("/first-row")
def first_row():
    with app_engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT id, company_id, audience, stage, outcome, submitted_at FROM responses ORDER BY id LIMIT 1"
        )).first()
    if row is None:
        abort(404)
    return render_template("row.html", row=row)
