"""Pictures in contributions: checked, re-encoded (no metadata, no hidden payload), kept by content hash.

An upload is refused with a message saying what to do; nothing is stored for
a refused upload. Alternative text is required: a picture nobody can describe
does not go in a public report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import warnings

from PIL import Image as Pil
from PIL import UnidentifiedImageError
from sqlmodel import Session, col, select

from models.audit import record
from models.cycle import Contribution
from models.portal import Image

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000  # a bigger picture is either a mistake or a decompression bomb
MAX_ALT = 300
KINDS = {"PNG": "image/png", "JPEG": "image/jpeg"}
# What an image reference looks like in stored content; the sanitiser keeps no other `src`.
SRC = re.compile(r"^/images/(?P<sha>[0-9a-f]{64})\.(?:png|jpg)$")
SRC_IN_HTML = re.compile(r'src="/images/([0-9a-f]{64}\.(?:png|jpg))"')
FILENAME_ALT = re.compile(r"^[\w\-. ]+\.(png|jpe?g|gif|bmp|tiff?|webp)$", re.IGNORECASE)


class ImageRefused(ValueError):
    """Why an upload was not accepted, in words for the person who sent it."""


def check_alt(alt: str, filename: str = "") -> str:
    alt = " ".join(alt.split())
    if not alt:
        raise ImageRefused(
            "Describe the picture in the ‘alternative text’ box: people using screen readers hear it instead."
        )
    if len(alt) > MAX_ALT:
        raise ImageRefused(
            f"The alternative text is {len(alt)} characters; keep it under {MAX_ALT} and put longer "
            "explanations in the text around the picture."
        )
    if FILENAME_ALT.match(alt) or (filename and alt.lower() == filename.lower()):
        raise ImageRefused("The alternative text is a file name: say what the picture shows instead.")
    return alt


def reencode(data: bytes, filename: str = "") -> tuple[bytes, str, int, int]:
    """The picture decoded and written again as PNG or JPEG: (bytes, media type, width, height)."""
    label = f"“{filename}”" if filename else "The file"
    if not data:
        raise ImageRefused(f"{label} is empty: choose the picture again.")
    if len(data) > MAX_BYTES:
        raise ImageRefused(
            f"{label} is {len(data) / 1024 / 1024:.1f} MB; pictures may be up to {MAX_BYTES // 1024 // 1024} MB. "
            "Save it smaller (for example at 150 dpi) and try again."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Pil.DecompressionBombWarning)
            with Pil.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                width, height = probe.size
                if kind not in KINDS:
                    raise ImageRefused(f"{label} is a {kind or 'kind of'} picture; upload a PNG or JPEG instead.")
                if width * height > MAX_PIXELS:
                    raise ImageRefused(f"{label} is {width}×{height} pixels: make it smaller than 5000×5000.")
                # verify() reads every chunk to the end, whatever ImageFile.LOAD_TRUNCATED_IMAGES says:
                # WeasyPrint sets that flag for the whole process on import, which would let half a file in.
                probe.verify()
            with Pil.open(io.BytesIO(data)) as again:
                again.load()
                picture = again.copy()
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Pil.DecompressionBombError, Pil.DecompressionBombWarning):
        raise ImageRefused(f"{label} is not a picture we can read; upload a PNG or JPEG.") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(f"{label} is damaged or incomplete; save it again and upload the new copy.") from None
    out = io.BytesIO()
    if kind == "JPEG":
        picture.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    else:
        if picture.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            picture = picture.convert("RGBA")
        picture.save(out, format="PNG", optimize=True)
    return out.getvalue(), KINDS[kind], width, height


def store_image(
    session: Session,
    contribution: Contribution,
    data: bytes,
    *,
    alt: str,
    filename: str,
    actor: str,
    at: dt.datetime,
) -> Image:
    """Check, re-encode and keep a picture for a contribution (the same picture twice is kept once)."""
    alt = check_alt(alt, filename)
    encoded, media_type, width, height = reencode(data, filename)
    sha = hashlib.sha256(encoded).hexdigest()
    found = session.exec(select(Image).where(Image.contribution_id == contribution.id, Image.sha256 == sha)).first()
    if found is not None:
        return found
    image = Image(
        contribution_id=contribution.id or 0,
        sha256=sha,
        media_type=media_type,
        width=width,
        height=height,
        data=encoded,
        alt=alt,
        filename=filename[-255:] or "picture",
        uploaded_by=actor,
        uploaded_at=at,
    )
    session.add(image)
    session.flush()
    record(
        session,
        at=at,
        actor=actor,
        action="image.upload",
        subject=f"contribution:{contribution.id}",
        cycle_id=contribution.cycle_id,
        image=image.name,
        width=width,
        height=height,
    )
    return image


def markdown_for(image: Image, alt: str) -> str:
    """The line that puts the picture in a section; brackets in the description would end it early."""
    safe = " ".join(alt.split()).replace("[", "(").replace("]", ")")
    return f"![{safe}](/images/{image.name})"


def referenced(html: str) -> list[str]:
    """Image names (`<sha>.<ext>`) used in sanitised HTML, in order, once each."""
    return list(dict.fromkeys(SRC_IN_HTML.findall(html)))


def image_bytes(session: Session, names: list[str]) -> dict[str, bytes]:
    """The stored bytes for image names; a name with no stored picture is left out."""
    shas = {name.split(".")[0]: name for name in names}
    if not shas:
        return {}
    rows = session.exec(select(Image).where(col(Image.sha256).in_(list(shas)))).all()
    return {r.name: r.data for r in rows if r.name in shas.values()}
