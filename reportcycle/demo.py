"""`reportcycle demo`: the example partnership through a whole year on a simulated clock.

A local SMTP server keeps every message under out/mail/. The clock jumps
straight to the next moment something is due, the annual-cycle flow runs
what is due then, and scripted people act in between: agencies answer
early, late or never, the Chair returns one contribution and approves the
rest, the business manager grants an extension and excuses a silent agency.
It ends with the published report under out/site/.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reportcycle.mailsink import MailSink
from reportcycle.settings import PROJECT_ROOT, get_settings

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"


@dataclass(frozen=True)
class Behaviour:
    """How an agency answers, in calendar days relative to its first deadline."""

    label: str
    submit_offset: int | None  # None: never answers
    extend_to_offset: int | None = None  # asks 6 days before the deadline; granted to deadline + this
    excuse_offset: int | None = None  # the business manager excuses it this many days after the deadline
    returned: bool = False  # the Chair returns it once; it revises and is approved


# Assigned to agencies in order, repeating: the partnership decides who its agencies are.
BEHAVIOURS = (
    Behaviour("on time, before any reminder", -19),
    Behaviour("after the first reminder; returned by the Chair, revised", -12, returned=True),
    Behaviour("after the second reminder", -4),
    Behaviour("on the deadline day", 0),
    Behaviour("after an overdue notice", 2),
    Behaviour("after escalation", 9),
    Behaviour("after an extension", 14, extend_to_offset=14),
    Behaviour("never; excused", None, excuse_offset=16),
)
FIRST_REVIEW, SECOND_REVIEW, REVISION = 10, 18, 14  # days after the deadline


@dataclass(order=True)
class Action:
    day: dt.date
    hour: int
    what: str = field(compare=False)  # submit | revise | extend | excuse | review | approve-rest | sign-off
    slug: str = field(default="", compare=False)


@dataclass
class DemoResult:
    flow_runs: int
    seconds: float
    emails: Counter[str]
    out: Path
    site_files: list[dict[str, str]]
    timeline: dict[str, list[str]]


def run_demo(out: Path, console: Console, example: Path = EXAMPLE, database_url: str | None = None) -> DemoResult:
    """Run the year; `database_url` defaults to a fresh SQLite file under `out`."""
    started = time.perf_counter()
    out = out.resolve()
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm", "mail", "drafts", "site"):
        target = out / stale
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    with (
        MailSink(out / "mail") as sink,
        _environment(
            REPORTCYCLE_DATABASE_URL=database_url or f"sqlite:///{out / 'demo.db'}",
            REPORTCYCLE_SMTP_HOST=sink.host,
            REPORTCYCLE_SMTP_PORT=str(sink.port),
            REPORTCYCLE_OUTPUT_DIR=str(out),
        ),
    ):
        result = Year(example, console, sink, out).run()
    result.seconds = time.perf_counter() - started
    console.print(
        f"\n[bold]The year ran in {result.seconds:.1f} s"
        + (f" with {result.flow_runs} Prefect flow runs" if result.flow_runs else " (not recorded in Prefect)")
        + ".[/bold]\n"
        f"  mail:      {out / 'mail'} ({sum(result.emails.values())} .eml files)\n"
        f"  drafts:    {out / 'drafts'}\n"
        f"  published: {out / 'site'}"
    )
    for f in result.site_files:
        console.print(f"    {f['sha256']}  {f['name']}", highlight=False)
    return result


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """The demo's settings, for the length of the demo only."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


