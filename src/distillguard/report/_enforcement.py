"""``enforcement.csv``: the accounts to act on, in the order to act on them.

``attack`` accounts get action ``block``; ``suspicious`` ones ``review`` (a human looks
before anything happens, because banning a paying customer is the costliest mistake).
Built column-wise with pyarrow so a list of hundreds of thousands of accounts costs no
Python loop.

Account ids, campaign ids and reasons are attacker-controlled text, and this file is
meant to be opened in a spreadsheet and read by people. So text cells are first shown the
way the report shows them (``_display.py``): control, invisible and separator characters
escaped (``a\nb`` stays one record on one line; a bidi override cannot disguise an id), ids
cut to :data:`~._display.DISPLAY_ID_CHARS` characters with ``…``. Then, following OWASP's
"CSV Injection" advice, every text cell that begins with one of :data:`FORMULA_TRIGGERS`
(``=``, ``+``, ``-``, ``@``, their full-width forms, tab, carriage return, line feed) gets
a leading single quote, which spreadsheets read as "this is text", and every text cell is
wrapped in double quotes (so a ``;`` inside an id cannot start a new cell in locales that
split on ``;``). A cell that already begins with ``'`` is quoted the same way, so
:func:`restore_cell` (drop one leading ``'``) gives back the displayed value, which is the
exact value for ids of printable characters up to the display length. The exact id is
always ``account_id_hex``, the UTF-8 bytes of the raw id in lowercase hex, which no
spreadsheet can execute and no escaping rule can alter: machines should match on it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from distillguard.report._display import display_ids
from distillguard.report._scan import load_scan

#: How many of an account's reasons (most important first) go into ``top_reasons``.
TOP_REASONS = 3

#: Verdict -> action written to the file; verdicts not listed are not acted on.
ACTIONS: dict[str, str] = {"attack": "block", "suspicious": "review"}

#: First characters that make Excel, LibreOffice Calc or Google Sheets read a cell as a
#: formula (OWASP "CSV Injection"): = + - @ tab (0x09) carriage return (0x0D), plus line
#: feed (0x0A; spreadsheets skip leading whitespace) and the full-width forms U+FF1D
#: U+FF0B U+FF0D U+FF20, which some spreadsheets normalize to = + - @ on input.
FORMULA_TRIGGERS: tuple[str, ...] = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)

#: The escape: prefixed to a text cell that starts with a trigger (or with itself).
ESCAPE = "'"

COLUMNS: tuple[str, ...] = (
    "account_id",
    "verdict",
    "action",
    "score",
    "campaign_id",
    "top_reasons",
    "flagged_at",
    "account_id_hex",
)


def neutralize(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Prefix :data:`ESCAPE` to the strings that begin with a formula trigger or with ``'``."""
    import pyarrow.compute as pc

    pattern = "^[" + "".join(_class_char(c) for c in (*FORMULA_TRIGGERS, ESCAPE)) + "]"
    risky = pc.fill_null(pc.match_substring_regex(values, pattern), False)
    return pc.if_else(risky, pc.binary_join_element_wise(ESCAPE, values, ""), values)


def _class_char(c: str) -> str:
    """``c`` inside an RE2 character class (control characters as ``\\x{..}``)."""
    if c in "-^]\\":
        return "\\" + c
    return f"\\x{{{ord(c):x}}}" if not c.isprintable() else c


def restore_cell(cell: str) -> str:
    """The displayed value behind a cell of ``enforcement.csv`` (undoes :func:`neutralize`)."""
    return cell[1:] if cell.startswith(ESCAPE) else cell


def _hex(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Lowercase hex of each string's UTF-8 bytes (numpy, one pass over the byte buffer)."""
    import numpy as np
    import pyarrow.compute as pc

    arr = pc.fill_null(values, "")
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] else np.zeros(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty(data.size * 2, dtype=np.uint8)
    out[0::2], out[1::2] = digits[data >> 4], digits[data & 15]
    new_offsets = pa.py_buffer(((offsets - offsets[0]) * 2).astype(np.int64).tobytes())
    text = pa.LargeStringArray.from_buffers(len(arr), new_offsets, pa.py_buffer(out.tobytes()))
    return text.cast(pa.string())


def enforcement_table(accounts: pa.Table, *, top_reasons: int = TOP_REASONS) -> pa.Table:
    """The enforcement rows of ``accounts``: attack first, then suspicious, by score.

    Text cells are already neutralized (see the module docstring); ``account_id_hex``
    carries the raw id.
    """
    import pyarrow.compute as pc

    acted = accounts.filter(pc.is_in(accounts["verdict"], pa.array(list(ACTIONS))))
    action = pc.if_else(pc.equal(acted["verdict"], "attack"), "block", "review")
    rank = pc.if_else(pc.equal(acted["verdict"], "attack"), 0, 1)
    reasons = pc.fill_null(
        pc.binary_join(pc.list_slice(acted["reasons"], 0, top_reasons), "; "),
        "",
    )
    # Whole seconds: pyarrow's %S would print microseconds, noise in an enforcement list.
    seconds = pc.cast(acted["flagged_at"], pa.timestamp("s", tz="UTC"), safe=False)
    flagged = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
    table = pa.table(
        {
            "account_id": neutralize(display_ids(acted["account_id"])),
            "verdict": acted["verdict"],
            "action": action,
            "score": pc.round(acted["score"], 6),
            "campaign_id": neutralize(display_ids(acted["campaign_id"])),
            "top_reasons": neutralize(display_ids(reasons, max_chars=None)),
            "flagged_at": flagged,
            "account_id_hex": _hex(acted["account_id"]),
            "_rank": rank,
            "_raw": acted["account_id"],
        }
    )
    table = table.sort_by([("_rank", "ascending"), ("score", "descending"), ("_raw", "ascending")])
    return table.drop_columns(["_rank", "_raw"])


def write_enforcement_csv(scan_dir: Path | str) -> Path:
    """Write ``scan_dir/enforcement.csv`` and return its path."""
    import pyarrow.csv as pcsv

    scan = load_scan(Path(scan_dir))
    table = enforcement_table(scan.accounts)
    path = scan.path / "enforcement.csv"
    # "all_valid": every non-null cell in double quotes (OWASP), numbers included.
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="all_valid"))
    return path
