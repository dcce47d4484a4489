"""The report's PDF rendered once per distinct input in a test session, shared by the session's processes.

A WeasyPrint render of the example's report costs 7 to 13 s of CPU, and the suite publishes the same report
again and again: the example's year on SQLite and on PostgreSQL gives the same page, byte for byte. The render is
deterministic (the same HTML, pictures and address give the same bytes), so a test that meets an input already
rendered in this session reads those bytes, and what the render refused, instead of rendering it again. The first
test to meet each input renders it for real. The cache lives under the session's temporary directory, so no run
ever reads another run's PDFs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path

from tasks.report.pdf import PDF_BASE

Render = Callable[..., bytes]


def _key(html: str, images: Mapping[str, bytes] | None, base_url: str, renderer: bytes) -> str:
    digest = hashlib.sha256()
    for part in (html.encode(), base_url.encode(), renderer):
        digest.update(hashlib.sha256(part).digest())
    for name, data in sorted((images or {}).items()):
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(data).digest())
    return digest.hexdigest()


def remembering(render: Render, where: Path, source: bytes) -> Render:
    """`render` (tasks.report.pdf.render_pdf), its results kept in `where` by a hash of its inputs and of
    `source` (the renderer's own code) and WeasyPrint's version, so that a change to either renders afresh."""
    where.mkdir(parents=True, exist_ok=True)
    renderer = source + version("weasyprint").encode()

    def cached(
        html: str,
        images: Mapping[str, bytes] | None = None,
        refused: list[str] | None = None,
        *,
        base_url: str = PDF_BASE,
    ) -> bytes:
        key = _key(html, images, base_url, renderer)
        pdf, turned_away = where / f"{key}.pdf", where / f"{key}.json"
        if pdf.exists() and turned_away.exists():
            if refused is not None:
                refused.extend(json.loads(turned_away.read_text()))
            return pdf.read_bytes()
        mine: list[str] = []
        found = render(html, images, mine, base_url=base_url)
        if refused is not None:
            refused.extend(mine)
        # Written under a name of this process's own, then renamed: another process never reads half a file.
        for path, data in ((pdf, found), (turned_away, json.dumps(mine).encode())):
            partial = path.with_name(f"{path.name}.{os.getpid()}")
            partial.write_bytes(data)
            partial.replace(path)
        return found

    return cached
