"""Type a mapped batch to EVENT_SCHEMA and give every row a verdict (spec "Bad input").

A row's verdict is a small integer code, 0 = accepted, else the first reason found
in this priority order (a row has exactly one reason):

1. ``missing_required``: a required column is absent, null or blank;
2. ``bad_timestamp``: ``timestamp`` (or ``account_created_at``) cannot be parsed,
   or lies outside the plausibility window (:class:`ValidationOptions`);
3. ``negative_tokens``: ``input_tokens``, ``output_tokens`` or
   ``reasoning_output_tokens`` below zero;
4. ``invalid_ip``: ``client_ip`` is not an IPv4/IPv6 address;
5. ``malformed_row``: any other value that cannot be read as its column's type
   (``input_tokens: "many"``, ``stream: "maybe"``, a negative ``duration_ms``);
6. ``duplicate_event_id``: set later by the run, which sees all batches.

Everything is column-at-a-time (pyarrow compute + numpy masks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.ingest._convert import CONVERTERS, TIMESTAMP_US, as_plain, to_string, to_timestamp
from distillguard.ingest._ip import valid_ip_mask
from distillguard.schema import (
    DEFAULT_PROVIDER,
    EVENT_SCHEMA,
    NON_NEGATIVE_INT_COLUMNS,
    QUARANTINE_REASONS,
    QUARANTINE_SCHEMA,
    REQUIRED_COLUMNS,
)

#: Verdict codes: index into this tuple (0 = accepted).
REASONS: tuple[str | None, ...] = (
    None,
    "missing_required",
    "bad_timestamp",
    "negative_tokens",
    "invalid_ip",
    "malformed_row",
    "duplicate_event_id",
)
assert set(REASONS[1:]) == set(QUARANTINE_REASONS)
CODE = {name: i for i, name in enumerate(REASONS)}
TOKEN_COLUMNS = ("input_tokens", "output_tokens", "reasoning_output_tokens")
_TIMESTAMP_COLUMNS = ("timestamp", "account_created_at")


@dataclass(frozen=True)
class ValidationOptions:
    """How values are read, and the one threshold of validation."""

    timestamp_unit: str = "ms"
    timestamp_format: str | None = None
    timestamp_origin_us: int | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Earliest plausible request time. Earlier epochs are almost always a unit
    #: mistake (epoch *seconds* read as milliseconds land in January 1970), so they
    #: are quarantined as ``bad_timestamp`` rather than scored in the wrong year.
    min_timestamp: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    #: Latest plausible request time (epoch micro/nanoseconds read as ms land here).
    max_timestamp: datetime = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass
class Verdicts:
    """A typed batch (all rows, EVENT_SCHEMA + extras) and one code per row."""

    events: pa.Table
    codes: np.ndarray  # int8, 0 = accepted


def _mark(codes: np.ndarray, mask: pa.Array | np.ndarray, reason: str) -> None:
    if isinstance(mask, pa.Array | pa.ChunkedArray):
        mask = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    codes[(codes == 0) & mask] = CODE[reason]


def _blank(values: pa.Array) -> pa.Array:
    """Null, empty or whitespace-only (no trimmed copy; ~5x faster than a regex)."""
    empty = pc.equal(pc.binary_length(values), 0)
    return pc.fill_null(pc.or_(empty, pc.utf8_is_space(values)), True)


def _default_array(value: Any, n: int, target: pa.DataType) -> pa.Array:
    converter = CONVERTERS.get(target)
    raw = pa.array([value] * n)
    if target == TIMESTAMP_US:
        return to_timestamp(raw)[0]
    return converter(raw)[0] if converter else raw.cast(target)


def _bool_np(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _typed_column(
    mapped: pa.Table, f: pa.Field, n: int, options: ValidationOptions
) -> tuple[pa.Array, pa.Array]:
    """One schema column typed, plus the mask of present-but-unreadable values."""
    if f.name not in mapped.column_names:
        values, bad = pa.nulls(n, f.type), pa.array(np.zeros(n, dtype=bool))
    elif f.type == TIMESTAMP_US:
        values, bad = to_timestamp(
            mapped.column(f.name),
            unit=options.timestamp_unit,
            fmt=options.timestamp_format,
            origin_us=options.timestamp_origin_us,
        )
        lo = pa.scalar(options.min_timestamp, TIMESTAMP_US)
        hi = pa.scalar(options.max_timestamp, TIMESTAMP_US)
        outside = pc.fill_null(pc.or_(pc.less(values, lo), pc.greater_equal(values, hi)), False)
        bad = pc.or_(bad, outside)
        values = pc.if_else(bad, pa.nulls(n, f.type), values)
    else:
        values, bad = CONVERTERS[f.type](mapped.column(f.name))
    if f.name in options.defaults:
        values = pc.coalesce(values, _default_array(options.defaults[f.name], n, f.type))
    if f.name == "provider":
        values = pc.coalesce(values, pa.scalar(DEFAULT_PROVIDER))
    return values, bad


def validate(mapped: pa.Table, n: int, options: ValidationOptions, *, stringify_extras: bool) -> Verdicts:
    """Type every schema column, keep extras, and decide each row's verdict."""
    codes = np.zeros(n, dtype=np.int8)
    columns: dict[str, pa.Array] = {}
    unreadable: dict[str, pa.Array] = {}
    for f in EVENT_SCHEMA:
        columns[f.name], unreadable[f.name] = _typed_column(mapped, f, n, options)
    if "client_ip" in mapped.column_names:
        ip = pc.utf8_trim_whitespace(columns["client_ip"])
        columns["client_ip"] = pc.if_else(_blank(ip), pa.nulls(n, pa.string()), ip)
    for name in REQUIRED_COLUMNS:
        values = columns[name]
        missing = _blank(values) if pa.types.is_string(values.type) else pc.is_null(values)
        # present but unreadable is a type problem (reported below), not a missing value
        _mark(codes, pc.and_(missing, pc.invert(unreadable[name])), "missing_required")
    for name in _TIMESTAMP_COLUMNS:
        _mark(codes, unreadable[name], "bad_timestamp")
    for name in TOKEN_COLUMNS:
        _mark(codes, pc.less(columns[name], 0), "negative_tokens")
    bad_ip = pc.or_(
        pc.invert(pc.fill_null(valid_ip_mask(columns["client_ip"]), True)), unreadable["client_ip"]
    )
    _mark(codes, bad_ip, "invalid_ip")
    type_errors = np.zeros(n, dtype=bool)
    for name, bad in unreadable.items():
        if name not in _TIMESTAMP_COLUMNS and name != "client_ip":
            type_errors |= _bool_np(bad)
    for name in set(NON_NEGATIVE_INT_COLUMNS) - set(TOKEN_COLUMNS):
        type_errors |= _bool_np(pc.less(columns[name], 0))
    _mark(codes, type_errors, "malformed_row")
    arrays = [columns[f.name] for f in EVENT_SCHEMA]
    fields = list(EVENT_SCHEMA)
    for name in mapped.column_names:
        if name in columns:
            continue
        extra = as_plain(mapped.column(name))
        if stringify_extras and not pa.types.is_string(extra.type) and not pa.types.is_null(extra.type):
            converted, unconvertible = to_string(extra)
            if not pc.any(unconvertible).as_py():
                extra = converted
        arrays.append(extra)
        fields.append(pa.field(name, extra.type))
    schema = pa.schema(fields, metadata=EVENT_SCHEMA.metadata)
    return Verdicts(pa.Table.from_arrays(arrays, schema=schema), codes)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def quarantine_rows(
    raw_rows: pa.Table, events: pa.Table, codes: np.ndarray, source: str, row_numbers: pa.Array
) -> pa.Table:
    """QUARANTINE_SCHEMA rows for every rejected row; ``raw`` is the source row as JSON."""
    rejected = np.flatnonzero(codes != 0)
    if len(rejected) == 0:
        return QUARANTINE_SCHEMA.empty_table()
    idx = pa.array(rejected)
    reasons = pa.array(np.asarray(REASONS, dtype=object)[codes[rejected]], pa.string())
    return pa.table(
        {
            "reason": reasons,
            "source": pa.array([source] * len(rejected), pa.string()),
            "row_number": row_numbers.take(idx),
            "event_id": _plain(events.column("event_id").take(idx)),
            "account_id": _plain(events.column("account_id").take(idx)),
            "raw": rows_as_json(raw_rows.take(idx), len(rejected)),
        },
        schema=QUARANTINE_SCHEMA,
    )


def rows_as_json(rows: pa.Table, n: int) -> pa.Array:
    """Each row as a JSON object (Polars ``json_encode``; DuckDB for types Polars lacks)."""
    if rows.num_columns == 0:
        return pa.array(["{}"] * n, pa.string())
    import polars as pl

    try:
        frame = pl.from_arrow(rows)
        encoded = frame.select(pl.struct(pl.all()).struct.json_encode().alias("j")).to_series()
        return encoded.to_arrow().cast(pa.string())
    except Exception:
        pass
    import duckdb

    struct = pa.StructArray.from_arrays(
        [c.combine_chunks() for c in rows.columns], names=list(rows.column_names)
    )
    con = duckdb.connect()
    try:
        con.register("rows_in", pa.table({"r": struct}))
        out = con.sql("SELECT to_json(r)::VARCHAR AS j FROM rows_in").to_arrow_table()
    finally:
        con.close()
    return out.column("j").combine_chunks().cast(pa.string())
