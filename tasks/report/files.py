"""Writing report files: atomically, with their SHA-256."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> str:
    """Write via a temporary file and rename, so a crash never leaves half a file; returns the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def cycle_folder(root: Path, partnership_slug: str, cycle_label: str) -> Path:
    """out/<partnership>/<label> with the label made safe for a path ("2018/19" -> "2018-19")."""
    return root / partnership_slug / re.sub(r"[^A-Za-z0-9._-]+", "-", cycle_label)
