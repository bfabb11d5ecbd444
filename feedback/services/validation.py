"""A validation pass summed up in bounded memory and time, whatever the file (CLI, upload)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .outcomes_csv import OutcomeRow, Problem

MAX_PROBLEMS = 1000  # kept and shown; a pass that may stop stops here


@dataclass
class ValidationReport:
    rows_read: int = 0
    valid_rows: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS, in file order
    problem_count: int = 0  # every problem found (more than the list when it was cut)
    stopped_at: int | None = None  # the line the pass stopped after, having found MAX_PROBLEMS
    lines_not_checked: int = 0  # physical lines after stopped_at (see count_lines_after)

    @property
    def more_problems(self) -> int:
        return self.problem_count - len(self.problems)

    @property
    def header_broken(self) -> bool:
        return any(problem.line == 1 for problem in self.problems)

    @property
    def valid_rows_importable(self) -> bool:
        """Whether the valid rows can be imported without the others: the header is sound, the file
        within the limits, and every row was checked (the pass did not stop)."""
        return self.valid_rows > 0 and not self.header_broken and self.stopped_at is None

    def groups(self) -> list[tuple[int, str, str, str]]:
        """The kept problems with the same column and message once, most frequent first:
        (how many lines, column, message, the lines as ranges, "3–5, 9")."""
        lines: dict[tuple[str, str], list[int]] = defaultdict(list)
        for problem in self.problems:
            lines[(problem.column, problem.message)].append(problem.line)
        grouped = sorted(lines.items(), key=lambda item: (-len(item[1]), item[1][0]))
        return [(len(found), column, message, line_ranges(found)) for (column, message), found in grouped]

    def lines(self) -> list[str]:
        """What a person is told besides the problems themselves: what was not counted or checked."""
        told = []
        if self.stopped_at is not None:
            told.append(f"stopped after {MAX_PROBLEMS} problems at line {self.stopped_at}; "
                        f"{self.lines_not_checked} more line{' was' if self.lines_not_checked == 1 else 's were'} not checked")
        elif self.more_problems:
            told.append(f"{self.more_problems} more problem(s) not listed")
        return told


def summarise(results: Iterable[tuple[OutcomeRow | None, list[Problem]]], *, stop: bool = True) -> ValidationReport:
    """Count a validation pass: rows read, rows valid, the first MAX_PROBLEMS problems. With ``stop``
    the pass ends there (nothing will be imported anyway); without it, the rest are counted."""
    report = ValidationReport()
    for row, problems in results:
        if row is not None:
            report.valid_rows += 1
        if row is not None or problems[0].line > 1:  # line 1 is the header, not a row
            report.rows_read += 1
        report.problem_count += len(problems)
        room = MAX_PROBLEMS - len(report.problems)
        report.problems.extend(problems[:room])
        if stop and report.problem_count >= MAX_PROBLEMS:
            report.stopped_at = problems[-1].line
            break
    return report


def count_lines_after(path: Path, line: int) -> int:
    """How many physical lines ``path`` has after ``line`` (a newline count: fast, flat memory)."""
    total, last = 0, b"\n"
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            total += chunk.count(b"\n")
            last = chunk[-1:]
    total += last != b"\n"  # a last line without a newline
    return max(total - line, 0)


def line_ranges(lines: list[int]) -> str:
    """Line numbers as compact ranges, "3–5, 9, 12–301"; the list is in file order."""
    spans: list[list[int]] = []
    for line in sorted(set(lines)):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(first) if first == last else f"{first}\u2013{last}" for first, last in spans)
