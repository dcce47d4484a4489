"""Render an email from templates/emails/<kind>.{subject.txt,txt,html} (StrictUndefined)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=4)
def environment(templates_dir: Path) -> Environment:
    # Jinja is imported when the first email is rendered: commands that render none (status) never pay for it.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from tasks.mail.context import report_names

    env = Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["report_names"] = report_names  # subjects and openings name the report one way
    return env


def render_email(templates_dir: Path, kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = environment(templates_dir)
    subject = env.get_template(f"emails/{kind}.subject.txt").render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),  # one line, whatever the template's whitespace
        text=env.get_template(f"emails/{kind}.txt").render(context),
        html=env.get_template(f"emails/{kind}.html").render(context),
    )
