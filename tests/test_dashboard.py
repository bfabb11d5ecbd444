"""The company dashboard and its CSV exports: the response threshold under every filter, the
benchmark, escaping of free text, and formula neutralisation.

Answers are given through the real survey form. Browsers talk to ``web``, a second app on the
test database, so that each request has an app context of its own (as in production) instead of
sharing the ``app`` fixture's.
"""
from __future__ import annotations

import csv
import html
import io
import itertools
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from conftest import ADMIN, csrf_token, links_in, outcome_row, store_unchecked_name
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback import month_label
from feedback.exports import csv_response, spreadsheet_safe, spreadsheet_value
from feedback.extensions import db
from feedback.models import STAGE_LABELS, STAGES, Company, Position

COMPANY = "Acme Robotics"
SCRIPT = "<script>alert(1)</script>"
TEMPLATE = "{{7*7}}"
FORMULA = '=HYPERLINK("http://evil.example")'
WITHHELD = "Withheld to protect candidates"  # the page's line for a group under the threshold
EXPORT_WITHHELD = "withheld: fewer than 5 responses"  # the export's status column
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# One candidate each: (stage, position, nps, communication, improve). Answered in this order.
CANDIDATES = [
    ("interview", "QA Engineer", 10, 5, SCRIPT),
    ("interview", "QA Engineer", 9, 4, TEMPLATE),
    ("screen", "QA Engineer", 6, 2, None),
    ("final", "Data Analyst", 8, 3, FORMULA),
    ("screen", "QA Engineer", 7, 4, None),
]
FIGURES_AT_4 = ("+25", "3.50")  # NPS (2 promoters - 1 detractor) / 4; mean communication 14 / 4
NPS_AT_5, COMMUNICATION_AT_5 = 20.0, 3.6  # (2 - 1) / 5; 18 / 5


# --- helpers ----------------------------------------------------------------------------------

def import_and_send(import_csv, runner, rows: list[dict]) -> None:
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output


def answer(browser, smtp_server, address: str, **fields) -> None:
    """Answer the candidate survey mailed to ``address`` through the form."""
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    (path,) = links_in(message)
    page = browser.get(path)
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.text)}
    data.update({key: str(value) for key, value in fields.items() if value is not None})
    answered = browser.post(path, data=data, follow_redirects=True)
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text


def candidate_address(number: int, company: str = COMPANY) -> str:
    return f"{company.lower().replace(' ', '-')}-{number}@example.org"


def import_candidates(import_csv, runner) -> None:
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=candidate_address(i), stage=stage,
                        position=position, outcome="withdrew", company_contact_email="", application_ref=f"C-{i}")
            for i, (stage, position, *_rest) in enumerate(CANDIDATES)]
    import_and_send(import_csv, runner, rows)


def answer_candidate(browser, smtp_server, number: int) -> None:
    _stage, _position, nps, communication, improve = CANDIDATES[number]
    answer(browser, smtp_server, candidate_address(number), nps=nps, communication=communication, improve=improve)


def company_id(name: str = COMPANY) -> int:
    return db.session.scalar(sa.select(Company.id).where(Company.name == name))


