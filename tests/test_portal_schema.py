"""schemathesis against the portal's OpenAPI: whatever it sends, the portal answers without a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.helpers import local


def test_no_server_errors_on_any_operation(database_url: str) -> None:
    app = create_app(get_settings(), FixedClock(local("2019-05-01", "10:00")))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "GET /",
        "GET /c/{token}",
        "POST /c/{token}",
        "POST /link/fresh",
        "GET /contribution/{contribution_id}",
        "POST /contribution/{contribution_id}",
    }
    calls = 0

    @given(case=st.one_of(*[op.as_strategy() for op in operations]))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(checks=[not_a_server_error])

    check()
    assert calls >= 100
