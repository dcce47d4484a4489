"""The portal's static files (GOV.UK Frontend's styles and script, portal.js), read once and served from memory.

They change only with a release or `make assets`, which restart the portal. So each is read, hashed and gzipped
at start, and a page names it with its hash (`static_url`): a browser keeps such an address for a year without
asking again, where before every page fetched 185 kB of styles and scripts anew (the security headers' `no-store`
covered them too). An address without the hash (portal.js's import of GOV.UK Frontend) is checked each time
against its ETag, a 304 without a body. No file-system call and no worker thread per request.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
YEAR = "public, max-age=31536000, immutable"
CHECK = "no-cache"  # keep it, but ask each time (ETag) whether it changed
# Compressing pays for styles and scripts (133 kB of CSS is 15 kB gzipped), once; not for pictures.
COMPRESSIBLE = (".css", ".js", ".svg", ".txt", ".json", ".map")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str  # quoted, as the header carries it

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:12]


def load(directory: Path) -> dict[str, Asset]:
    """Every file under `directory` by its path there ("govuk/portal.css"); hidden files left out."""
    found = {}
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in name.split("/")):
            continue
        body = path.read_bytes()
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type == "application/javascript":
            media_type += "; charset=utf-8"
        packed = gzip.compress(body, compresslevel=9, mtime=0) if name.endswith(COMPRESSIBLE) else None
        found[name] = Asset(body, packed if packed and len(packed) < len(body) else None, media_type,
                            f'"{hashlib.sha256(body).hexdigest()[:32]}"')  # fmt: skip
    return found


class Assets:
    """An ASGI app for GET and HEAD of the loaded files, mounted at /static."""

    def __init__(self, directory: Path) -> None:
        self.files = load(directory)

    def url(self, name: str) -> str:
        """The address a page gives for a file: with its hash, so that it can be kept for a year."""
        asset = self.files.get(name)
        return f"/static/{name}?v={asset.version}" if asset else f"/static/{name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"  # mounted under the app, which alone sees lifespan and websockets
        asset = self.files.get(scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/"))
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"Method not allowed")
            return
        if asset is None:
            await _plain(send, 404, b"Not found")
            return
        request = Headers(scope=scope)
        kept = b"v=" + asset.version.encode() in scope.get("query_string", b"")
        headers = [
            (b"content-type", asset.media_type.encode()),
            (b"etag", asset.etag.encode()),
            (b"cache-control", (YEAR if kept else CHECK).encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        if asset.etag in request.get("if-none-match", ""):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.get("accept-encoding", ""):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


@lru_cache(maxsize=2)
def assets(directory: Path = STATIC) -> Assets:
    """The files, read once a process: the app serves them and the templates name them with `static_url`."""
    return Assets(directory)


def static_url(name: str) -> str:
    return assets().url(name)


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})
