"""Pictures in contributions: uploaded with required alternative text, re-encoded, served only to their
own agency, refused with a clear message (and nothing lost), and carried into the draft and the PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image as Pil
from sqlmodel import Session, func, select

from models.portal import Image, WorkingCopy
from models.store import contribution_for, find_agency, find_cycle
from portal.app import create_app
from reportcycle.clock import FixedClock
from reportcycle.settings import get_settings
from tasks.contributions.content import markdown_to_html, sanitise
from tasks.contributions.images import ImageRefused, check_alt, reencode
from tasks.report.report import render_pdf
from tests.agency_pages import error_links
from tests.helpers import local, open_example_cycle
from tests.test_portal_http import _enter, _form, _lead, _save

NOW = local("2019-05-01", "10:00")
TYPED = "Our year in brief, typed before adding the picture."
SHA_NAME = re.compile(r"/images/([0-9a-f]{64}\.(?:png|jpg))")


def picture(kind: str = "PNG", size: tuple[int, int] = (40, 30), exif: bool = False) -> bytes:
    out = io.BytesIO()
    img = Pil.new("RGB", size, (200, 30, 30))
    if exif:
        data = img.getexif()
        data[0x010F] = "SecretCameraMaker"  # Make
        img.save(out, format=kind, exif=data.tobytes())
    else:
        img.save(out, format=kind)
    return out.getvalue()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), FixedClock(NOW)), follow_redirects=False) as c:
        yield c


@pytest.fixture
def links(session: Session) -> dict[str, str]:
    return open_example_cycle(session)


def _img(html: str, src: str, alt: str) -> bool:
    return re.search(rf'<img (?=[^>]*src="{re.escape(src)}")(?=[^>]*alt="{re.escape(alt)}")[^>]*>', html) is not None


def _upload(
    client: TestClient,
    path: str,
    *,
    data: bytes,
    alt: str,
    filename: str = "chart.png",
    section: str = "statutory-role",
) -> Response:
    """Save some text from its section page, then add the picture from the picture page."""
    _save(client, path, "statutory-role", TYPED)
    fields = {**_form(client, path), "image-alt": alt, "image-section": section}
    files = {"image-file": (filename, data, "application/octet-stream")}
    return client.post(f"{path}/picture", data=fields, files=files)


def test_a_picture_with_its_description_lands_in_the_section_and_only_its_agency_sees_it(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _upload(client, path, data=picture(exif=True), alt="Bar chart: referrals rose by a fifth")
    assert response.status_code == 303 and response.headers["location"].endswith("done=image"), response.text[-3000:]
    copy = session.exec(select(WorkingCopy)).one()
    text = copy.sections["statutory-role"]
    assert text.startswith("Our year in brief, typed before adding the picture.")
    line = text.strip().splitlines()[-1]
    assert line.startswith("![Bar chart: referrals rose by a fifth](/images/") and line.endswith(".png)")
    name = SHA_NAME.search(line)
    assert name is not None
    served = client.get(f"/images/{name.group(1)}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert b"SecretCameraMaker" not in served.content  # metadata is not carried over
    assert Pil.open(io.BytesIO(served.content)).size == (40, 30)
    page = client.get(path + "?done=image")
    assert "The picture is saved" in page.text
    # the preview shows it from our own address, with its description
    preview = client.get(f"{path}/check").text
    assert _img(preview, f"/images/{name.group(1)}", "Bar chart: referrals rose by a fifth")

    # another agency, with a valid link of its own, cannot fetch it; nor can a visitor without a session
    other = TestClient(client.app, follow_redirects=False)
    assert other.get(f"/images/{name.group(1)}").status_code == 404
    _enter(other, links[_lead("wmp")])
    assert other.get(f"/images/{name.group(1)}").status_code == 404
    assert client.get("/images/not-a-name.png").status_code == 400


@pytest.mark.parametrize(
    ("data", "alt", "filename", "message"),
    [
        (picture(), "", "chart.png", "Describe the picture"),
        (picture(), "   ", "chart.png", "Describe the picture"),
        (picture(), "IMG_0042.JPG", "IMG_0042.JPG", "is a file name"),
        (picture(), "x" * 301, "chart.png", "keep it under 300"),
        (b"", "A chart", "chart.png", "is empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "A chart", "x.svg", "not a picture"),
        (b"GIF89a" + b"\0" * 40, "A chart", "x.gif", "upload a PNG or JPEG"),
        (picture()[:60], "A chart", "cut.png", "damaged or incomplete"),
        (picture(kind="GIF"), "A chart", "anim.gif", "GIF picture; upload a PNG or JPEG"),
        (picture(size=(6000, 5000)), "A chart", "huge.png", "6000×5000 pixels"),
        (b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 10), "A chart", "big.png", "pictures may be up to 5 MB"),
    ],
)
def test_a_refused_picture_says_why_and_loses_nothing(
    client: TestClient,
    session: Session,
    links: dict[str, str],
    data: bytes,
    alt: str,
    filename: str,
    message: str,
) -> None:
    path = _enter(client, links[_lead("bcc")])
    response = _upload(client, path, data=data, alt=alt, filename=filename)
    assert response.status_code == 422
    ((href, text),) = error_links(response.text)
    assert message in unescape(text)
    # a description's fault is linked to the description, anything else to the file
    assert href == (
        "#image-alt" if message in ("Describe the picture", "is a file name", "keep it under 300") else "#image-file"
    )
    assert f'value="{alt}"' in response.text or not alt.strip()  # the description comes back as typed
    assert session.exec(select(func.count()).select_from(Image)).one() == 0
    assert session.exec(select(WorkingCopy)).one().sections == {"statutory-role": TYPED}  # the text is untouched


def test_no_file_or_unknown_section_is_refused(client: TestClient, session: Session, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    fields = {**_form(client, path), "image-alt": "A chart", "image-section": "statutory-role"}
    response = client.post(f"{path}/picture", data=fields)
    assert response.status_code == 422
    assert error_links(response.text) == [("#image-file", "Choose a picture to add (a PNG or JPEG file).")]
    response = _upload(client, path, data=picture(), alt="A chart", section="no-such-section")
    assert response.status_code == 422
    assert error_links(response.text) == [("#image-section", "Choose the section the picture belongs in.")]
    assert session.exec(select(func.count()).select_from(Image)).one() == 0


def test_the_same_picture_twice_is_kept_once(client: TestClient, session: Session, links: dict[str, str]) -> None:
    path = _enter(client, links[_lead("bcc")])
    assert _upload(client, path, data=picture(), alt="A chart").status_code == 303
    assert _upload(client, path, data=picture(), alt="The same chart again").status_code == 303
    assert session.exec(select(func.count()).select_from(Image)).one() == 1
    text = session.exec(select(WorkingCopy)).one().sections["statutory-role"]
    # each upload adds its line after the text (the typed text was saved again before the second)
    assert text.count("](/images/") == 1 and text.startswith(TYPED) and "The same chart again" in text


def test_a_picture_without_a_description_cannot_be_submitted(
    client: TestClient, session: Session, links: dict[str, str]
) -> None:
    path = _enter(client, links[_lead("bcc")])
    assert _upload(client, path, data=picture(), alt="A chart").status_code == 303
    text = session.exec(select(WorkingCopy)).one().sections["statutory-role"]
    _save(client, path, "statutory-role", re.sub(r"!\[[^\]]*\]", "![]", text))
    response = client.post(f"{path}/submit", data={"csrf": _form(client, path)["csrf"]})
    assert response.status_code == 422
    assert (
        f"{path}/section/statutory-role#section-statutory-role",
        "“Statutory role” has 1 picture(s) with no description: write one between the square brackets, "
        "as in ![what the picture shows](/images/…).",
    ) in error_links(response.text)


def test_only_our_own_picture_addresses_survive_sanitising() -> None:
    own = "/images/" + "a" * 64 + ".png"
    for bad in (
        "file:///etc/passwd",
        "https://tracker.example/pixel.png",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "/images/../secrets.png",
        own + "?x=1",
    ):
        assert "src=" not in sanitise(f'<img src="{bad}" alt="x">'), bad
    assert sanitise(f'<img src="{own}" alt="x" onerror="alert(1)">') == f'<img src="{own}" alt="x">'
    assert markdown_to_html(f"![A chart]({own})") == f'<p><img alt="A chart" src="{own}"></p>'


def test_check_alt_and_reencode_directly() -> None:
    assert check_alt("  A   chart \n of referrals ") == "A chart of referrals"
    data, kind, width, height = reencode(picture(kind="JPEG", exif=True), "photo.jpg")
    assert (kind, width, height) == ("image/jpeg", 40, 30) and b"SecretCameraMaker" not in data
    with pytest.raises(ImageRefused):
        reencode(b"not a picture at all", "notes.txt")


def test_draft_and_pdf_carry_the_picture_and_nothing_else(
    client: TestClient, session: Session, links: dict[str, str], tmp_path: Path
) -> None:
    from tasks.report.collate import collate

    path = _enter(client, links[_lead("bcc")])
    assert _upload(client, path, data=picture(), alt="A red chart").status_code == 303
    for key in ("priority-activity", "looking-ahead"):
        _save(client, path, key, "Written for the test.")
    assert client.post(f"{path}/submit", data={"csrf": _form(client, path)["csrf"]}).status_code == 303
    cycle = find_cycle(session)
    result = collate(
        session, cycle, at=NOW, actor="test", output_dir=tmp_path, templates_dir=get_settings().templates_dir
    )
    session.commit()
    html = Path(result.path).read_text()
    names = re.findall(r'<img (?=[^>]*alt="A red chart")[^>]*src="images/([0-9a-f]{64}\.png)"', html)
    assert len(names) == 1
    stored = session.exec(select(Image)).one()
    assert (Path(result.path).parent / "images" / names[0]).read_bytes() == stored.data
    assert result.summary["pictures_missing"] == [] and result.summary["pictures_without_alt"] == []
    pdf = render_pdf(html, {names[0]: stored.data})
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf
    # a page pointing anywhere else renders without fetching it, and says what it turned away
    refused: list[str] = []
    page = '<html lang="en"><img src="file:///etc/hostname" alt="x"><img src="http://127.0.0.1:9/x.png" alt="y">'
    assert b"/Subtype /Image" not in render_pdf(page, refused=refused)
    assert refused == ["file:///etc/hostname", "http://127.0.0.1:9/x.png"]
    bcc = contribution_for(session, cycle, find_agency(session, cycle, "bcc"))
    assert bcc.current_revision == 1


def test_a_cut_picture_is_refused_even_after_weasyprint_is_imported() -> None:
    """WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when it is imported."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    for cut in (picture()[:60], picture(kind="JPEG")[:200]):
        with pytest.raises(ImageRefused, match="damaged or incomplete"):
            reencode(cut, "cut.png")
