"""OTLP/JSON trace exports -> one flat row per GenAI span.

Input is the protobuf JSON mapping of ``ExportTraceServiceRequest``
(``resourceSpans[].scopeSpans[].spans[]``), one export per line as the collector's
file exporter writes it, or one whole JSON document (an export or a list of them).
Each span becomes a row whose columns are its attribute keys (values as text),
the resource's attributes prefixed ``resource.``, and ``otel.*`` span fields; the
OTel preset (``_presets.py``) maps those to the event schema.

Only GenAI spans (at least one ``gen_ai.*`` attribute) are rows of the event log.
Other spans (HTTP handlers, DB calls in the same trace) are counted in
``skipped_spans`` and reported, not quarantined: they are not bad requests, they
are not requests to the model at all. A line that is not valid JSON is one
``malformed_row`` (its spans cannot be told apart).

Blocks of export lines are decoded column-wise (``_otel_fast.py``); this module's
per-span Python decoder handles whole-document files and the blocks the columnar
path declines (malformed lines, ``kvlistValue`` attributes, mixed JSON types).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.ingest._depth import (
    MAX_NESTING_DEPTH,
    RAW_PREVIEW_CHARS,
    drop_too_deep,
    nesting_depth,
    object_depth,
    too_deep_detail,
)
from distillguard.ingest._jsonl import (
    DEFAULT_BLOCK_BYTES,
    LONE_SURROGATE,
    SURROGATE_ESCAPE,
    bad_rows,
    encodable,
    first_char,
    iter_line_blocks,
    parse_block_fast,
    read_document,
    with_quarantine,
)
from distillguard.ingest._otel_fast import Unsupported, decode_exports
from distillguard.ingest._raw import RawBatch, malformed_rows
from distillguard.ingest._sources import SourceFile

GENAI_PREFIX = "gen_ai."
_HEX_ID = re.compile(r"^[0-9a-fA-F]{16}([0-9a-fA-F]{16})?$")


def _py_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        return [_py_value(v) for v in (value["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in value:
        items = (value["kvlistValue"] or {}).get("values", []) or []
        return {kv.get("key"): _py_value(kv.get("value")) for kv in items if isinstance(kv, dict)}
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _text(value: Any) -> str | None:
    """An attribute value as text: strings as is, numbers/bools as JSON, containers as JSON."""
    py = _py_value(value)
    if py is None or isinstance(py, str):
        return py
    return json.dumps(py, separators=(",", ":"), ensure_ascii=False)


def _hex_id(raw: Any) -> str | None:
    """Trace/span ids: hex per the OTLP/JSON spec, or base64 as generic protobuf JSON writes."""
    if not isinstance(raw, str) or not raw:
        return None
    if _HEX_ID.match(raw):
        return raw.lower()
    try:
        return base64.b64decode(raw, validate=True).hex()
    except (binascii.Error, ValueError):
        return raw


def _attributes(attrs: Any, prefix: str, out: dict[str, str | None]) -> None:
    if not isinstance(attrs, list):
        return
    for kv in attrs:
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[prefix + kv["key"]] = _text(kv.get("value"))


def spans_of_export(export: Any) -> tuple[list[dict[str, str | None]], int]:
    """(GenAI span rows, number of non-GenAI spans) of one ``ExportTraceServiceRequest``."""
    rows: list[dict[str, str | None]] = []
    skipped = 0
    if not isinstance(export, dict):
        raise ValueError("not an OTLP export object")
    resource_spans = export.get("resourceSpans", export.get("resource_spans"))
    if not isinstance(resource_spans, list):
        raise ValueError("no resourceSpans list")
    for rs in resource_spans:
        if not isinstance(rs, dict):
            continue
        resource: dict[str, str | None] = {}
        _attributes((rs.get("resource") or {}).get("attributes"), "resource.", resource)
        for ss in rs.get("scopeSpans", rs.get("scope_spans")) or []:
            if not isinstance(ss, dict):
                continue
            scope = (ss.get("scope") or {}).get("name")
            for span in ss.get("spans") or []:
                if not isinstance(span, dict):
                    continue
                row: dict[str, str | None] = {}
                _attributes(span.get("attributes"), "", row)
                if not any(k.startswith(GENAI_PREFIX) for k in row):
                    skipped += 1
                    continue
                status = span.get("status") or {}
                row.update(resource)
                row.update(
                    {
                        "otel.trace_id": _hex_id(span.get("traceId")),
                        "otel.span_id": _hex_id(span.get("spanId")),
                        "otel.span_name": span.get("name"),
                        "otel.scope_name": scope,
                        "otel.start_time_unix_nano": _str_or_none(span.get("startTimeUnixNano")),
                        "otel.end_time_unix_nano": _str_or_none(span.get("endTimeUnixNano")),
                        "otel.status_code": _str_or_none(status.get("code")),
                    }
                )
                rows.append(row)
    return rows, skipped


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _rows_table(rows: list[dict[str, str | None]]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table({name: pa.array([r.get(name) for r in rows], pa.string()) for name in names})


def _batch(
    src: SourceFile,
    rows: list[dict[str, str | None]],
    numbers: list[int],
    bad: list[tuple[int, str, str]],
    skipped: int,
    too_deep: pa.Table | None = None,
) -> RawBatch:
    batch = RawBatch(
        _rows_table(rows),
        src.name,
        pa.array(np.asarray(numbers, dtype=np.int64)),
        bad_rows(src.name, bad),
        skipped_spans=skipped,
    )
    return with_quarantine(batch, too_deep)


def _decode_fast(block: bytes, first_line: int) -> tuple[pa.Table, np.ndarray, int] | None:
    """The columnar decoder's result, or None when the block needs the Python decoder."""
    parsed = parse_block_fast(block, first_line)
    if parsed is None:
        return None
    try:
        return decode_exports(*parsed)
    except Unsupported:
        return None


