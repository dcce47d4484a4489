"""A Word document through the portal: read, shown for confirmation, placed, pictures described, saved;
refusals keep the text on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from docx.document import Document
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, func, select

from models.portal import Image, WorkingCopy
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.agency_pages import error_links, form_fields, summary_rows
from tests.helpers import local, open_example_cycle
from tests.test_portal_http import _enter, _form, _lead, _save
from tests.test_word_import import PNG, add_picture, agency_document, word

NOW = local("2019-05-01", "10:00")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), FixedClock(NOW)), follow_redirects=False) as c:
        yield c


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


def with_pictures(document: Document) -> None:
    agency_document(document)
    document.add_heading("Performance and impact", 1)
    document.add_paragraph("Referrals by quarter:")
    add_picture(document, PNG, "Chart: referrals rose each quarter")
    add_picture(document, PNG, None)


# each of the document's headings that found a section, as the agency is shown it
MATCHES = [
    ("Statutory role", "Statutory role"),
    ("2. ACTIVITY AGAINST EACH PRIORITY", "Activity against each priority"),
    ("looking ahead:", "Looking ahead"),
    ("Performance and impact", "Performance and impact"),
]


def _read(client: TestClient, path: str, data: bytes, typed: str = "Typed before uploading.") -> Response:
    """Save some text from its section page, then upload the document from the Word page."""
    assert _save(client, path, "looking-ahead", typed).status_code == 303
    fields = {"csrf": _form(client, path)["csrf"]}
    return client.post(f"{path}/word", data=fields, files={"word-file": ("ours.docx", data, DOCX)})


def test_a_word_document_is_shown_then_confirmed_with_its_pictures(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _read(client, path, word(with_pictures))
    assert response.status_code == 200, response.text[-2000:]  # type: ignore[attr-defined]
    html = response.text
    assert "This is how “ours.docx” splits" in html
    # nothing from the document is saved yet
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.sections["looking-ahead"] == "Typed before uploading."
    # which heading went to which section, for the agency to check
    assert summary_rows(html) == MATCHES
    # every part of the document in order, each with where it goes: its match preselected, the rest left out
    assert re.findall(r'<h3 class="govuk-heading-s" id="block-heading-\d+">([^<]*)</h3>', html) == [
        "Text before the first heading",
        "Statutory role",
        "2. ACTIVITY AGAINST EACH PRIORITY",
        "Case study",
        "looking ahead:",
        "Performance and impact",
    ]
    fields = form_fields(html)
    places = [fields[f"place-{i}"] for i in range(6)]
    assert places == ["", "statutory-role", "priority-activity", "", "looking-ahead", "performance"]
    assert 'value="Chart: referrals rose each quarter"' in html  # the description from Word, to confirm
    assert fields["picture-count"] == "2" and fields["block-count"] == "6"
    assert fields["block-5"] == "Referrals by quarter:\n\n[[picture 1]]\n\n[[picture 2]]"
    fields["place-4"] = ""  # the agency keeps its own "Looking ahead", leaving the document's out,
    fields["place-3"] = "looking-ahead"  # and puts the case study after it
    fields["block-1"] += "\n\nAdded while checking."  # and edits a part before it is placed

    # a picture without a description is refused: nothing is stored, the page comes back as it was sent
    refused = client.post(f"{path}/word/confirm", data=fields)
    assert refused.status_code == 422 and "The picture 2: Describe the picture" in refused.text
    assert form_fields(refused.text)["place-3"] == "looking-ahead"
    assert session.exec(select(func.count()).select_from(Image)).one() == 0

    fields["picture-1-alt"] = "The same chart, larger"
    done = client.post(f"{path}/word/confirm", data=fields)
    assert done.status_code == 303 and done.headers["location"].endswith("done=word")
    session.expire_all()
    copy = session.exec(select(WorkingCopy)).one()
    sha = session.exec(select(Image)).one().name  # the same picture twice is kept once
    assert copy.sections["performance"] == (
        f"Referrals by quarter:\n\n![Chart: referrals rose each quarter](/images/{sha})\n\n"
        f"![The same chart, larger](/images/{sha})"
    )
    assert "Case study" not in copy.sections["priority-activity"]
    assert "Prepared by the safeguarding team" not in " ".join(copy.sections.values())
    assert copy.sections["looking-ahead"] == (
        "Typed before uploading.\n\n## Case study\n\nA family we worked with found help sooner."
    )
    assert copy.sections["statutory-role"].endswith("- one per hospital\n\nAdded while checking.")
    assert "The document&#39;s text is saved as your draft." in client.get(f"{path}?done=word").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a word file", "PDF"),
        (b"", "empty"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600, "Save As"),
    ],
)
def test_a_file_that_is_not_a_word_document_is_refused_and_the_typed_text_stays(
    client: TestClient, session: Session, links: dict[str, str], data: bytes, message: str
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _read(client, path, data, typed="Do not lose this.")
    assert response.status_code == 422
    ((href, text),) = error_links(response.text)
    assert href == "#word-file" and message in text
    assert 'aria-describedby="word-file-hint word-file-error"' in response.text
    assert session.exec(select(WorkingCopy)).one().sections["looking-ahead"] == "Do not lose this."


def test_no_file_chosen_says_so(client: TestClient, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = client.post(f"{path}/word", data={"csrf": _form(client, path)["csrf"]})
    assert response.status_code == 422
    assert error_links(response.text) == [("#word-file", "Choose the Word document (.docx) to upload.")]
