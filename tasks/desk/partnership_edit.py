"""The desk's edits to the partnership, checked by the partnership file's own rules.

An edit changes the partnership as a partnership file would (`file_data`), is validated by `PartnershipFile`
(the same model `partnership load` reads a file with: one set of rules), and is written by `load_partnership`,
audited as `partnership.edit` with the differences in words. A refused edit writes nothing and says, field by
field, what is wrong and how to put it right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from models.cycle import Cycle
from models.lifecycle import CycleState
from models.partnership_file import PartnershipFile
from models.store import load_partnership, partnership_of
from tasks.desk.partnership_diff import differences, linked_contacts_removed
from tasks.desk.partnership_export import file_data

# The parts of a partnership file a cycle keeps for itself once its agencies are asked.
CYCLE_HELD = ("priorities", "brief", "recipients")


@dataclass(frozen=True)
class Problem:
    field: str | None  # the form field it is about, or None for the form as a whole
    text: str


class EditRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.text for p in problems))


def _sentence(text: str) -> str:
    text = text.removeprefix("Value error, ").strip()
    return text[:1].upper() + text[1:]


def _message(kind: str, message: str, label: str) -> str:
    """A validation error in the words a GOV.UK form uses: what to enter, and how. `label` names the field
    within a sentence ("the lead contact's email address")."""
    if kind in ("missing", "string_too_short"):
        return f"Enter {label}"
    if "email address" in message:
        return f"Enter {label} in the right form, like name@example.org"
    if kind == "too_short":
        return "The partnership needs at least one of these: add another before removing this one"
    label = _sentence(label)
    if kind == "string_pattern_mismatch":
        return (
            f"{label} must be lower-case letters, digits and hyphens (starting with a letter or digit), "
            "like west-midlands-police"
        )
    if kind in ("int_parsing", "int_from_float", "greater_than", "greater_than_equal"):
        return f"{label} must be a whole number above 0, like 400"
    if kind == "string_too_long":
        return f"{label} is too long: shorten it"
    return _sentence(message)


# A rule of the whole file names what it is about: the word, and the form field it goes on.
_NAMED = (
    ("slug", "slug"),
    ("key", "key"),
    ("alias", "aliases"),
    ("lead", "lead-name"),
    ("email", "email"),
    ("name", "name"),
)


def problems_of(
    exc: ValidationError,
    item: tuple[str | int, ...],
    labels: Mapping[str, str],
    field_of: Callable[[tuple[str | int, ...]], str | None] = lambda rest: str(rest[0]) if rest else None,
) -> list[Problem]:
    """Each error of a whole partnership file, on the form field of the item edited (`item`: its place in the
    file, like ("brief", "sections", 2)); an error with no field of its own goes on the field its words name."""
    found: list[Problem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err.get("input") == "":
            err = {**err, "type": "missing"}  # an empty field is one to fill in, whatever rule it then breaks
        rest = loc[len(item) :] if loc[: len(item)] == item else None
        field = field_of(rest) if rest else None
        if field is None:
            text = _sentence(err["msg"])
            # A rule of the whole file ("duplicate priority key 'x'") is about the key the form typed.
            field = next((f for word, f in _NAMED if f in labels and word in text), None)
            if field is None and rest == ():
                field = next(iter(labels), None)
            found.append(Problem(field, text if field is None else _message(err["type"], text, labels[field])))
            continue
        label = labels.get(field, field)
        found.append(Problem(field if field in labels else None, _message(err["type"], err["msg"], label)))
    # One message a field: the first is what to fix first.
    kept: dict[str | None, Problem] = {}
    general = [p for p in found if p.field is None]
    for p in found:
        if p.field is not None:
            kept.setdefault(p.field, p)
    return [*kept.values(), *dict.fromkeys(general)]


def edit(
    session: Session,
    cycle: Cycle,
    change: Callable[[dict[str, Any]], tuple[str | int, ...]],
    *,
    at: dt.datetime,
    actor: str,
    labels: Mapping[str, str] = {},
    field_of: Callable[[tuple[str | int, ...]], str | None] | None = None,
) -> list[str]:
    """Apply `change` (to the partnership file's data; it returns where the item it changed is, like ("agencies",
    3), for the errors) if the file's rules accept the result; the differences made, in words (none: nothing was
    written). `labels` names each form field within a sentence ("the title")."""
    partnership = partnership_of(session, cycle)
    data = file_data(session, partnership, cycle)
    try:
        before = PartnershipFile.model_validate(data)
    except ValidationError as exc:  # stored before a rule existed, or written by hand: say so, change nothing
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise EditRefused(
            [
                Problem(
                    None,
                    f"The partnership as stored breaks a rule of the partnership file ({where}: {first['msg']}): "
                    "load a corrected file with reportcycle partnership load, then make this change",
                )
            ]
        ) from None
    item = change(data)
    try:
        after = PartnershipFile.model_validate(data)
    except ValidationError as exc:
        args = (exc, item, labels) if field_of is None else (exc, item, labels, field_of)
        raise EditRefused(problems_of(*args)) from None
    held = [what for what in CYCLE_HELD if getattr(before, what) != getattr(after, what)]
    if held and cycle.status != CycleState.planned:
        raise EditRefused(
            [
                Problem(
                    None,
                    f"The {' and '.join(held)} of {cycle.title} cannot change now: its agencies were asked against "
                    "them. Change them in the next cycle, once it is planned",
                )
            ]
        )
    linked = linked_contacts_removed(session, partnership.id or 0, before, after)
    if linked:
        raise EditRefused(
            [
                Problem(
                    f"{role}-name" if f"{role}-name" in labels else None,
                    f"{name} has been sent personal links as the {role} contact, which the records keep, so the "
                    f"role cannot be left empty: to hand it to someone else, enter their name and email address",
                )
                for _, role, name in linked
            ]
        )
    changes = differences(before, after)
    if changes:
        load_partnership(session, after, at=at, actor=actor, action="partnership.edit", changes=changes)
    return changes
