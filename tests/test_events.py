"""The event that makes the dispatch deployment run at once when a contribution is submitted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.events.clients import AssertingEventsClient
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.ops.events import contribution_submitted, desk_action
from tests.helpers import local

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsWorker]:
    """Prefect's own asserting client: events are kept in memory instead of sent."""
    found = EventsWorker.instance(AssertingEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: found)
    yield found
    found.drain()


def _sent(worker: EventsWorker) -> list[object]:
    worker.drain()
    client = worker._client
    assert isinstance(client, AssertingEventsClient)
    return list(client.events)


def test_submission_event_names_the_contribution_and_cycle(worker: EventsWorker) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert contribution_submitted(
            contribution_id=12, cycle_id=3, agency="rpol", revision=2, at=local("2026-06-01", "10:15")
        )
    (event,) = _sent(worker)
    assert event.event == "reportcycle.contribution.submitted"  # type: ignore[attr-defined]
    assert dict(event.resource) == {  # type: ignore[attr-defined]
        "prefect.resource.id": "reportcycle.contribution.12",
        "prefect.resource.name": "rpol",
    }
    assert [dict(r) for r in event.related] == [  # type: ignore[attr-defined]
        {"prefect.resource.id": "reportcycle.cycle.3", "prefect.resource.role": "cycle"}
    ]
    assert event.payload == {"revision": 2, "at": "2026-06-01T09:15:00+00:00"}  # type: ignore[attr-defined]


def test_no_prefect_api_no_event(worker: EventsWorker) -> None:
    """A bare `reportcycle portal` has no Prefect server: emitting would start a temporary one in the portal."""
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert not contribution_submitted(
            contribution_id=12, cycle_id=3, agency="rpol", revision=2, at=local("2026-06-01", "10:15")
        )
    assert _sent(worker) == []


def test_a_desk_action_names_the_cycle_and_what_was_done(worker: EventsWorker) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert desk_action(cycle_id=4, action="excuse", actor="bm@p.example.org", at=local("2026-06-01", "14:05"))
    (event,) = _sent(worker)
    assert event.event == "reportcycle.desk.action"  # type: ignore[attr-defined]
    assert dict(event.resource) == {  # type: ignore[attr-defined]
        "prefect.resource.id": "reportcycle.cycle.4",
        "prefect.resource.name": "excuse",
    }
    assert event.payload == {  # type: ignore[attr-defined]
        "action": "excuse",
        "actor": "bm@p.example.org",
        "at": "2026-06-01T13:05:00+00:00",
    }
