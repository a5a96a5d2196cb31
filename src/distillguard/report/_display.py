"""Attacker-chosen text as people see it: invisible characters escaped, long values cut.

An id is kept exact in every data file (``accounts.parquet``, ``campaigns.json``,
``account_id_hex`` in ``enforcement.csv``), but shown escaped wherever a person reads it
(``report.html``, the ``account_id`` column of ``enforcement.csv``): a newline inside an id
would otherwise look like two ids in the report and split a CSV record across lines, and
a right-to-left override or a zero-width space would make one id look like another.

Escaping is like Python's ``repr`` without the quotes: ``\\n``, ``\\r``, ``\\t``, ``\\xNN``,
``\\uNNNN`` for control, format (bidi, zero-width), separator and unassigned characters
and for every space but U+0020, and ``\\\\`` for a backslash, so two different ids never
look alike. Values longer than :data:`DISPLAY_ID_CHARS` (after escaping) end in ``…``.
"""

from __future__ import annotations

import re
import unicodedata

import pyarrow as pa

#: Longest id shown in full in the report and the CSV's ``account_id`` column (escaped
#: characters); longer ones are cut and end in ``…``. Real account ids are under 64.
DISPLAY_ID_CHARS = 100
ELLIPSIS = "…"

_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]*")  # printable ASCII but the backslash: shown as is
_PLAIN_RE2 = r"^[\x20-\x5b\x5d-\x7e]*$"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape_char(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    category = unicodedata.category(ch)
    if category not in _HIDDEN and not (category == "Zs" and ch != " "):
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def display_id(value: object, max_chars: int | None = DISPLAY_ID_CHARS) -> str:
    """``value`` escaped (see module doc) and cut to ``max_chars`` (None: never cut)."""
    text = "" if value is None else str(value)
    if _PLAIN.fullmatch(text) and (max_chars is None or len(text) <= max_chars):
        return text
    pieces: list[str] = []
    size = 0
    for ch in text:
        piece = _escape_char(ch)
        if max_chars is not None and size + len(piece) > max_chars - 1:
            # cut before the piece that does not fit, never inside an escape
            rest = "".join(_escape_char(c) for c in text[len(pieces) :])
            if size + len(rest) <= max_chars:
                pieces.append(rest)
                return "".join(pieces)
            return "".join(pieces) + ELLIPSIS
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def display_ids(values: pa.Array | pa.ChunkedArray, max_chars: int | None = DISPLAY_ID_CHARS) -> pa.Array:
    """:func:`display_id` over a string column; Python only for the values that need it."""
    import numpy as np
    import pyarrow.compute as pc

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_RE2), True)
    if max_chars is not None:
        plain = pc.and_(plain, pc.fill_null(pc.less_equal(pc.utf8_length(arr), max_chars), True))
    todo = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(todo) == 0:
        return arr
    shown = arr.to_pylist()
    for i in todo.tolist():
        shown[i] = display_id(shown[i], max_chars)
    return pa.array(shown, pa.string())