def position_ids(name: str = COMPANY) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(Position.title, Position.id).where(Position.company_id == company_id(name))).all())


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def section(page: str, heading: str) -> str:
    """The HTML of the <section> whose <h2> is ``heading``."""
    match = re.search(rf"<h2>{re.escape(heading)}</h2>(.*?)</section>", page, re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def nps_card(page: str) -> str:
    match = re.search(r"<h2>Candidate NPS</h2>(.*?)</div>", page, re.S)
    assert match
    return match.group(1)


def comment_items(page: str) -> list[str]:
    match = re.search(r'<ul class="comments">(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1), re.S) if match else []


def question_rows(page: str) -> dict[str, list[str]]:
    """The "Each question" table: {label: [mean, n, benchmark]}."""
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*'
                      r'<td class="bar-cell">', section(page, "Each question"))
    return {html.unescape(label): [mean, n, benchmark] for label, mean, n, benchmark in rows}


def assert_page_withheld(page: str, label: str) -> None:
    assert "Not enough responses yet" in page, label
    assert not re.search(r"\d", nps_card(page)), label
    for heading in ("Where you fell short", "Each question", "By stage", "By position", "Month by month",
                    "What candidates said you could do better"):
        assert f"<h2>{heading}</h2>" not in page, (label, heading)
    for figure in FIGURES_AT_4:
        assert figure not in page, (label, figure)
    assert comment_items(page) == [], label
    for text in ("&lt;script&gt;", TEMPLATE, "HYPERLINK"):
        assert text not in page, (label, text)


def assert_exports_withheld(browser, cid: int, query: dict, label: str) -> None:
    rows = read_csv(browser.get(f"/companies/{cid}/export/aggregate.csv", query_string=query))
    assert rows[0] == ["breakdown", "group", "measure", "n", "value", "benchmark", "status"]
    body = rows[1:]
    assert [row[2] for row in body] == ["responses", "nps"], label
    assert body[1][4] == "" and body[1][6] == EXPORT_WITHHELD, label
    assert all(row[5] == "" for row in body), label
    assert body[0][4] == "" and body[1][3] == "", label
    comments = read_csv(browser.get(f"/companies/{cid}/export/comments.csv", query_string=query))
    assert comments == [["comment"]], label


# --- the threshold ----------------------------------------------------------------------------

def test_four_responses_show_no_figure_under_any_filter_and_the_fifth_shows_them(web, import_csv, runner, smtp_server,
                                                                                 admin_client):
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(4):
        answer_candidate(browser, smtp_server, number)
    admin = admin_client
    cid = company_id()
    positions = position_ids()

    month = this_month()
    months = [{}, {"from": month, "to": month}, {"from": "2020-01", "to": "2020-12"}, {"from": month}]
    stage_filters = [{}] + [{"stage": stage} for stage in STAGES]
    position_filters = [{}] + [{"position": str(pid)} for pid in positions.values()]
    combinations = 0
    for stage, position, period in itertools.product(stage_filters, position_filters, months):
        query = {**stage, **position, **period}
        page = admin.get(f"/companies/{cid}/dashboard", query_string=query)
        assert page.status_code == 200
        assert_page_withheld(page.text, str(query))
        assert_exports_withheld(admin, cid, query, str(query))
        combinations += 1
    assert combinations == (len(STAGES) + 1) * (len(positions) + 1) * len(months) == 6 * 3 * 4
    unfiltered = admin.get(f"/companies/{cid}/dashboard").text
    assert "4 responses." in unfiltered

    answer_candidate(browser, smtp_server, 4)
    page = admin.get(f"/companies/{cid}/dashboard").text
    assert "Not enough responses yet" not in page
    assert "+20" in nps_card(page)
    assert "5 answers" in nps_card(page)
    assert question_rows(page)["Kept informed"][:2] == ["3.60", "5"]
    assert "<h2>Where you fell short</h2>" in page

    rows = read_csv(admin.get(f"/companies/{cid}/export/aggregate.csv"))
    overall = {row[2]: row for row in rows[1:] if row[0] == "overall"}
    assert overall["responses"][3] == "5"
    assert float(overall["nps"][4]) == pytest.approx(NPS_AT_5)
    assert overall["nps"][3] == "5"
    assert float(overall["Kept informed"][4]) == pytest.approx(COMMUNICATION_AT_5)
    comments = read_csv(admin.get(f"/companies/{cid}/export/comments.csv"))
    assert len(comments) == 1 + 3


def _chart_rects(svg: str) -> list[tuple[float, float, str]]:
    return [(float(x), float(width), fill) for x, width, fill in
            re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill="(#\w+)"', svg)]


def test_the_charts_are_mirrored_on_a_right_to_left_page(web, import_csv, runner, smtp_server, admin_client):
    """In Arabic the scale of a question's bar starts at the right and the months run leftward."""
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    url = f"/companies/{company_id()}/dashboard"
    charts = {}
    for tag in ("en", "ar"):
        page = admin_client.get(url, query_string={"lang": tag}).text
        assert f'dir="{"rtl" if tag == "ar" else "ltr"}"' in page
        bar = re.search(r'<svg class="bar".*?</svg>', page, re.S).group(0)
        month = re.search(r'<svg class="chart"[^>]*month-chart.*?</svg>', page, re.S).group(0)
        charts[tag] = (_chart_rects(bar), _chart_rects(month), month)
    (en_bar, en_month, en_svg), (ar_bar, ar_month, ar_svg) = charts["en"], charts["ar"]
    assert [fill for *_, fill in en_bar] == [fill for *_, fill in ar_bar] and len(en_bar) >= 2
    for (x, width, _), (mirrored_x, same_width, _) in zip(en_bar, ar_bar, strict=True):
        assert same_width == width and mirrored_x == pytest.approx(100 - x - width, abs=0.002)
    assert en_bar[0][0] == 0 and ar_bar[0][0] + ar_bar[0][1] == pytest.approx(100, abs=0.002)
    wide = float(re.search(r'viewBox="0 0 (\d+) 130"', en_svg).group(1))
    ((en_x, en_width, _),), ((ar_x, ar_width, _),) = en_month, ar_month  # one month, one bar
    assert en_x == 40 and ar_x == wide - 40 - en_width and ar_width == en_width
    # The axis labels stand on the side the reading starts from; no text is flipped.
    assert '<text x="12" y="68"' in en_svg and f'<text x="{int(wide - 12)}" y="68"' in ar_svg
    assert "scale(-1" not in ar_svg and "transform" not in ar_svg


def test_groups_under_the_threshold_are_withheld_once_the_whole_is_shown(web, import_csv, runner, smtp_server,
                                                                         admin_client):
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    admin = admin_client
    cid = company_id()
    positions = position_ids()

    page = admin.get(f"/companies/{cid}/dashboard").text
    # stages: interview 2, screen 2, final 1; positions: QA Engineer 4, Data Analyst 1
    by_stage = section(page, "By stage")
    assert by_stage.count(WITHHELD) == 3
    assert not re.search(r"<td>[+-]\d+</td>", by_stage)
    by_position = section(page, "By position")
    assert by_position.count(WITHHELD) == 2
    assert "QA Engineer" in by_position and "Data Analyst" in by_position
    by_month = section(page, "Month by month")  # one month holding all five
    assert WITHHELD not in by_month
    assert "<td>+20</td>" in by_month

    for query, count in (({"stage": "interview"}, 2), ({"stage": "screen"}, 2),
                         ({"position": str(positions["QA Engineer"])}, 4),
                         ({"position": str(positions["QA Engineer"]), "stage": "screen"}, 2),
                         ({"from": "2020-01", "to": "2020-12"}, 0)):
        filtered = admin.get(f"/companies/{cid}/dashboard", query_string=query).text
        assert "Not enough responses yet" in filtered, query
        assert f"{count} response{'' if count == 1 else 's'} match these filters" in filtered, query
        assert not re.search(r"\d", nps_card(filtered)), query
        assert "<h2>Each question</h2>" not in filtered and comment_items(filtered) == [], query
        assert_exports_withheld(admin, cid, query, str(query))

    month = this_month()
    shown = admin.get(f"/companies/{cid}/dashboard", query_string={"from": month, "to": month}).text
    assert "+20" in nps_card(shown)

    rows = read_csv(admin.get(f"/companies/{cid}/export/aggregate.csv"))
    groups = {(row[0], row[1], row[2]): row for row in rows[1:]}
    for stage in ("interview", "screen", "final"):
        label = STAGE_LABELS[stage]
        assert groups[("stage", label, "responses")][3] in ("1", "2")
        for measure in ("nps", "score"):
            assert groups[("stage", label, measure)][4] == ""
            assert groups[("stage", label, measure)][6] == EXPORT_WITHHELD
    for title in ("QA Engineer", "Data Analyst"):
        assert groups[("position", title, "nps")][6] == EXPORT_WITHHELD
    assert float(groups[("month", month_label(month), "nps")][4]) == pytest.approx(NPS_AT_5)
    assert groups[("month", month_label(month), "nps")][6] == "shown"


def test_csv_exports_are_attachments(web, import_csv, runner, smtp_server, admin_client):
    import_candidates(import_csv, runner)
    admin = admin_client
    cid = company_id()
    for what in ("aggregate", "comments"):
        response = admin.get(f"/companies/{cid}/export/{what}.csv")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert response.headers["Content-Disposition"] == f'attachment; filename="acme-robotics-{what}.csv"'
        assert response.headers["Cache-Control"] == "no-store"


# --- the benchmark ----------------------------------------------------------------------------

OTHERS = {  # communication answers of each other company's candidates
    "Other One": [5, 5, 5, 5, 5],
    "Other Two": [4, 4, 4, 4, 4],
    "Other Three": [5, 4, 3, 5, 4],
}
BENCHMARK = (25 + 20 + 21) / 15


def test_benchmark_needs_three_other_companies_with_enough_responses(web, import_csv, runner, smtp_server,
                                                                     admin_client):
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=candidate_address(i), stage=stage,
                        position=position, outcome="withdrew", company_contact_email="", application_ref=f"C-{i}")
            for i, (stage, position, *_rest) in enumerate(CANDIDATES)]
    for name, answers in OTHERS.items():
        rows += [outcome_row(candidate_email=candidate_address(i, name), company=name, outcome="withdrew",
                             company_contact_email="", application_ref=f"{name}-{i}") for i in range(len(answers))]
    import_and_send(import_csv, runner, rows)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    for name, answers in OTHERS.items():
        # the last company stays one response short for now
        for i, communication in enumerate(answers[:-1] if name == "Other Three" else answers):
            answer(browser, smtp_server, candidate_address(i, name), nps=10, communication=communication)
    admin = admin_client
    cid = company_id()

    # two other companies with 5 responses, a third with 4: no benchmark
    page = admin.get(f"/companies/{cid}/dashboard").text
    assert "A platform benchmark appears once at least three other companies" in page
    assert all(benchmark == "–" for _mean, _n, benchmark in question_rows(page).values())
    assert "below the benchmark" not in page
    rows = read_csv(admin.get(f"/companies/{cid}/export/aggregate.csv"))
    assert all(row[5] == "" for row in rows[1:])

    answer(browser, smtp_server, candidate_address(4, "Other Three"), nps=10, communication=OTHERS["Other Three"][4])
    # Answers at other companies never make a page work the benchmark out again: it is kept for
    # BENCHMARK_SECONDS, then the page shows the new one.
    assert "A platform benchmark appears once" in admin.get(f"/companies/{cid}/dashboard").text
    past_keeping_time(web)
    page = admin.get(f"/companies/{cid}/dashboard").text
    assert "The questions furthest below the platform benchmark" in page
    assert question_rows(page)["Kept informed"] == ["3.60", "5", f"{BENCHMARK:.2f}"]
    shortfalls = section(page, "Where you fell short")
    assert f"below the benchmark ({BENCHMARK:.2f})" in shortfalls
    assert f"{BENCHMARK - COMMUNICATION_AT_5:.2f} below" in shortfalls
    rows = read_csv(admin.get(f"/companies/{cid}/export/aggregate.csv"))
    communication = next(row for row in rows[1:] if row[:3] == ["overall", "all", "Kept informed"])
    assert float(communication[5]) == pytest.approx(BENCHMARK)