def read_otel(
    src: SourceFile, block_bytes: int = DEFAULT_BLOCK_BYTES, max_depth: int = MAX_NESTING_DEPTH
) -> Iterator[RawBatch]:
    """GenAI spans of an OTLP/JSON trace export file (JSON lines or one document).

    ``row_number`` is the line of the export a span came from (the document's
    export index in document mode). An export nested deeper than ``max_depth`` is one
    ``too_deep`` row (its spans are never decoded).
    """
    head = first_char(src)
    if head == b"":
        return
    document_mode = head == b"["
    if not document_mode:
        # A pretty-printed single export spans many lines; its first line is not JSON.
        for block, _ in iter_line_blocks(src, 1 << 16):
            first_line = block.split(b"\n", 1)[0].strip()
            if nesting_depth(first_line, stop_above=max_depth) > max_depth:
                break  # a line of its own, quarantined below; never handed to ``json``
            try:
                json.loads(first_line)
            except ValueError:
                document_mode = True
            break
    if document_mode:
        doc = read_document(src)
        exports = doc if isinstance(doc, list) else [doc]
        rows: list[dict[str, str | None]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str, str]] = []
        deep: list[tuple[int, str, str]] = []
        skipped = 0
        for i, export in enumerate(exports, start=1):
            if object_depth(export, stop_above=max_depth) > max_depth:
                text = json.dumps(export)
                deep.append((i, text[:RAW_PREVIEW_CHARS], too_deep_detail(max_depth, len(text))))
                continue
            if not encodable(export):
                bad.append((i, json.dumps(export)[:RAW_PREVIEW_CHARS], LONE_SURROGATE))
                continue
            try:
                spans, n_skipped = spans_of_export(export)
            except ValueError as err:
                bad.append((i, json.dumps(export)[:RAW_PREVIEW_CHARS], f"not an OTLP export: {err}"))
                continue
            rows.extend(spans)
            numbers.extend([i] * len(spans))
            skipped += n_skipped
        too_deep = malformed_rows(
            src.name, [d[0] for d in deep], [d[1] for d in deep], [d[2] for d in deep], "too_deep"
        )
        yield _batch(src, rows, numbers, bad, skipped, too_deep)
        return
    for block, first_line in iter_line_blocks(src, block_bytes):
        block, too_deep = drop_too_deep(block, first_line, max_depth, src.name)
        fast = _decode_fast(block, first_line)
        if fast is not None:
            table, lines, n_skipped = fast
            batch = RawBatch(table, src.name, pa.array(lines), skipped_spans=n_skipped)
            yield with_quarantine(batch, too_deep)
            continue
        rows = []
        numbers = []
        bad = []
        skipped = 0
        for offset, line in enumerate(block.split(b"\n")):
            if not line.strip():
                continue
            text = line.decode("utf-8", "replace")
            try:
                export = json.loads(line)
                if SURROGATE_ESCAPE.search(line) and not encodable(export):
                    bad.append((first_line + offset, text, LONE_SURROGATE))
                    continue
                spans, n_skipped = spans_of_export(export)
            except ValueError as err:
                bad.append((first_line + offset, text, f"not an OTLP export: {err}"))
                continue
            except RecursionError:  # only reachable with a depth limit above Python's
                bad.append((first_line + offset, text, "nested too deeply to parse"))
                continue
            rows.extend(spans)
            numbers.extend([first_line + offset] * len(spans))
            skipped += n_skipped
        yield _batch(src, rows, numbers, bad, skipped, too_deep)
