"""The reviews register from a CSV file: one row per finding, all or nothing.

Columns (the header row names them, in any order; other columns are refused):

- review     the review's name, as the report names it (required on every row)
- started    the date it started: 2025-03-27 or 27/03/2025 (required on a review's first row; a later row
             may leave it blank or repeat it)
- concluded  the date it concluded, the same way; blank while it is ongoing
- finding    one finding of the review; blank for a review with no findings yet
- outcome    "implemented", "not implemented", or blank while undecided
- detail     what was done to implement the finding, or why it was not implemented (required with an outcome)

Rows are numbered as a spreadsheet shows them: the header is row 1. Every problem is one line naming the
row and the column; a file with any problem changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from sqlmodel import Session, select

from models.cycle import Cycle
from models.reviews import CaseReview
from tasks.report.register import RegisterError, add_finding, add_review, set_outcome

COLUMNS = ("review", "started", "concluded", "finding", "outcome", "detail")
OUTCOME_WORDS = {
    "implemented": "implemented",
    "not implemented": "not-implemented",
    "not-implemented": "not-implemented",
}


class ImportRefused(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class _Review:
    row: int
    started: dt.date | None
    concluded: dt.date | None
    findings: list[tuple[int, str, str | None, str]] = field(default_factory=list)  # row, text, outcome, detail


@dataclass(frozen=True)
class Imported:
    reviews: int
    findings: int


def _date(text: str, row: int, column: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    iso, uk = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text), re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        if uk:
            return dt.date(int(uk[3]), int(uk[2]), int(uk[1]))
    except ValueError:
        pass
    raise ValueError(f"row {row}, column {column}: {text!r} is not a date; write it like 2025-03-27 or 27/03/2025")


def _read(text: str) -> tuple[dict[str, _Review], list[str]]:
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().casefold() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in ("review", "started") if c not in header]
    if unknown or missing or not header:
        said = f"unknown column {unknown[0]!r}" if unknown else f"no column {(missing or ['review'])[0]!r}"
        return {}, [f"row 1: {said}; the columns are {', '.join(COLUMNS)}"]
    reader.fieldnames = header
    reviews: dict[str, _Review] = {}
    for number, raw in enumerate(reader, start=2):
        values = {c: (raw.get(c) or "").strip() for c in COLUMNS}
        if not any(values.values()):
            continue
        try:
            name = " ".join(values["review"].split())
            if not name:
                raise ValueError(f"row {number}, column review: empty; give the review's name on every row")
            started = _date(values["started"], number, "started")
            concluded = _date(values["concluded"], number, "concluded")
            entry = reviews.get(name)
            if entry is None:
                if started is None:
                    raise ValueError(f"row {number}, column started: empty; give the date {name} started")
                entry = reviews[name] = _Review(number, started, concluded)
            elif started is not None and started != entry.started:
                raise ValueError(f"row {number}, column started: differs from row {entry.row} for {name}")
            elif concluded is not None and concluded != entry.concluded:
                raise ValueError(f"row {number}, column concluded: differs from row {entry.row} for {name}")
            outcome_word = " ".join(values["outcome"].casefold().split())
            outcome = OUTCOME_WORDS.get(outcome_word) if outcome_word else None
            if outcome_word and outcome is None:
                raise ValueError(
                    f"row {number}, column outcome: {values['outcome']!r}; "
                    "write implemented, not implemented, or leave it blank"
                )
            if values["finding"]:
                if outcome and not values["detail"]:
                    needed = "what was done" if outcome == "implemented" else "why it was not implemented"
                    raise ValueError(f"row {number}, column detail: empty; say {needed}")
                entry.findings.append((number, values["finding"], outcome, values["detail"]))
            elif outcome or values["detail"]:
                raise ValueError(f"row {number}, column finding: empty, but the row has an outcome or detail")
        except ValueError as exc:
            problems.append(str(exc))
    return reviews, problems


def import_register(session: Session, cycle: Cycle, text: str, *, at: dt.datetime, actor: str) -> Imported:
    """Add the file's reviews and findings to the cycle's register, or raise ImportRefused and add nothing.
    The caller commits."""
    reviews, problems = _read(text)
    existing = set(session.exec(select(CaseReview.name).where(CaseReview.cycle_id == cycle.id)).all())
    for name, entry in reviews.items():
        if name in existing:
            problems.append(f"row {entry.row}, column review: the register already has {name!r}; remove the row")
    if problems:
        raise ImportRefused(problems)
    findings = 0
    columns = {"name": "review", "started": "started", "concluded": "concluded"}
    for name, entry in reviews.items():
        assert entry.started is not None
        try:
            review = add_review(session, cycle, name, entry.started, entry.concluded, at=at, actor=actor)
        except RegisterError as exc:
            problems.append(f"row {entry.row}, column {columns.get(exc.field, exc.field)}: {exc}")
            continue
        for _, text_, outcome, detail in entry.findings:
            finding = add_finding(session, review, text_, at=at, actor=actor)
            if outcome:
                set_outcome(session, finding, outcome, detail, at=at, actor=actor)
            findings += 1
    if problems:
        raise ImportRefused(problems)
    return Imported(len(reviews), findings)