def past_keeping_time(web) -> None:
    """As if BENCHMARK_SECONDS had passed: the kept benchmarks are gone from ``web``'s cache."""
    from feedback.extensions import cache
    from feedback.queries.dashboard import BENCHMARK_KEY, PLATFORM_NPS_KEY

    with web.app_context():
        companies = db.session.scalars(sa.select(Company.id)).all()
        for k in (web.config["FEEDBACK_MIN_RESPONSES"],):
            cache.delete_many(*(key.format(company_id=company, k=k) for company in companies
                                for key in (BENCHMARK_KEY, PLATFORM_NPS_KEY)))


# --- free text --------------------------------------------------------------------------------

def test_free_text_is_shown_escaped_and_never_evaluated(web, import_csv, runner, smtp_server, admin_client):
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    page = admin_client.get(f"/companies/{company_id()}/dashboard").text
    items = comment_items(page)
    assert sorted(items) == sorted(["&lt;script&gt;alert(1)&lt;/script&gt;", "{{7*7}}",
                                    "=HYPERLINK(&#34;http://evil.example&#34;)"])
    assert sorted(html.unescape(item) for item in items) == sorted([SCRIPT, TEMPLATE, FORMULA])
    assert SCRIPT not in page
    assert "<li>49</li>" not in page


