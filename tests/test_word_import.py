"""Word uploads: a .docx built here with python-docx, read against the example brief, split into its sections
with what matched nothing left for the agency to place, pictures kept for storing, anything hostile inert,
and every file that cannot be read refused with a message saying what to do."""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
from collections.abc import Callable

import docx
import pytest
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Inches
from docx.text.paragraph import Paragraph
from PIL import Image as Pil

from models.partnership_file import parse
from models.portal import Image
from models.values import Brief
from tasks.contributions.content import markdown_to_html
from tasks.contributions.images import markdown_for
from tasks.contributions.word_file import MAX_BYTES, is_encrypted
from tasks.contributions.word_html import markdown_text
from tasks.contributions.word_import import (
    LEAVE_OUT,
    Block,
    Picture,
    WordRefused,
    place,
    read_word,
    section_for,
    with_pictures,
)
from tests.conftest import EXAMPLE

pytestmark = pytest.mark.once  # independent of the database under test: runs on SQLite only

BRIEF: Brief = parse(EXAMPLE).brief  # statutory-role, priority-activity, performance, looking-ahead


# --- building Word files ------------------------------------------------------------------------------------


def word(build: Callable[[Document], None]) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def link(paragraph: Paragraph, text: str, url: str) -> None:
    """python-docx has no call for hyperlinks: the w:hyperlink element and its relationship by hand."""
    rid = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    hyperlink = OxmlElement("w:hyperlink")
    hyperlink.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = text
    run.append(t)
    hyperlink.append(run)
    paragraph._p.append(hyperlink)


def nested_list(document: Document, items: list[tuple[str, int]], *, numbered: bool) -> None:
    """The default template's list styles have one level only; a two-level list needs its own numbering."""
    numbering = document.part.numbering_part.element
    abstract_id = 90 + len(numbering.findall(qn("w:abstractNum")))
    num_id = 90 + len(numbering.findall(qn("w:num")))
    fmt, text = ("decimal", "%{}.") if numbered else ("bullet", "•")
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text.format(i + 1)}"/></w:lvl>'
        for i in range(2)
    )
    abstract = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{levels}</w:abstractNum>')
    numbering.insert(list(numbering).index(numbering.find(qn("w:num"))), abstract)
    numbering.append(
        parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/></w:num>')
    )
    for text_, level in items:
        num_pr = document.add_paragraph(text_).paragraph_format.element.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = level
        num_pr.get_or_add_numId().val = num_id


