"""Columnar decoding of OTLP/JSON export lines (the OTel reader's fast path).

pyarrow parses a block of export lines into nested lists; the span lists are
flattened with ``list_parent_indices`` (line -> resource -> scope -> span), and the
attribute lists are pivoted to one column per key with a single argsort over the
dictionary-encoded keys. The result has exactly the columns and text values the
per-span Python decoder in ``_otel.py`` produces (a test checks both on real SDK
exports). Shapes this path does not cover (``kvlistValue``, arrays of non-strings,
a line without ``resourceSpans``) raise :class:`Unsupported` and the block goes to
the Python decoder instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard import _duck
from distillguard.ingest._convert import to_string

GENAI_PREFIX = "gen_ai."


class Unsupported(Exception):
    """The block has a shape the columnar path does not decode."""


def _field(arr: pa.Array, name: str) -> pa.Array | None:
    if not pa.types.is_struct(arr.type) or arr.type.get_field_index(name) < 0:
        return None
    return pc.struct_field(arr, name)


def _explode(lists: pa.Array | None) -> tuple[np.ndarray, pa.Array]:
    """(parent index per item, flat items) of a list column."""
    if lists is None or not pa.types.is_list(lists.type):
        raise Unsupported("expected a list")
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    return parents, pc.list_flatten(lists)


def _json_string_list(values: pa.Array) -> pa.Array:
    """``list<struct<stringValue>>`` -> JSON array text, as ``json.dumps`` writes it."""
    items = pc.list_flatten(values)
    only_strings = pa.types.is_struct(items.type) and [f.name for f in items.type] == ["stringValue"]
    if len(items) and not only_strings:
        raise Unsupported("array of non-string values")
    strings = _field(items, "stringValue") if len(items) else pa.array([], pa.string())
    strings = to_string(strings)[0]
    if pc.any(pc.match_substring_regex(strings, "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]")).as_py():
        raise Unsupported("control characters need full JSON escaping")
    if pc.any(pc.is_null(strings)).as_py():
        raise Unsupported("null array element")
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        strings = pc.replace_substring(strings, raw, escaped)
    quoted = pc.binary_join_element_wise('"', strings, '"', "")
    rebuilt = pa.ListArray.from_arrays(values.offsets, quoted, mask=pc.is_null(values))
    return pc.binary_join_element_wise("[", pc.binary_join(rebuilt, ","), "]", "")


def _value_text(value: pa.Array) -> pa.Array:
    """An ``AnyValue`` column as text (the Python decoder's ``_text``)."""
    if not pa.types.is_struct(value.type):
        raise Unsupported("attribute value is not an object")
    parts: list[pa.Array] = []
    for f in value.type:
        col = pc.struct_field(value, f.name)
        if f.name in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if pa.types.is_struct(col.type) or pa.types.is_list(col.type):
                raise Unsupported(f"nested {f.name}")
            parts.append(to_string(col)[0])
        elif f.name == "arrayValue":
            values = _field(col, "values")
            if values is not None and pc.any(pc.is_valid(values)).as_py():
                parts.append(_json_string_list(values))
        elif pc.any(pc.is_valid(col)).as_py():
            raise Unsupported(f"{f.name} attributes")
    if not parts:
        return pa.nulls(len(value), pa.string())
    return parts[0] if len(parts) == 1 else pc.coalesce(*parts)


def _pivot(parents: np.ndarray, kvs: pa.Array, n: int, prefix: str) -> dict[str, pa.Array]:
    """Attribute key/value items -> one text column per key (last duplicate wins)."""
    if len(kvs) == 0:
        return {}
    keys = _field(kvs, "key")
    value = _field(kvs, "value")
    if keys is None or value is None or not pa.types.is_string(keys.type):
        raise Unsupported("attributes without key/value")
    texts = _value_text(value)
    encoded = pc.dictionary_encode(keys)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    valid = ~np.asarray(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False), dtype=bool)
    positions = np.flatnonzero(valid)
    order = positions[np.argsort(codes[positions], kind="stable")]
    sorted_codes = codes[order]
    cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
    names = encoded.dictionary.to_pylist()
    out: dict[str, pa.Array] = {}
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True):
        if lo == hi:
            continue
        group = order[lo:hi]
        slot = np.full(n, -1, dtype=np.int64)
        slot[parents[group]] = group  # ascending positions: the last duplicate wins
        out[prefix + names[sorted_codes[lo]]] = texts.take(pa.array(slot, mask=slot < 0))
    return out


