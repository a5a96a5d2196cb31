"""Vectorized, per-row-tolerant type conversion of raw columns to schema types.

Every converter returns ``(values, bad)``: ``values`` has the target type with null
where the input was null *or* unusable, and ``bad`` is a boolean mask (no nulls) of
the rows whose non-null input could not be converted. Validation turns ``bad`` into
a quarantine reason; nothing is nulled silently. Text sources arrive as strings, so
string parsing is guarded by RE2 regexes (one pass over the column) and only the
rare value that matches the regex yet fails the cast (``2024-02-30``, an int64
overflow) is located by bisection in :func:`cast_rowwise`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Converted = tuple[pa.Array, pa.Array]

#: Chunks at most this long are cast element by element while bisecting a failed cast.
_BISECT_LEAF = 32

_INT_RE = r"^[+-]?[0-9]{1,19}$"  # int64 has 19 digits; overflow is caught by the cast
_FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
#: RFC 3339 date-time; the zone is optional (naive = UTC), a space may replace ``T``,
#: the minutes/seconds may be omitted, fractions up to nanoseconds.
_RFC3339_RE = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)
_ZONE_RE = r"T[0-9:.]*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_TIME_UNITS_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}

TIMESTAMP_US = pa.timestamp("us", tz="UTC")
_MAX_ABS_MICROS = 9.2e18


def _all_false(n: int) -> pa.Array:
    return pa.array(np.zeros(n, dtype=bool))


def _fill_false(mask: pa.Array) -> pa.Array:
    return pc.fill_null(mask, False)


def _null_where(values: pa.Array, mask: pa.Array) -> pa.Array:
    """``values`` with null wherever ``mask`` is true."""
    return pc.if_else(mask, pa.nulls(len(values), values.type), values)


def as_plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array with dictionaries decoded and large strings narrowed."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    return arr


def cast_rowwise(arr: pa.Array, target: pa.DataType, *, safe: bool = True) -> Converted:
    """Cast ``arr``; rows whose cast fails become null and are flagged (bisection)."""
    try:
        return pc.cast(arr, target, safe=safe), _all_false(len(arr))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        pass
    bad = np.zeros(len(arr), dtype=bool)

    def visit(lo: int, hi: int) -> None:
        chunk = arr.slice(lo, hi - lo)
        try:
            pc.cast(chunk, target, safe=safe)
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            pass
        if hi - lo <= _BISECT_LEAF:
            for i in range(lo, hi):
                try:
                    pc.cast(arr.slice(i, 1), target, safe=safe)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
                    bad[i] = True
            return
        mid = (lo + hi) // 2
        visit(lo, mid)
        visit(mid, hi)

    visit(0, len(arr))
    mask = pa.array(bad)
    cleaned = _null_where(arr, mask)
    return pc.cast(cleaned, target, safe=safe), mask


def _strings_blank_to_null(arr: pa.Array) -> pa.Array:
    """Trimmed strings with empty ones as null (CSV writes missing values as '')."""
    trimmed = pc.utf8_trim_whitespace(arr)
    return _null_where(trimmed, _fill_false(pc.equal(pc.utf8_length(trimmed), 0)))


def _regex_gate(arr: pa.Array, pattern: str) -> tuple[pa.Array, pa.Array]:
    """Split a string column into (values matching ``pattern``, mask of non-null misses)."""
    ok = _fill_false(pc.match_substring_regex(arr, pattern))
    bad = pc.and_(pc.is_valid(arr), pc.invert(ok))
    return _null_where(arr, bad), bad


def _or(a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.or_(a, b)


def to_int64(arr: pa.Array) -> Converted:
    """Integers; integral floats and numeric strings are accepted, fractions are not."""
    arr = as_plain(arr)
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.int64()), _all_false(n)
    if pa.types.is_integer(t):
        return cast_rowwise(arr, pa.int64())
    if pa.types.is_floating(t):
        arr = arr.cast(pa.float64())
        nan = _fill_false(pc.is_nan(arr))
        arr = _null_where(arr, nan)
        fractional = _fill_false(pc.not_equal(pc.floor(arr), arr))
        too_big = _fill_false(pc.greater_equal(pc.abs(arr), 2.0**63))
        bad = _or(fractional, too_big)
        return pc.cast(_null_where(arr, bad), pa.int64(), safe=False), bad
    if pa.types.is_string(t):
        arr = _strings_blank_to_null(arr)
        is_int = _fill_false(pc.match_substring_regex(arr, _INT_RE))
        if pc.all(pc.or_(is_int, pc.is_null(arr))).as_py():
            return cast_rowwise(arr, pa.int64())
        ints, bad_i = cast_rowwise(_null_where(arr, pc.invert(is_int)), pa.int64())
        rest = _null_where(arr, is_int)
        floats, bad_f = to_float64(rest)
        from_floats, bad_ff = to_int64(floats)
        values = pc.coalesce(ints, from_floats)
        return values, pc.or_(pc.or_(bad_i, bad_f), bad_ff)
    if pa.types.is_boolean(t) or pa.types.is_decimal(t):
        return cast_rowwise(arr, pa.int64())
    return pa.nulls(n, pa.int64()), pc.is_valid(arr)


def to_float64(arr: pa.Array) -> Converted:
    """Finite floats from numbers or numeric strings (NaN counts as null)."""
    arr = as_plain(arr)
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.float64()), _all_false(n)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        values = pc.cast(arr, pa.float64(), safe=False)  # huge ints lose precision, not the row
        values = _null_where(values, _fill_false(pc.is_nan(values)))
        inf = _fill_false(pc.is_inf(values))
        return _null_where(values, inf), inf
    if pa.types.is_string(t):
        arr = _strings_blank_to_null(arr)
        gated, bad = _regex_gate(arr, _FLOAT_RE)
        values, bad_cast = cast_rowwise(gated, pa.float64())
        return values, pc.or_(bad, bad_cast)
    return pa.nulls(n, pa.float64()), pc.is_valid(arr)


def to_bool(arr: pa.Array) -> Converted:
    """Booleans from bools, 0/1 or the words true/false/yes/no (any case)."""
    arr = as_plain(arr)
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.bool_()), _all_false(n)
    if pa.types.is_boolean(t):
        return arr, _all_false(n)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        one = _fill_false(pc.equal(arr, 1))
        zero = _fill_false(pc.equal(arr, 0))
        bad = pc.and_(pc.is_valid(arr), pc.invert(pc.or_(one, zero)))
        return _null_where(pc.cast(one, pa.bool_()), pc.or_(pc.is_null(arr), bad)), bad
    if pa.types.is_string(t):
        low = pc.utf8_lower(_strings_blank_to_null(arr))
        yes = pc.is_in(low, value_set=pa.array(_TRUE))
        no = pc.is_in(low, value_set=pa.array(_FALSE))
        bad = pc.and_(pc.is_valid(low), pc.invert(pc.or_(yes, no)))
        return _null_where(yes, pc.or_(pc.is_null(low), bad)), bad
    return pa.nulls(n, pa.bool_()), pc.is_valid(arr)


def to_string(arr: pa.Array) -> Converted:
    """Strings; numbers and bools become their text (ids are often numeric in JSON)."""
    arr = as_plain(arr)
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.string()), _all_false(n)
    if pa.types.is_string(t):
        return arr, _all_false(n)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return cast_rowwise(arr.cast(pa.binary()), pa.string())
    if pa.types.is_boolean(t):
        text = pc.if_else(arr, "true", "false")
        return text, _all_false(n)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return pc.cast(arr, pa.string()), _all_false(n)
    if pa.types.is_temporal(t):
        return pc.cast(arr, pa.string()), _all_false(n)
    return pa.nulls(n, pa.string()), pc.is_valid(arr)


def _epoch_to_ts(values: pa.Array, unit: str) -> Converted:
    """Integer or float epoch values in ``unit`` -> microsecond UTC timestamps."""
    if unit not in _TIME_UNITS_US:
        raise ValueError(f"unknown time unit {unit!r}")
    factor = _TIME_UNITS_US[unit]
    as_float = pc.cast(values, pa.float64(), safe=False)
    micros_f = pc.multiply(as_float, float(factor)) if factor else pc.divide(as_float, 1000.0)
    # Values that would overflow int64 microseconds cannot be a timestamp at all.
    too_big = _fill_false(pc.greater(pc.abs(micros_f), _MAX_ABS_MICROS))
    if pa.types.is_integer(values.type):
        ints = pc.cast(_null_where(values, too_big), pa.int64())
        micros = pc.multiply(ints, factor) if factor else pc.divide(ints, 1000)
    else:
        micros = pc.cast(pc.floor(_null_where(micros_f, too_big)), pa.int64())
    return pc.cast(micros, pa.int64()).cast(TIMESTAMP_US), too_big


def to_timestamp(
    arr: pa.Array,
    *,
    unit: str = "ms",
    fmt: str | None = None,
    origin_us: int | None = None,
) -> Converted:
    """UTC microsecond timestamps from timestamps, epoch numbers or text.

    Parquet timestamps of any unit are accepted (naive = UTC, sub-microsecond digits
    are truncated). Numbers are epoch values in ``unit`` (milliseconds by default, as
    the spec says), or offsets from ``origin_us`` when given. Text is RFC 3339 (zone
    optional, naive = UTC), an all-digit epoch number, or ``fmt`` (strptime) if given.
    """
    arr = as_plain(arr)
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, TIMESTAMP_US), _all_false(n)
    if pa.types.is_timestamp(t):
        if t.tz is None:
            arr = arr.cast(pa.timestamp(t.unit, tz="UTC"))
        return cast_rowwise(arr, TIMESTAMP_US, safe=False)
    if pa.types.is_date(t):
        return cast_rowwise(arr.cast(pa.timestamp("ms")).cast(pa.timestamp("ms", tz="UTC")), TIMESTAMP_US)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        if pa.types.is_floating(t):
            arr = _null_where(arr, _fill_false(pc.is_nan(arr)))
        values, bad = _epoch_to_ts(arr, unit)
        if origin_us is not None:
            shifted = pc.add(pc.cast(values, pa.int64()), origin_us)
            values = shifted.cast(TIMESTAMP_US)
        return values, bad
    if not pa.types.is_string(t):
        return pa.nulls(n, TIMESTAMP_US), pc.is_valid(arr)
    arr = _strings_blank_to_null(arr)
    if fmt is not None:
        parsed = pc.strptime(arr, format=fmt, unit="us", error_is_null=True)
        parsed = parsed.cast(TIMESTAMP_US)  # naive results are taken as UTC
        bad = pc.and_(pc.is_valid(arr), pc.is_null(parsed))
        return parsed, bad
    digits = _fill_false(pc.match_substring_regex(arr, r"^[+-]?[0-9]{1,19}(\.[0-9]*)?$"))
    results: list[pa.Array] = []
    bads: list[pa.Array] = []
    if pc.any(digits).as_py():
        # All-digit text is an epoch number; exact integers keep full precision.
        is_int = _fill_false(pc.match_substring_regex(arr, _INT_RE))
        ints, bad_i = cast_rowwise(_null_where(arr, pc.invert(is_int)), pa.int64())
        floats, bad_f = to_float64(_null_where(arr, pc.or_(is_int, pc.invert(digits))))
        ts_i, bad_ti = to_timestamp(ints, unit=unit, origin_us=origin_us)
        ts_f, bad_tf = to_timestamp(floats, unit=unit, origin_us=origin_us)
        results.append(pc.coalesce(ts_i, ts_f))
        bads.append(pc.or_(pc.or_(bad_i, bad_f), pc.or_(bad_ti, bad_tf)))
    text = _null_where(arr, digits)
    upper = pc.utf8_upper(text)
    gated, bad_re = _regex_gate(upper, _RFC3339_RE)
    normalized = pc.replace_substring_regex(gated, r"^([0-9-]{10}) ", r"\1T")
    zoned = _fill_false(pc.match_substring_regex(normalized, _ZONE_RE))
    with_zone, bad_z = cast_rowwise(_null_where(normalized, pc.invert(zoned)), pa.timestamp("ns", "UTC"))
    naive, bad_nz = cast_rowwise(_null_where(normalized, zoned), pa.timestamp("ns"))
    naive = naive.cast(pa.timestamp("ns", "UTC"))
    parsed = pc.coalesce(with_zone, naive).cast(TIMESTAMP_US, safe=False)
    results.append(parsed)
    bads.append(pc.or_(pc.or_(bad_re, bad_z), bad_nz))
    values = results[0] if len(results) == 1 else pc.coalesce(*results)
    bad = bads[0]
    for extra in bads[1:]:
        bad = pc.or_(bad, extra)
    return values, bad


CONVERTERS: dict[pa.DataType, Callable[[pa.Array], Converted]] = {
    pa.int64(): to_int64,
    pa.float64(): to_float64,
    pa.bool_(): to_bool,
    pa.string(): to_string,
}
