"""Benchmark: collating a reference-sized report (the worked example: twelve agencies, seven central sections,
four figures) to HTML and to PDF, side by side with a bare WeasyPrint render of the same HTML.

Our PDF path is render_pdf: the same WeasyPrint call, plus a fetcher that serves only the report's own
pictures from memory and refuses everything else. The bare render gets the same HTML with the pictures
as files beside it, fetched by WeasyPrint's default fetcher. The ratio is our overhead.

    python bench/collation.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sqlmodel import Session, SQLModel

import models.tables  # noqa: F401
from models.db import engine_for
from reportcycle.example_cycle import filled_cycle
from reportcycle.settings import PROJECT_ROOT, get_settings
from tasks.report.report import build_view, render_html, render_pdf, write_images

EXAMPLE = PROJECT_ROOT / "examples" / "bscb-2018-19.toml"
AT = dt.datetime(2019, 6, 3, 9, 0, tzinfo=dt.UTC)


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Median seconds over `repeat` runs, the peak Python memory of one run (MiB), and the last result."""
    seconds = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return statistics.median(seconds), peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()
    s = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        SQLModel.metadata.create_all(engine_for(url))
        with Session(engine_for(url), expire_on_commit=False) as session:
            with console.status("loading the worked example"):
                cycle = filled_cycle(session, EXAMPLE, at=AT, templates_dir=s.templates_dir)

            def to_html() -> str:
                return render_html(s.templates_dir, build_view(session, cycle, at=AT, draft_number=1))

            with console.status("HTML"):
                html_s, html_mb, html = timed(to_html, args.repeat)
            view = build_view(session, cycle, at=AT, draft_number=1)
            assert isinstance(html, str)
            write_images(folder, view.images)
            (folder / "index.html").write_text(html, encoding="utf-8")

            def ours() -> bytes:
                return render_pdf(html, view.images)

            def bare() -> bytes:
                from weasyprint import HTML

                return HTML(string=html, base_url=folder.as_uri() + "/").write_pdf(pdf_variant="pdf/ua-1") or b""

            with console.status("PDF, bare WeasyPrint"):
                bare_s, bare_mb, bare_pdf = timed(bare, args.repeat)
            with console.status("PDF, render_pdf"):
                ours_s, ours_mb, our_pdf = timed(ours, args.repeat)
    assert isinstance(our_pdf, bytes) and isinstance(bare_pdf, bytes)
    words = len(" ".join(html.split()).split())
    table = Table(title=f"Collating the worked example ({words:,} words of HTML; median of {args.repeat})")
    for column in ("step", "seconds", "peak Python MiB", "output"):
        table.add_column(column, justify="right" if column != "step" else "left")
    table.add_row("build view + render HTML", f"{html_s:.3f}", f"{html_mb:.1f}", f"{len(html) / 1024:.0f} KiB HTML")
    table.add_row("PDF: bare WeasyPrint", f"{bare_s:.2f}", f"{bare_mb:.1f}", f"{len(bare_pdf) / 1024:.0f} KiB")
    table.add_row("PDF: render_pdf (ours)", f"{ours_s:.2f}", f"{ours_mb:.1f}", f"{len(our_pdf) / 1024:.0f} KiB")
    console.print(table)
    console.print(
        f"overhead of render_pdf over bare WeasyPrint: {ours_s / bare_s:.3f}x time; "
        f"HTML collation is {html_s / ours_s:.1%} of the PDF's time"
    )


if __name__ == "__main__":
    main()