def test_formula_in_a_comment_is_neutralised_in_the_export(web, import_csv, runner, smtp_server, admin_client):
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    rows = read_csv(admin_client.get(f"/companies/{company_id()}/export/comments.csv"))
    assert rows[0] == ["comment"]
    cells = sorted(row[0] for row in rows[1:])
    assert all(len(row) == 1 for row in rows)
    assert cells == sorted(["'" + FORMULA, SCRIPT, TEMPLATE])
    assert "'=HYPERLINK(\"http://evil.example\")" in cells
    assert sorted(spreadsheet_value(cell) for cell in cells) == sorted([FORMULA, SCRIPT, TEMPLATE])
    assert not any(cell.startswith(TRIGGERS) for row in rows for cell in row)


# --- formula neutralisation as a property ------------------------------------------------------

# Any text, and text that starts with a trigger character (or the quote used to neutralise).
texts = st.one_of(
    st.text(),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from([*TRIGGERS, "'", "''", "'=", "=="]), st.text()),
)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_spreadsheet_safe_never_starts_with_a_trigger_and_round_trips(text):
    cell = spreadsheet_safe(text)
    assert not cell.startswith(TRIGGERS)
    assert spreadsheet_value(cell) == text


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none()))
def test_spreadsheet_safe_leaves_numbers_as_numbers(value):
    """The formula guard is for text: a negative number stays a number, not "'-26.67"."""
    cell = spreadsheet_safe(value)
    if value is None:
        assert cell == ""
    else:
        assert cell == value and type(cell) is type(value)


def test_csv_export_writes_negative_numbers_unprefixed():
    response = csv_response("test.csv", ["group", "nps"], [["=cmd", -26.67], ["all", -3]])
    parsed = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"), newline="")))
    assert parsed[1] == ["'=cmd", "-26.67"]
    assert parsed[2] == ["all", "-3"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(texts, min_size=3, max_size=3), max_size=5))
def test_csv_export_cells_are_inert_and_round_trip(rows):
    response = csv_response("test.csv", ["a", "b", "c"], rows)
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == ["a", "b", "c"]
    assert not any(cell.startswith(TRIGGERS) for row in parsed for cell in row)
    assert [[spreadsheet_value(cell) for cell in row] for row in parsed[1:]] == rows


def test_page_shows_a_sample_of_comments_and_the_export_all_of_them(web, import_csv, runner, smtp_server,
                                                                    admin_client):
    """60 comments: the page shows a random 50 (a new sample each visit), the CSV all 60; an erased
    comment is gone from both at once, although the snapshot's figures stay the same."""
    from feedback.dashboard.views import COMMENTS_SHOWN
    from feedback.services.privacy import erase_person

    total = COMMENTS_SHOWN + 10
    rows = [outcome_row(candidate_name=f"Many {i}", candidate_email=f"many{i}@example.org", stage="interview",
                        outcome="withdrew", company_contact_email="", application_ref=f"MANY-{i}")
            for i in range(total)]
    import_and_send(import_csv, runner, rows)
    browser = web.test_client()
    for i in range(total):
        answer(browser, smtp_server, f"many{i}@example.org", nps=7, communication=3, improve=f"comment number {i}")
    admin = admin_client
    url = f"/companies/{company_id()}/dashboard"
    first = admin.get(url).text
    samples = [comment_items(admin.get(url).text) for _ in range(3)]
    assert all(len(items) == COMMENTS_SHOWN for items in samples)
    assert len({tuple(sorted(items)) for items in samples}) > 1  # a new sample on every visit
    assert f"{COMMENTS_SHOWN} of {total}" in admin.get(url).text
    exported = read_csv(admin.get(f"/companies/{company_id()}/export/comments.csv"))
    assert sorted(row[0] for row in exported[1:]) == sorted(f"comment number {i}" for i in range(total))

    erase_person("many0@example.org")
    db.session.commit()
    exported = read_csv(admin.get(f"/companies/{company_id()}/export/comments.csv"))
    assert len(exported) - 1 == total - 1 and ["comment number 0"] not in exported
    for _ in range(5):
        page = admin.get(url).text
        assert "comment number 0<" not in page
        assert f"{COMMENTS_SHOWN} of {total - 1}" in page
        assert section(page, "Each question") == section(first, "Each question")


