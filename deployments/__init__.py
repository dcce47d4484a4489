"""Prefect deployments and their schedules (served by `prefect`'s runner; see the README)."""
