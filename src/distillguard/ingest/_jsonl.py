"""JSON lines reader: byte blocks of whole lines, parsed by pyarrow, Python only for bad blocks.

A block is parsed by ``pyarrow.json`` in one go (the fast path). If pyarrow rejects
the block (a malformed line, a value whose JSON type changes between rows, a
non-object line), that block alone is re-read line by line with :mod:`json`, so a
bad line costs its block, not the file, and becomes a ``malformed_row``. Nested
objects become dotted columns (``usage.prompt_tokens``) and arrays become JSON text
on both paths, so the two paths produce the same columns.

A ``.json`` file whose first character is ``[`` is one JSON array of records (in a
``.jsonl`` file such a line is just a malformed line); it is
loaded whole (up to :data:`MAX_DOCUMENT_BYTES`), which is the only unbounded read.

Before any parser sees a block, lines nested deeper than the depth limit are taken
out as ``too_deep`` quarantine rows (``_depth.py``): DuckDB's ``to_json`` segfaults on
a list 10,000 levels deep, and Python's ``json`` raises RecursionError.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from distillguard import _duck
from distillguard.errors import DistillguardError
from distillguard.ingest._depth import (
    MAX_NESTING_DEPTH,
    RAW_PREVIEW_CHARS,
    drop_too_deep,
    object_depth,
    too_deep_detail,
)
from distillguard.ingest._raw import RawBatch, column_less, malformed_rows, numbered
from distillguard.ingest._sources import SourceFile

#: Bytes of whole lines handed to pyarrow at a time (~50-100K typical log rows).
DEFAULT_BLOCK_BYTES = 16 << 20
#: pyarrow parses a block in chunks of this size on its threads; a longer line
#: sends its block to the line-by-line path.
_PARSE_CHUNK_BYTES = 1 << 20
#: Largest single JSON document (not JSON lines) loaded into memory.
MAX_DOCUMENT_BYTES = 1 << 30
_WHITESPACE = np.array([9, 10, 13, 32], dtype=np.uint8)


#: A line with nothing but whitespace (pyarrow reads no row for it).
_BLANK_LINE = re.compile(rb"(?:\A|\n)[ \t\r]*\n|\n[ \t\r]+\Z")


def open_stream(src: SourceFile) -> pa.NativeFile:
    return pa.input_stream(str(src.path), compression="gzip" if src.gzip else None)


def first_char(src: SourceFile) -> bytes:
    """First non-whitespace byte of the (decompressed) file, or b'' if empty."""
    with open_stream(src) as stream:
        while True:
            chunk = stream.read(4096)
            if not chunk:
                return b""
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]


def read_document(src: SourceFile) -> Any:
    """Load a whole JSON document (size-capped)."""
    with open_stream(src) as stream:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DistillguardError(
            f"{src.path} is one JSON document over {MAX_DOCUMENT_BYTES >> 20} MiB; write it as JSON lines"
        )
    try:
        return json.loads(data)
    except ValueError as err:
        raise DistillguardError(f"cannot read {src.path}: not valid JSON ({err})") from None
    except RecursionError:
        raise DistillguardError(
            f"cannot read {src.path}: JSON nested too deeply for the parser; write it as JSON lines "
            "(records nested too deeply are then quarantined one by one)"
        ) from None


def iter_line_blocks(src: SourceFile, block_bytes: int = DEFAULT_BLOCK_BYTES) -> Iterator[tuple[bytes, int]]:
    """Yield ``(block, first_line_number)``; every block holds whole lines only."""
    line_no = 1
    carry = b""
    with open_stream(src) as stream:
        while True:
            chunk = stream.read(block_bytes)
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            block, carry = data[: cut + 1], data[cut + 1 :]
            yield block, line_no
            line_no += block.count(b"\n")
    if carry.strip():
        yield carry, line_no


def nonblank_line_numbers(block: bytes, first_line: int) -> np.ndarray:
    """Line numbers of the lines of ``block`` that hold more than whitespace."""
    buf = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    solid = np.concatenate(([0], np.cumsum(~np.isin(buf, _WHITESPACE))))
    counts = solid[ends] - solid[starts]
    return np.flatnonzero(counts > 0).astype(np.int64) + first_line


def json_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value of a nested column as compact JSON text (DuckDB's ``to_json``)."""
    con = _duck.connect()
    try:
        con.register("nested_values", pa.table({"v": arr}))
        out = con.sql("SELECT to_json(v)::VARCHAR AS j FROM nested_values").to_arrow_table()
    finally:
        con.close()
    return out.column("j").combine_chunks().cast(pa.string())