def test_snapshot_figures_are_rendered_once_escaped_and_move_with_the_snapshot(web, import_csv, runner, smtp_server,
                                                                               admin_client):
    """The figures of one anonymity snapshot are rendered once and reused: escaped like the rest of
    the page, the same on every visit until k more responses arrive, then worked out anew (a page
    that reuses them runs no GROUP BY). A new position shows in the filter at once."""
    hostile = f"QA {SCRIPT}"
    rows = [outcome_row(candidate_name=f"Snap {i}", candidate_email=f"snap{i}@example.org", stage="interview",
                        position="QA Hostile" if i < 5 else "Data Analyst", outcome="withdrew",
                        company_contact_email="", application_ref=f"SNAP-{i}")
            for i in range(10)]
    import_and_send(import_csv, runner, rows)
    store_unchecked_name("QA Hostile", hostile)  # markup the import now refuses, stored before it did
    browser = web.test_client()
    for i in range(5):
        answer(browser, smtp_server, f"snap{i}@example.org", nps=9, communication=5)
    admin = admin_client
    url = f"/companies/{company_id()}/dashboard"

    first, grouped = page_and_group_bys(web, admin, url)
    assert grouped
    assert SCRIPT not in first and "QA &lt;script&gt;alert(1)&lt;/script&gt;" in section(first, "By position")
    assert question_rows(first)["Kept informed"][:2] == ["5.00", "5"]
    again, grouped = page_and_group_bys(web, admin, url)
    assert not grouped
    assert section(again, "Each question") == section(first, "Each question")
    assert section(again, "By position") == section(first, "By position") and SCRIPT not in again

    for i in range(5, 9):  # 9 responses: still the snapshot of 5
        answer(browser, smtp_server, f"snap{i}@example.org", nps=2, communication=1)
    page, grouped = page_and_group_bys(web, admin, url)
    assert "These figures count 5 of 9 responses" in page and not grouped
    assert section(page, "Each question") == section(first, "Each question")

    answer(browser, smtp_server, "snap9@example.org", nps=2, communication=1)  # 10: the next snapshot
    page, grouped = page_and_group_bys(web, admin, url)
    assert question_rows(page)["Kept informed"][:2] == ["3.00", "10"] and grouped
    assert "Data Analyst" in section(page, "By position") and SCRIPT not in page

    assert "Site Reliability Engineer" not in page
    imported = import_csv([outcome_row(candidate_email="new@example.org", position="Site Reliability Engineer",
                                       application_ref="SNAP-NEW")])
    assert imported.exit_code == 0, imported.output
    assert ">Site Reliability Engineer</option>" in admin.get(url).text


def statements_of(web, visit) -> tuple[object, list[str]]:
    """What ``visit()`` returns, and the SQL statements it ran on ``web``'s database."""
    with web.app_context():
        engine = db.engine
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        return visit(), statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def page_and_group_bys(web, browser, url: str) -> tuple[str, list[str]]:
    """The page's HTML and the GROUP BY statements it ran (figures worked out, not reused)."""
    page, statements = statements_of(web, lambda: browser.get(url))
    assert page.status_code == 200
    return page.text, [statement for statement in statements if "GROUP BY" in statement]


def _candidate_rows(count: int, prefix: str) -> list[dict]:
    return [outcome_row(candidate_name=f"{prefix} {i}", candidate_email=f"{prefix.lower()}{i}@example.org",
                        stage="interview", outcome="withdrew", company_contact_email="",
                        application_ref=f"{prefix.upper()}-{i}") for i in range(count)]


def test_a_response_committed_after_a_higher_id_joins_the_page_with_its_comment(make_app, app, import_csv, runner,
                                                                               smtp_server, make_user, sign_in):
    """On PostgreSQL a response can commit after one with a higher id: the same snapshot cutoff then
    counts one more response, and its comment shows at once (with k = 1, one is enough)."""
    from feedback.models import Answer, FeedbackRequest, Question, Response

    web = make_app(FEEDBACK_MIN_RESPONSES=1)
    import_and_send(import_csv, runner, _candidate_rows(3, "Late"))
    answer(web.test_client(), smtp_server, "late0@example.org", nps=9, communication=4, improve="early comment")
    improve = db.session.scalar(sa.select(Question.id).where(Question.key == "improve"))
    waiting = db.session.scalars(sa.select(FeedbackRequest).where(
        FeedbackRequest.answered_at.is_(None), FeedbackRequest.audience == "candidate").order_by(FeedbackRequest.id)).all()
    first = db.session.scalar(sa.select(Response))
    columns = {name: getattr(first, name)
               for name in ("survey_id", "audience", "company_id", "position_id", "stage", "outcome", "submitted_at")}

    def store(response_id: int, request: FeedbackRequest, text: str) -> None:
        db.session.execute(sa.insert(Response.__table__).values(id=response_id, request_id=request.id, **columns))
        db.session.execute(sa.insert(Answer.__table__).values(
            response_id=response_id, question_id=improve, text=text, company_id=columns["company_id"],
            audience="candidate", stage=columns["stage"]))
        db.session.commit()

    store(first.id + 100, waiting[0], "higher id comment")
    make_user(ADMIN, "admin")
    admin = sign_in(ADMIN, on=web)
    url = f"/companies/{company_id()}/dashboard"
    assert {"early comment", "higher id comment"} <= set(comment_items(admin.get(url).text))
    store(first.id + 50, waiting[1], "late lower id comment")
    assert {"early comment", "higher id comment", "late lower id comment"} == set(comment_items(admin.get(url).text))