def picture(kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Pil.new("RGB", (40, 30), (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


def add_picture(document: Document, data: bytes, alt: str | None) -> None:
    document.add_picture(io.BytesIO(data), width=Inches(1))
    if alt is not None:
        # Word keeps the alternative text in the `descr` attribute of the picture's wp:docPr
        document.inline_shapes[-1]._inline.docPr.set("descr", alt)


def agency_document(document: Document) -> None:
    document.add_paragraph("Prepared by the safeguarding team, May 2019.")
    document.add_heading("Statutory role", 1)
    p = document.add_paragraph("We ")
    p.add_run("lead ").bold = True  # Word's bold run takes the space after the word with it
    p.add_run("and ")
    p.add_run("partner").italic = True
    p.add_run("; see ")
    link(p, "our site", "https://example.org/safeguarding")
    p.add_run(".")
    document.add_heading("Our team", 2)
    nested_list(document, [("Designated nurse", 0), ("Named doctors", 0), ("one per hospital", 1)], numbered=False)
    document.add_heading("2. ACTIVITY AGAINST EACH PRIORITY", 1)
    document.add_heading("Strong Leadership and Strong Partnership", 2)
    document.add_paragraph("Chaired the audit group", style="List Number")
    document.add_paragraph("Trained 1,250 staff", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("Measure", "Figure"), ("Audits", "12"), ("Referrals", "340")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_heading("Case study", 1)
    document.add_paragraph("A family we worked with found help sooner.")
    document.add_heading("looking ahead:", 1)
    document.add_paragraph("We will focus on neglect.")


# --- splitting into the brief's sections --------------------------------------------------------------------

STATUTORY = (
    "We **lead** and *partner*; see [our site](https://example.org/safeguarding).\n\n"
    "## Our team\n\n"
    "- Designated nurse\n- Named doctors\n    - one per hospital"
)
PRIORITIES = (
    "## Strong Leadership and Strong Partnership\n\n"
    "1. Chaired the audit group\n2. Trained 1,250 staff\n\n"
    "| Measure | Figure |\n| --- | --- |\n| Audits | 12 |\n| Referrals | 340 |"
)


def test_a_document_splits_at_the_headings_that_name_the_briefs_sections() -> None:
    proposal = read_word(word(agency_document), BRIEF)
    assert proposal.blocks == (
        Block(None, "Prepared by the safeguarding team, May 2019.", None),
        Block("Statutory role", STATUTORY, "statutory-role"),
        Block("2. ACTIVITY AGAINST EACH PRIORITY", PRIORITIES, "priority-activity"),
        Block("Case study", "## Case study\n\nA family we worked with found help sooner.", None),
        Block("looking ahead:", "We will focus on neglect.", "looking-ahead"),
    )
    assert proposal.sections == {
        "statutory-role": STATUTORY,
        "priority-activity": PRIORITIES,
        "performance": "",
        "looking-ahead": "We will focus on neglect.",
    }
    assert proposal.missing == ("performance",)
    assert [b.heading for b in proposal.unplaced] == [None, "Case study"]
    assert proposal.pictures == () and proposal.notes == ()


def test_the_markdown_renders_back_to_the_tables_lists_and_links() -> None:
    sections = read_word(word(agency_document), BRIEF).sections
    # as the working copy renders a section (shift_headings=1: the document's sub-heading is h3)
    assert markdown_to_html(sections["statutory-role"], shift_headings=1).replace("\n", "") == (
        '<p>We <strong>lead</strong> and <em>partner</em>; see <a href="https://example.org/safeguarding" '
        'rel="noopener noreferrer">our site</a>.</p><h3>Our team</h3>'
        "<ul><li>Designated nurse</li><li>Named doctors<ul><li>one per hospital</li></ul></li></ul>"
    )
    assert markdown_to_html(sections["priority-activity"], shift_headings=1).replace("\n", "") == (
        "<h3>Strong Leadership and Strong Partnership</h3>"
        "<ol><li>Chaired the audit group</li><li>Trained 1,250 staff</li></ol>"
        "<table><thead><tr><th>Measure</th><th>Figure</th></tr></thead>"
        "<tbody><tr><td>Audits</td><td>12</td></tr><tr><td>Referrals</td><td>340</td></tr></tbody></table>"
    )


def test_the_agencys_choices_place_the_unmatched_text_where_it_stood_in_the_document() -> None:
    proposal = read_word(word(agency_document), BRIEF)
    placed = place(proposal, {0: "statutory-role", 1: LEAVE_OUT})
    assert placed.unplaced == ()
    assert placed.sections["statutory-role"] == "Prepared by the safeguarding team, May 2019.\n\n" + STATUTORY
    assert "Case study" not in "".join(placed.sections.values())
    moved = place(proposal, {0: LEAVE_OUT, 1: "performance"})
    assert moved.sections["performance"] == "## Case study\n\nA family we worked with found help sooner."
    assert moved.missing == ()


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({0: "statutory-role"}, "choose a section, or leave out, for every block; not chosen: [1]"),
        ({0: LEAVE_OUT, 1: "foreword"}, "the brief has no section 'foreword'"),
        ({0: LEAVE_OUT, 1: LEAVE_OUT, 2: LEAVE_OUT}, "there is no unplaced block 2; there are 2"),
    ],
)
def test_choices_must_cover_every_block_with_a_section_of_the_brief(choices: dict[int, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        place(read_word(word(agency_document), BRIEF), choices)


@pytest.mark.parametrize(
    ("heading", "key"),
    [
        ("Statutory role", "statutory-role"),
        ("STATUTORY   ROLE", "statutory-role"),
        ("statutory-role", "statutory-role"),
        ("2. Activity against each priority", "priority-activity"),
        ("2.1 Activity against each priority", "priority-activity"),
        ("(c) Performance and impact", "performance"),
        ("Section 3: Performance & Impact", "performance"),
        ("Looking ahead…", "looking-ahead"),
        ("Performance", "performance"),  # the section's key
        ("Impact", None),  # only resembles a section: an agency's own sub-heading
        ("Performance figures", None),
        ("2 Looking ahead", "looking-ahead"),
        ("Our statutory role", "statutory-role"),  # "Our"/"Your" before a title
        ("1. Your statutory role", "statutory-role"),
        ("Statutory roles", "statutory-role"),  # a close match to one title
        ("Looking ahed", "looking-ahead"),
        ("Our role", None),
        ("2019 activity against each priority", None),  # a year is not numbering
    ],
)
def test_a_heading_names_a_section_whatever_its_case_punctuation_or_numbering(heading: str, key: str | None) -> None:
    assert section_for(heading, BRIEF) == key


def test_a_title_with_nothing_under_it_is_left_out_and_said_so() -> None:
    def build(document: Document) -> None:
        document.add_heading("West Midlands Police", 0)  # the Title style
        document.add_heading("Statutory role", 1)
        document.add_paragraph("We police the city.")

    proposal = read_word(word(build), BRIEF)
    assert proposal.blocks == (Block("Statutory role", "We police the city.", "statutory-role"),)
    assert proposal.notes == ("The heading “West Midlands Police” has nothing under it, so it is left out.",)


def test_sub_headings_stay_in_their_section_one_level_down_and_no_deeper_than_h5() -> None:
    def build(document: Document) -> None:
        document.add_heading("Partnership work", 1)  # matches nothing: its own block
        document.add_heading("Schools", 2)
        document.add_paragraph("Visits.")
        document.add_heading("Looking ahead", 2)  # a section's name starts the section at any level
        document.add_heading("Neglect", 3)
        document.add_heading("Strategy", 4)
        document.add_heading("Detail", 5)
        document.add_paragraph("More.")

    proposal = read_word(word(build), BRIEF)
    assert proposal.blocks == (
        Block("Partnership work", "## Partnership work\n\n### Schools\n\nVisits.", None),
        Block("Looking ahead", "## Neglect\n\n### Strategy\n\n#### Detail\n\nMore.", "looking-ahead"),
    )


# --- pictures -----------------------------------------------------------------------------------------------

PNG = picture("PNG")
JPEG = picture("JPEG")


def pictures_document(document: Document) -> None:
    document.add_heading("Statutory role", 1)
    document.add_paragraph("Our year in one chart:")
    add_picture(document, PNG, "Bar chart: referrals rose by a fifth")
    add_picture(document, JPEG, None)
    document.add_paragraph("After the pictures.")


def test_pictures_come_with_their_description_and_a_placeholder_where_they_stood() -> None:
    proposal = read_word(word(pictures_document), BRIEF)
    assert proposal.sections["statutory-role"] == (
        "Our year in one chart:\n\n[[picture 1]]\n\n[[picture 2]]\n\nAfter the pictures."
    )
    assert proposal.pictures == (
        Picture("[[picture 1]]", PNG, "image/png", "Bar chart: referrals rose by a fifth"),
        Picture("[[picture 2]]", JPEG, "image/jpeg", None),  # None: the portal asks for a description
    )
    assert proposal.notes == ()


def test_stored_pictures_take_the_place_of_their_placeholders() -> None:
    proposal = read_word(word(pictures_document), BRIEF)
    image = Image(sha256="a" * 64, media_type="image/png")
    text = with_pictures(proposal.sections["statutory-role"], {"[[picture 1]]": markdown_for(image, "Bar chart")})
    assert text == (
        f"Our year in one chart:\n\n![Bar chart](/images/{'a' * 64}.png)\n\n[[picture 2]]\n\nAfter the pictures."
    )
    assert with_pictures("[[picture 2]]", {"[[picture 2]]": ""}) == ""


def test_a_picture_in_a_heading_stays_where_it_was() -> None:
    def build(document: Document) -> None:
        document.add_heading("Statutory role", 1)
        document.add_paragraph("Text.")
        heading = document.add_heading("", 2)
        heading.add_run().add_picture(io.BytesIO(PNG), width=Inches(1))

    proposal = read_word(word(build), BRIEF)
    assert proposal.sections["statutory-role"] == "Text.\n\n[[picture 1]]"
    assert [p.placeholder for p in proposal.pictures] == ["[[picture 1]]"]


def test_a_left_out_block_takes_its_pictures_with_it() -> None:
    def build(document: Document) -> None:
        add_picture(document, PNG, "Our logo")  # before the first heading
        document.add_heading("Statutory role", 1)
        add_picture(document, JPEG, "Our team")

    proposal = read_word(word(build), BRIEF)
    assert [p.placeholder for p in proposal.pictures] == ["[[picture 1]]", "[[picture 2]]"]
    assert [p.placeholder for p in place(proposal, {0: LEAVE_OUT}).pictures] == ["[[picture 2]]"]


def test_text_that_looks_like_a_placeholder_is_only_text() -> None:
    def build(document: Document) -> None:
        document.add_heading("Statutory role", 1)
        document.add_paragraph("[[picture 1]]")
        add_picture(document, PNG, "Chart")

    proposal = read_word(word(build), BRIEF)
    text = with_pictures(proposal.sections["statutory-role"], {"[[picture 1]]": "PICTURE"})
    assert text == "\\[\\[picture 1\\]\\]\n\nPICTURE"
    assert markdown_to_html(text) == "<p>[[picture 1]]</p>\n<p>PICTURE</p>"


def test_a_picture_linked_to_a_file_outside_the_document_is_not_read() -> None:
    def build(document: Document) -> None:
        document.add_heading("Statutory role", 1)
        document.add_paragraph("Text.")
        add_picture(document, PNG, "Chart")
        blip = document.inline_shapes[-1]._inline.graphic.graphicData.pic.blipFill.blip
        rid = document.part.relate_to("file:///etc/passwd", RELATIONSHIP_TYPE.IMAGE, is_external=True)
        del blip.attrib[qn("r:embed")]
        blip.set(qn("r:link"), rid)

    proposal = read_word(word(build), BRIEF)
    assert proposal.sections["statutory-role"] == "Text." and proposal.pictures == ()
    assert proposal.notes == ("1 picture(s) could not be read from the document: add them in the portal.",)


def test_a_style_map_inside_the_document_is_ignored() -> None:
    import mammoth

    data = io.BytesIO(word(pictures_document))
    # mammoth would otherwise follow this map, kept in the .docx, and make every paragraph a heading
    mammoth.embed_style_map(data, "p => h1:fresh")
    assert read_word(data.getvalue(), BRIEF).sections["statutory-role"].startswith("Our year in one chart:\n\n")


def test_a_picture_of_a_kind_the_report_cannot_show_is_said_so() -> None:
    def build(document: Document) -> None:
        document.add_heading("Statutory role", 1)
        add_picture(document, picture("GIF"), "A diagram")

    assert read_word(word(build), BRIEF).notes == (
        "Picture [[picture 1]] is a kind we cannot show (image/gif): save it as PNG or JPEG and add it in the portal.",
    )


def test_charts_are_said_to_be_left_behind() -> None:
    original = word(pictures_document)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        # a chart's own part; mammoth never reads it, so the document shows nothing where the chart was
        target.writestr("word/charts/chart1.xml", "<c:chartSpace/>")
    assert read_word(out.getvalue(), BRIEF).notes == (
        "The document has 1 chart(s), which cannot be brought across. Add each as a picture (in Word: copy "
        "the chart, then Paste Special → Picture) or in the portal.",
    )


# --- hostile content ----------------------------------------------------------------------------------------


def hostile_document(document: Document) -> None:
    document.add_heading("Statutory role", 1)
    document.add_paragraph("<script>alert(1)</script> and <img src=x onerror=alert(2)>")
    p = document.add_paragraph("Read ")
    link(p, "this", "javascript:alert(3)")
    add_picture(document, PNG, '"><script>alert(4)</script>')
    document.add_heading("<script>alert(5)</script>Case study", 1)
    document.add_paragraph("* not a list, [not](a link) and 1 < 2 > 0 &amp; 5 * 3_4_")


def test_hostile_text_links_headings_and_descriptions_come_out_inert_and_readable() -> None:
    proposal = read_word(word(hostile_document), BRIEF)
    assert proposal.blocks == (
        Block(
            "Statutory role",
            "&lt;script>alert(1)&lt;/script> and &lt;img src=x onerror=alert(2)>\n\nRead this\n\n[[picture 1]]",
            "statutory-role",
        ),
        Block(
            "<script>alert(5)</script>Case study",
            "## &lt;script>alert(5)&lt;/script>Case study\n\n"
            "\\* not a list, \\[not\\](a link) and 1 < 2 > 0 &amp;amp; 5 \\* 3\\_4\\_",
            None,
        ),
    )
    # the description is plain text: the portal escapes it, and markdown_for keeps it inside the alt
    assert proposal.pictures[0].alt == '"><script>alert(4)</script>'
    image = Image(sha256="b" * 64, media_type="image/png")
    placed = place(proposal, {0: "performance"})
    rendered = "".join(
        markdown_to_html(
            with_pictures(text, {"[[picture 1]]": markdown_for(image, proposal.pictures[0].alt)}),
            shift_headings=1,
        )
        for text in placed.sections.values()
    )
    assert "<script" not in rendered and "javascript:" not in rendered
    assert not re.search(r"<[^>]*\son\w+=", rendered)  # no tag carries an event handler
    # what was typed is still there to read
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt;</p>" in rendered
    assert "<p>Read this</p>" in rendered
    assert f'<img alt="&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" src="/images/{"b" * 64}.png">' in rendered
    assert "<h3>&lt;script&gt;alert(5)&lt;/script&gt;Case study</h3>" in rendered
    assert "<p>* not a list, [not](a link) and 1 &lt; 2 &gt; 0 &amp;amp; 5 * 3_4_</p>" in rendered


@pytest.mark.parametrize(
    "text",
    [
        "# not a heading",
        "> not a quote",
        "- not a list",
        "+ nor this",
        "12. May was busy",
        "--- not a rule",
        "a *b* _c_ `d` [e](f) \\g",
        "&copy; stays &copy;",
        "<b>not bold</b>",
        "1 < 2 and x<y",
        "-5% and 3.5",
    ],
)
def test_text_from_the_document_renders_as_exactly_that_text(text: str) -> None:
    assert markdown_to_html(markdown_text(text, line_start=True)) == f"<p>{html.escape(text, quote=False)}</p>"


# --- refusals -----------------------------------------------------------------------------------------------


def ole(entries: list[str], sector: int = 512) -> bytes:
    """A compound file cut down to what the check reads: the signature, a header, and directory entries.

    A real .doc or encrypted .docx is a whole FAT file system (header, FAT, directory, streams). In an
    encrypted .docx the directory names the streams `EncryptionInfo`, `EncryptedPackage` and
    `\\x06DataSpaces`; a .doc has `WordDocument`, `1Table` and friends. Each directory entry is 128 bytes:
    the name in UTF-16LE (64 bytes), then its length in bytes with the terminating zero.
    """
    header = bytes.fromhex("D0CF11E0A1B11AE1").ljust(sector, b"\0")
    directory = b""
    for name in entries:
        encoded = name.encode("utf-16-le") + b"\0\0"
        directory += (encoded.ljust(64, b"\0") + struct.pack("<H", len(encoded))).ljust(128, b"\0")
    return header + directory


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


SAVE_AS = "open it in Word and choose File → Save As → Word Document (.docx), then upload the new file"
DAMAGED = "Open it in Word, save it again and upload the new copy."
REFUSALS = {
    "pdf": (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "This is a PDF, not a Word document."),
    "text": (b"Statutory role\nWe lead.\n", f"This file is not a Word document (.docx). If it is one, {SAVE_AS}."),
    "doc": (ole(["Root Entry", "WordDocument", "1Table"]), "This is an older Word document (.doc)"),
    "doc-that-mentions-encryption": (
        ole(["Root Entry", "WordDocument"]) + "EncryptedPackage".encode("utf-16-le"),
        "This is an older Word document (.doc)",
    ),
    "encrypted": (
        ole(["Root Entry", "EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"]),
        "This Word document is protected with a password",
    ),
    "corrupt-zip": (word(agency_document)[:3000], "The file is damaged (it is not a complete Word document)."),
    "excel": (zip_of({"xl/workbook.xml": b"<workbook/>"}), "This is an Excel workbook, not a Word document"),
    "empty-file": (b"", "The file is empty: choose the Word document again."),
    "empty-document": (word(lambda d: None), "There is no text or picture in this document"),
    "headings-only": (
        word(lambda d: (d.add_heading("Statutory role", 1), d.add_heading("Looking ahead", 1))),
        "There is no text or picture in this document",
    ),
    "oversize": (b"PK" + b"\0" * MAX_BYTES, "The file is 10.0 MB; Word documents may be up to 10.0 MB."),
    "zip-bomb": (
        zip_of({"word/document.xml": b"\0" * (26 * 1024 * 1024)}),
        "The document would unpack to 26.0 MB, more than the 25.0 MB we read",
    ),
    "bzip2": (zip_of({"word/document.xml": b"<w:document/>"}, zipfile.ZIP_BZIP2), "not packed the way Word packs"),
    "broken-xml": (zip_of({"word/document.xml": b"<w:document"}), f"could not be read (it may be damaged). {DAMAGED}"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_files_that_cannot_be_read_are_refused_saying_what_to_do(name: str) -> None:
    data, message = REFUSALS[name]
    with pytest.raises(WordRefused) as refused:
        read_word(data, BRIEF)
    assert message in str(refused.value)


def test_the_encryption_check_reads_directory_entries_not_text() -> None:
    assert is_encrypted(ole(["Root Entry", "EncryptedPackage"]))
    assert is_encrypted(ole(["Root Entry", "EncryptedPackage"], sector=4096))
    assert not is_encrypted(ole(["Root Entry", "WordDocument"]) + b"x" + "EncryptedPackage".encode("utf-16-le"))
