"""A snapshot of the deployments: a schedule that runs daily must not drift unnoticed."""

from deployments.schedules import build


def test_deployment_names_schedules_and_parameters() -> None:
    snapshot = []
    for d in build():
        (sched,) = d.schedules
        s = sched.schedule
        when = f"cron {s.cron} {s.timezone}" if hasattr(s, "cron") else f"every {s.interval.total_seconds():.0f}s"
        snapshot.append((d.name, d.flow_name, when, d.parameters, sorted(d.tags)))
    assert snapshot == [
        ("daily-chase", "chase", "cron 30 9 * * 1-5 Europe/London", {}, ["chase", "reportcycle"]),
        ("dispatch-outbox", "dispatch", "every 300s", {}, ["outbox", "reportcycle"]),
    ]
