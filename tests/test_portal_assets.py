"""Static files: named by their hash in pages and then kept a year, otherwise checked by ETag; gzipped when the
browser takes it; nothing outside the folder."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from fastapi.testclient import TestClient

from portal.app import create_app
from portal.assets import Assets
from reportcycle.settings import get_settings


def test_files_are_named_by_hash_kept_when_named_so_and_gzipped(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    styles = b"body { color: black; }\n" * 200
    (tmp_path / "css" / "site.css").write_bytes(styles)
    (tmp_path / ".built").write_bytes(b"")
    served = Assets(tmp_path)
    assert sorted(served.files) == ["css/site.css"]  # hidden files are not served
    url = served.url("css/site.css")
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", url)
    assert served.url("missing.js") == "/static/missing.js"
    http = TestClient(served)  # not entered: only the app it is mounted in sees the lifespan
    kept = http.get(url.removeprefix("/static"), headers={"Accept-Encoding": "gzip"})
    assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert kept.headers["content-encoding"] == "gzip" and kept.content == styles  # httpx unpacks it
    assert int(kept.headers["content-length"]) < len(styles) / 10
    assert kept.headers["content-type"] == "text/css; charset=utf-8"
    plain = http.get("/css/site.css", headers={"Accept-Encoding": "identity"})
    assert plain.headers["cache-control"] == "no-cache" and "content-encoding" not in plain.headers
    assert plain.content == styles and int(plain.headers["content-length"]) == len(styles)
    again = http.get("/css/site.css", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    changed = http.get("/css/site.css", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200
    for missing in ("/.built", "/../assets.py", "/css", "/nothing.css"):
        assert http.get(missing).status_code == 404, missing
    assert http.post("/css/site.css").status_code == 405
    assert gzip.decompress(served.files["css/site.css"].gzipped or b"") == styles


def test_pages_name_their_styles_and_script_by_hash(database_url: str) -> None:
    with TestClient(create_app(get_settings())) as http:
        home = http.get("/")
        styles = re.search(r'href="(/static/govuk/portal\.css\?v=[0-9a-f]{12})"', home.text)
        script = re.search(r'src="(/static/portal\.js\?v=[0-9a-f]{12})"', home.text)
        assert styles and script, home.text[:2000]
        assert home.headers["cache-control"] == "no-store"  # pages are never kept
        for url in (styles.group(1), script.group(1)):
            answer = http.get(url)
            assert answer.status_code == 200 and answer.headers["cache-control"].startswith("public, max-age=")
