"""What an agency's page costs the database: the summary reads everything it shows in one statement (and one
for the documents it emailed in), and a
section's save adds only its locked read and its two writes (issue 19; nine and eleven statements before)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from models.db import engine_for
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.helpers import open_example_cycle
from tests.test_portal_http import NOW, _enter, _form, _lead


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), FixedClock(NOW)), follow_redirects=False) as c:
        yield c


@pytest.fixture
def statements(database_url: str) -> Iterator[list[str]]:
    """The SQL the application sends from here on, one string a statement."""
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        sent.append(statement)

    engine = engine_for(database_url)
    event.listen(engine, "before_cursor_execute", note)
    yield sent
    event.remove(engine, "before_cursor_execute", note)


def test_the_summary_is_two_statements_and_a_save_four(
    client: TestClient, session: Session, statements: list[str]
) -> None:
    path = _enter(client, open_example_cycle(session)[_lead("bcc")])
    # the first save makes the working copy, the second updates it
    for text in ("Our first draft.", "Our second draft."):
        fields = {**_form(client, path), "section-statutory-role": text, "action": "save"}
        statements.clear()
        saved = client.post(f"{path}/section/statutory-role", data=fields)
        assert saved.status_code == 303
        assert len(statements) == 4, statements
        # the page's one read, then the working copy read again (locked on PostgreSQL) and the two writes
        assert statements[0].startswith("SELECT portal_session.id")
        assert statements[1].startswith("SELECT working_copy.id")
        written = sorted(" ".join(s.replace("INTO ", "").split()[:2]) for s in statements[2:])
        first = text == "Our first draft."
        assert written == ["INSERT audit_event", "INSERT working_copy" if first else "UPDATE working_copy"]
        statements.clear()
        page = client.get(path)
        assert page.status_code == 200
        assert "3 words" in page.text  # the saved section's count, read with the rest in the one statement
        # and the Word documents the agency emailed in that wait for its check (issue 17): two in all
        assert len(statements) == 2 and "FROM emailed_document" in statements[1], statements
