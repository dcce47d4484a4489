"""Reading a partnership file (TOML): the partnership, its agencies, and a cycle's plan.

Parsing is pure: a file is either turned into a `PartnershipFile` or refused
with a `PartnershipFileError` that names the file, the field and the fix.
Nothing is written to the database here.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import EmailStr, Field, ValidationError, field_validator, model_validator

from models.names import name_key
from models.values import Brief, Calendar, Person, Priority, Recipient, ReminderPolicy, Value


class ContactSpec(Person):
    role: str = Field(pattern=r"^(lead|deputy|senior)$")


class AgencySpec(Value):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1)
    # Other names the agency goes by in past reports ("WMP", an old spelling): `import-report` matches
    # chapter headings against the name and these.
    aliases: tuple[str, ...] = ()
    contacts: tuple[ContactSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _aliases(self) -> AgencySpec:
        for alias in self.aliases:
            if not name_key(alias):
                raise ValueError(
                    f"agency {self.slug!r} has the alias {alias!r}, which has no letters or digits; "
                    "write the name as it appears in a heading, or remove it"
                )
        return self

    @model_validator(mode="after")
    def _roles(self) -> AgencySpec:
        roles = [c.role for c in self.contacts]
        if "lead" not in roles:
            raise ValueError(f'agency {self.slug!r} has no lead contact; add one with role = "lead"')
        repeated = sorted({r for r in roles if roles.count(r) > 1})
        if repeated:
            raise ValueError(f"agency {self.slug!r} has more than one {repeated[0]} contact; keep one per role")
        return self


# The kinds of partnership, each with its statutory framework in models/frameworks/<kind>.toml. A file
# without `kind` is a children's partnership: every file written before kinds existed was checked against
# Working Together, and keeps being so.
KINDS: tuple[str, ...] = (
    "safeguarding-adults-board",
    "safeguarding-children-partnership",
    "community-safety-partnership",
    "other",
)
DEFAULT_KIND = "safeguarding-children-partnership"


def _known_kind(kind: str) -> str:
    if kind not in KINDS:
        allowed = ", ".join(f'"{k}"' for k in KINDS)
        raise ValueError(f"unknown kind {kind!r}; write one of {allowed}")
    return kind


class LogoSpec(Value):
    """The partnership's logo for the report's cover and running header: an SVG or PNG file beside the
    partnership file, read when the file is, and its text alternative."""

    file: str = Field(pattern=r"(?i)^[^/\\]+\.(svg|png)$", description="file name beside the partnership file")
    alt: str = Field(min_length=1, description="what the logo says, for a screen reader")
    data: str = Field(default="", description="the file's bytes in base64, filled in when the file is read")


class Look(Value):
    """How the printed and web report presents the partnership: language, colour, logo and web address."""

    language: str = Field(default="en-GB", pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", description="e.g. en-GB, cy-GB")
    colour: str = Field(default="#1d4f91", pattern=r"^#[0-9a-fA-F]{6}$", description="headings and rules")
    website: str | None = Field(
        default=None, pattern=r"^https?://[^\s]+$", description="the partnership's site, printed on the last page"
    )
    logo: LogoSpec | None = None

    @field_validator("colour")
    @classmethod
    def _readable(cls, colour: str) -> str:
        # Headings are drawn in this colour on white: WCAG 1.4.3 asks for 4.5:1.
        ratio = 1.05 / (_luminance(colour) + 0.05)
        if ratio < 4.5:
            raise ValueError(
                f"colour {colour} has a contrast of {ratio:.1f}:1 on white; choose a darker one (4.5:1 at least)"
            )
        return colour


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


class PartnershipSpec(Value):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1)
    kind: str = Field(default=DEFAULT_KIND, description="which statutory framework the partnership works under")
    from_address: EmailStr
    business_manager: Person
    language: str = Look.model_fields["language"].default
    colour: str = Look.model_fields["colour"].default
    website: str | None = None
    logo: LogoSpec | None = None

    _kind = field_validator("kind")(_known_kind)

    @model_validator(mode="after")
    def _look(self) -> PartnershipSpec:
        Look(language=self.language, colour=self.colour, website=self.website, logo=self.logo)  # refused here
        return self


class CycleSpec(Value):
    label: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1)
    period_start: dt.date
    period_end: dt.date
    requests_on: dt.date
    contributions_due: dt.date
    cut_off: dt.time = dt.time(17, 0)
    review_due: dt.date
    publish_by: dt.date
    chair: Person

    @model_validator(mode="after")
    def _in_order(self) -> CycleSpec:
        order = ["period_start", "period_end", "requests_on", "contributions_due", "review_due", "publish_by"]
        for earlier, later in itertools.pairwise(order):
            a, b = getattr(self, earlier), getattr(self, later)
            if b < a if earlier == "period_end" else b <= a:
                raise ValueError(
                    f"dates out of order: {later} ({b}) must come after {earlier} ({a}); "
                    f"the order is {' < '.join(order)}"
                )
        return self


class CentralSectionSpec(Value):
    """A part of the report the partnership writes itself (foreword, key facts, governance...)."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    title: str = Field(min_length=1)


