"""Records nested thousands of levels deep: quarantined as ``too_deep``, never a crash.

Before the depth limit, a JSONL row nested 10,000 levels deep segfaulted ``ingest`` and
``scan`` (exit 139, DuckDB ``to_json``), and a deep line on the line-by-line path or in a
``.json`` document raised RecursionError with a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.ingest import ValidationOptions, ingest, iter_event_batches
from distillguard.ingest._depth import MAX_NESTING_DEPTH, nesting_depth, object_depth


def _quarantine(out):
    return pq.read_table(out / "quarantine.parquet").to_pylist()


def test_ingest_of_a_10000_deep_list_quarantines_it(tmp_path, corpus, cli):
    src = tmp_path / "deep.jsonl"
    src.write_bytes(
        corpus.line(corpus.row())
        + corpus.with_raw_value(corpus.row(event_id="e2"), "x", corpus.deep_list(10_000))
    )
    done = cli("ingest", str(src), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    [bad] = _quarantine(tmp_path / "out")
    assert bad["reason"] == "too_deep" and bad["row_number"] == 2
    assert f"max_nesting_depth={MAX_NESTING_DEPTH}" in bad["detail"]
    assert json.loads((tmp_path / "out" / "ingest_summary.json").read_text())["accepted"] == 1


def test_scan_reader_survives_a_10000_deep_list(tmp_path, corpus):
    """``scan`` of raw logs reads through iter_event_batches: run it in a child process."""
    src = tmp_path / "deep.jsonl"
    src.write_bytes(
        corpus.with_raw_value(corpus.row(), "x", corpus.deep_list(10_000))
        + corpus.line(corpus.row(event_id="e2"))
    )
    code = (
        "import sys\n"
        "from distillguard.ingest import iter_event_batches\n"
        "got = [(a.num_rows, q.column('reason').to_pylist()) for a, q in iter_event_batches(sys.argv[1])]\n"
        "print(sum(g[0] for g in got), [r for g in got for r in g[1]])\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout.split() == ["1", "['too_deep']"]


def test_deep_object_is_quarantined_not_flattened(tmp_path, corpus):
    """10,000 nested objects used to become one column named ``x.a.a.a...`` (20,001 chars)."""
    src = tmp_path / "deep.jsonl"
    src.write_bytes(
        corpus.line(corpus.row())
        + corpus.with_raw_value(corpus.row(event_id="e2"), "x", corpus.deep_object(10_000))
    )
    result = ingest(src, tmp_path / "out")
    assert (result.accepted, result.quarantined_by_reason["too_deep"]) == (1, 1)
    assert (
        max(len(c) for c in pq.read_schema(next((tmp_path / "out" / "events").rglob("*.parquet"))).names)
        < 100
    )


def test_deep_line_in_a_block_with_a_malformed_line(tmp_path, corpus):
    """A malformed line sends its block to Python's ``json``, which recursed on the deep line."""
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(
        corpus.line(corpus.row())
        + b"not json\n"
        + corpus.with_raw_value(corpus.row(event_id="e2"), "x", corpus.deep_list(3_000))
    )
    batches = list(iter_event_batches(src))
    reasons = sorted(r for _, q in batches for r in q.column("reason").to_pylist())
    assert reasons == ["malformed_row", "too_deep"]
    assert sum(a.num_rows for a, _ in batches) == 1


def test_json_document_deep_records(tmp_path, corpus, cli):
    """A ``.json`` array: a record past the limit is quarantined; past the parser's, one line, exit 2."""
    doc = tmp_path / "doc.json"
    deep = corpus.with_raw_value(corpus.row(event_id="e2"), "x", corpus.deep_list(200))[:-1]
    doc.write_bytes(b"[" + json.dumps(corpus.row()).encode() + b"," + deep + b"]")
    result = ingest(doc, tmp_path / "out")
    assert (result.accepted, result.quarantined_by_reason["too_deep"]) == (1, 1)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b"[" + corpus.with_raw_value(corpus.row(), "x", corpus.deep_list(5_000))[:-1] + b"]")
    done = cli("ingest", str(huge), "--out", str(tmp_path / "out2"), "--quiet")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "nested too deeply" in done.stderr


def test_otel_export_with_a_deep_field(tmp_path, corpus, cli):
    src = tmp_path / "spans.jsonl"
    src.write_bytes(corpus.otel_export([]) + corpus.otel_export([], corpus.deep_list(10_000)))
    done = cli("ingest", str(src), "--format", "otel", "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert [r["reason"] for r in _quarantine(tmp_path / "out")] == ["too_deep"]


def test_depth_limit_is_a_parameter_and_reported(tmp_path, corpus):
    src = tmp_path / "x.jsonl"
    src.write_bytes(
        corpus.line(corpus.row())
        + corpus.with_raw_value(corpus.row(event_id="e2"), "x", b'{"a": {"b": [1]}}')
    )
    result = ingest(src, tmp_path / "out", options=ValidationOptions(max_nesting_depth=3))
    assert (result.accepted, result.quarantined_by_reason["too_deep"]) == (1, 1)
    assert result.summary["thresholds"]["max_nesting_depth"] == 3


_json = st.recursive(
    st.none() | st.integers() | st.text(alphabet='ab"\\[]{}', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='k"\\[{', max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_byte_depth_matches_the_parsed_depth(value):
    """Brackets inside strings (with escaped quotes and backslashes) never count."""
    assert nesting_depth(json.dumps(value).encode()) == object_depth(value)