def test_an_admin_gets_404_for_a_company_that_does_not_exist(web, import_csv, runner, smtp_server, admin_client):
    import_and_send(import_csv, runner, _candidate_rows(1, "Lone"))
    admin = admin_client
    missing = company_id() + 1000
    for path in (f"/companies/{missing}/dashboard", f"/companies/{missing}/export/aggregate.csv",
                 f"/companies/{missing}/export/comments.csv", "/companies/2147483648/dashboard"):
        assert admin.get(path).status_code == 404, path


def test_a_page_runs_as_many_statements_with_more_answers_and_one_more_for_a_recruiter(
        web, import_csv, runner, smtp_server, admin_client, make_user, sign_in):
    """Once a snapshot is worked out, a page runs the same statements however many answers stand
    behind it; a recruiter's assignment to the company is checked with one more."""
    import_and_send(import_csv, runner, _candidate_rows(15, "Count"))
    company = db.session.get(Company, company_id())
    for role in ("company", "recruiter"):
        make_user(f"{role}@count.example", role, company)
    clients = {"admin": admin_client, **{role: sign_in(f"{role}@count.example") for role in ("company", "recruiter")}}
    url = f"/companies/{company.id}/dashboard"
    browser = web.test_client()

    def statements_per_page() -> dict[str, int]:
        counts = {}
        for role, client in clients.items():
            assert client.get(url).status_code == 200  # the snapshot worked out
            _page, statements = statements_of(web, lambda client=client: client.get(url))
            counts[role] = len(statements)
        return counts

    for i in range(5):
        answer(browser, smtp_server, f"count{i}@example.org", nps=9, communication=4, improve=f"comment {i}")
    at_five = statements_per_page()
    for i in range(5, 15):
        answer(browser, smtp_server, f"count{i}@example.org", nps=7, communication=3, improve=f"comment {i}")
    assert statements_per_page() == at_five
    assert at_five["recruiter"] == at_five["admin"] + 1 == at_five["company"] + 1


# --- issue 19: the dashboard a reader understands, exports a spreadsheet reads -----------------


def test_a_reversed_month_range_says_so_instead_of_showing_no_responses(web, import_csv, runner, smtp_server,
                                                                        admin_client):
    import_candidates(import_csv, runner)
    response = admin_client.get(f"/companies/{company_id()}/dashboard", query_string={"from": "2026-12", "to": "2026-10"})
    assert response.status_code == 400
    page = response.text
    assert 'id="range-error"' in page
    assert "(Dec 2026) is after the" in page and "(Oct 2026)" in page
    assert "Not enough responses yet" not in page
    assert 'value="2026-12"' in page  # the form stays filled in, to be corrected


def test_groups_in_process_order_months_readable_withheld_with_what_is_missing(web, import_csv, runner, smtp_server,
                                                                               admin_client):
    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    page = admin_client.get(f"/companies/{company_id()}/dashboard").text
    by_stage = section(page, "By stage")
    shown = [STAGE_LABELS[stage] for stage in STAGES if STAGE_LABELS[stage] in by_stage]
    assert [label for _, label in sorted((by_stage.index(label), label) for label in shown)] == shown
    # interview 2, screen 2, final 1 under a threshold of 5
    assert "3 more responses needed" in by_stage and "4 more responses needed" in by_stage
    assert "fewer than 5 responses" in by_stage
    by_month = section(page, "Month by month")
    assert month_label(this_month()) in by_month
    assert this_month()[2:] + "<" not in by_month  # no "26-12" axis label
    assert "promoters" in nps_card(page) and "detractors" in nps_card(page)


