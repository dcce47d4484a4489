"""`reportcycle demo`: the example partnership through the first half of its cycle.

A local SMTP server keeps every message under out/mail/; the clock is
simulated and jumps straight to the next day something is due, so the
whole request-and-chase season runs in seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from reportcycle.mailsink import MailSink
from reportcycle.settings import PROJECT_ROOT, get_settings

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"


@dataclass(frozen=True)
class Behaviour:
    """How an agency answers, relative to its deadline (calendar days)."""

    label: str
    submit_offset: int | None  # None: never answers
    extend_to_offset: int | None = None  # granted an extension to deadline + this many days
    extend_asked_offset: int = -6
    excuse_offset: int | None = None  # the business manager excuses it this many days after the deadline


# Assigned to agencies in order, repeating: the partnership decides who its agencies are.
BEHAVIOURS = (
    Behaviour("on time, before any reminder", -19),
    Behaviour("after the first reminder", -12),
    Behaviour("after the second reminder", -4),
    Behaviour("on the deadline day", 0),
    Behaviour("after an overdue notice", 2),
    Behaviour("after escalation", 9),
    Behaviour("after an extension", 14, extend_to_offset=14),
    Behaviour("never; excused", None, excuse_offset=16),
)


@dataclass
class DemoResult:
    flow_runs: int
    seconds: float
    emails: Counter[str]
    mail_folder: Path
    database: Path


def run_demo(out: Path, console: Console, example: Path = EXAMPLE) -> DemoResult:
    started = time.perf_counter()
    out = out.resolve()
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm", "mail"):
        target = out / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    with MailSink(out / "mail") as sink:
        os.environ["REPORTCYCLE_DATABASE_URL"] = f"sqlite:///{out / 'demo.db'}"
        os.environ["REPORTCYCLE_SMTP_HOST"] = sink.host
        os.environ["REPORTCYCLE_SMTP_PORT"] = str(sink.port)
        get_settings.cache_clear()
        result = _run(example, console, sink)
    result.seconds = time.perf_counter() - started
    console.print(
        f"\n[bold]{result.flow_runs} flow runs in {result.seconds:.1f} s.[/bold] "
        f"Mail: {result.mail_folder} ({sum(result.emails.values())} .eml files). Database: {result.database}"
    )
    return result


def _run(example: Path, console: Console, sink: MailSink) -> DemoResult:
    from flows._runtime import in_session, short_runs
    from flows.chase import chase_flow
    from flows.dispatch import dispatch_flow
    from flows.open_cycle import open_cycle_flow
    from models.partnership_file import parse
    from models.store import calendar_of, contribution_for, contributions, find_cycle, load_partnership, partnership_of
    from tasks.desk import excuse, extend
    from tasks.schema import upgrade
    from tasks.submission import submit_file

    settings = get_settings()
    upgrade(settings.database_url)
    spec = parse(example)
    first = dt.datetime.combine(spec.cycle.requests_on, dt.time(8), tzinfo=dt.UTC)
    in_session(settings, lambda s: load_partnership(s, spec, at=first, actor="demo"), dry_run=False)

    def cycle_info(s):  # type: ignore[no-untyped-def]
        cycle = find_cycle(s, spec.partnership.slug, spec.cycle.label)
        return cycle, calendar_of(partnership_of(s, cycle))

    cycle, calendar = in_session(settings, cycle_info, dry_run=False)
    deadline = cycle.contributions_due
    plans = {a.slug: BEHAVIOURS[i % len(BEHAVIOURS)] for i, a in enumerate(spec.agencies)}
    names = {a.slug: a.name for a in spec.agencies}
    timeline: dict[str, list[str]] = defaultdict(list)
    flow_runs = 0
    submission_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "reportcycle-demo"
    submission_dir.mkdir(exist_ok=True)

    # People's actions, by local day: (day, hour, what, agency)
    actions: list[tuple[dt.date, int, str, str]] = []
    for slug, b in plans.items():
        if b.extend_to_offset is not None:
            actions.append((deadline + dt.timedelta(days=b.extend_asked_offset), 11, "extend", slug))
        if b.submit_offset is not None:
            actions.append((deadline + dt.timedelta(days=b.submit_offset), 14, "submit", slug))
        if b.excuse_offset is not None:
            actions.append((deadline + dt.timedelta(days=b.excuse_offset), 12, "excuse", slug))
    actions.sort()

    def act(day: dt.date, hour: int, what: str, slug: str) -> None:
        at = calendar.at_local(day, dt.time(hour))

        def work(s):  # type: ignore[no-untyped-def]
            cyc = find_cycle(s, spec.partnership.slug, spec.cycle.label)
            from models.store import find_agency

            agency = find_agency(s, cyc, slug)
            contribution = contribution_for(s, cyc, agency)
            if what == "extend":
                new = deadline + dt.timedelta(days=plans[slug].extend_to_offset or 0)
                extend(s, cyc, contribution, new, at=at, actor=spec.partnership.business_manager.email)
                return f"extension granted to {new:%d %b}"
            if what == "excuse":
                excuse(s, contribution, at=at, actor=spec.partnership.business_manager.email, reason="no response")
                return "excused by the business manager"
            text = submission_dir / f"{slug}.md"
            brief = spec.brief
            text.write_text(
                "\n\n".join(
                    f"## {sec.title}\n\n{names[slug]}: {sec.guidance or sec.title} (demo text)"
                    for sec in brief.sections
                ),
                encoding="utf-8",
            )
            revision = submit_file(
                s,
                cyc,
                agency,
                contribution,
                text,
                at=at,
                actor=f"lead@{slug}",
                base_url=settings.public_base_url,
                templates_dir=settings.templates_dir,
            )
            return f"submitted revision {revision.number}"

        timeline[slug].append(f"{day:%d %b} {in_session(settings, work, dry_run=False)}")

    with short_runs(), Progress(console=console, transient=False) as progress:
        task = progress.add_task("opening the cycle", total=None)
        open_at = calendar.at_local(spec.cycle.requests_on, dt.time(9, 0))
        open_cycle_flow(spec.partnership.slug, spec.cycle.label, open_at, actor=spec.partnership.business_manager.email)
        flow_runs += 1
        for slug in plans:
            timeline[slug].append(f"{spec.cycle.requests_on:%d %b} asked")
        day = spec.cycle.requests_on
        while True:
            upcoming = in_session(settings, partial(_next_due, spec=spec, after=day), dry_run=False)
            if actions and (upcoming is None or actions[0][0] < upcoming):
                # People act first; what they do (a submission, an extension) changes what is due next.
                first_day = actions[0][0]
                todays = [a for a in actions if a[0] == first_day]
                for a in todays:
                    act(*a)
                    actions.remove(a)
                # Receipts are transactional: they go now, not with the next chase.
                dispatch_flow(calendar.at_local(first_day, dt.time(todays[-1][1], 5)))
                flow_runs += 1
                continue
            if upcoming is None:
                break
            day = upcoming
            progress.update(task, description=f"chase {day:%a %d %b %Y}")
            report = chase_flow(spec.partnership.slug, spec.cycle.label, calendar.at_local(day, dt.time(9, 30)))
            flow_runs += 1
            for e in report.emails:
                timeline[e.agency].append(f"{day:%d %b} {e.kind.replace('_', ' ')} ({e.note})")
            for e in report.superseded:
                timeline[e.agency].append(f"{day:%d %b} {e.note} superseded")
        progress.update(task, description="done", completed=1, total=1)

    emails = Counter(r.kind for r in sink.received)
    _summary(
        console,
        emails,
        timeline,
        plans,
        names,
        in_session(
            settings,
            lambda s: [
                (a.slug, c.status) for c, a in contributions(s, find_cycle(s, spec.partnership.slug, spec.cycle.label))
            ],
            dry_run=False,
        ),
    )
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    return DemoResult(flow_runs, 0.0, emails, sink.folder or Path("."), database)


def _summary(
    console: Console,
    emails: Counter[str],
    timeline: dict[str, list[str]],
    plans: dict[str, Behaviour],
    names: dict[str, str],
    states: list[tuple[str, str]],
) -> None:
    kinds = Table(title="Emails received by the SMTP server, by kind")
    kinds.add_column("kind")
    kinds.add_column("count", justify="right")
    for kind, n in sorted(emails.items()):
        kinds.add_row(kind, str(n))
    console.print(kinds)
    table = Table(title="Each agency's timeline")
    for column in ("agency", "scripted to answer", "what happened", "state"):
        table.add_column(column)
    state_of = dict(states)
    for slug, plan in plans.items():
        table.add_row(names[slug], plan.label, "\n".join(timeline[slug]), state_of.get(slug, ""))
    console.print(table)


def _next_due(session: Any, *, spec: Any, after: dt.date) -> dt.date | None:
    from models.store import find_cycle
    from tasks.chase import next_due

    return next_due(session, find_cycle(session, spec.partnership.slug, spec.cycle.label), after)
