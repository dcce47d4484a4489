"""A partnership's cycle with every contribution and central text in place, straight from its example files.

For the collation benchmark and the report tests: a reference-sized report without running the year.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session

from models.cycle import Cycle
from models.partnership_file import parse
from models.store import contribution_for, find_agency, find_cycle, load_partnership
from tasks.asking.cycle_open import open_cycle
from tasks.contributions.submission import submit_file
from tasks.desk.central import set_central_text


def filled_cycle(session: Session, example: Path, *, at: dt.datetime, templates_dir: Path) -> Cycle:
    """Load `example` (a partnership file with a folder of the same name beside it), open its cycle, submit
    every agency's text from `contributions/<slug>.md` and set every central section from `central/<key>.md`."""
    spec = parse(example)
    load_partnership(session, spec, at=at, actor="example")
    cycle = find_cycle(session, spec.partnership.slug)
    base = "http://127.0.0.1:8000"
    open_cycle(session, cycle, at=at, actor="example", base_url=base, link_valid_days=120, templates_dir=templates_dir)
    texts = example.with_suffix("")
    for a in spec.agencies:
        source = texts / "contributions" / f"{a.slug}.md"
        if not source.exists():
            continue
        agency = find_agency(session, cycle, a.slug)
        contribution = contribution_for(session, cycle, agency)
        submit_file(
            session,
            cycle,
            agency,
            contribution,
            source,
            at=at,
            actor="example",
            base_url=base,
            templates_dir=templates_dir,
        )
    for c in spec.central_sections:
        source = texts / "central" / f"{c.key}.md"
        if source.exists():
            set_central_text(session, cycle, c.key, source.read_text(encoding="utf-8"), at=at, actor="example")
    session.commit()
    return cycle
