"""The report's figures: data from the partnership file, drawn as SVG bar charts with a text alternative,
and always given as a table too, so nobody depends on seeing the chart.

The SVG is ours, built from numbers and escaped labels; it is shown through <img>, where a browser runs
no script in it, and the PDF renderer fetches it as one of the report's own files.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from models.partnership_file import FigureSpec

WIDTH = 720
BAR = 26  # px per bar, gap included
LABEL_WIDTH = 330
# Colours with at least 4.5:1 contrast on white for text and 3:1 for the bars (WCAG 1.4.3 / 1.4.11).
INK = "#1b1b1b"
BAR_FILL = "#1d4f91"


def number_text(figure: FigureSpec, value: float) -> str:
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    after = figure.unit_after if figure.unit_after in ("", "%") else f" {figure.unit_after}"
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
    figures: tuple[FigureSpec, ...], order: list[str]
) -> tuple[dict[str, list[FigureView]], dict[str, bytes]]:
    """The figures grouped by the central section they close, numbered in the order the report shows those
    sections (`order`); and the SVG files they need, by name."""
    by_section: dict[str, list[FigureView]] = {}
    files: dict[str, bytes] = {}
    number = 0
    for key in order:
        for f in (f for f in figures if f.after == key):
            number += 1
            image = f"figure-{f.key}.svg" if f.chart == "bar" else None
            if image:
                files[image] = svg(f)
            by_section.setdefault(key, []).append(
                FigureView(
                    number=number,
                    key=f.key,
                    title=f.title,
                    label_heading=f.label_heading,
                    value_heading=f.value_heading,
                    rows=[(r.label, number_text(f, r.value)) for r in f.rows],
                    image=image,
                    alt=alt_text(f),
                    source=f.source,
                    illustrative=f.illustrative,
                )
            )
    return by_section, files
