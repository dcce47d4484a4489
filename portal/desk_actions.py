"""The business manager's actions on the desk, by name: each a function of the form, the cycle, who and when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from models.cycle import Contribution, Cycle
from models.outbox import OutboundEmail
from models.partnership import Agency
from models.store import contribution_for, cycle_values
from reportcycle.settings import Settings
from tasks.contributions.images import ImageRefused, markdown_for, store_image
from tasks.contributions.word_import import MAX_BYTES as WORD_MAX_BYTES
from tasks.contributions.word_import import WordRefused, place, read_word, with_pictures
from tasks.desk.address import fix_address
from tasks.desk.central import set_central_text
from tasks.desk.desk import confirm_escalation, excuse, extend, unexcuse
from tasks.desk.excused import tell_excused
from tasks.desk.manager_desk import (
    DeskError,
    grant_extension,
    refuse_extension,
    replace_contact,
    resend_link,
    revoke_links,
    submit_on_behalf,
)
from tasks.links.staff_link import send_staff_link
from tasks.mail.outbox_admin import OutboxAdminError, cancel, retry
from tasks.report.collate import collate


@dataclass(frozen=True)
class Act:
    """What an action works with: the form's fields, the cycle, who and when."""

    session: Session
    cycle: Cycle
    form: Any
    at: dt.datetime
    actor: str
    settings: Settings

    def field(self, name: str) -> str:
        return str(self.form.get(name, "")).strip()

    def contribution(self) -> Contribution:
        agency = self.session.exec(
            select(Agency).where(
                Agency.partnership_id == self.cycle.partnership_id, Agency.slug == self.field("agency")
            )
        ).first()
        if agency is None:
            raise DeskError("Choose an agency of this partnership.")
        return contribution_for(self.session, self.cycle, agency)

    def row_id(self, name: str) -> int:
        value = self.field(name)
        if not value.isdigit() or len(value) > 9:
            raise DeskError("That form was not complete: reload the page and try again.")
        return int(value)

    def typed_date(self, name: str) -> dt.date:
        """The date typed in the GOV.UK date input `name` (name-day, name-month, name-year)."""
        parts = [self.field(f"{name}-{p}") for p in ("year", "month", "day")]
        try:
            return dt.date(*(int(p) for p in parts))
        except ValueError:
            raise DeskError("Enter the date as a day, month and year, like 27 3 2026.") from None


def _from_word(a: Act, contribution: Contribution) -> dict[str, str] | None:
    """The sections of an uploaded Word document, for the business manager: parts that match no section go at
    the end of the first one (with their headings), and every picture must already have its description."""
    upload = a.form.get("word-file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    brief = cycle_values(a.cycle)[0]
    try:
        proposal = read_word(upload.file.read(WORD_MAX_BYTES + 1), brief)
    except WordRefused as exc:
        raise DeskError(str(exc)) from None
    undescribed = [p.placeholder for p in proposal.pictures if not p.alt]
    if undescribed:
        raise DeskError(
            f"{', '.join(undescribed)} in the document have no description: add one in Word (right-click the "
            "picture, then Edit Alt Text) and upload it again."
        )
    first = brief.sections[0].key
    proposal = place(proposal, {i: first for i in range(len(proposal.unplaced))})
    lines = {}
    for picture in proposal.pictures:
        try:
            image = store_image(
                a.session,
                contribution,
                picture.data,
                alt=picture.alt or "",
                filename=upload.filename,
                actor=a.actor,
                at=a.at,
            )
        except ImageRefused as exc:
            raise DeskError(f"{picture.placeholder}: {exc}") from None
        lines[picture.placeholder] = markdown_for(image, picture.alt or "")
    return {key: with_pictures(text, lines) for key, text in proposal.sections.items()}


def _on_behalf(a: Act) -> object:
    texts = {k.removeprefix("section-"): str(v) for k, v in a.form.items() if k.startswith("section-")}
    contribution = a.contribution()
    texts = _from_word(a, contribution) or texts
    return submit_on_behalf(
        a.session,
        a.cycle,
        contribution,
        texts,
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    )


def _excuse(a: Act) -> list[str]:
    """Excuse the agency and tell its contacts why (the `excused` email, in the send window)."""
    reason = str(a.form.get("reason", "")).strip()
    if not reason:
        raise DeskError("Say why the agency is excused: the report and the audit log record it.")
    contribution = a.contribution()
    excuse(a.session, contribution, at=a.at, actor=a.actor, reason=reason)
    return tell_excused(
        a.session, a.cycle, contribution, reason=reason, at=a.at, templates_dir=a.settings.templates_dir
    )


def _unexcuse(a: Act) -> object:
    try:
        return unexcuse(a.session, a.contribution(), at=a.at, actor=a.actor, reason=a.field("reason"))
    except ValueError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _extend(a: Act) -> object:
    try:
        return extend(
            a.session,
            a.cycle,
            a.contribution(),
            a.typed_date("until"),
            at=a.at,
            actor=a.actor,
            base_url=a.settings.public_base_url,
            templates_dir=a.settings.templates_dir,
        )
    except ValueError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _confirm(a: Act) -> object:
    try:
        return confirm_escalation(a.session, a.cycle, a.contribution(), at=a.at, actor=a.actor)
    except ValueError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:] + ".") from None


