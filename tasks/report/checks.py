"""The accessibility checks run on a publication when it is made, whose results the statement reports.

Nothing here is template text: each result is what the check found on this report's files. A check whose
tool is not installed is reported as not run, and the statement says so rather than claiming it.
"""

from __future__ import annotations

import io
import itertools
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    what: str  # what was checked, as the statement words it
    passed: bool | None  # None: the check could not be run here
    found: str  # what the check found, in words

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _struct_elements(reader: Any) -> list[Any]:
    """The structure tree's elements in reading order (depth first)."""
    found = []
    stack = [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop().get_object()
        if not isinstance(node, dict):
            continue
        if node.get("/S"):
            found.append(node)
        kids = node.get("/K")
        kids = kids if isinstance(kids, list) else [kids] if kids is not None else []
        stack.extend(reversed([k for k in kids if hasattr(k, "get_object")]))
    return found


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class _LinkWords(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: set[str] = set()
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.words.add(" ".join("".join(self._open).split()))
            self._open = None


def link_words(html: str) -> set[str]:
    """The words of every link in a page."""
    parser = _LinkWords()
    parser.feed(html)
    return parser.words - {""}


def pdf_checks(pdf: bytes, *, language: str, title: str, links: set[str]) -> list[Check]:
    """`links`: the words of the web page's links (link_words), which the PDF's link annotations should carry."""
    """The PDF's tags, read back with pypdf: language, title, headings, header cells, links, figures."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return [Check("The PDF's tags", None, "not checked: pypdf is not installed where the report was published")]
    reader = PdfReader(io.BytesIO(pdf))
    root: Any = reader.trailer["/Root"]
    checks = []
    lang = str(root.get("/Lang", ""))
    checks.append(Check("The PDF's language", lang == language, f"the document language is {lang or 'missing'}"))
    shown = reader.metadata.title if reader.metadata else None
    display = bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle"))
    checks.append(
        Check(
            "The PDF's title",
            shown == title and display,
            f"the title is “{shown}”" + ("" if display else ", but viewers are not told to show it"),
        )
    )
    elements = _struct_elements(reader) if "/StructTreeRoot" in root else []
    tags = Counter(str(e["/S"]) for e in elements)
    marked = bool(root.get("/MarkInfo", {}).get("/Marked"))
    checks.append(Check("The PDF is tagged", marked and bool(elements), f"{_plural(len(elements), 'tagged element')}"))
    levels = [int(str(e["/S"])[2]) for e in elements if str(e["/S"]) in {f"/H{n}" for n in range(1, 7)}]
    skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    checks.append(
        Check(
            "Headings in order",
            levels[:1] == [1] and levels.count(1) == 1 and not skips,
            f"{_plural(len(levels), 'heading')}, {levels.count(1)} at level 1, {_plural(len(skips), 'skipped level')}",
        )
    )
    headers = [e for e in elements if str(e["/S"]) == "/TH"]
    scoped = [e for e in headers if "/Scope" in (e.get("/A") or {})]
    checks.append(
        Check(
            "Table header cells say what they head",
            len(scoped) == len(headers),
            f"{len(scoped)} of {_plural(len(headers), 'header cell')} have a row or column scope",
        )
    )
    figures = [e for e in elements if str(e["/S"]) == "/Figure"]
    described = [e for e in figures if str(e.get("/Alt", "")).strip()]
    checks.append(
        Check(
            "Pictures and charts have a text description",
            len(described) == len(figures),
            f"{len(described)} of {_plural(len(figures), 'figure')} have one",
        )
    )
    annotations = [
        a.get_object()
        for page in reader.pages
        for a in (page.get("/Annots") or [])
        if a.get_object().get("/Subtype") == "/Link"
    ]
    worded = [a for a in annotations if str(a.get("/Contents", "")).strip() in links]
    checks.append(
        Check(
            "Links are described by their words",
            len(worded) == len(annotations),
            f"{len(worded)} of {_plural(len(annotations), 'link')} are described by the words of the link",
        )
    )
    untagged = tags["/NonStruct"]
    checks.append(
        Check(
            "Every element has a structural tag",
            untagged == 0,
            f"{_plural(untagged, 'element')} tagged NonStruct (no structural role)",
        )
    )
    return checks


def claims_pdf_ua(pdf: bytes) -> bool:
    """Whether the PDF's XMP metadata says it conforms to PDF/UA (pdfuaid:part)."""
    return b"pdfuaid" in pdf


def axe_check(page: Path) -> Check:
    """axe-core on the published web page in Chromium, when the browser tooling is installed here."""
    what = "The web page against WCAG 2.2 A and AA with axe-core"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from axe_playwright_python.sync_playwright import Axe
        from playwright.sync_api import sync_playwright
    except ImportError:
        return Check(what, None, "not run: Playwright and axe-core are not installed where the report was published")
    if chromium is None:
        return Check(what, None, "not run: no Chromium where the report was published")

    def run() -> list[str]:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=flags, headless=True)
            try:
                tab = browser.new_page()
                tab.goto(page.as_uri())
                result = Axe().run(tab)
            finally:
                browser.close()
        return [f"{v['id']} ({len(v['nodes'])})" for v in result.response["violations"]]

    try:
        # Playwright's synchronous API refuses to run inside an event loop; a thread of its own has none.
        with ThreadPoolExecutor(max_workers=1) as pool:
            violations = pool.submit(run).result(timeout=120)
    except Exception as exc:  # the browser is optional tooling: say it failed, do not stop the publication
        return Check(what, None, f"could not be run: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    if violations:
        return Check(
            what, False, f"axe-core reported {_plural(len(violations), 'rule')} failing: " + ", ".join(violations)
        )
    return Check(what, True, "axe-core reported no failures")