def flatten_nested(table: pa.Table) -> pa.Table:
    """Structs -> dotted columns (repeatedly); lists and maps -> JSON text."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    for i, f in enumerate(table.schema):
        t = f.type
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t):
            table = table.set_column(i, f.name, json_text(table.column(i)))
        elif pa.types.is_struct(t) and t.num_fields == 0:
            table = table.set_column(i, f.name, pa.nulls(table.num_rows, pa.string()))
    return table


def _flatten_object(obj: dict[str, Any], prefix: str, out: dict[str, str | None]) -> None:
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten_object(value, f"{name}.", out)
        elif value is None or isinstance(value, str):
            out[name] = value
        else:
            out[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def records_to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Python records -> an all-string table with dotted columns (the slow path's shape)."""
    flat: list[dict[str, str | None]] = []
    names: dict[str, None] = {}
    for rec in records:
        row: dict[str, str | None] = {}
        _flatten_object(rec, "", row)
        flat.append(row)
        names.update(dict.fromkeys(row))
    if not names:
        return column_less(len(flat))
    return pa.table({name: pa.array([r.get(name) for r in flat], pa.string()) for name in names})


Bad = list[tuple[int, str, str]]  #: (line number, text, what is wrong with it)


def parse_lines_slowly(block: bytes, first_line: int) -> tuple[list[dict[str, Any]], list[int], Bad]:
    """Line-by-line parse: (objects, their line numbers, [(line, text, detail)] of malformed lines)."""
    objects: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: Bad = []
    for offset, line in enumerate(block.split(b"\n")):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as err:
            bad.append((first_line + offset, line.decode("utf-8", "replace"), f"not valid JSON: {err}"))
            continue
        except RecursionError:  # only reachable with a depth limit above Python's
            bad.append((first_line + offset, line.decode("utf-8", "replace"), "nested too deeply to parse"))
            continue
        if not isinstance(obj, dict):
            bad.append((first_line + offset, line.decode("utf-8", "replace"), "not a JSON object"))
        elif SURROGATE_ESCAPE.search(line) and not encodable(obj):
            bad.append((first_line + offset, line.decode("utf-8", "replace"), LONE_SURROGATE))
        else:
            objects.append(obj)
            numbers.append(first_line + offset)
    return objects, numbers, bad


#: A ``\uD800``-``\uDFFF`` escape: JSON allows it, but alone it is no Unicode text.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
LONE_SURROGATE = "holds an escaped lone UTF-16 surrogate (\\ud800-\\udfff): not Unicode text"


def encodable(obj: Any) -> bool:
    """False if a parsed value holds a lone surrogate (it cannot become UTF-8 text)."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_rows(source: str, bad: Bad) -> pa.Table:
    """``malformed_row`` quarantine rows of ``bad``."""
    return malformed_rows(source, [b[0] for b in bad], [b[1] for b in bad], [b[2] for b in bad])


def with_quarantine(batch: RawBatch, quarantined: pa.Table | None) -> RawBatch:
    """``batch`` with more quarantine rows (e.g. too-deep lines of its block) in front."""
    if quarantined is None:
        return batch
    batch.malformed = pa.concat_tables([quarantined, batch.malformed])
    return batch


def _only_objects(block: bytes) -> bool:
    """True if every non-blank line's first non-blank byte is ``{``."""
    lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    if block.count(b"\n{") + block.startswith(b"{") == lines:
        return True  # the common case, decided by two C-speed counts
    buf = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(buf == 10) + 1))
    starts = starts[starts < len(buf)]
    heads = buf[starts]
    odd = starts[heads != ord("{")]
    if not np.isin(buf[odd], _WHITESPACE).all():
        return False
    for pos in odd.tolist():  # blank or indented lines only: few
        end = block.find(b"\n", pos)
        rest = block[pos : end if end >= 0 else len(block)].lstrip(b" \t\r")
        if rest and rest[:1] != b"{":
            return False
    return True