class FigureRow(Value):
    label: str = Field(min_length=1, max_length=120)
    value: float = Field(ge=0)
    unit: str | None = Field(default=None, max_length=20, description="this row's unit, when not the figure's")


class FigureSpec(Value):
    """A figure of the report as data: shown as a table, and as a bar chart with a text alternative."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    after: str = Field(
        description="the central section it belongs to, placed after the first paragraph there that mentions "
        'it; or "section#heading-slug" (after that part) or "section#p3" (after its third paragraph)'
    )
    chart: str = Field(default="bar", pattern=r"^(bar|table)$", description="bar: a chart and its table")
    label_heading: str = "Item"
    value_heading: str = "Value"
    unit_before: str = Field(default="", max_length=3, description="e.g. £")
    unit_after: str = Field(default="", max_length=20, description="e.g. delegates")
    rows: tuple[FigureRow, ...] = Field(min_length=1, max_length=40)
    source: str = ""
    illustrative: bool = Field(
        default=False, description="true when the values are made up for the example, not the partnership's"
    )

    def units(self) -> list[str]:
        return list(dict.fromkeys(r.unit if r.unit is not None else self.unit_after for r in self.rows))

    @model_validator(mode="after")
    def _one_scale(self) -> FigureSpec:
        # Bars share one axis: 3,581 places beside 172 events reads as a comparison that is not one.
        units = self.units()
        if self.chart == "bar" and len(units) > 1:
            shown = ", ".join(repr(u) for u in units)
            raise ValueError(
                f"figure {self.key!r} mixes units ({shown}) in one chart; a chart's bars must share a unit: "
                "make one figure per unit"
            )
        return self


class GuidanceTopic(Value):
    """Something the statutory guidance asks the yearly report to cover, and phrases that suggest a passage does.

    Phrases match whole words, ignoring case, except a phrase with two or more capitals (an acronym such as
    "SCR"), which must match exactly; a word ending in "*" matches any ending ("evaluat*")."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    title: str = Field(min_length=1)
    asks: str = Field(default="", description="what the guidance asks, in its words")
    phrases: tuple[str, ...] = Field(min_length=1)


class CollationChecks(Value):
    """Settings of the business manager's collation report; left out, the topics of the partnership's
    framework (models/frameworks/) and the acronyms in tasks/report/collation_report.py."""

    topics: tuple[GuidanceTopic, ...] | None = None
    common_acronyms: tuple[str, ...] | None = Field(
        default=None, description="acronyms every reader knows, never asked for in the glossary"
    )


class ReportSpec(Value):
    """Where the agencies' contributions sit among the central sections, what that part is called, and the
    report's figures."""

    contributions_title: str = "Partner agencies' contributions"
    contributions_intro: str = ""
    contributions_after: str | None = Field(
        default=None, description="key of the central section the contributions follow; default: after them all"
    )
    figures: tuple[FigureSpec, ...] = ()
    parts: tuple[str, ...] = Field(
        default=(),
        description='chapters numbered as Parts, in the report\'s order: central section keys, or "contributions"',
    )
    collation: CollationChecks = CollationChecks()
    send_to_national_within_days: int | None = Field(
        default=None,
        gt=0,
        description="days after publication to send the report on to recipients marked national; "
        "left out, the framework's (7 for a children's partnership, none for the other kinds)",
    )
    # Copied from [partnership] kind when the file is read, so a cycle keeps the framework it was planned
    # under; None in cycles stored before kinds existed, which were all children's.
    kind: str | None = None
    # Copied from [partnership] too (language, colour, website, logo), so a cycle keeps the look it had.
    look: Look = Look()

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str | None) -> str | None:
        return None if kind is None else _known_kind(kind)


class Statutory(Value):
    publish_within_months: int | None = Field(
        default=None, gt=0, description="left out, the framework's (3 for a children's partnership)"
    )


