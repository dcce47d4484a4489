"""The reviews register from the command line: `reportcycle reviews import FILE.csv`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reportcycle.cli import common
from reportcycle.cli.common import OPTIONS, CliError, _errors, _in_session, _now


def reviews_import(
    file: Annotated[Path, typer.Argument(help="A CSV file: review, started, concluded, finding, outcome, detail.")],
) -> None:
    """Add reviews and their findings to the cycle's register from a CSV file, one row per finding.

    Columns: review (name), started and concluded (2025-03-27 or 27/03/2025; concluded blank while ongoing),
    finding, outcome (implemented, not implemented, or blank), detail (what was done, or why not). A file
    with any problem adds nothing; each problem is one line naming its row and column.
    """
    with _errors():
        from models.store import find_cycle
        from tasks.report.register_csv import ImportRefused, import_register

        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CliError(f"{file}: cannot read the file ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise CliError(f"{file}: not UTF-8 text; save the file as CSV UTF-8") from None

        def work(s: Any) -> Any:
            cycle = find_cycle(s, OPTIONS.partnership, OPTIONS.cycle)
            return import_register(s, cycle, text, at=_now(), actor=OPTIONS.actor)

        try:
            done = _in_session(work)
        except ImportRefused as exc:
            for problem in exc.problems:
                common.err_console.print(f"[red]error:[/red] {file}: {problem}", highlight=False, soft_wrap=True)
            common.err_console.print("nothing was imported")
            raise typer.Exit(1) from None
        common.console.print(f"imported {done.reviews} reviews with {done.findings} findings from {file}")
