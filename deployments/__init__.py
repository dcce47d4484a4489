"""Prefect deployments and their schedules: served by `reportcycle serve`, or registered to a process work
pool by `reportcycle deploy` for `prefect worker start` (see the README)."""
