"""Writing a partnership file's data as TOML: the export that `partnership load` reads back.

Only what a partnership file holds is written: strings, numbers, booleans, dates, times, lists, tables and
lists of tables. Tables come after the plain keys of their parent, as TOML requires; a figure's rows and an
agency's contacts (small tables of plain values) are written inline, one to a line, as a person would.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
INLINE = {"rows", "contacts"}


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, dict) for v in value)


def _small_tables(key: str, value: Any) -> bool:
    return (
        key in INLINE
        and _is_table_list(value)
        and all(not any(_is_table(x) or isinstance(x, list | tuple) for x in v.values()) for v in value)
    )


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(lines: list[str], path: list[str], data: dict[str, Any], *, header: str | None) -> None:
    if header is not None:
        if lines:
            lines.append("")
        lines.append(header)
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if value is None:
            continue  # TOML has no null: a key left out takes its default
        if _small_tables(key, value):
            lines.append(f"{_key(key)} = [")
            lines.extend(f"  {_value(row)}," for row in value)
            lines.append("]")
        elif _is_table(value) or _is_table_list(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        inner = [*path, _key(key)]
        name = ".".join(inner)
        if _is_table(value):
            plain = any(not (_is_table(v) or _is_table_list(v)) or _small_tables(k, v) for k, v in value.items())
            _table(lines, inner, value, header=f"[{name}]" if plain else None)
        else:
            for item in value:
                _table(lines, inner, item, header=f"[[{name}]]")


def dumps(data: dict[str, Any], *, preamble: str = "") -> str:
    """`data` as TOML text, with `preamble` (lines to put first, as comments)."""
    lines: list[str] = [f"# {line}".rstrip() for line in preamble.splitlines()]
    _table(lines, [], data, header=None)
    return "\n".join(lines) + "\n"