def parse_block_fast(block: bytes, first_line: int) -> tuple[pa.Table, np.ndarray] | None:
    """pyarrow parse of a block, or None when the block needs the line-by-line path."""
    if not _only_objects(block):
        # pyarrow 26 crashes on a block whose first value is ``null`` and reads a later
        # ``null`` line as an empty record; only blocks of objects are handed to it.
        return None
    try:
        table = pj.read_json(
            io.BytesIO(block),
            read_options=pj.ReadOptions(block_size=max(_PARSE_CHUNK_BYTES, 1)),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    if table.num_rows == lines and not _BLANK_LINE.search(block):
        # one row per line only holds when no line is blank: a blank line's slot could
        # otherwise hide a line holding two objects
        return table, np.arange(first_line, first_line + lines, dtype=np.int64)
    numbers = nonblank_line_numbers(block, first_line)
    if len(numbers) != table.num_rows:  # e.g. two objects on one line: let the slow path judge
        return None
    return table, numbers


def _document_batch(src: SourceFile, max_depth: int) -> RawBatch:
    """The records of one JSON array document; non-objects and too-deep records quarantined."""
    name = src.name
    doc = read_document(src)
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    bad: Bad = []
    deep: list[tuple[int, str, str]] = []
    for i, r in enumerate(doc, start=1):
        if not isinstance(r, dict):
            bad.append((i, json.dumps(r)[:RAW_PREVIEW_CHARS], "not a JSON object"))
        elif not encodable(r):
            bad.append((i, json.dumps(r)[:RAW_PREVIEW_CHARS], LONE_SURROGATE))
        elif object_depth(r, stop_above=max_depth) > max_depth:
            text = json.dumps(r)
            deep.append((i, text[:RAW_PREVIEW_CHARS], too_deep_detail(max_depth, len(text))))
        else:
            records.append(r)
            numbers.append(i)
    numbers_deep, texts_deep, details_deep = [d[0] for d in deep], [d[1] for d in deep], [d[2] for d in deep]
    too_deep = malformed_rows(name, numbers_deep, texts_deep, details_deep, "too_deep")
    return RawBatch(
        records_to_table(records),
        name,
        pa.array(numbers, pa.int64()),
        pa.concat_tables([bad_rows(name, bad), too_deep]),
    )


def read_jsonl(
    src: SourceFile, block_bytes: int = DEFAULT_BLOCK_BYTES, max_depth: int = MAX_NESTING_DEPTH
) -> Iterator[RawBatch]:
    """JSON records from a JSON-lines file (or one JSON array document)."""
    name = src.name
    if src.path.name.lower().endswith((".json", ".json.gz")) and first_char(src) == b"[":
        yield _document_batch(src, max_depth)
        return
    for block, first_line in iter_line_blocks(src, block_bytes):
        block, too_deep = drop_too_deep(block, first_line, max_depth, name)
        fast = parse_block_fast(block, first_line)
        if fast is not None:
            table, numbers = fast
            yield with_quarantine(RawBatch(flatten_nested(table), name, pa.array(numbers)), too_deep)
            continue
        objects, nums, bad = parse_lines_slowly(block, first_line)
        batch = RawBatch(
            records_to_table(objects),
            name,
            pa.array(nums, pa.int64()) if nums else numbered(0, 0),
            bad_rows(name, bad),
        )
        yield with_quarantine(batch, too_deep)
