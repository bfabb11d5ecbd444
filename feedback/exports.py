"""CSV exports that stay inert when opened in a spreadsheet."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Neutralise a text cell a spreadsheet would run as a formula by prefixing ``'``.

    Numbers are returned unchanged: ``-26.67`` is a number, not a formula, and a spreadsheet must
    read it as one. A text that already starts with ``'`` is prefixed too, so that
    ``spreadsheet_value`` can always restore the original.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) or text.startswith("'"):
        return "'" + text
    return text


def spreadsheet_value(cell: str) -> str:
    """The original value of a cell written by ``spreadsheet_safe``."""
    return cell[1:] if cell.startswith("'") else cell


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """A CSV download: every text cell neutralised (numbers stay numbers), UTF-8 with a BOM (for Excel), as an attachment."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def xlsx_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """An XLSX download of the same table: numbers as number cells, text guarded like the CSV."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append([spreadsheet_safe(cell) for cell in header])
    for row in rows:
        sheet.append([spreadsheet_safe(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = Response(buffer.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