class PartnershipFile(Value):
    partnership: PartnershipSpec
    calendar: Calendar = Calendar()
    statutory: Statutory = Statutory()
    reminders: ReminderPolicy = ReminderPolicy()
    priorities: tuple[Priority, ...] = Field(min_length=1)
    brief: Brief
    central_sections: tuple[CentralSectionSpec, ...] = ()
    report: ReportSpec = ReportSpec()
    agencies: tuple[AgencySpec, ...] = Field(min_length=1)
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    cycle: CycleSpec

    @model_validator(mode="before")
    @classmethod
    def _kind_to_report(cls, data: Any) -> Any:
        """The report settings carry the partnership's kind (see ReportSpec.kind); the file writes it once."""
        if not isinstance(data, dict) or not isinstance(data.get("partnership"), dict):
            return data
        report = data.get("report", {})
        if not isinstance(report, dict):
            return data
        kind = data["partnership"].get("kind", DEFAULT_KIND)
        # An exported file may repeat it in [report]; a different one there is a mistake.
        if report.get("kind", kind) != kind:
            raise ValueError(
                f"report.kind is not the partnership's kind ({kind!r}): write the kind once, in [partnership]"
            )
        # An unknown kind is refused once, on [partnership] where it is written.
        look = {
            k: data["partnership"][k] for k in ("language", "colour", "website", "logo") if k in data["partnership"]
        }
        try:
            Look.model_validate(look)
        except ValidationError:
            look = {}  # refused once, on [partnership] where it is written
        return {**data, "report": {**report, "kind": kind if kind in KINDS else None, "look": look}}

    @model_validator(mode="after")
    def _unique(self) -> PartnershipFile:
        for what, keys in (
            ("agency slug", [a.slug for a in self.agencies]),
            ("agency name", [a.name for a in self.agencies]),
            ("priority key", [p.key for p in self.priorities]),
            ("central section key", [c.key for c in self.central_sections]),
        ):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise ValueError(f"duplicate {what} {repeated[0]!r}: each must appear once")
        keys = [f.key for f in self.report.figures]
        repeated_figures = sorted({k for k in keys if keys.count(k) > 1})
        if repeated_figures:
            raise ValueError(f"duplicate figure key {repeated_figures[0]!r}: each must appear once")
        sections = {c.key for c in self.central_sections}
        for part in self.report.parts:
            if part not in sections | {"contributions"}:
                known = ", ".join(sorted(sections | {"contributions"}))
                raise ValueError(f"report.parts names {part!r}, which is not a chapter of the report ({known})")
        for figure in self.report.figures:
            if figure.after.split("#")[0] not in sections:
                known = ", ".join(sorted(sections)) or "none defined"
                raise ValueError(f"figure {figure.key!r}: after = {figure.after!r} is not a central section ({known})")
        self._names_point_to_one_agency()
        after = self.report.contributions_after
        if after is not None and after not in {c.key for c in self.central_sections}:
            known = ", ".join(c.key for c in self.central_sections) or "none defined"
            raise ValueError(f"report.contributions_after {after!r} is not a central section key ({known})")
        return self

    def _names_point_to_one_agency(self) -> None:
        """A heading is matched to an agency by its name or an alias: each must lead to one agency only."""
        owner: dict[str, tuple[str, str]] = {}  # name key -> (slug, "the name" | "an alias")
        for agency in self.agencies:
            for written in dict.fromkeys((agency.name, *agency.aliases)):
                what = "the name" if written == agency.name else "an alias"
                first = owner.setdefault(name_key(written), (agency.slug, what))
                if first[0] != agency.slug:
                    raise ValueError(
                        f"{written!r} would match two agencies: it is {first[1]} of {first[0]!r} and {what} of "
                        f"{agency.slug!r}; a name or alias must belong to one agency, so remove it from the "
                        "aliases of one of them"
                    )


class PartnershipFileError(ValueError):
    """A partnership file that cannot be used, with every problem found in it."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


_FIXES = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "value_error": "",
}


def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """`agencies[3].contacts[0].email`, with the agency's slug when there is one."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                slug = node[part].get("slug") or node[part].get("key")
                if slug:
                    label = f"[{part}:{slug}]"
            parts.append(label)
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(("." if parts else "") + part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def parse(path: Path) -> PartnershipFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PartnershipFileError(path, [f"cannot read the file ({exc.strerror})"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PartnershipFileError(path, ["not UTF-8 text; save the file as UTF-8"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PartnershipFileError(path, [f"not valid TOML: {exc}"]) from None
    logo = data.get("partnership", {}).get("logo") if isinstance(data.get("partnership"), dict) else None
    # An exported file carries the logo's bytes itself (`data`), so it loads wherever it is kept.
    if (
        isinstance(logo, dict)
        and isinstance(logo.get("file"), str)
        and "/" not in logo["file"]
        and not logo.get("data")
    ):
        try:
            logo["data"] = base64.b64encode((path.parent / logo["file"]).read_bytes()).decode()
        except OSError as exc:
            problems = [f"partnership.logo.file: cannot read {logo['file']} ({exc.strerror}); put it beside the file"]
            raise PartnershipFileError(path, problems) from None
    try:
        return PartnershipFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _where(data, tuple(err["loc"]))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            fix = _FIXES.get(err["type"], "")
            problems.append(f"{where}: {msg}" + (f" ({fix})" if fix else ""))
        raise PartnershipFileError(path, problems) from None
