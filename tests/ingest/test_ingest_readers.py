"""Readers: every container, gzip, directories, globs, event directories, row numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.ingest import ingest, is_event_dir, iter_event_batches, open_events
from distillguard.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA


def _accepted(inputs, **kw) -> tuple[pa.Table, pa.Table]:
    acc, rej = [], []
    for a, q in iter_event_batches(inputs, **kw):
        acc.append(pa.Table.from_batches([a]))
        rej.append(q)
    return pa.concat_tables(acc), pa.concat_tables(rej)


@pytest.mark.parametrize(
    ("name", "gz"),
    [
        ("x.parquet", False),
        ("x.jsonl", False),
        ("x.jsonl", True),
        ("x.csv", False),
        ("x.csv", True),
        ("x.tsv", False),
    ],
)
def test_every_container_reads_the_same_events(tmp_path, rows, write, name, gz):
    path = write(tmp_path / name, rows(30), gz=gz)
    events, rejected = _accepted(path)
    assert rejected.num_rows == 0
    assert events.num_rows == 30
    assert events.schema.names[: len(EVENT_SCHEMA)] == EVENT_SCHEMA.names
    assert events.column("event_id").to_pylist() == [f"e{i}" for i in range(30)]
    assert events.column("input_tokens").to_pylist() == [10 + i for i in range(30)]
    assert events.column("timestamp").type == pa.timestamp("us", tz="UTC")
    first = events.column("timestamp")[0].as_py()
    assert first.isoformat() == "2026-01-01T00:00:00+00:00"
    assert set(events.column("provider").to_pylist()) == {"local"}


def test_directory_is_read_recursively_and_unknown_files_are_reported(tmp_path, rows, write):
    (tmp_path / "logs" / "deep").mkdir(parents=True)
    write(tmp_path / "logs" / "a.jsonl", rows(5, prefix="a"))
    write(tmp_path / "logs" / "deep" / "b.parquet", rows(5, prefix="b"))
    (tmp_path / "logs" / "notes.txt").write_text("not logs")
    result = ingest([tmp_path / "logs"], tmp_path / "out")
    assert result.accepted == 10
    assert result.skipped_files == [str(tmp_path / "logs" / "notes.txt")]


def test_glob_expands_sorted(tmp_path, rows, write):
    for i in range(3):
        write(tmp_path / f"part{i}.csv", rows(4, prefix=f"p{i}-"))
    events, _ = _accepted([str(tmp_path / "part*.csv")])
    assert events.num_rows == 12
    assert events.column("event_id")[0].as_py() == "p0-0"
    with pytest.raises(DistillguardError, match="no input matches"):
        list(iter_event_batches([str(tmp_path / "nothing*.csv")]))


def test_event_directory_round_trip(tmp_path, rows, write):
    src = write(tmp_path / "x.jsonl", [{**r, "team": "blue"} for r in rows(48)])
    first = ingest(src, tmp_path / "first")
    assert is_event_dir(first.out)
    assert not is_event_dir(tmp_path)
    days = sorted(p.name for p in (first.out / "events").iterdir())
    assert days == ["day=2026-01-01", "day=2026-01-02"]
    dataset = open_events(first.out)
    assert dataset.schema.names[: len(EVENT_SCHEMA)] == EVENT_SCHEMA.names
    assert "team" in dataset.schema.names
    second = ingest(first.out, tmp_path / "second")
    assert second.accepted == 48
    again = open_events(second.out).to_table().sort_by("event_id")
    assert again.column("event_id").to_pylist() == sorted(f"e{i}" for i in range(48))
    assert again.column("team").to_pylist() == ["blue"] * 48
    assert pq.read_schema(first.out / "quarantine.parquet").equals(QUARANTINE_SCHEMA)
    summary = json.loads((first.out / "ingest_summary.json").read_text())
    assert summary["accepted"] == 48 and summary["accounts"] == 3
    assert summary["days"] == ["2026-01-01", "2026-01-02"]


def test_jsonl_line_numbers_survive_blank_and_bad_lines(tmp_path, rows):
    good = [json.dumps(r) for r in rows(4)]
    lines = [good[0], "", good[1], "{not json", good[2], "[1, 2]", "   ", good[3]]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n")
    events, rejected = _accepted(path)
    assert events.num_rows == 4
    assert sorted(rejected.column("row_number").to_pylist()) == [4, 6]
    assert set(rejected.column("reason").to_pylist()) == {"malformed_row"}
    assert "{not json" in rejected.column("raw").to_pylist()


def test_jsonl_fast_path_line_numbers_with_blank_lines(tmp_path, rows):
    good = [
        json.dumps({**r, "input_tokens": -1 if i == 2 else r["input_tokens"]}) for i, r in enumerate(rows(3))
    ]
    path = tmp_path / "x.jsonl"
    path.write_text("\n\n".join(good) + "\n")
    _, rejected = _accepted(path)
    assert rejected.column("row_number").to_pylist() == [5]


def test_json_array_document_and_nested_fields(tmp_path, rows):
    data = [{**r, "usage": {"cached": 3}, "tags": ["a", "b"]} for r in rows(3)] + [42]
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    events, rejected = _accepted(path)
    assert events.num_rows == 3
    assert events.column("usage.cached").to_pylist() == ["3"] * 3
    assert events.column("tags").to_pylist() == ['["a","b"]'] * 3
    assert rejected.column("row_number").to_pylist() == [4]


def test_csv_wrong_column_count_is_quarantined_with_its_record_number(tmp_path):
    text = (
        "event_id,timestamp,account_id,model,input_tokens,output_tokens\n"
        "a,2026-01-01T00:00:00Z,acc,m,1,2\n"
        "b,2026-01-01T00:00:00Z,acc\n"
        "c,2026-01-01T00:00:00Z,acc,m,1,2,surplus\n"
        "d,2026-01-01T00:00:00Z,acc,m,1,2\n"
    )
    path = tmp_path / "x.csv"
    path.write_text(text)
    events, rejected = _accepted(path)
    assert events.column("event_id").to_pylist() == ["a", "d"]
    assert sorted(rejected.column("row_number").to_pylist()) == [3, 4]
    assert set(rejected.column("reason").to_pylist()) == {"malformed_row"}


def test_csv_invalid_utf8_row_is_quarantined_not_fatal(tmp_path):
    head = b"event_id,timestamp,account_id,model,input_tokens,output_tokens\n"
    body = b"a,2026-01-01T00:00:00Z,acc,m,1,2\nb\xff\xfe,2026-01-01T00:00:00Z,acc,m,1,2\n"
    path = tmp_path / "x.csv"
    path.write_bytes(head + body)
    events, rejected = _accepted(path)
    assert events.column("event_id").to_pylist() == ["a"]
    assert rejected.column("reason").to_pylist() == ["malformed_row"]


def test_parquet_timestamps_any_unit_naive_is_utc(tmp_path):
    for unit in ("s", "ms", "us", "ns"):
        table = pa.table(
            {
                "event_id": [f"{unit}1"],
                "timestamp": pa.array([1_767_225_600], pa.int64())
                .cast(pa.timestamp("s"))
                .cast(pa.timestamp(unit)),
                "account_id": ["a"],
                "model": ["m"],
                "input_tokens": pa.array([1], pa.int32()),
                "output_tokens": pa.array([2], pa.int16()),
            }
        )
        pq.write_table(table, tmp_path / f"{unit}.parquet")
    events, rejected = _accepted(tmp_path)
    assert rejected.num_rows == 0
    assert {t.isoformat() for t in events.column("timestamp").to_pylist()} == {"2026-01-01T00:00:00+00:00"}


def test_unreadable_files_raise_naming_the_file(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableInputError, match=r"broken\.parquet"):
        ingest(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "events").exists()
    gz = tmp_path / "broken.jsonl.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(UnreadableInputError, match=r"broken\.jsonl\.gz"):
        ingest(gz, tmp_path / "out")
    with pytest.raises(UnreadableInputError, match=r"missing\.csv"):
        ingest(tmp_path / "missing.csv", tmp_path / "out")


def test_truncated_gzip_midway_is_unreadable_and_leaves_no_output(tmp_path, rows, write):
    path = write(tmp_path / "x.jsonl", rows(2000), gz=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableInputError, match=r"x\.jsonl\.gz"):
        ingest(path, tmp_path / "out")
    assert not (tmp_path / "out" / "events").exists()


def test_unknown_extension_needs_format(tmp_path, rows, write):
    src = write(tmp_path / "x.jsonl", rows(2))
    odd = src.rename(tmp_path / "x.log")
    with pytest.raises(DistillguardError, match="--format"):
        list(iter_event_batches(odd))
    events, _ = _accepted(odd, format="jsonl")
    assert events.num_rows == 2


def test_output_is_not_overwritten_without_consent(tmp_path, rows, write):
    src = write(tmp_path / "x.csv", rows(3))
    ingest(src, tmp_path / "out")
    with pytest.raises(DistillguardError, match="--overwrite"):
        ingest(src, tmp_path / "out")
    assert ingest(src, tmp_path / "out", overwrite=True).accepted == 3


def test_extra_columns_are_kept_and_typed_consistently(tmp_path, rows, write):
    write(tmp_path / "a.parquet", [{**r, "latency": 1.5} for r in rows(3, prefix="a")])
    write(tmp_path / "b.parquet", [{**r, "latency": 2} for r in rows(3, prefix="b")])
    result = ingest(tmp_path, tmp_path / "out")
    table = open_events(result.out).to_table()
    assert table.schema.field("latency").type == pa.float64()
    assert sorted(table.column("latency").to_pylist()) == [1.5] * 3 + [2.0] * 3


def test_small_batches_stream_with_bounded_batches(tmp_path, rows, write):
    src = write(tmp_path / "x.parquet", rows(50))
    sizes = [a.num_rows for a, _ in iter_event_batches(src, batch_rows=8)]
    assert max(sizes) <= 8 and sum(sizes) == 50


def test_open_events_rejects_non_event_dirs(tmp_path):
    with pytest.raises(DistillguardError, match="not an event directory"):
        open_events(tmp_path)


def test_all_rows_quarantined_still_gives_a_valid_event_dir(tmp_path, rows, write):
    src = write(tmp_path / "x.jsonl", [{**r, "input_tokens": -5} for r in rows(3)])
    result = ingest(src, tmp_path / "out", require_events=False)
    assert result.accepted == 0 and result.quarantined == 3
    assert open_events(result.out).to_table().num_rows == 0
    assert Path(result.out / "events").is_dir()


def test_summary_reports_thresholds_and_mapping(tmp_path, rows, write):
    result = ingest(write(tmp_path / "x.jsonl", rows(2)), tmp_path / "out")
    assert result.summary["thresholds"]["min_timestamp"].startswith("1990-01-01")
    assert result.summary["mapping"]["timestamp_unit"] == "ms"