def _hex_ids(ids: pa.Array | None, n: int) -> pa.Array:
    """Hex span/trace ids kept (lower-cased); base64 ones (protobuf JSON) converted."""
    if ids is None:
        return pa.nulls(n, pa.string())

    con = _duck.connect()
    try:
        con.register("ids_in", pa.table({"s": to_string(ids)[0]}))
        out = con.sql(
            "SELECT CASE WHEN s = '' THEN NULL"
            " WHEN regexp_full_match(s, '[0-9a-fA-F]{16}|[0-9a-fA-F]{32}') THEN lower(s)"
            " WHEN regexp_full_match(s, '[A-Za-z0-9+/]+={0,2}') AND length(s) % 4 = 0"
            " THEN lower(hex(from_base64(s))) ELSE s END AS h FROM ids_in"
        ).to_arrow_table()
    finally:
        con.close()
    return out.column("h").combine_chunks().cast(pa.string())


def decode_exports(table: pa.Table, line_numbers: np.ndarray) -> tuple[pa.Table, np.ndarray, int]:
    """(GenAI span rows, their line numbers, number of non-GenAI spans) of parsed exports."""
    if "resourceSpans" not in table.column_names:
        raise Unsupported("no resourceSpans")
    rs = table.column("resourceSpans").combine_chunks()
    if rs.null_count:
        raise Unsupported("a line without resourceSpans")
    rs_line, rs_items = _explode(rs)
    ss_rs, ss_items = _explode(_field(rs_items, "scopeSpans"))
    sp_ss, spans = _explode(_field(ss_items, "spans"))
    n = len(spans)
    if n == 0:
        return pa.table({}), np.zeros(0, dtype=np.int64), 0
    sp_rs = ss_rs[sp_ss]
    attr_parent, attrs = _explode(_field(spans, "attributes"))
    genai = np.zeros(n, dtype=bool)
    if len(attrs):
        is_genai = pc.fill_null(pc.starts_with(_field(attrs, "key"), GENAI_PREFIX), False)
        genai[attr_parent[is_genai.to_numpy(zero_copy_only=False)]] = True
    columns = _pivot(attr_parent, attrs, n, "")
    resource = _field(rs_items, "resource")
    if resource is not None and _field(resource, "attributes") is not None:
        res_parent, res_attrs = _explode(_field(resource, "attributes"))
        for name, col in _pivot(res_parent, res_attrs, len(rs_items), "resource.").items():
            columns.setdefault(name, col.take(pa.array(sp_rs)))
    status = _field(spans, "status")
    scope = _field(ss_items, "scope")
    scope_name = _field(scope, "name") if scope is not None else None
    fields = {
        "otel.trace_id": _hex_ids(_field(spans, "traceId"), n),
        "otel.span_id": _hex_ids(_field(spans, "spanId"), n),
        "otel.span_name": _field(spans, "name"),
        "otel.scope_name": scope_name.take(pa.array(sp_ss)) if scope_name is not None else None,
        "otel.start_time_unix_nano": _field(spans, "startTimeUnixNano"),
        "otel.end_time_unix_nano": _field(spans, "endTimeUnixNano"),
        "otel.status_code": _field(status, "code") if status is not None else None,
    }
    for name, col in fields.items():
        columns[name] = to_string(col)[0] if col is not None else pa.nulls(n, pa.string())
    keep = pa.array(genai)
    out = pa.table(columns).filter(keep)
    lines = line_numbers[rs_line[sp_rs]][genai]
    return out, lines, int(n - genai.sum())
