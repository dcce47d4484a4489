"""A Word document (.docx) read against the brief: a proposal of which text goes in which section.

Nothing here touches the database. The portal shows the proposal for the agency to confirm (placing any
text that matched no section with `place`), stores the pictures (tasks.contributions.images.store_image, which asks for
the descriptions the document lacks) and puts each one's address in with `with_pictures`; only then does the
text become the working copy.

The text goes through the same sanitiser as anything typed in the portal: Word → HTML (mammoth) →
our allowed HTML (sanitise) → the Markdown people edit (html_to_markdown).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any

import mammoth

from models.values import Brief
from tasks.contributions.content import html_to_markdown, markdown_to_html, word_count
from tasks.contributions.word_file import MAX_BYTES, MAX_UNPACKED, WordRefused, check_word_file
from tasks.contributions.word_html import PLACEHOLDER, Chunk, Heading, cut, markdown_text

__all__ = [
    "LEAVE_OUT",
    "MAX_BYTES",
    "MAX_UNPACKED",
    "Block",
    "Picture",
    "Proposal",
    "WordRefused",
    "place",
    "read_word",
    "section_for",
    "with_pictures",
]

LEAVE_OUT = ""  # the choice for a block the agency does not want; never a section key (keys are not empty)
# The Title style is the document's title, a heading above Heading 1 (mammoth reads it as a paragraph).
STYLE_MAP = "p[style-name='Title'] => h1:fresh"
PICTURE_KINDS = {"image/png", "image/jpeg"}  # what tasks.contributions.images.reencode accepts
PLACEHOLDERS = re.compile(r"\[\[picture \d+\]\]")


@dataclass(frozen=True)
class Picture:
    """A picture from the document, to be stored and then put in place of its placeholder."""

    placeholder: str  # "[[picture 1]]": where it sits in a block's Markdown
    data: bytes
    content_type: str  # as the document declares it: image/png, image/jpeg, image/x-emf...
    alt: str | None  # the picture's description in Word; None when it has none, so the portal asks for one


@dataclass(frozen=True)
class Block:
    """A stretch of the document between two headings."""

    heading: str | None  # as written in the document, plain text; None for text before the first heading
    markdown: str  # what goes in the section; for a block that matched no section it starts with its heading
    section: str | None  # the brief section it goes in; None until the agency places it


@dataclass(frozen=True)
class Proposal:
    keys: tuple[str, ...]  # the brief's section keys, in order
    blocks: tuple[Block, ...]  # in document order
    pictures: tuple[Picture, ...]  # those still in the blocks, in document order
    notes: tuple[str, ...] = field(default=())  # things the agency should know, in plain words

    @property
    def sections(self) -> dict[str, str]:
        """Every section of the brief as Markdown ("" where nothing goes), blocks in document order."""
        return {
            key: "\n\n".join(b.markdown for b in self.blocks if b.section == key and b.markdown) for key in self.keys
        }

    @property
    def unplaced(self) -> tuple[Block, ...]:
        """The blocks waiting for the agency's choice; `place` takes their positions in this tuple."""
        return tuple(b for b in self.blocks if b.section is None)

    @property
    def missing(self) -> tuple[str, ...]:
        """Sections nothing in the document goes to (no heading matched them)."""
        found = {b.section for b in self.blocks}
        return tuple(k for k in self.keys if k not in found)


