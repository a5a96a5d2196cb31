"""Validation: every quarantine reason, priority, duplicates across files and batches."""

from __future__ import annotations

import ipaddress
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.ingest import ingest, iter_event_batches
from distillguard.ingest._convert import to_bool, to_int64, to_timestamp
from distillguard.ingest._ip import valid_ip_mask
from distillguard.schema import QUARANTINE_REASONS


def _run(inputs, **kw):
    acc, rej = [], []
    for a, q in iter_event_batches(inputs, **kw):
        acc.append(pa.Table.from_batches([a]))
        rej.append(q)
    return pa.concat_tables(acc), pa.concat_tables(rej)


BAD_ROWS = {
    "missing_required": [
        {"account_id": None},
        {"account_id": "   "},
        {"model": ""},
        {"event_id": None},
        {"output_tokens": None},
        {"timestamp": None},
    ],
    "field_too_long": [{"account_id": "a" * 257}, {"event_id": "e" * 300}, {"api_key_id": "k" * 1000}],
    "bad_timestamp": [
        {"timestamp": "yesterday"},
        {"timestamp": "2026-02-30T00:00:00Z"},
        {"timestamp": 1_767_225_600},  # epoch seconds read as ms: January 1970
        {"timestamp": "2026-13-01T00:00:00Z"},
    ],
    "negative_tokens": [{"input_tokens": -1}, {"output_tokens": -3}, {"reasoning_output_tokens": -2}],
    "invalid_ip": [{"client_ip": "300.1.2.3"}, {"client_ip": "1.2.3"}, {"client_ip": "2001:db8:::1"}],
    "malformed_row": [
        {"input_tokens": "many"},
        {"stream": "maybe"},
        {"duration_ms": -5},
        {"temperature": "hot"},
    ],
}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_every_reason_is_detected(tmp_path, rows, write, suffix):
    base = rows(1)[0]
    bad = []
    expected = []
    for reason, patches in BAD_ROWS.items():
        for patch in patches:
            bad.append({**base, **patch, "event_id": patch.get("event_id", f"bad-{len(bad)}")})
            expected.append(reason)
    good = rows(5, prefix="ok")
    data = good + bad + [dict(good[0])]  # a duplicate of the first good row
    expected.append("duplicate_event_id")
    if suffix != ".jsonl":  # one type per column: write everything as text
        data = [{k: None if v is None else str(v) for k, v in r.items()} for r in data]
    path = write(tmp_path / f"x{suffix}", data)
    events, rejected = _run(path)
    assert events.num_rows == 5
    assert rejected.column("reason").to_pylist() == expected
    assert set(expected) | {"too_deep"} == set(QUARANTINE_REASONS)  # too_deep: tests/hostile
    assert events.num_rows + rejected.num_rows == len(data)
    raw = json.loads(rejected.column("raw")[0].as_py())
    assert raw["account_id"] in (None, "")  # CSV has no null, only empty


def test_reason_priority_is_one_reason_per_row(tmp_path, rows, write):
    row = {**rows(1)[0], "account_id": None, "timestamp": "bad", "input_tokens": -1, "client_ip": "x"}
    _, rejected = _run(write(tmp_path / "x.jsonl", [row]))
    assert rejected.column("reason").to_pylist() == ["missing_required"]


def test_duplicates_across_files_and_batches_keep_the_first(tmp_path, rows, write):
    write(tmp_path / "a.parquet", rows(40))
    dupes = rows(40)[10:30]
    write(tmp_path / "b.jsonl", [{**r, "account_id": "other"} for r in dupes])
    events, rejected = _run(tmp_path, batch_rows=7)
    assert events.num_rows == 40
    assert set(events.column("account_id").to_pylist()) == {"acct-0", "acct-1", "acct-2"}
    assert rejected.num_rows == 20
    assert set(rejected.column("reason").to_pylist()) == {"duplicate_event_id"}
    assert set(rejected.column("source").to_pylist()) == {str(tmp_path / "b.jsonl")}


def test_first_valid_copy_wins_over_an_invalid_first_copy(tmp_path, rows, write):
    r = rows(1)[0]
    path = write(tmp_path / "x.jsonl", [{**r, "input_tokens": -1}, r, r])
    events, rejected = _run(path)
    assert events.num_rows == 1
    assert rejected.column("reason").to_pylist() == ["negative_tokens", "duplicate_event_id"]


def test_summary_counts_add_up(tmp_path, rows, write):
    data = [*rows(10), {**rows(1)[0], "event_id": "x", "client_ip": "nope"}]
    result = ingest(write(tmp_path / "x.csv", data), tmp_path / "out")
    assert result.rows_read == 11
    assert result.accepted + result.quarantined == result.rows_read
    assert result.quarantined_by_reason["invalid_ip"] == 1
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet")
    assert q.num_rows == 1 and q.column("row_number").to_pylist() == [12]


def test_timestamp_text_forms():
    values, bad = to_timestamp(
        pa.array(
            [
                "2026-01-01T00:00:00Z",
                "2026-01-01t01:00:00+01:00",
                "2026-01-01 00:00:00",
                "2026-01-01T00:00:00.123456789Z",
                "1767225600000",
                "2026-01-01",
                "01/01/2026",
            ]
        )
    )
    got = [v.isoformat() if v else None for v in values.to_pylist()]
    assert got[:3] == ["2026-01-01T00:00:00+00:00"] * 3
    assert got[3] == "2026-01-01T00:00:00.123456+00:00"
    assert got[4] == "2026-01-01T00:00:00+00:00"
    assert got[5] == "2026-01-01T00:00:00+00:00"
    assert bad.to_pylist() == [False] * 6 + [True]


def test_timestamp_units_and_origin():
    secs, _ = to_timestamp(pa.array([1_767_225_600]), unit="s")
    assert secs[0].as_py().isoformat() == "2026-01-01T00:00:00+00:00"
    offsets, _ = to_timestamp(pa.array([0, 1500]), unit="ms", origin_us=1_767_225_600_000_000)
    assert [v.isoformat() for v in offsets.to_pylist()][1] == "2026-01-01T00:00:01.500000+00:00"
    custom, bad = to_timestamp(pa.array(["01/02/2026 10:30", "x"]), fmt="%d/%m/%Y %H:%M")
    assert custom[0].as_py().isoformat() == "2026-02-01T10:30:00+00:00"
    assert bad.to_pylist() == [False, True]


def test_integer_and_bool_conversion():
    values, bad = to_int64(pa.array(["12", " 7 ", "3.0", "2.5", "x", "", "99999999999999999999"]))
    assert values.to_pylist() == [12, 7, 3, None, None, None, None]
    assert bad.to_pylist() == [False, False, False, True, True, False, True]
    flags, bad = to_bool(pa.array(["TRUE", "no", "1", "perhaps", None]))
    assert flags.to_pylist() == [True, False, True, None, None]
    assert bad.to_pylist() == [False, False, False, True, False]


def _is_ip(text: str) -> bool:
    if "%" in text:  # zone ids are rejected on purpose
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_IP_TEXT = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded),
    st.ip_addresses(v=6).map(lambda a: str(a).upper()),
    st.text(alphabet="0123456789abcdefABCDEF:.", max_size=45),
    st.text(max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_IP_TEXT, min_size=1, max_size=20))
def test_ip_regex_agrees_with_ipaddress(texts):
    assert valid_ip_mask(pa.array(texts, pa.string())).to_pylist() == [_is_ip(t) for t in texts]
