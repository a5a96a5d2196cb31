"""Text that is not Unicode: quarantined with a reason, never a traceback.

Before: an escaped lone surrogate (``"\\ud800"``) in a JSON line raised UnicodeEncodeError,
and a rejected Parquet row with a binary column made Polars panic while writing ``raw``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.ingest import ingest


def test_escaped_lone_surrogate_is_a_malformed_row(tmp_path, corpus):
    src = tmp_path / "x.jsonl"
    surrogate = corpus.line(corpus.row()).replace(b'"acct-1"', b'"\\ud800"')
    emoji = corpus.line(corpus.row(event_id="e3")).replace(b'"acct-1"', b'"\\ud83d\\ude00"')
    src.write_bytes(surrogate + corpus.line(corpus.row(event_id="e2")) + emoji)
    result = ingest(src, tmp_path / "out")
    assert (result.accepted, result.quarantined_by_reason["malformed_row"]) == (2, 1)
    [bad] = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert bad["row_number"] == 1 and "surrogate" in bad["detail"]


def test_rejected_row_with_a_binary_column_is_quarantined(tmp_path):
    table = pa.table(
        {
            "event_id": pa.array([b"ok", b"\x00\xff"], pa.binary()),
            "timestamp": pa.array([1_767_225_600_000] * 2, pa.timestamp("ms", tz="UTC")),
            "account_id": ["a", None],
            "model": ["m", "m"],
            "input_tokens": [1, 1],
            "output_tokens": [1, 1],
        }
    )
    pq.write_table(table, tmp_path / "bin.parquet")
    result = ingest(tmp_path / "bin.parquet", tmp_path / "out")
    assert (result.accepted, result.quarantined_by_reason["missing_required"]) == (1, 1)
    [bad] = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert bad["raw"].startswith('{"event_id":"\\u0000\ufffd"')
