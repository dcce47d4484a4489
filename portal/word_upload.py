"""A Word document into the contribution, in two steps: read and show the proposal, then confirm.

Nothing is kept between the steps but the confirmation form itself: the proposed text per section
(editable), the blocks that matched no section (with where to put them), and the pictures (their bytes
as base64, a preview, and their descriptions). The text already on the page is saved before the
document is read, so nothing typed is lost whatever the agency chooses.
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


def _upload(form: Any) -> tuple[bytes, str]:
    upload = form.get("word-file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise WordRefused("Choose the Word document (.docx) to upload.")
    return upload.file.read(MAX_BYTES + 1), upload.filename


def propose(form: Any, brief: Brief, current: dict[str, str]) -> dict[str, Any]:
    """Read the uploaded document; the confirmation page's context. Raises WordRefused with the reason."""
    data, filename = _upload(form)
    proposal = read_word(data, brief)
    if len(proposal.pictures) > MAX_PICTURES:
        raise WordRefused(
            f"“{filename}” has {len(proposal.pictures)} pictures; up to {MAX_PICTURES} can be uploaded here. "
            "Send the document to the business manager instead."
        )
    found = proposal.sections
    sections = [
        {
            "key": s.key,
            "title": s.title,
            # a section the document does not have keeps what is already there
            "text": found.get(s.key) or current.get(s.key, ""),
            "from_document": bool(found.get(s.key)),
        }
        for s in brief.sections
    ]
    blocks = [
        {"heading": b.heading or "Text before the first heading", "markdown": b.markdown} for b in proposal.unplaced
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
    titles = {s.key: s.title for s in brief.sections}
    # which heading went where, for the agency to check before anything is placed
    matches = [
        {"heading": b.heading or "Text before the first heading", "section": titles.get(b.section, "")}
        for b in proposal.blocks
        if b.section is not None
    ]
    return {
        "filename": filename,
        "matches": matches,
        "sections": sections,
        "blocks": blocks,
        "pictures": pictures,
        "notes": list(proposal.notes),
        "missing": [s.title for s in brief.sections if s.key in proposal.missing],
    }


def from_form(form: Any, brief: Brief) -> dict[str, Any]:
    """The confirmation page's context rebuilt from what it sent (to show it again with an error)."""
    titles = {s.key: s.title for s in brief.sections}
    sections = [
        {"key": key, "title": titles[key], "text": str(form.get(f"section-{key}", "")), "from_document": True}
        for key in titles
    ]
    blocks = []
    for i in range(_count(form, "block")):
        blocks.append(
            {
                "heading": str(form.get(f"block-{i}-heading", "")),
                "markdown": str(form.get(f"block-{i}", "")),
                "chosen": str(form.get(f"place-{i}", LEAVE_OUT)),
            }
        )
    pictures = [
        {
            "placeholder": str(form.get(f"picture-{i}-placeholder", "")),
            "data": str(form.get(f"picture-{i}-data", "")),
            "type": str(form.get(f"picture-{i}-type", "")),
            "alt": str(form.get(f"picture-{i}-alt", "")),
        }
        for i in range(_count(form, "picture"))
    ]
    return {
        "filename": str(form.get("filename", "")),
        "sections": sections,
        "blocks": blocks,
        "pictures": pictures,
        "matches": [],
        "notes": [],
        "missing": [],
    }


def _count(form: Any, name: str) -> int:
    try:
        return max(0, min(int(str(form.get(f"{name}-count", "0"))), 200))
    except ValueError:
        return 0


def confirm(
    session: Session, contribution: Contribution, brief: Brief, form: Any, *, actor: str, at: dt.datetime
) -> dict[str, str]:
    """The agency's confirmed text per section: placed blocks appended, pictures stored and put in place.

    Raises ImageRefused (a picture without a description, or one that is not a picture) before anything
    is stored for a picture after it; the caller rolls back.
    """
    keys = [s.key for s in brief.sections]
    texts = {key: str(form.get(f"section-{key}", "")).strip() for key in keys}
    for i in range(_count(form, "block")):
        where = str(form.get(f"place-{i}", LEAVE_OUT))
        if where == LEAVE_OUT:
            continue
        if where not in texts:
            raise ImageRefused("Choose a section (or “Leave it out”) for each part that matched no section.")
        block = str(form.get(f"block-{i}", "")).strip()
        texts[where] = f"{texts[where]}\n\n{block}".strip()
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


def previews(context: dict[str, Any]) -> dict[str, Any]:
    """Each proposed section rendered as it will look (pictures show as their placeholders until confirmed)."""
    for s in context["sections"]:
        s["html"] = Markup(markdown_to_html(s["text"], shift_headings=1))
    return context