def test_xlsx_export_holds_numbers_as_numbers_and_guards_formula_text(web, import_csv, runner, smtp_server,
                                                                      admin_client):
    from openpyxl import load_workbook

    from feedback.exports import xlsx_response

    import_candidates(import_csv, runner)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    response = admin_client.get(f"/companies/{company_id()}/export/aggregate.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == ["breakdown", "group", "measure", "n", "value", "benchmark", "status"]
    nps = next(row for row in rows if [c.value for c in row[:3]] == ["overall", "all", "nps"])
    assert nps[3].data_type == "n" and nps[4].data_type == "n" and nps[4].value == round(NPS_AT_5)
    withheld = next(row for row in rows if row[0].value == "stage" and row[2].value == "nps")
    assert withheld[4].value is None and withheld[6].value == EXPORT_WITHHELD
    page = admin_client.get(f"/companies/{company_id()}/dashboard").text
    assert f"/companies/{company_id()}/export/aggregate.xlsx" in page
    assert f"/companies/{company_id()}/export/comments.xlsx" in page

    with web.test_request_context():
        guarded = xlsx_response("t.xlsx", ["a", "b"], [["=HYPERLINK(\"x\")", -26.67]])
    cells = list(load_workbook(io.BytesIO(guarded.data)).active.iter_rows())[1]
    assert cells[0].data_type == "s" and cells[0].value == "'=HYPERLINK(\"x\")"
    assert cells[1].data_type == "n" and cells[1].value == -26.67


# --- issue 19, part 2: the cards under the filter, the feedback the company gave ----------------

# One declined candidate each: (stage, position, reasons, technical_skills band, reconsider).
DECLINED = [
    ("interview", "QA Engineer", ["technical_skills", "stronger_match"], 2, "yes"),
    ("interview", "QA Engineer", ["technical_skills"], 1, "no"),
    ("interview", "QA Engineer", ["stronger_match"], 3, "yes"),
    ("final", "QA Engineer", ["technical_skills"], 2, "no"),
    ("final", "QA Engineer", ["role_changed"], 4, "yes"),
    ("screen", "Data Analyst", ["experience"], 2, "yes"),
]


def contact_address(number: int) -> str:
    return f"hm{number}@acme-robotics.example.com"


def import_declined(import_csv, runner) -> None:
    rows = [outcome_row(candidate_name=f"Declined {i}", candidate_email=f"declined{i}@example.org", stage=stage,
                        position=position, outcome="rejected", company_contact_email=contact_address(i),
                        application_ref=f"D-{i}")
            for i, (stage, position, *_rest) in enumerate(DECLINED)]
    import_and_send(import_csv, runner, rows)


def answer_as_contact(browser, smtp_server, number: int) -> None:
    """Give the feedback on declined candidate ``number`` through the contact's page and form."""
    _stage, _position, reasons, band, reconsider = DECLINED[number]
    (message,) = [m for m in smtp_server.messages if m["To"] == contact_address(number)]
    (form_path,) = links_in(message)  # one candidate: the e-mail links the form itself
    form = browser.get(form_path)
    thanks = browser.post(form_path, data={
        "csrf_token": csrf_token(form.text), "reasons": reasons, "technical_skills": str(band),
        "relevant_experience": "3", "communication_skills": "3", "problem_solving": "3", "reconsider": reconsider})
    assert thanks.status_code == 200 and "Thank you" in thanks.text, thanks.text[:300]


def response_card(page: str, heading: str) -> str:
    match = re.search(rf"<h2>{re.escape(heading)}</h2>(.*?)</div>", page, re.S)
    assert match, heading
    return re.sub(r"\s+", " ", match.group(1))


def test_response_cards_follow_the_filters(web, import_csv, runner, smtp_server, admin_client):
    """"Candidates answered" counts the filtered applications' requests, by the month they were first sent."""
    import_candidates(import_csv, runner)  # QA Engineer: interview 2, screen 2; Data Analyst: final 1
    browser = web.test_client()
    for number in range(3):  # two interviews and a screen, all QA Engineer
        answer_candidate(browser, smtp_server, number)
    cid, positions, month = company_id(), position_ids(), this_month()
    url = f"/companies/{cid}/dashboard"

    whole = response_card(admin_client.get(url).text, "Candidates answered")
    assert "3 <span class=\"of\">of 5 asked" in whole and "60% response rate" in whole and "Filtered" not in whole
    for query, answered, asked in (({"position": str(positions["QA Engineer"])}, 3, 4),
                                   ({"position": str(positions["Data Analyst"])}, 0, 1),
                                   ({"stage": "screen"}, 1, 2), ({"stage": "interview"}, 2, 2),
                                   ({"stage": "screen", "position": str(positions["Data Analyst"])}, 0, 0),
                                   ({"from": month, "to": month}, 3, 5), ({"from": "2020-01", "to": "2020-12"}, 0, 0)):
        page = admin_client.get(url, query_string=query).text
        card = response_card(page, "Candidates answered")
        assert f"{answered} <span class=\"of\">of {asked} asked" in card, (query, card)
        assert "Filtered: surveys first sent in the chosen months" in card, query
        assert ("No survey sent under these filters" in card) == (asked == 0), query
        given = response_card(page, "Your feedback given")
        assert "0 <span class=\"of\">of 0 asked" in given and "filtered: requests first sent" in given, query
    # The e-mail start is the whole company's, and says so under a filter.
    filtered = admin_client.get(url, query_string={"stage": "screen"}).text
    assert "of 3 (all positions, stages and months) started by choosing a score" in filtered


def test_answers_begun_from_a_score_in_the_e_mail_are_counted(web, import_csv, runner, smtp_server, admin_client):
    """A candidate who taps a score in the e-mail and sends the form counts as started from the e-mail."""
    import_candidates(import_csv, runner)
    browser = web.test_client()
    answer_candidate(browser, smtp_server, 0)  # from the form's own link
    (message,) = [m for m in smtp_server.messages if m["To"] == candidate_address(1)]
    (path,) = links_in(message)
    page = browser.get(f"{path}?nps=9")  # the "9" in the e-mail
    assert page.status_code == 200 and '<input type="hidden" name="started" value="email">' in page.text
    sent = browser.post(path, data={"csrf_token": csrf_token(page.text), "nps": "9", "started": "email"},
                        follow_redirects=True)
    assert sent.status_code == 200 and "Thank you" in sent.text
    url = f"/companies/{company_id()}/dashboard"
    assert "1 of 2 started by choosing a score in the e-mail" in admin_client.get(url).text
    filtered = admin_client.get(url, query_string={"stage": "final"}).text
    assert "1 of 2 (all positions, stages and months) started by choosing a score in the e-mail" in filtered


def test_the_feedback_you_gave_shows_from_k_company_answers_with_labels(web, import_csv, runner, smtp_server,
                                                                        admin_client):
    import_declined(import_csv, runner)
    browser = web.test_client()
    for number in range(4):
        answer_as_contact(browser, smtp_server, number)
    cid, positions = company_id(), position_ids()
    url = f"/companies/{cid}/dashboard"

    below = section(admin_client.get(url).text, "The feedback you gave")
    assert "4 answers from your team" in below and "1 more company answer needed" in below
    assert "Technical skills below" not in below and "<table" not in below
    assert "3 of 4" not in below

    answer_as_contact(browser, smtp_server, 4)  # five QA Engineer answers: the threshold
    page = admin_client.get(url).text
    given = section(page, "The feedback you gave")
    assert "about 5 declined candidates" in given
    reasons = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)%</td></tr>', given)
    assert reasons == [("Technical skills below what the role needs", "3", "60"),
                       ("Another candidate matched the requirements more closely", "2", "40"),
                       ("The role was closed, filled internally or changed", "1", "20")]  # most chosen first
    assert "stronger_match" not in given and "technical_skills" not in given  # labels, not codes
    skills = re.search(r'<th scope="row">Technical skills</th>\s*<td>([^<]+)</td>((?:\s*<td>\d+</td>){4})', given)
    assert skills.group(1) == f"{(2 + 1 + 3 + 2 + 4) / 5:.2f}"
    assert re.findall(r"\d+", skills.group(2)) == ["1", "2", "1", "1"]  # Not shown .. Exceeded
    assert all(label in given for label in ("Not shown", "Partly shown", "Met", "Exceeded"))
    assert "Open to future roles:</strong> 60%" in given  # three of five said yes

    # Under a filter, the section counts only that filter's answers.
    analyst = section(admin_client.get(url, query_string={"position": str(positions["Data Analyst"])}).text,
                      "The feedback you gave")
    assert "0 answers from your team match these filters" in analyst and "5 more company answers needed" in analyst
    final = section(admin_client.get(url, query_string={"stage": "final"}).text, "The feedback you gave")
    assert "2 answers from your team match these filters" in final and "3 more company answers needed" in final
    answer_as_contact(browser, smtp_server, 5)
    month = this_month()
    whole = section(admin_client.get(url, query_string={"from": month, "to": month}).text, "The feedback you gave")
    assert "about 6 declined candidates, filtered" in whole
    assert "Fewer than" not in whole and "Less relevant experience than the role needs" in whole