def _email(a: Act, verb: str) -> object:
    """Retry or cancel one of this cycle's emails, with the operator's rules (tasks.mail.outbox_admin)."""
    row = a.session.get(OutboundEmail, a.row_id("email"))
    if row is None or row.cycle_id != a.cycle.id:
        raise DeskError("There is no such email in this cycle.")
    try:
        if verb == "retry":
            return retry(a.session, row.id or 0, at=a.at, actor=a.actor)
        return cancel(a.session, row.id or 0, at=a.at, actor=a.actor, reason=a.field("reason"))
    except OutboxAdminError as exc:
        raise DeskError(str(exc)[:1].upper() + str(exc)[1:]) from None


def _collate(a: Act) -> object:
    s = a.settings
    return collate(a.session, a.cycle, at=a.at, actor=a.actor, output_dir=s.output_dir, templates_dir=s.templates_dir)


ACTIONS: dict[str, Callable[[Act], object]] = {
    "grant": lambda a: grant_extension(
        a.session,
        a.cycle,
        a.row_id("request"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    ),
    "refuse": lambda a: refuse_extension(
        a.session,
        a.cycle,
        a.row_id("request"),
        reason=a.field("reason"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        templates_dir=a.settings.templates_dir,
    ),
    "confirm-escalation": _confirm,
    "excuse": _excuse,
    "unexcuse": _unexcuse,
    "extend": _extend,
    "resend": lambda a: resend_link(
        a.session,
        a.cycle,
        a.contribution(),
        role=a.field("role") or "lead",
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
    "revoke": lambda a: revoke_links(a.session, a.contribution(), at=a.at, actor=a.actor),
    "replace": lambda a: replace_contact(
        a.session,
        a.cycle,
        a.contribution(),
        role=a.field("role"),
        name=a.field("name"),
        email=a.field("email"),
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
    "on-behalf": _on_behalf,
    "fix-address": lambda a: fix_address(
        a.session, a.cycle, a.contribution(), a.row_id("contact"), a.field("email"), at=a.at, actor=a.actor
    ),
    "central": lambda a: set_central_text(
        a.session, a.cycle, a.field("key"), str(a.form.get("body", "")), at=a.at, actor=a.actor
    ),
    "collate": _collate,
    "retry-email": lambda a: _email(a, "retry"),
    "cancel-email": lambda a: _email(a, "cancel"),
    "chair-link": lambda a: send_staff_link(
        a.session,
        a.cycle,
        "chair",
        at=a.at,
        actor=a.actor,
        base_url=a.settings.public_base_url,
        link_valid_days=a.settings.link_valid_days,
        templates_dir=a.settings.templates_dir,
    ),
}
# Where each action goes back to: the agency's page for agency actions, else the desk.
AGENCY_ACTIONS = {"resend", "revoke", "replace", "on-behalf", "excuse", "unexcuse", "extend", "fix-address"}
