"""What an agency's page costs the database: the summary reads everything it shows in one statement (and one
for the documents it emailed in), and a
section's save adds only its locked read and its two writes (issue 19; nine and eleven statements before)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from models.db import engine_for, reading_engine
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


def test_the_summary_is_one_statement_and_a_save_three_once_the_working_copy_exists(
    client: TestClient, session: Session, statements: list[str]
) -> None:
    path = _enter(client, open_example_cycle(session)[_lead("bcc")])
    # the first save makes the working copy, the second updates it
    for text in ("Our first draft.", "Our second draft."):
        fields = {**_form(client, path), "section-statutory-role": text, "action": "save"}
        statements.clear()
        saved = client.post(f"{path}/section/statutory-role", data=fields)
        assert saved.status_code == 303
        first = text == "Our first draft."
        written = sorted(" ".join(s.replace("INTO ", "").split()[:2]) for s in statements[1:])
        assert statements[0].startswith("SELECT portal_session.id"), statements  # the page's one read
        if first:  # no working copy yet: looked for, then made
            assert written == ["INSERT audit_event", "INSERT working_copy", "SELECT working_copy.id,"], statements
        else:  # the version compared and bumped in the one UPDATE ... RETURNING, then the audit event
            assert written == ["INSERT audit_event", "UPDATE working_copy"], statements
            assert "RETURNING" in next(s for s in statements if s.startswith("UPDATE")), statements
        statements.clear()
        page = client.get(path)
        assert page.status_code == 200
        assert "3 words" in page.text  # the saved section's count, read with the rest in the one statement
        # whether a Word document the agency emailed in waits for its check (issue 17) is asked in the same one
        assert len(statements) == 1 and "EXISTS (SELECT" in statements[0], statements
        assert "FROM emailed_document" in statements[0], statements


def test_reads_share_the_engine_of_writes_after_other_databases_have_come_and_gone() -> None:
    """The CI failure this guards against: the reading engine was cached apart from `engine_for`, so once more
    databases had been opened than `engine_for` keeps, reads ran on an engine of their own that nobody listened to
    (a second pool in production). No connection is made: an engine connects on first use."""
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/reads_and_writes"
    reading_engine(url)
    for n in range(12):  # more than engine_for keeps
        engine_for(f"postgresql+psycopg://postgres@127.0.0.1:5432/another_{n}")
    assert reading_engine(url).pool is engine_for(url).pool
    assert reading_engine(url).get_execution_options()["isolation_level"] == "AUTOCOMMIT"
