"""The report's figures: data from the partnership file, drawn as SVG bar charts with a text alternative,
and always given as a table too, so nobody depends on seeing the chart.

The SVG is ours, built from numbers and escaped labels; it is shown through <img>, where a browser runs
no script in it, and the PDF renderer fetches it as one of the report's own files.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from models.partnership_file import FigureSpec
from tasks.report.placement import Chunks, anchor_blocks, place

WIDTH = 720
BAR = 26  # px per bar, gap included
LABEL_WIDTH = 330
# Colours with at least 4.5:1 contrast on white for text and 3:1 for the bars (WCAG 1.4.3 / 1.4.11).
INK = "#1b1b1b"
BAR_FILL = "#1d4f91"


def number_text(figure: FigureSpec, value: float, unit: str | None = None) -> str:
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    unit = figure.unit_after if unit is None else unit
    after = unit if unit in ("", "%") else f" {unit}"
    return f"{figure.unit_before}{shown}{after}"


@dataclass(frozen=True)
class FigureView:
    number: int
    key: str
    title: str
    label_heading: str
    value_heading: str
    rows: list[tuple[str, str]]  # (label, value with its unit)
    image: str | None  # "figure-<key>.svg" in the report's images/, None for a table-only figure
    alt: str
    source: str
    illustrative: bool


def alt_text(figure: FigureSpec) -> str:
    """What the chart shows, in words: the largest and smallest bars and the total, for a screen reader.

    Every value is in the table under the chart, so the description stays short."""
    rows = sorted(figure.rows, key=lambda r: r.value, reverse=True)
    most, least = rows[0], rows[-1]
    parts = [f"Bar chart: {figure.title}."]
    if len(rows) > 1:
        parts.append(
            f"Largest: {most.label}, {number_text(figure, most.value)}; "
            f"smallest: {least.label}, {number_text(figure, least.value)}."
        )
    parts.append("The table below gives every value.")
    return " ".join(parts)


def svg(figure: FigureSpec) -> bytes:
    """A horizontal bar chart: a label, a bar and the value on each line."""
    top = max(r.value for r in figure.rows) or 1.0
    span = WIDTH - LABEL_WIDTH - 110
    height = BAR * len(figure.rows) + 16
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">',
        f"<title>{escape(alt_text(figure))}</title>",
        f'<g font-family="DejaVu Sans, Arial, sans-serif" font-size="13" fill="{INK}">',
    ]
    for i, row in enumerate(figure.rows):
        y = 8 + i * BAR
        length = max(1.0, span * row.value / top)
        label = row.label if len(row.label) <= 46 else row.label[:45] + "…"  # the table has it in full
        lines += [
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR - 8}" fill="{BAR_FILL}"/>',
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 17}">{escape(number_text(figure, row.value))}</text>',
        ]
    lines += ["</g>", "</svg>"]
    return "\n".join(lines).encode()


def figure_views(
    figures: tuple[FigureSpec, ...], sections: list[tuple[str, str]]
) -> tuple[dict[str, list[tuple[str, list[FigureView]]]], dict[str, bytes], list[str]]:
    """Each central section's HTML cut where its figures go (see tasks.report.placement), the figures numbered
    in the order the report shows them; the SVG files they need, by name; and the figures whose `after`
    names an anchor the section does not have (placed at its end)."""
    chunked: dict[str, list[tuple[str, list[FigureView]]]] = {}
    files: dict[str, bytes] = {}
    lost: list[str] = []
    number = 0
    for key, html in sections:
        anchored = anchor_blocks(html, key)
        placed: list[tuple[int, FigureSpec]] = []
        for f in (f for f in figures if f.after.split("#")[0] == key):
            anchor = f.after.partition("#")[2] or None
            # A value as the figure prints it ("10.2%") or bare ("3,581"); short ones ("12") would match anywhere.
            values = [text for r in f.rows for text in (number_text(f, r.value, r.unit), f"{r.value:,.0f}")]
            at = place(anchored, anchor, [f.title, *(v for v in values if len(v) >= 4)])
            if at is None:
                lost.append(f"figure {f.key}: {key} has no part or paragraph {anchor!r}; it is at the section's end")
                at = len(anchored.html)
            placed.append((at, f))
        placed.sort(key=lambda p: p[0])  # stable: figures at one place keep the file's order
        views: list[tuple[int, FigureView]] = []
        for at, f in placed:
            number += 1
            image = f"figure-{f.key}.svg" if f.chart == "bar" else None
            if image:
                files[image] = svg(f)
            views.append((at, _view(f, number, image)))
        chunked[key] = Chunks(anchored.html, views).parts
    return chunked, files, lost


def _view(f: FigureSpec, number: int, image: str | None) -> FigureView:
    return FigureView(
        number=number,
        key=f.key,
        title=f.title,
        label_heading=f.label_heading,
        value_heading=f.value_heading,
        rows=[(r.label, number_text(f, r.value, r.unit)) for r in f.rows],
        image=image,
        alt=alt_text(f),
        source=f.source,
        illustrative=f.illustrative,
    )
