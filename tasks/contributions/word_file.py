"""The checks a Word upload passes before anything reads it: size, kind of file, and a zip that is sane to unpack.

Each refusal says, for the person who uploaded the file, what is wrong and what to do.
"""

from __future__ import annotations

import io
import struct
import zipfile

MAX_BYTES = 10 * 1024 * 1024
# Pictures are stored in a .docx almost as they are (JPEG and PNG do not compress further) and text compresses
# about tenfold, so a genuine file under MAX_BYTES unpacks to well under this. The parts are parsed into
# memory (mammoth builds a DOM), so a file that claims more is refused before it is read.
MAX_UNPACKED = 25 * 1024 * 1024

OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # the "compound file" of Office 97-2003 and of encrypted .docx
# An encrypted .docx is a compound file whose directory has a stream of this name (MS-OFFCRYPTO 2.3.4.4).
ENCRYPTED_STREAM = "EncryptedPackage"
DIRECTORY_ENTRY = 128  # bytes; entries start on multiples of 128 because sectors are 512 or 4096 bytes
SAVE_AS = "open it in Word and choose File → Save As → Word Document (.docx), then upload the new file"


class WordRefused(ValueError):
    """Why a Word upload was not read, in words for the person who sent it."""


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def is_encrypted(data: bytes) -> bool:
    """Whether a compound file has an `EncryptedPackage` stream in its directory.

    A directory entry starts with the stream name in UTF-16LE (64 bytes, zero-padded) followed by the name's
    length in bytes, terminating zero included. Looking for that shape at entry boundaries finds the stream
    without following the file's sector chains, and the same words in a .doc's text do not match: text is not
    aligned to entries and is not followed by that length.
    """
    name = ENCRYPTED_STREAM.encode("utf-16-le")
    length = struct.pack("<H", len(name) + 2)
    start = data.find(name)
    while start != -1:
        if start % DIRECTORY_ENTRY == 0 and data[start + 64 : start + 66] == length:
            return True
        start = data.find(name, start + 1)
    return False


def _not_a_zip(data: bytes) -> WordRefused:
    if data.startswith(OLE_SIGNATURE):
        if is_encrypted(data):
            return WordRefused(
                "This Word document is protected with a password, so it cannot be read. In Word, choose "
                "File → Info → Protect Document → Encrypt with Password, clear the password, save, and upload "
                "the file again."
            )
        return WordRefused(f"This is an older Word document (.doc), which cannot be read here: {SAVE_AS}.")
    if data.startswith(b"%PDF"):
        return WordRefused(
            "This is a PDF, not a Word document. Upload the Word file (.docx) the PDF was made from, or type "
            "the text into the sections."
        )
    if data.lstrip().startswith(b"{\\rtf"):
        return WordRefused(f"This is a Rich Text file (.rtf), not a Word document: {SAVE_AS}.")
    return WordRefused(f"This file is not a Word document (.docx). If it is one, {SAVE_AS}.")


def check_word_file(data: bytes) -> list[str]:
    """Refuse what cannot or should not be read; the names of the parts inside the .docx when it passes."""
    if not data:
        raise WordRefused("The file is empty: choose the Word document again.")
    if len(data) > MAX_BYTES:
        raise WordRefused(
            f"The file is {_mb(len(data))}; Word documents may be up to {_mb(MAX_BYTES)}. Make the pictures "
            "smaller (in Word: select a picture, then Picture Format → Compress Pictures → 150 ppi) and upload "
            "it again."
        )
    if not data.startswith(b"PK"):
        raise _not_a_zip(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise WordRefused(
            "The file is damaged (it is not a complete Word document). Open it in Word, save it again and "
            "upload the new copy."
        ) from None
    if any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos):
        # Word writes only these two; the others (bzip2, lzma) could unpack without bound in one read
        raise WordRefused(
            "The file is not packed the way Word packs documents. Open it in Word, save it again and upload "
            "the new copy."
        )
    names = [i.filename for i in infos]
    if "word/document.xml" not in names:
        if any(n.startswith("xl/") for n in names):
            raise WordRefused("This is an Excel workbook, not a Word document: upload the .docx with your text.")
        if any(n.startswith("ppt/") for n in names):
            raise WordRefused("This is a PowerPoint file, not a Word document: upload the .docx with your text.")
        raise WordRefused(f"This file is not a Word document (.docx). If it is one, {SAVE_AS}.")
    # zipfile never unpacks more than an entry's declared size (deflate is read in bounded steps), so the
    # declared total bounds the work
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED:
        raise WordRefused(
            f"The document would unpack to {_mb(unpacked)}, more than the {_mb(MAX_UNPACKED)} we read; a "
            f"genuine document under {_mb(MAX_BYTES)} never does. Open it in Word, save it again and upload "
            "the new copy."
        )
    return names
