"""The statutory frameworks a partnership works under, one TOML file per kind in models/frameworks/.

A framework brings defaults the partnership file can override: the topics the yearly report must cover (the
collation report looks for them), the roles the report must be sent to (the recipients are checked against
them), when it must be published, and the words for the people the partnership serves.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field

from models.partnership_file import DEFAULT_KIND, KINDS, GuidanceTopic, ReportSpec, Statutory
from models.values import Value

FRAMEWORKS = Path(__file__).with_name("frameworks")


class StatutoryRole(Value):
    """Someone the law says receives the report; a recipient holds the role when its role or name contains
    one of `matches` (ignoring case)."""

    title: str = Field(min_length=1, description='as in "no recipient is the Local Healthwatch"')
    matches: tuple[str, ...] = Field(min_length=1)


class PublicationTiming(Value):
    within_months: int | None = Field(default=None, gt=0, description="after the end of the year reported on")
    timing: str = Field(min_length=1, description="the rule in words")
    national_within_days: int | None = Field(
        default=None, gt=0, description="days after publication for the recipients marked national"
    )
    # What planning does with a publish-by date later than `within_months` allows: a limit the law sets is a
    # refusal; a planning default (the children's 3 months) only a warning.
    beyond_limit: Literal["warning", "refusal"] = "warning"


class Framework(Value):
    kind: str
    name: str = Field(min_length=1, description="the law or guidance, as a title")
    edition: str = Field(description="the edition the topics follow; a partnership under another one writes its own")
    source: str = Field(min_length=1, description='a sentence\'s subject: "The Care Act asks for ..."')
    people_served: str = Field(min_length=1, description='"children and families", "adults"')
    glossary_example: str = Field(min_length=1, description="an entry shown when a draft has no glossary")
    publication: PublicationTiming
    roles: tuple[StatutoryRole, ...] = ()
    topics: tuple[GuidanceTopic, ...] = ()

    @property
    def title(self) -> str:
        """The name with its edition: "Working Together to Safeguard Children (2018)"."""
        if not self.edition or self.edition in self.name:
            return self.name
        return f"{self.name} ({self.edition})"


@functools.cache
def framework_for(kind: str | None) -> Framework:
    """The framework of a kind; None (a cycle stored before kinds existed) is a children's partnership."""
    kind = kind or DEFAULT_KIND
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
    data = tomllib.loads((FRAMEWORKS / f"{kind}.toml").read_text(encoding="utf-8"))
    framework = Framework.model_validate(data)
    assert framework.kind == kind, f"{kind}.toml describes {framework.kind}"
    return framework


def report_topics(spec: ReportSpec) -> tuple[GuidanceTopic, ...]:
    """The topics the collation report looks for: the file's when it gives them, else its framework's."""
    topics = spec.collation.topics
    return framework_for(spec.kind).topics if topics is None else topics


def national_within_days(spec: ReportSpec) -> int | None:
    """Days after publication for the recipients marked national: the file's, else the framework's."""
    days = spec.send_to_national_within_days
    return framework_for(spec.kind).publication.national_within_days if days is None else days


def publish_within_months(statutory: Statutory, kind: str | None) -> int | None:
    """Months after the year's end the report must be published by; None where the law sets no limit."""
    months = statutory.publish_within_months
    return framework_for(kind).publication.within_months if months is None else months
