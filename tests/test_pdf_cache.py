"""The suite's PDF cache (tests/pdf_cache.py) gives what a render gives, and renders each input once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasks.report.pdf import render_pdf
from tests.pdf_cache import remembering

PAGE = (
    '<html lang="en"><head><title>Cached</title></head><body><h1>A report</h1>'
    '<img src="http://127.0.0.1:9/chart.png" alt="a chart"><p>Text.</p></body></html>'
)


@pytest.mark.once
def test_the_cache_renders_each_input_once_and_gives_the_same_bytes_and_refusals(tmp_path: Path) -> None:
    calls: list[str] = []

    def counted(html: str, *args: Any, **kwargs: Any) -> bytes:
        calls.append(html)
        return render_pdf(html, *args, **kwargs)

    cached = remembering(counted, tmp_path, b"renderer v1")
    refused_first: list[str] = []
    refused_again: list[str] = []
    first = cached(PAGE, refused=refused_first)
    again = cached(PAGE, refused=refused_again)
    assert first == again == render_pdf(PAGE) and first.startswith(b"%PDF-")
    assert refused_first == refused_again == ["http://127.0.0.1:9/chart.png"]
    assert len(calls) == 1
    cached(PAGE.replace("Text.", "Other text."))  # another page renders
    remembering(counted, tmp_path, b"renderer v2")(PAGE)  # and so does the same page once the renderer changed
    assert len(calls) == 3
