"""What every agency page around a contribution shares: who is writing, the brief, the working copy,
each task's status, saving one part without touching the rest, the conflict and closed pages."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import bindparam, exists
from sqlmodel import Session, col
from sqlmodel.sql.expression import Select  # its select() types at most four entities

from models.cycle import Contribution, Cycle, PersonalLink
from models.inbound import EmailedDocument
from models.partnership import Agency, Contact, Partnership
from models.portal import PortalSession, WorkingCopy
from models.store import cycle_values
from models.values import Brief, BriefSection, Person, Priority
from portal.kept import refused_post
from portal.web import COOKIE, csrf_ok, expired_form, now, page
from tasks.contributions.content import TEXTS_REMEMBERED, markdown_to_html, word_count
from tasks.contributions.working_copy import Conflict, parse_figures, problems, save
from tasks.links.tokens import hash_token, live

CLOSED = ("approved", "excused")  # nothing more to write


@dataclass
class Writer:
    """The agency person signed in to one contribution, with what the pages read about it."""

    session: Session
    portal_session: PortalSession
    contribution: Contribution
    cycle: Cycle
    agency: Agency
    contact: Contact
    brief: Brief
    priorities: list[Priority]
    chair: Person
    copy: WorkingCopy | None
    at: dt.datetime
    partnership: str
    zone: str
    partnership_row: Partnership  # its calendar, for the pages that say what is overdue
    emailed: bool = False  # a Word document emailed in and not yet put in the draft (the summary lists them)

    @property
    def texts(self) -> dict[str, str]:
        return dict(self.copy.sections) if self.copy else {}

    @property
    def figures(self) -> dict[str, str]:
        return dict(self.copy.figures) if self.copy else {}

    @property
    def version(self) -> int:
        return self.copy.version if self.copy else 0

    @property
    def closed(self) -> bool:
        return self.contribution.status in CLOSED

    def section(self, key: str) -> BriefSection | None:
        return next((s for s in self.brief.sections if s.key == key), None)

    def context(self, title: str, **extra: Any) -> dict[str, Any]:
        """What every agency page's template reads: the layout's fields, the back link and the form's tokens."""
        return {
            "title": title,
            "caption": self.agency.name,
            "partnership": self.partnership,
            "contribution": self.contribution,
            "summary_href": f"/contribution/{self.contribution.id}",
            "csrf": self.portal_session.csrf_token,
            "version": self.version,
            "errors": [],
            **extra,
        }

    def save(
        self, texts: dict[str, str] | None = None, figures: dict[str, str] | None = None, version: int | None = None
    ) -> WorkingCopy | Conflict:
        """Save these sections (and figures) over the working copy, leaving every other part as it was."""
        result = save(
            self.session,
            self.contribution,
            {**self.texts, **(texts or {})},
            brief=self.brief,
            expected_version=self.version if version is None else version,
            at=self.at,
            actor=self.contact.email,
            figures={**self.figures, **(figures or {})},
        )
        if isinstance(result, WorkingCopy):
            self.copy = result
        return result


# One statement for what every agency page reads: the session and its link, the contribution, its cycle, agency
# and partnership, the person, the working copy if there is one, and whether a document emailed in waits (a
# round trip each, before). Built once.
_Row = Select[PortalSession, PersonalLink, Contribution, Cycle, Agency, Contact, Partnership, WorkingCopy, bool]
_EMAILED = (
    exists()
    .where(col(EmailedDocument.contribution_id) == col(Contribution.id), col(EmailedDocument.confirmed_at).is_(None))
    .label("emailed")
)
_WRITER = cast(
    _Row,
    Select(PortalSession, PersonalLink, Contribution, Cycle, Agency, Contact, Partnership, WorkingCopy, _EMAILED)
    .join(PersonalLink, col(PersonalLink.id) == col(PortalSession.link_id))
    .join(Contribution, col(Contribution.id) == col(PortalSession.contribution_id))
    .join(Cycle, col(Cycle.id) == col(Contribution.cycle_id))
    .join(Agency, col(Agency.id) == col(Contribution.agency_id))
    .join(Contact, col(Contact.id) == col(PortalSession.contact_id))
    .join(Partnership, col(Partnership.id) == col(Cycle.partnership_id))
    .outerjoin(WorkingCopy, col(WorkingCopy.contribution_id) == col(Contribution.id))
    .where(
        col(PortalSession.token_hash) == bindparam("token_hash"),
        col(PortalSession.contribution_id) == bindparam("contribution_id"),
    ),
)


