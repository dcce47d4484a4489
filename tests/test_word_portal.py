"""A Word document through the portal: read, shown for confirmation, placed, pictures described, saved;
refusals keep the text on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from docx.document import Document
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.portal import Image, WorkingCopy
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tests.helpers import local, open_example_cycle
from tests.test_portal_http import _enter, _form, _lead
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


def _read(client: TestClient, path: str, data: bytes, typed: str = "Typed before uploading.") -> object:
    fields = _form(client, path)
    fields["section-looking-ahead"] = typed
    fields["action"] = "word"
    return client.post(path, data=fields, files={"word-file": ("ours.docx", data, DOCX)})


def _confirm_fields(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    for key, text in re.findall(r'name="(section-[^"]+)" rows="10">(.*?)</textarea>', html, re.S):
        fields[key] = text.replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    for key, value in re.findall(r'name="(picture-\d+-alt)" type="text" maxlength="300" value="([^"]*)"', html):
        fields[key] = value
    return {k: v.replace("&#34;", '"').replace("&amp;", "&") for k, v in fields.items()}


def test_a_word_document_is_shown_then_confirmed_with_its_pictures(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _read(client, path, word(with_pictures))
    assert response.status_code == 200, response.text[-2000:]  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert "This is how “ours.docx” splits" in html
    # the typed text was saved before reading; nothing from the document is saved yet
    copy = session.exec(select(WorkingCopy)).one()
    assert copy.sections["looking-ahead"] == "Typed before uploading."
    # the stray parts wait for a place: the text before the first heading and "Case study"
    assert re.findall(r'<h3 id="block-heading-\d+">([^<]*)</h3>', html) == [
        "Text before the first heading",
        "Case study",
    ]
    assert 'value="Chart: referrals rose each quarter"' in html  # the description from Word, to confirm
    fields = _confirm_fields(html)
    assert fields["picture-count"] == "2" and fields["block-count"] == "2"
    assert "[[picture 1]]" in fields["section-performance"] and "[[picture 2]]" in fields["section-performance"]
    fields["action"] = "word-confirm"
    fields["place-0"] = ""  # leave the preparer's note out
    fields["place-1"] = "priority-activity"  # the case study goes at the end of the activity

    # a picture without a description is refused: nothing is stored, the page comes back as it was sent
    refused = client.post(path, data=fields)
    assert refused.status_code == 422 and "The picture 2: Describe the picture" in refused.text
    assert 'name="place-1"' in refused.text and "selected>At the end of “Activity against each priority”" in (
        refused.text
    )
    assert session.exec(select(func.count()).select_from(Image)).one() == 0

    fields["picture-1-alt"] = "The same chart, larger"
    done = client.post(path, data=fields)
    assert done.status_code == 303 and done.headers["location"].endswith("done=word")
    session.expire_all()
    copy = session.exec(select(WorkingCopy)).one()
    sha = session.exec(select(Image)).one().name  # the same picture twice is kept once
    assert copy.sections["performance"] == (
        f"Referrals by quarter:\n\n![Chart: referrals rose each quarter](/images/{sha})\n\n"
        f"![The same chart, larger](/images/{sha})"
    )
    assert copy.sections["priority-activity"].endswith("## Case study\n\nA family we worked with found help sooner.")
    assert "Prepared by the safeguarding team" not in " ".join(copy.sections.values())
    assert copy.sections["looking-ahead"] == "We will focus on neglect."
    assert "The document&#39;s text is saved as your draft." in client.get(f"{path}?done=word").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 not a word file", "PDF"),
        (b"", "empty"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600, "Save As"),
    ],
)
def test_a_file_that_is_not_a_word_document_is_refused_and_the_typed_text_comes_back(
    client: TestClient, session: Session, links: dict[str, str], data: bytes, message: str
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _read(client, path, data, typed="Do not lose this.")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in response.text and "Do not lose this." in response.text  # type: ignore[attr-defined]
    assert "Nothing was saved yet" in response.text  # type: ignore[attr-defined]
    assert session.exec(select(func.count()).select_from(WorkingCopy)).one() == 0


def test_no_file_chosen_says_so(client: TestClient, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    fields = _form(client, path)
    fields["action"] = "word"
    response = client.post(path, data=fields)
    assert response.status_code == 422 and "Choose the Word document" in response.text