def _words(text: str) -> str:
    """Case, spacing and punctuation do not count; "&" is "and"."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold().replace("&", " and ")).split())


# A heading's own numbering: "2.", "2 ", "2.1", "3)", "(b)", "iv.", "Section 2:", "Part 3 -"; one or two
# digits, so that a year ("2019 activity...") is not taken for a number.
_NUMBERING = re.compile(
    r"^\s*(?:(?:section|part)\s+)?(?:\d{1,2}(?:\.\d+)*[.):]?|\(?[a-z]\)|[a-z][.:]|[ivx]+[.):])\s*[-–—:]?\s+",
    re.IGNORECASE,
)


# Words an agency puts before a section's title that do not change which section it is: "Our statutory role".
_OWNERS = re.compile(r"^(?:our|your|my|the|this year s|the agency s)\s+")
# How alike two titles must be (difflib's ratio) to be the same section written a little differently
# ("Statutory roles", "Looking ahed"); an agency's own sub-heading that shares a word or two stays below it.
CLOSE_MATCH = 0.88


def section_for(heading: str, brief: Brief) -> str | None:
    """The brief section a heading names, or None.

    A heading matches a section's title or key once case, spacing and punctuation are set aside, its own
    numbering is taken off ("2. Activity against each priority", "ACTIVITY AGAINST EACH PRIORITY:",
    "activity-against-each-priority") and so is a leading "Our"/"Your"/"The" ("Our statutory role"); failing
    that, when it is a close match to one title and to no other ("Statutory roles"). Looser than that would
    be wrong: an agency's sub-heading that only resembles a section ("Performance figures" inside "Activity
    against each priority") must not cut the section in two. The proposal shows every match for the person
    to confirm or change before anything is saved.
    """
    bare = _words(_NUMBERING.sub("", heading, count=1))
    wanted = {_words(heading), bare, _OWNERS.sub("", bare)}
    for s in brief.sections:
        if {_words(s.title), _words(s.key)} & wanted:
            return s.key
    # A close match is a title misspelt or pluralised, word for word: a heading with a word more ("2019
    # activity against each priority") is the agency's own.
    close = [
        s.key
        for s in brief.sections
        for title in [_words(s.title)]
        if any(
            len(w.split()) == len(title.split()) and SequenceMatcher(None, w, title).ratio() >= CLOSE_MATCH
            for w in wanted
        )
    ]
    return close[0] if len(close) == 1 else None


@dataclass
class _Draft:
    heading: str | None
    level: int
    section: str | None
    head: str  # for a block that matched no section, its heading as a sub-heading
    body: list[str]


def _sub_heading(level: int, text: str) -> str:
    """Our content holds h3-h5 (the report's section title is above them); deeper Word levels become h5."""
    tag = f"h{min(max(level, 3), 5)}"
    return f"<{tag}>{html.escape(markdown_text(text, line_start=False), quote=False)}</{tag}>"


def _has_content(markdown: str) -> bool:
    return bool(PLACEHOLDERS.search(markdown)) or word_count(markdown_to_html(markdown)) > 0


def _split(pieces: Iterable[Heading | Chunk], brief: Brief) -> list[_Draft]:
    drafts = [_Draft(heading=None, level=0, section=None, head="", body=[])]
    for piece in pieces:
        current = drafts[-1]
        if isinstance(piece, Chunk):
            current.body.append(piece.html)
            continue
        if not piece.text:
            continue  # a heading holding only a picture: the picture follows it as a chunk
        key = section_for(piece.text, brief)
        if key is not None:
            drafts.append(_Draft(piece.text, piece.level, key, "", []))
        elif current.heading is not None and piece.level > current.level:
            # below the heading it follows: the agency's own sub-heading; a matched section's first level
            # down is h3, an unmatched block's own heading is h3 so its first level down is h4
            depth = piece.level - current.level + (2 if current.section else 3)
            current.body.append(_sub_heading(depth, piece.text))
        else:
            drafts.append(_Draft(piece.text, piece.level, None, _sub_heading(3, piece.text), []))
    return drafts


class _Pictures:
    """Mammoth's image converter: keeps each picture's bytes and description, leaves a marker in the HTML."""

    def __init__(self) -> None:
        self.found: list[Picture] = []
        self.unreadable = 0

    def __call__(self, image: Any) -> list[Any]:
        try:
            with image.open() as stream:
                data = stream.read()
        except (KeyError, OSError, ValueError, zipfile.BadZipFile):
            # missing from the file, or linked to a file outside it (mammoth refuses those: ValueError)
            self.unreadable += 1
            return []
        number = len(self.found) + 1
        alt = " ".join((image.alt_text or "").split()) or None
        self.found.append(Picture(PLACEHOLDER.format(number), data, image.content_type or "", alt))
        return [mammoth.html.element("img", {"src": f"word-picture:{number}"})]


def _notes(messages: Iterable[Any], pictures: _Pictures, names: list[str], dropped: list[str]) -> list[str]:
    """Mammoth's warnings worth a person's attention, in plain words. Unrecognised or undefined styles are
    not: their text comes across as ordinary paragraphs."""
    notes = []
    if any("unrecognised element" in m.message for m in messages):
        notes.append(
            "Some things in the document (for example an equation or an embedded object) could not be "
            "brought across: check the text against your document."
        )
    charts = sum(1 for n in names if re.fullmatch(r"word/charts/chart\d+\.xml", n))
    if charts:
        notes.append(
            f"The document has {charts} chart(s), which cannot be brought across. Add each as a picture "
            "(in Word: copy the chart, then Paste Special → Picture) or in the portal."
        )
    unreadable = pictures.unreadable + sum(1 for m in messages if "Could not find image file" in m.message)
    if unreadable:
        notes.append(f"{unreadable} picture(s) could not be read from the document: add them in the portal.")
    for p in pictures.found:
        if p.content_type not in PICTURE_KINDS:
            notes.append(
                f"Picture {p.placeholder} is a kind we cannot show ({p.content_type or 'unknown'}): save it as "
                "PNG or JPEG and add it in the portal."
            )
    notes += [f"The heading “{h}” has nothing under it, so it is left out." for h in dropped]
    return notes


def read_word(data: bytes, brief: Brief) -> Proposal:
    """Read a .docx against the brief; WordRefused (with a message for the person) if it cannot be read."""
    names = check_word_file(data)
    pictures = _Pictures()
    try:
        result = mammoth.convert_to_html(
            io.BytesIO(data),
            convert_image=pictures,
            style_map=STYLE_MAP,
            # the document must not steer its own conversion, nor make us read files it links to
            include_embedded_style_map=False,
            external_file_access=False,
        )
    except Exception as exc:  # a parser of untrusted input: whatever it trips on, the file is unreadable
        raise WordRefused(
            "The document could not be read (it may be damaged). Open it in Word, save it again and upload "
            "the new copy."
        ) from exc
    blocks: list[Block] = []
    dropped: list[str] = []
    for draft in _split(cut(result.value), brief):
        body = html_to_markdown("".join(draft.body))
        if draft.section is None and not _has_content(body):
            # the document's title, or a heading left empty: nothing for the agency to place
            if draft.heading:
                dropped.append(draft.heading)
            continue
        blocks.append(Block(draft.heading, html_to_markdown(draft.head + "".join(draft.body)), draft.section))
    if not any(_has_content(b.markdown) for b in blocks):
        raise WordRefused(
            "There is no text or picture in this document (only headings, or nothing at all): check that "
            "you chose the right file."
        )
    proposal = Proposal(tuple(s.key for s in brief.sections), tuple(blocks), tuple(pictures.found))
    proposal = _keep_used_pictures(proposal)
    return replace(proposal, notes=tuple(_notes(result.messages, pictures, names, dropped)))


def _keep_used_pictures(proposal: Proposal) -> Proposal:
    used = {m for b in proposal.blocks for m in PLACEHOLDERS.findall(b.markdown)}
    return replace(proposal, pictures=tuple(p for p in proposal.pictures if p.placeholder in used))


def place(proposal: Proposal, choices: Mapping[int, str]) -> Proposal:
    """The agency's choice for every unplaced block (its position in `proposal.unplaced` → a section key,
    or LEAVE_OUT). A placed block joins its section where it stood in the document."""
    waiting = proposal.unplaced
    unknown = sorted(set(choices) - set(range(len(waiting))))
    if unknown:
        raise ValueError(f"there is no unplaced block {unknown[0]}; there are {len(waiting)}")
    undecided = [i for i in range(len(waiting)) if i not in choices]
    if undecided:
        raise ValueError(f"choose a section, or leave out, for every block; not chosen: {undecided}")
    bad = sorted({v for v in choices.values() if v != LEAVE_OUT and v not in proposal.keys})
    if bad:
        raise ValueError(f"the brief has no section {bad[0]!r}; its sections are {', '.join(proposal.keys)}")
    blocks = []
    position = 0
    for block in proposal.blocks:
        if block.section is not None:
            blocks.append(block)
            continue
        choice = choices[position]
        position += 1
        if choice != LEAVE_OUT:
            blocks.append(replace(block, section=choice))
    return _keep_used_pictures(replace(proposal, blocks=tuple(blocks)))


def with_pictures(markdown: str, lines: Mapping[str, str]) -> str:
    """Each placeholder replaced by its picture's line (tasks.contributions.images.markdown_for), or "" for a
    picture not kept. A placeholder not given stays, so a picture is never dropped without anyone seeing where it
    was."""
    return PLACEHOLDERS.sub(lambda m: lines.get(m.group(0), m.group(0)), markdown)
