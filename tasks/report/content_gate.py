"""The publication gate on content: what a draft holds that is not fit to publish, and the overrides.

Four kinds of thing hold a report back, each named with where it is:

- a figure marked `illustrative = true` in the partnership file (its values are made up);
- a note for the business manager: a paragraph that begins "Note for the business manager:" (or "Note to
  the business manager:"), which an author or an editor leaves in a contribution or a central section for
  the person who collates, never for the public;
- a broken link the collation report found (a fragment to no id, a picture not stored, a relative address);
- a placeholder address: a link or picture on a host reserved for examples and tests (`.invalid`, `.test`,
  `.example`, `.localhost`, `example.com`, `example.org`, `example.net`, `localhost`), RFC 2606 and 6761.

The business manager may override each one by itself (a figure they mean to publish as it is, a link they
know to be right), on the desk or with `reportcycle publish --override KEY`: each override is an audit event,
`publication.override`, which is also where the gate reads them back, so there is one record of who let what
through and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from models.audit import AuditEvent, record
from models.cycle import Cycle
from tasks.report.html_text import read_html

OVERRIDE = "publication.override"

# The marker an author writes at the start of a paragraph; case and the "for"/"to" are free.
NOTE = re.compile(r"^\s*\[?\s*note (?:for|to) the business manager\s*:", re.IGNORECASE)
PARAGRAPH = re.compile(r"<(p|li|td|th)\b[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[^>]+>")
# Hosts reserved for documentation and testing: nothing a reader can follow.
PLACEHOLDER_SUFFIXES = (".invalid", ".test", ".example", ".localhost")
PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "localhost")


@dataclass(frozen=True)
class Holdback:
    """One thing that stops publication until it is fixed or overridden."""

    key: str  # stable across drafts, what an override names: "figure:funding", "link:governance:https://x.invalid/"
    kind: str  # "illustrative figure", "note for the business manager", "broken link", "placeholder address"
    where: str  # the chapter and section: "Governance", "West Midlands Police: Looking ahead"
    what: str  # the figure's title, the note's words, the address and what is wrong with it

    def line(self) -> str:
        return f"{self.kind} in {self.where}: {self.what} [{self.key}]"


def is_placeholder(href: str) -> bool:
    host = (urlsplit(href).hostname or "").lower().rstrip(".")
    return bool(host) and (
        host in PLACEHOLDER_HOSTS
        or host.endswith(PLACEHOLDER_SUFFIXES)
        or any(host.endswith(f".{h}") for h in PLACEHOLDER_HOSTS)
    )


def notes_in(html: str) -> list[str]:
    """The words of every note for the business manager in a piece of content, in order."""
    found = []
    for match in PARAGRAPH.finditer(html):
        text = " ".join(TAG.sub(" ", match[2]).split())
        if NOTE.match(text):
            found.append(text)
    return found


def _short(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def find_holdbacks(
    places: list[tuple[str, str, str]], figures: list[tuple[str, str, str, bool]], broken: list[tuple[str, str, str]]
) -> list[Holdback]:
    """Every holdback in a draft. `places`: (where, anchor, html) of each piece of content; `figures`:
    (key, title, where, illustrative); `broken`: (where, href, problem) from the collation report."""
    found = [
        Holdback(f"figure:{key}", "illustrative figure", where, f"{title} (its values are made up)")
        for key, title, where, illustrative in figures
        if illustrative
    ]
    for where, anchor, html in places:
        for text in notes_in(html):
            found.append(
                Holdback(f"note:{anchor}:{_digest(text)}", "note for the business manager", where, _short(text))
            )
        parsed = read_html(html)
        for href in dict.fromkeys([*parsed.hrefs, *parsed.srcs]):
            if is_placeholder(href):
                found.append(
                    Holdback(f"link:{anchor}:{href}", "placeholder address", where, f"{href} leads to no real page")
                )
    found += [
        Holdback(f"link:{where}:{href}", "broken link", where, f"{href}: {problem}") for where, href, problem in broken
    ]
    return list({h.key: h for h in found}.values())


def overridden(session: Session, cycle: Cycle) -> set[str]:
    """The keys the business manager has let through for this cycle."""
    details = session.exec(
        select(AuditEvent.detail).where(AuditEvent.cycle_id == cycle.id, col(AuditEvent.action) == OVERRIDE)
    ).all()
    return {str(d.get("key")) for d in details if d}


def override(session: Session, cycle: Cycle, holdback: Holdback, *, reason: str, at: dt.datetime, actor: str) -> None:
    """Let one holdback through, on the record: who, when, what it was, and why."""
    if not reason.strip():
        raise ValueError("say why this may be published as it is (a reason is recorded with the override)")
    record(
        session,
        at=at,
        actor=actor,
        action=OVERRIDE,
        subject=f"cycle:{cycle.id}",
        cycle_id=cycle.id,
        reason=reason.strip(),
        **asdict(holdback),
    )


def refusal(blocking: list[Holdback]) -> str:
    """The one-line refusal naming each holdback and the two ways past it."""
    count = f"{len(blocking)} thing{'' if len(blocking) == 1 else 's'}"
    return (
        f"not published: the report holds {count} not fit to publish: "
        + "; ".join(h.line() for h in blocking)
        + ". Fix each in its text or the partnership file and collate again, or let one through on the desk or "
        'with reportcycle publish --override KEY --reason "why"'
    )
