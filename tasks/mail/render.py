"""Render an email from templates/emails/<kind>.{subject.txt,txt,html} (StrictUndefined).

The plain text is wrapped here, after rendering, so templates can write a paragraph on one line: a reader's
mail program shows at most 78 columns without scrolling (RFC 5322 asks for 78), and a URL is never broken
(a long one stands on a line of its own, whole, so it stays clickable)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

# Paragraphs are wrapped at 76 so quoting ("> ") in a reply still fits 78; no line may pass 78 but a URL's.
WRAP_AT = 76
LONGEST_LINE = 78
# Subjects stay under 80 characters: a phone shows about 40, a desktop list about 70-80.
LONGEST_SUBJECT = 79
# A list item ("- ", "* ", "1. ") continues under its text, not under its bullet.
BULLET = re.compile(r"^(\s*)([-*]|\d+\.)?\s*")


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
        # Compiled once per process: the email templates ship with the code and change with a deploy, and checking
        # each file's date on every render cost a busy chase day a stat call per template per email (issue 19).
        auto_reload=False,
    )
    env.globals["report_names"] = report_names  # subjects and openings name the report one way
    return env


def wrap_line(line: str, width: int = WRAP_AT) -> list[str]:
    """One rendered line as lines of at most `width` columns; a word longer than that (a URL) stays whole."""
    if len(line) <= LONGEST_LINE:
        return [line]
    return list(_wrapped(line, width))


# A chase renders the same long lines over and over (the footer's, the brief's guidance): each distinct one is
# wrapped once per process. The line is the whole input, so nothing can go stale; the bound keeps memory small.
@lru_cache(maxsize=2048)
def _wrapped(line: str, width: int) -> tuple[str, ...]:
    indent = " " * len(BULLET.match(line).group(0))  # type: ignore[union-attr]  # the pattern always matches
    return tuple(
        textwrap.wrap(
            line,
            width=width,
            subsequent_indent=indent,
            break_long_words=False,  # a URL is one word: broken, it no longer opens
            break_on_hyphens=False,  # nor at its hyphens
        )
    )


def wrap_text(text: str, width: int = WRAP_AT) -> str:
    """The whole plain text wrapped line by line; short lines (the "-- " signature line, lists) as they are."""
    wrapped: list[str] = []
    for line in text.split("\n"):
        if len(line) <= LONGEST_LINE:
            wrapped.append(line)
        else:
            wrapped.extend(_wrapped(line, width))
    return "\n".join(wrapped)


def fit_subject(subject: str, longest: int = LONGEST_SUBJECT) -> str:
    """A subject over `longest` characters is cut at a word and ends with an ellipsis. Templates put what and
    when first and a name (an agency's, which can run to sixty characters) last, so only the name is cut."""
    if len(subject) <= longest:
        return subject
    cut = subject[: longest - 1].rsplit(" ", 1)[0].rstrip(" ,:;-")
    return f"{cut}…"


def render_email(templates_dir: Path, kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = environment(templates_dir)
    subject = env.get_template(f"emails/{kind}.subject.txt").render(context)
    return RenderedEmail(
        subject=fit_subject(" ".join(subject.split())),  # one line, whatever the template's whitespace
        text=wrap_text(env.get_template(f"emails/{kind}.txt").render(context)),
        html=env.get_template(f"emails/{kind}.html").render(context),
    )