def test_the_nps_card_sets_the_platform_nps_of_three_other_companies_against_it(web, import_csv, runner,
                                                                               smtp_server, admin_client):
    rows = [outcome_row(candidate_name=f"Candidate {i}", candidate_email=candidate_address(i), stage=stage,
                        position=position, outcome="withdrew", company_contact_email="", application_ref=f"C-{i}")
            for i, (stage, position, *_rest) in enumerate(CANDIDATES)]
    scores = {"Other One": [10, 10, 10, 9, 0], "Other Two": [8, 8, 8, 8, 8], "Other Three": [2, 3, 9, 10, 10]}
    for name, answers in scores.items():
        rows += [outcome_row(candidate_email=candidate_address(i, name), company=name, outcome="withdrew",
                             company_contact_email="", application_ref=f"{name}-{i}") for i in range(len(answers))]
    import_and_send(import_csv, runner, rows)
    browser = web.test_client()
    for number in range(5):
        answer_candidate(browser, smtp_server, number)
    for name, answers in scores.items():
        for i, nps in enumerate(answers[:-1] if name == "Other Three" else answers):
            answer(browser, smtp_server, candidate_address(i, name), nps=nps, communication=4)
    url = f"/companies/{company_id()}/dashboard"
    card = nps_card(admin_client.get(url).text)
    assert "+20" in card and "Platform:" not in card  # a third company is one response short
    export = f"/companies/{company_id()}/export/aggregate.csv"
    assert ["overall", "all", "nps", "5", "20", "", "shown"] in read_csv(admin_client.get(export))

    answer(browser, smtp_server, candidate_address(4, "Other Three"), nps=10, communication=4)
    past_keeping_time(web)
    card = nps_card(admin_client.get(url).text)
    # promoters 4 + 0 + 3, detractors 1 + 0 + 2 of 15: (7 - 3) / 15
    assert f"Platform: {100 * (7 - 3) / 15:+.0f} (3 companies)" in card
    assert "promoters" in card
    # The export carries it too, as the NPS row's benchmark.
    assert ["overall", "all", "nps", "5", "20", f"{round(100 * (7 - 3) / 15)}", "shown"] in read_csv(
        admin_client.get(export))
