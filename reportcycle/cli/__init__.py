"""`reportcycle`: the command line for the business manager and the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from reportcycle import prefect_env
from reportcycle.exiting import leave_quickly

prefect_env.apply()
leave_quickly()  # a command's exit costs 0.04 s, not the 0.6-0.9 s of the interpreter's last collection

# The command modules import Prefect and the models lazily, inside each command, so `--help` stays quick.
from reportcycle.cli import chase, cycle, ops, plan, review, reviews, running, years  # noqa: E402
from reportcycle.cli.common import OPTIONS, _parse_at  # noqa: E402

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False)
partnership_app = typer.Typer(no_args_is_help=True, help="Partnership files.")
cycle_app = typer.Typer(no_args_is_help=True, help="Cycles.")
app.add_typer(partnership_app, name="partnership")
central_app = typer.Typer(no_args_is_help=True, help="Central sections (the partnership's own text).")
app.add_typer(cycle_app, name="cycle")
app.add_typer(central_app, name="central")
outbox_app = typer.Typer(help="The outbox: what is queued, failed or stuck; retry or cancel a message.")
app.add_typer(outbox_app, name="outbox")
reviews_app = typer.Typer(
    no_args_is_help=True, help="The reviews register (SARs, or child safeguarding practice reviews)."
)
app.add_typer(reviews_app, name="reviews")


@app.callback()
def main(
    at: Annotated[str | None, typer.Option(help="Act as if it were this instant (ISO, with offset).")] = None,
    partnership: Annotated[str | None, typer.Option(help="Partnership slug, when there is more than one.")] = None,
    cycle: Annotated[str | None, typer.Option(help="Cycle label, e.g. 2018/19, when there is more than one.")] = None,
) -> None:
    """Run the yearly cycle of a multi-agency report."""
    OPTIONS.at = _parse_at(at)
    OPTIONS.partnership = partnership
    OPTIONS.cycle = cycle


# Every command, in the order `reportcycle --help` lists them; each module holds one group's commands.
app.command()(ops.init)
app.command("check-settings")(ops.check_settings)
partnership_app.command("load")(years.partnership_load)
partnership_app.command("export")(years.partnership_export)
cycle_app.command("open")(cycle.cycle_open)
cycle_app.command("create")(years.cycle_create)
app.command()(chase.chase)
app.command()(chase.dispatch)
app.command()(chase.inbound)
app.command()(ops.status)
app.command()(cycle.extend)
app.command()(cycle.excuse)
app.command()(cycle.link)
app.command("confirm-escalation")(cycle.confirm_escalation)
app.command()(cycle.submit)
cycle_app.command("run")(cycle.cycle_run)
cycle_app.command("plan")(plan.cycle_plan)
central_app.command("set")(cycle.central_set)
app.command()(review.collate)
app.command()(review.review)
app.command()(review.publish)
app.command()(ops.audit)
outbox_app.callback(invoke_without_command=True)(chase.outbox_list)
outbox_app.command("retry")(chase.outbox_retry)
outbox_app.command("cancel")(chase.outbox_cancel)
app.command("export")(ops.export_)
app.command("import")(ops.import_)
app.command("import-report")(years.import_report)
reviews_app.command("import")(reviews.reviews_import)
app.command()(running.portal)
app.command()(running.deploy)
app.command()(running.serve)
app.command()(running.demo)

if __name__ == "__main__":
    app()
