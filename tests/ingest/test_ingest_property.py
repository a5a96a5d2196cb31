"""Property tests: junk rows and damaged files never crash ingest and never lose a row.

Allowed outcomes: a DistillguardError (one line, for a file that cannot be read),
or a run where accepted + quarantined == read, the quarantine file holds exactly
the quarantined rows and the event directory exactly the accepted ones.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.errors import DistillguardError
from distillguard.ingest import ingest, open_events
from distillguard.schema import EVENT_COLUMNS

_GOOD = {
    "event_id": st.text(min_size=1, max_size=6),
    "timestamp": st.one_of(
        st.integers(1_600_000_000_000, 1_900_000_000_000),
        st.sampled_from(["2026-01-01T00:00:00Z", "2026-03-04 05:06:07", "2026-02-30T00:00:00Z"]),
    ),
    "account_id": st.sampled_from(["a", "b", "", " "]),
    "model": st.sampled_from(["m1", "m2"]),
    "input_tokens": st.integers(-3, 10**6),
    "output_tokens": st.integers(-3, 10**6),
    "client_ip": st.one_of(st.ip_addresses().map(str), st.sampled_from(["1.2.3", "::g", ""])),
}
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_COLUMNS = [*EVENT_COLUMNS, "extra_a", "extra_b"]


@st.composite
def _rows(draw: st.DrawFn) -> list[dict]:
    rows = []
    for _ in range(draw(st.integers(0, 25))):
        row = {}
        for name in draw(st.lists(st.sampled_from(_COLUMNS), unique=True, max_size=len(_COLUMNS))):
            good = _GOOD.get(name)
            row[name] = draw(good) if good is not None and draw(st.booleans()) else draw(_JUNK)
        for name, strategy in _GOOD.items():
            if name not in row and draw(st.integers(0, 3)):
                row[name] = draw(strategy)
        rows.append(row)
    return rows


_GARBAGE_LINES = st.lists(
    st.one_of(
        st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s),
        st.sampled_from(["{", "[1,2]", "null", '{"a":', "  ", '"str"', "{}"]),
    ),
    max_size=4,
)


def _check(path: Path, fmt: str = "auto", expected_rows: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        try:
            result = ingest(path, out, format=fmt)
        except DistillguardError as err:
            assert "\n" not in str(err)
            return
        assert result.accepted + result.quarantined == result.rows_read
        assert pq.read_metadata(out / "quarantine.parquet").num_rows == result.quarantined
        assert open_events(out).count_rows() == result.accepted
        if expected_rows is not None:
            assert result.rows_read == expected_rows


def _jsonl_bytes(rows: list[dict], garbage: list[str], seed: int) -> bytes:
    lines = [json.dumps(r, default=str) for r in rows]
    for i, g in enumerate(garbage):
        lines.insert((seed + i * 7) % (len(lines) + 1), g)
    return ("\n".join(lines) + "\n").encode()


def _solid_lines(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_rows(), _GARBAGE_LINES, st.integers(0, 1000))
def test_jsonl_junk_never_loses_rows(rows, garbage, seed):
    data = _jsonl_bytes(rows, garbage, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl"
        path.write_bytes(data)
        _check(path, expected_rows=_solid_lines(data))


@_SETTINGS
@given(_rows(), st.integers(0, 10_000), st.booleans())
def test_damaged_jsonl_and_gzip_files(rows, cut, gz):
    data = _jsonl_bytes(rows, [], 0)
    with tempfile.TemporaryDirectory() as tmp:
        if gz:
            packed = gzip.compress(data)
            path = Path(tmp) / "x.jsonl.gz"
            path.write_bytes(packed[: cut % (len(packed) + 1)])
        else:
            path = Path(tmp) / "x.jsonl"
            path.write_bytes(data[: cut % (len(data) + 1)])
        _check(path)


@_SETTINGS
@given(_rows(), _GARBAGE_LINES, st.sampled_from([",", "\t"]))
def test_csv_junk_never_loses_rows(rows, garbage, delimiter):
    names = list(dict.fromkeys(k for r in rows for k in r)) or ["event_id"]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(["" if row.get(n) is None else row.get(n) for n in names])
    for line in garbage:
        buf.write(line + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("x.csv" if delimiter == "," else "x.tsv")
        path.write_text(buf.getvalue())
        _check(path)


@_SETTINGS
@given(_rows(), st.one_of(st.none(), st.integers(0, 5_000)))
def test_parquet_junk_and_truncation(rows, cut):
    names = list(dict.fromkeys(k for r in rows for k in r))
    table = pa.table(
        {
            n: pa.array([None if r.get(n) is None else json.dumps(r.get(n)) for r in rows], pa.string())
            for n in names
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.parquet"
        pq.write_table(table, path)
        if cut is not None:
            data = path.read_bytes()
            path.write_bytes(data[: cut % (len(data) + 1)])
        _check(path, expected_rows=table.num_rows if cut is None else None)


@_SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["x.jsonl", "x.csv", "x.parquet", "x.jsonl.gz", "x.json"]))
def test_random_bytes_as_any_file(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        _check(path)
        if name.startswith("x.json"):
            _check(path, fmt="otel")