def writer(request: Request, session: Session, contribution_id: int) -> Writer | None:
    """The signed-in agency person for this contribution, or None (no session, or another contribution's)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    row = session.exec(_WRITER, params={"token_hash": hash_token(cookie), "contribution_id": contribution_id}).first()
    at = now(request)
    if row is None or not live(row[0], row[1], at=at):
        return None
    portal_session, _, contribution, cycle, agency, contact, partnership, copy, emailed = row
    brief, priorities, _, _, chair = cycle_values(cycle)
    return Writer(
        session=session,
        portal_session=portal_session,
        contribution=contribution,
        cycle=cycle,
        agency=agency,
        contact=contact,
        brief=brief,
        priorities=priorities,
        chair=chair,
        copy=copy,
        at=at,
        partnership=partnership.name,
        zone=partnership.timezone,
        partnership_row=partnership,
        emailed=bool(emailed),
    )


def words_of(text: str) -> int:
    return word_count(markdown_to_html(text, shift_headings=1))  # as `problems` renders it: one render a text


def count_text(words: int, limit: int | None) -> str:
    return f"{words} word{'' if words == 1 else 's'}" + (f" of {limit}" if limit else "")


@functools.lru_cache(maxsize=TEXTS_REMEMBERED)  # a pure function of the two, asked for every section on each load
def section_status(section: BriefSection, text: str) -> tuple[str, str]:
    """The task's status and its tag colour. Completed means there is text, within the limit, with nothing
    that would stop a submission; an empty section is never completed, optional or not."""
    words = words_of(text)
    if not text.strip():
        return "Not started", "govuk-tag--blue"
    if section.word_limit and words > section.word_limit:
        return "Over the word limit", "govuk-tag--red"
    # e.g. a picture without its description: started, but not ready to send
    if words == 0 or problems(Brief(sections=(section,)), {section.key: text}):
        return "In progress", "govuk-tag--light-blue"
    return "Completed", ""


def figures_status(brief: Brief, figures: dict[str, str]) -> tuple[str, str]:
    """Completed when every required figure is given and every one given is a number."""
    given = [f for f in brief.key_figures if figures.get(f.key, "").strip()]
    if not given:
        return "Not started", "govuk-tag--blue"
    _, wrong = parse_figures(brief, figures)
    missing = [f for f in brief.key_figures if f.required and not figures.get(f.key, "").strip()]
    return ("In progress", "govuk-tag--light-blue") if wrong or missing else ("Completed", "")


def gate(request: Request, session: Session, contribution_id: int, form: Any, lost: str = "") -> Writer | Response:
    """What every agency form passes first: the writer, or the answer to a post without a session (its text
    kept), on a closed contribution, or with a forged or stale CSRF token (`lost` says what was not saved)."""
    w = writer(request, session, contribution_id)
    if w is None:
        return refused_post(request, session, contribution_id, form)
    if w.closed:
        return closed_page(request, w)
    if not csrf_ok(w.portal_session, str(form.get("csrf", ""))):
        return expired_form(request, lost)
    return w


def closed_page(request: Request, w: Writer) -> Response:
    return page(
        request,
        "message.html",
        {
            "title": "This contribution is closed",
            "message": f"It is {w.contribution.status}: nothing more can be saved or submitted.",
            "partnership": w.partnership,
        },
        status_code=409,
    )


def conflict_page(
    request: Request, w: Writer, result: Conflict, texts: dict[str, str], figures: dict[str, str] | None = None
) -> Response:
    """Someone saved since this page was loaded: the parts that differ side by side, and the person chooses.
    `texts` (and `figures`, when they were what this person changed) is the whole contribution as this person
    would have it: their change over what is saved now."""
    theirs = result.theirs
    mine_figures = {**theirs.figures, **(figures or {})}
    figure_rows = [
        {"label": f.label, "mine": mine_figures.get(f.key, ""), "theirs": theirs.figures.get(f.key, "")}
        for f in w.brief.key_figures
        if mine_figures.get(f.key, "").strip() != theirs.figures.get(f.key, "").strip()
    ]
    sections = [
        {
            "title": s.title,
            "key": s.key,
            "mine": texts.get(s.key, ""),
            "theirs": theirs.sections.get(s.key, ""),
            "differs": texts.get(s.key, "") != theirs.sections.get(s.key, ""),
        }
        for s in w.brief.sections
    ]
    return page(
        request,
        "conflict.html",
        w.context(
            "Someone else saved this contribution",
            sections=sections,
            version=theirs.version,
            updated_by=theirs.updated_by,
            figures=mine_figures,
            figure_rows=figure_rows,
        ),
        status_code=409,
    )


def form_version(form: Any) -> int:
    """The working copy's version the form was loaded with; a garbled one can only conflict."""
    raw = str(form.get("version", "0"))
    return int(raw) if raw.isdigit() and len(raw) < 10 else -1