class Year:
    def __init__(self, example: Path, console: Console, sink: MailSink, out: Path) -> None:
        from models.partnership_file import parse

        self.example, self.console, self.sink, self.out = example, console, sink, out
        self.spec = parse(example)
        self.texts = example.with_suffix("")  # examples/<name>/{contributions,central}/*.md, when present
        self.settings = get_settings()
        self.slug, self.label = self.spec.partnership.slug, self.spec.cycle.label
        self.manager = str(self.spec.partnership.business_manager.email)
        self.plans = {a.slug: BEHAVIOURS[i % len(BEHAVIOURS)] for i, a in enumerate(self.spec.agencies)}
        self.names = {a.slug: a.name for a in self.spec.agencies}
        self.timeline: dict[str, list[str]] = defaultdict(list)
        self.tag = f"demo-{uuid.uuid4().hex[:8]}"

    # -- the year -------------------------------------------------------------------------------

    def run(self) -> DemoResult:
        from flows._runtime import count_runs, in_session, short_runs, tagged
        from flows.annual_cycle import annual_cycle_flow
        from models.partnership_file import parse
        from models.store import calendar_of, find_cycle, load_partnership, partnership_of
        from tasks.ops.schema import upgrade

        upgrade(self.settings.database_url)
        first = dt.datetime.combine(self.spec.cycle.requests_on - dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)
        in_session(
            self.settings,
            lambda s: load_partnership(s, parse(self.example), at=first, actor=self.manager),
            dry_run=False,
        )
        self.calendar = in_session(
            self.settings, lambda s: calendar_of(partnership_of(s, find_cycle(s, self.slug, self.label))), dry_run=True
        )
        self._write_central_sections(first)
        actions = self._script()
        deadline = self.spec.cycle.contributions_due
        run_days = {self.spec.cycle.requests_on, deadline}
        day = self.spec.cycle.requests_on - dt.timedelta(days=1)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[stages]}"),
            TimeElapsedColumn(),
        )
        total = (self.spec.cycle.publish_by - day).days
        with tagged(self.tag), short_runs(), Progress(*columns, console=self.console) as progress:
            bar = progress.add_task("starting", total=total, stages="")
            while True:
                upcoming = [d for d in run_days if d > day]
                ladder_day = self._next_ladder_day(day)
                if ladder_day:
                    upcoming.append(ladder_day)
                upcoming += [a.day for a in actions if a.day > day]
                if not upcoming or self._published():
                    break
                day = min(upcoming)
                progress.update(
                    bar, completed=(day - self.spec.cycle.requests_on).days + 1, description=f"{day:%a %d %b %Y}"
                )
                if day in run_days or day == ladder_day:
                    done = annual_cycle_flow(self.slug, self.label, self.calendar.at_local(day, dt.time(9, 30)))
                    self._note_stages(day, done)
                    progress.update(bar, stages=", ".join(done))
                todays = [a for a in actions if a.day == day]
                for a in todays:
                    self._act(a)
                    actions.remove(a)
                if todays:
                    # Decisions and submissions are rows: the next run, the next working day, acts on them.
                    run_days.add(self.calendar.add_working_days(day, 1))
                    self._dispatch_now(day, max(a.hour for a in todays))
            progress.update(bar, completed=total, description="published" if self._published() else "stopped")
        emails = Counter(r.kind for r in self.sink.received)
        site_files = self._site_files()
        self._summary(emails)
        return DemoResult(count_runs(self.tag), 0.0, emails, self.out, site_files, dict(self.timeline))

    def _script(self) -> list[Action]:
        deadline = self.spec.cycle.contributions_due
        actions = []
        for slug, b in self.plans.items():
            if b.extend_to_offset is not None:
                actions.append(Action(deadline - dt.timedelta(days=6), 11, "extend", slug))
            if b.submit_offset is not None:
                actions.append(Action(deadline + dt.timedelta(days=b.submit_offset), 14, "submit", slug))
            if b.excuse_offset is not None:
                actions.append(Action(deadline + dt.timedelta(days=b.excuse_offset), 12, "excuse", slug))
            if b.returned:
                actions.append(Action(deadline + dt.timedelta(days=REVISION), 13, "revise", slug))
        actions.append(Action(deadline + dt.timedelta(days=FIRST_REVIEW), 15, "review"))
        actions.append(Action(deadline + dt.timedelta(days=SECOND_REVIEW), 15, "approve-rest"))
        # after the morning run that applies the last approvals, as the business manager would from the desk
        signed = self.calendar.add_working_days(deadline + dt.timedelta(days=SECOND_REVIEW), 1)
        actions.append(Action(signed, 11, "sign-off"))
        return sorted(actions)

    # -- people -----------------------------------------------------------------------------------

    def _act(self, a: Action) -> None:
        from flows._runtime import in_session
        from models.store import contribution_for, find_agency, find_cycle
        from tasks.contributions.submission import submit_file
        from tasks.desk.desk import excuse, extend
        from tasks.desk.excused import tell_excused

        at = self.calendar.at_local(a.day, dt.time(a.hour))
        deadline = self.spec.cycle.contributions_due
        if a.what == "sign-off":  # the board agreed it at today's meeting: recorded, and published now
            from flows.publish import publish_flow
            from tasks.desk.sign_off import sign_off_if_ready

            who = f"the Board at its meeting on {a.day.day} {a.day:%B %Y}"
            if in_session(self.settings, lambda s: sign_off_if_ready(s, self.slug, self.label, who, at), dry_run=False):
                publish_flow(self.slug, self.label, at, actor=self.manager)
            return

        def work(s: Any) -> None:
            cycle = find_cycle(s, self.slug, self.label)
            if a.what in ("review", "approve-rest"):
                self._chair(s, cycle, a, at)
                return
            agency = find_agency(s, cycle, a.slug)
            contribution = contribution_for(s, cycle, agency)
            if a.what == "extend":
                new = deadline + dt.timedelta(days=self.plans[a.slug].extend_to_offset or 0)
                extend(
                    s,
                    cycle,
                    contribution,
                    new,
                    at=at,
                    actor=self.manager,
                    base_url=self.settings.public_base_url,
                    templates_dir=self.settings.templates_dir,
                )
                self.timeline[a.slug].append(f"{a.day:%d %b} extension granted to {new:%d %b}")
            elif a.what == "excuse":
                reason = "no response after the final notice"
                excuse(s, contribution, at=at, actor=self.manager, reason=reason)
                # as the desk and the CLI do: the agency is told why, and its calendar entry is cancelled
                tell_excused(s, cycle, contribution, reason=reason, at=at, templates_dir=self.settings.templates_dir)
                self.timeline[a.slug].append(f"{a.day:%d %b} excused by the business manager")
            else:
                path = self._contribution_text(a.slug, revised=a.what == "revise")
                revision = submit_file(
                    s,
                    cycle,
                    agency,
                    contribution,
                    path,
                    at=at,
                    actor=f"lead@{a.slug}",
                    base_url=self.settings.public_base_url,
                    templates_dir=self.settings.templates_dir,
                )
                self.timeline[a.slug].append(f"{a.day:%d %b} submitted revision {revision.number}")

        in_session(self.settings, work, dry_run=False)

    def _chair(self, session: Any, cycle: Any, a: Action, at: dt.datetime) -> None:
        from models.lifecycle import CentralState, ContributionState
        from models.store import central_sections, contributions, cycle_values
        from tasks.review.review import record_decision

        chair = str(cycle_values(cycle)[4].email)
        for c, agency in contributions(session, cycle):
            if c.status != ContributionState.submitted:
                continue
            if a.what == "review" and self.plans[agency.slug].returned:
                last = self.spec.brief.sections[-1]
                record_decision(
                    session,
                    cycle,
                    agency.slug,
                    "return",
                    at=at,
                    actor=chair,
                    brief_section=last.key,
                    comments=f"Please say what will change next year and how the partnership will "
                    f"know: '{last.title}' is too general as it stands.",
                )
                self.timeline[agency.slug].append(f"{a.day:%d %b} returned by the Chair")
            else:
                record_decision(session, cycle, agency.slug, "approve", at=at, actor=chair)
                self.timeline[agency.slug].append(f"{a.day:%d %b} approved by the Chair")
        for section in central_sections(session, cycle):
            if section.status == CentralState.draft and section.body_md.strip():
                record_decision(session, cycle, section.key, "approve", at=at, actor=chair)

    def _contribution_text(self, slug: str, *, revised: bool) -> Path:
        source = self.texts / "contributions" / f"{slug}.md"
        if source.exists():
            text = source.read_text(encoding="utf-8")
        else:  # a partnership without sample texts: a short text per section of its brief
            text = "\n\n".join(
                f"## {s.title}\n\n{self.names[slug]}: {s.guidance or s.title}" for s in self.spec.brief.sections
            )
        if revised:
            last = self.spec.brief.sections[-1].title
            addition = (
                f"\n\n## {last}\n\nIn response to the Chair: next year we will report quarterly to the "
                "partnership on the measures above, starting in the autumn.\n"
            )
            text = text + addition if f"## {last}" not in text else text.replace(f"## {last}\n", addition.lstrip(), 1)
        path = self.out / "demo-texts" / f"{slug}{'-revised' if revised else ''}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def _write_central_sections(self, at: dt.datetime) -> None:
        from flows._runtime import in_session
        from models.store import find_cycle
        from tasks.desk.central import set_central_text

        def work(s: Any) -> None:
            cycle = find_cycle(s, self.slug, self.label)
            for cs in self.spec.central_sections:
                source = self.texts / "central" / f"{cs.key}.md"
                body = source.read_text(encoding="utf-8") if source.exists() else f"{cs.title}: text to follow."
                set_central_text(s, cycle, cs.key, body, at=at, actor=self.manager)

        in_session(self.settings, work, dry_run=False)

    # -- the machinery around it ----------------------------------------------------------------------

    def _next_ladder_day(self, after: dt.date) -> dt.date | None:
        from flows._runtime import in_session
        from models.store import find_cycle
        from tasks.asking.chase import next_due

        return in_session(
            self.settings, lambda s: next_due(s, find_cycle(s, self.slug, self.label), after), dry_run=True
        )

    def _published(self) -> bool:
        from flows._runtime import in_session
        from models.store import find_cycle

        return in_session(
            self.settings, lambda s: find_cycle(s, self.slug, self.label).status == "published", dry_run=True
        )

    def _dispatch_now(self, day: dt.date, hour: int) -> None:
        """Receipts are transactional: they go when the person acts, not with the next chase."""
        from flows.dispatch import dispatch_flow

        dispatch_flow(self.calendar.at_local(day, dt.time(hour, 5)))

    def _note_stages(self, day: dt.date, done: list[str]) -> None:
        from sqlmodel import select

        from flows._runtime import in_session
        from models.outbox import OutboundEmail

        if "open" in done:
            for slug in self.plans:
                self.timeline[slug].append(f"{day:%d %b} asked")
        if "chase" in done:
            start = self.calendar.at_local(day, dt.time(0))

            def rows(s: Any) -> list[tuple[int | None, str, str, str]]:
                found = s.exec(
                    select(OutboundEmail).where(
                        OutboundEmail.created_at >= start, OutboundEmail.created_at < start + dt.timedelta(days=1)
                    )
                )
                return [(r.contribution_id, r.kind, r.status, r.idempotency_key) for r in found]

            by_id = self._agency_by_contribution()
            for contribution_id, kind, status, key in in_session(self.settings, rows, dry_run=True):
                if contribution_id in by_id and kind not in ("request", "receipt", "returned"):
                    verb = "superseded" if status == "superseded" else "sent"
                    step = key.rsplit(":", 1)[-1]
                    self.timeline[by_id[contribution_id]].append(
                        f"{day:%d %b} {kind.replace('_', ' ')} ({step}) {verb}"
                    )

    def _agency_by_contribution(self) -> dict[int | None, str]:
        from flows._runtime import in_session
        from models.store import contributions, find_cycle

        return in_session(
            self.settings,
            lambda s: {c.id: a.slug for c, a in contributions(s, find_cycle(s, self.slug, self.label))},
            dry_run=True,
        )

    def _site_files(self) -> list[dict[str, str]]:
        from sqlmodel import select

        from flows._runtime import in_session
        from models.report import Publication

        def files(s: Any) -> list[dict[str, str]]:
            publication = s.exec(select(Publication)).first()
            return list(publication.files) if publication else []

        return in_session(self.settings, files, dry_run=True)

    def _summary(self, emails: Counter[str]) -> None:
        from flows._runtime import in_session
        from models.store import contributions, find_cycle

        states = in_session(
            self.settings,
            lambda s: {a.slug: c.status for c, a in contributions(s, find_cycle(s, self.slug, self.label))},
            dry_run=True,
        )
        kinds = Table(title="Emails the SMTP server received, by kind")
        kinds.add_column("kind")
        kinds.add_column("count", justify="right")
        for kind, n in sorted(emails.items()):
            kinds.add_row(kind, str(n))
        self.console.print(kinds)
        table = Table(title="Each agency's year")
        for column in ("agency", "scripted to answer", "what happened", "state"):
            table.add_column(column)
        for slug, plan in self.plans.items():
            table.add_row(self.names[slug], plan.label, "\n".join(self.timeline[slug]), states.get(slug, ""))
        self.console.print(table)
