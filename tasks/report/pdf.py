"""The report's PDF: WeasyPrint's tagged output, finished so that its tags say what a reader's tools need.

WeasyPrint tags the PDF from the HTML; before the file is written we add what it leaves out: `/Scope` on
table header cells, each link annotation described by its words (not its address or fragment id), a real
tag where it wrote NonStruct for an inline or grouping element, and XMP metadata without a conformance
claim (nothing here validates PDF/UA, so the file does not say it conforms; see tasks.report.checks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

# Relative addresses in a page without a web address of its own resolve against this made-up origin,
# which only our fetcher answers; a publication passes its real address instead.
PDF_BASE = "https://report.invalid/"

INLINE = frozenset({"/Span", "/Link", "/NonStruct"})
BLOCK_PARENTS = frozenset({"/LBody", "/LI", "/TD", "/TH", "/Sect", "/Div", "/Document", "/Part", "/BlockQuote"})


def _boxes(box: Any) -> Iterator[Any]:
    stack = [box]
    while stack:
        found = stack.pop()
        yield found
        stack.extend(getattr(found, "children", None) or [])


def _describe_links(document: Any) -> None:
    """Each link annotation's /Contents: the words of its link, which a screen reader announces."""
    import pydyf

    for page in document.pages:
        for box in _boxes(page._page_box):
            annotation = getattr(box, "link_annotation", None)
            element = getattr(box, "element", None)
            if annotation is None or element is None:
                continue
            words = " ".join("".join(element.itertext()).split())
            title = element.get("title")
            if words or title:
                annotation["Contents"] = pydyf.String(words or title)


def _retag(pdf: Any) -> None:
    """Scope on header cells; a real tag for the NonStruct elements an inline or a wrapper became."""
    import pydyf

    by_ref: dict[Any, Any] = {}
    elements: list[Any] = []
    for obj in pdf.objects:
        if getattr(obj, "get", None) and obj.get("Type") == "/StructElem":  # pydyf Dictionaries
            by_ref[obj.reference] = obj
            elements.append(obj)

    def tag(ref: Any) -> str:
        found = by_ref.get(ref)
        return str(found["S"]) if found is not None else ""

    for element in elements:
        kind = element["S"]
        if kind == "/TH":
            row = by_ref.get(element.get("P"))
            group = tag(row.get("P")) if row is not None else ""
            element.setdefault("A", pydyf.Dictionary({"O": "/Table"}))["Scope"] = (
                "/Column" if group == "/THead" else "/Row"
            )
        elif kind == "/NonStruct":
            kids = [tag(k) for k in element["K"] if isinstance(k, bytes)]
            parent = tag(element.get("P"))
            if kids and all(k in INLINE for k in kids):
                element["S"] = "/P" if parent in BLOCK_PARENTS else "/Span"
            elif kids:
                element["S"] = "/Div"
            elif not element["K"] and (parent_element := by_ref.get(element.get("P"))) is not None:
                # An empty box (a line's leftover): nothing to read, so it leaves the tree.
                parent_element["K"] = pydyf.Array(k for k in parent_element["K"] if k != element.reference)


def finisher(document: Any, pdf: Any) -> None:
    _describe_links(document)
    _retag(pdf)
    # XMP with the title and language, and no pdfuaid:part: the file claims no conformance it was not checked for.
    document.metadata.include_in_pdf(pdf, "ua", None, None, compress=True)


def render_pdf(
    html: str, images: Mapping[str, bytes] | None = None, refused: list[str] | None = None, *, base_url: str = PDF_BASE
) -> bytes:
    """The PDF of a report page. It fetches only the report's own pictures: any other address (file://,
    the network) is refused, and added to `refused` when a list is given. `base_url` is where the page is
    published, so that its relative links (the statement, the web page) lead there from the PDF."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    # WeasyPrint warns on every font when HarfBuzz's subsetter is absent; the fallback is correct, only slower.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    own = {f"{base_url}images/{name}": data for name, data in (images or {}).items()}
    turned_away = refused if refused is not None else []

    class OwnAssetsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url in own:
                kind = {"png": "image/png", "svg": "image/svg+xml"}.get(url.rsplit(".", 1)[-1], "image/jpeg")
                return URLFetcherResponse(url, own[url], {"Content-Type": kind})
            turned_away.append(url)
            raise ValueError(f"the report may not fetch {url!r}")

    page = HTML(string=html, base_url=base_url, url_fetcher=OwnAssetsOnly())
    return page.write_pdf(pdf_tags=True, pdf_version="1.7", finisher=finisher) or b""
