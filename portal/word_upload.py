"""A Word document into the contribution, in two steps: read and show the proposal, then confirm.

The proposal is shown part by part, in the document's order: each part's heading, its text (editable), and the
section it goes to — the one its heading matched, preselected, or "Leave it out" — which the agency may change.
Nothing is kept between the steps but the confirmation form itself: the parts, where each goes, which section
each part's heading matched, and the pictures (their bytes as base64, a preview, and their descriptions).
A section that takes the document's own part for it (the part whose heading matched it) is replaced by the parts
placed in it; any other section keeps the text it had, with the parts placed there after it; a section nothing is
placed in is left as it was.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from markupsafe import Markup
from sqlmodel import Session
from starlette.datastructures import UploadFile

from models.cycle import Contribution
from models.values import Brief
from tasks.contributions.content import markdown_to_html
from tasks.contributions.images import ImageRefused, check_alt, markdown_for, store_image
from tasks.contributions.word_import import LEAVE_OUT, MAX_BYTES, WordRefused, read_word, with_pictures

MAX_PICTURES = 40  # a contribution with more pictures than this is better sent to the business manager
BEFORE_FIRST = "Text before the first heading"


def _upload(form: Any) -> tuple[bytes, str]:
    upload = form.get("word-file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise WordRefused("Choose the Word document (.docx) to upload.")
    return upload.file.read(MAX_BYTES + 1), upload.filename


def propose(form: Any, brief: Brief) -> dict[str, Any]:
    """Read the uploaded document; the confirmation page's context. Raises WordRefused with the reason."""
    data, filename = _upload(form)
    return propose_file(data, filename, brief)


def propose_file(data: bytes, filename: str, brief: Brief) -> dict[str, Any]:
    """Read a document (uploaded, or emailed in and kept); the confirmation page's context."""
    proposal = read_word(data, brief)
    if len(proposal.pictures) > MAX_PICTURES:
        raise WordRefused(
            f"“{filename}” has {len(proposal.pictures)} pictures; up to {MAX_PICTURES} can be uploaded here. "
            "Send the document to the business manager instead."
        )
    blocks = [
        {
            "heading": b.heading or BEFORE_FIRST,
            "markdown": b.markdown,
            "matched": b.section or LEAVE_OUT,
            "chosen": b.section or LEAVE_OUT,
        }
        for b in proposal.blocks
    ]
    pictures = [
        {
            "placeholder": p.placeholder,
            "data": base64.b64encode(p.data).decode(),
            "type": p.content_type,
            "alt": p.alt or "",
        }
        for p in proposal.pictures
    ]
    return {
        "filename": filename,
        "blocks": blocks,
        "pictures": pictures,
        "notes": list(proposal.notes),
        "missing": [s.title for s in brief.sections if s.key in proposal.missing],
    }


def from_form(form: Any, brief: Brief) -> dict[str, Any]:
    """The confirmation page's context rebuilt from what it sent (to show it again with an error)."""
    blocks = [
        {
            "heading": str(form.get(f"block-{i}-heading", "")),
            "markdown": str(form.get(f"block-{i}", "")),
            "matched": str(form.get(f"block-{i}-matched", LEAVE_OUT)),
            "chosen": str(form.get(f"place-{i}", LEAVE_OUT)),
        }
        for i in range(_count(form, "block"))
    ]
    pictures = [
        {
            "placeholder": str(form.get(f"picture-{i}-placeholder", "")),
            "data": str(form.get(f"picture-{i}-data", "")),
            "type": str(form.get(f"picture-{i}-type", "")),
            "alt": str(form.get(f"picture-{i}-alt", "")),
        }
        for i in range(_count(form, "picture"))
    ]
    matched = {b["matched"] for b in blocks}
    return {
        "filename": str(form.get("filename", "")),
        "emailed": str(form.get("emailed", "")),
        "blocks": blocks,
        "pictures": pictures,
        "notes": [],
        "missing": [s.title for s in brief.sections if s.key not in matched],
    }


def _count(form: Any, name: str) -> int:
    try:
        return max(0, min(int(str(form.get(f"{name}-count", "0"))), 200))
    except ValueError:
        return 0


def confirm(
    session: Session,
    contribution: Contribution,
    brief: Brief,
    form: Any,
    current: dict[str, str],
    *,
    actor: str,
    at: dt.datetime,
) -> dict[str, str]:
    """The agency's confirmed text for each section the document changes: its parts where the agency put them,
    pictures stored and put in place. A section that does not take the document's own part for it keeps its
    `current` text first; sections nothing is placed in are not in the result.

    Raises ImageRefused (a part placed nowhere known, a picture without a description, or one that is not a
    picture) before anything is stored for a picture after it; the caller rolls back.
    """
    keys = [s.key for s in brief.sections]
    placed: dict[str, list[tuple[bool, int, str]]] = {}
    for i in range(_count(form, "block")):
        where = str(form.get(f"place-{i}", LEAVE_OUT))
        if where == LEAVE_OUT:
            continue
        if where not in keys:
            raise ImageRefused("Choose a section (or “Leave it out”) for each part of the document.")
        stranger = where != str(form.get(f"block-{i}-matched", LEAVE_OUT))
        placed.setdefault(where, []).append((stranger, i, str(form.get(f"block-{i}", "")).strip()))
    texts = {}
    for key, found in placed.items():
        # the section's own part first, then the parts put there, each in the document's order
        parts = [text for _, _, text in sorted(found) if text]
        # the document's own part replaces the section's text; parts put in another section go after its text
        before = [] if any(not stranger for stranger, _, _ in found) else [current.get(key, "").strip()]
        texts[key] = "\n\n".join([*before, *parts]).strip()
    lines: dict[str, str] = {}
    for i in range(_count(form, "picture")):
        placeholder = str(form.get(f"picture-{i}-placeholder", ""))
        alt = str(form.get(f"picture-{i}-alt", ""))
        number = placeholder.strip("[]")
        try:
            data = base64.b64decode(str(form.get(f"picture-{i}-data", "")), validate=True)
        except (binascii.Error, ValueError):
            raise ImageRefused(f"The {number} did not come through: upload the document again.") from None
        try:
            check_alt(alt)
        except ImageRefused as exc:
            raise ImageRefused(f"The {number}: {exc}") from None
        image = store_image(session, contribution, data, alt=alt, filename=f"{number}.png", actor=actor, at=at)
        lines[placeholder] = markdown_for(image, alt)
    return {key: with_pictures(text, lines) for key, text in texts.items()}


def previews(context: dict[str, Any], brief: Brief) -> dict[str, Any]:
    """Each part rendered as it will look (pictures show as their placeholders until confirmed), and the
    choices of where each part goes."""
    titles = {s.key: s.title for s in brief.sections}
    for b in context["blocks"]:
        b["html"] = Markup(markdown_to_html(b["markdown"], shift_headings=1))
        b["matched_title"] = titles.get(b["matched"], "")
        b["options"] = [{"value": LEAVE_OUT, "text": "Leave it out", "selected": b["chosen"] == LEAVE_OUT}] + [
            {"value": key, "text": title, "selected": b["chosen"] == key} for key, title in titles.items()
        ]
    context["matches"] = [
        {"heading": b["heading"], "section": b["matched_title"]} for b in context["blocks"] if b["matched_title"]
    ]
    return context
