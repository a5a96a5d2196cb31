"""The scan under a small DuckDB memory budget: spills to its scratch directory, same results."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from distillguard import scan as scan_mod


@pytest.mark.slow
def test_spilling_scan_matches_in_memory(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roomy = scan_mod.scan([tiny_dir], tmp_path / "roomy", progress=False, report=False)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(scan_mod, "DUCKDB_MEMORY_GB", 0.15)
    monkeypatch.setattr(scan_mod, "SCRATCH_DB_MIN_EVENTS", 1)
    scan_mod.scan([tiny_dir], tmp_path / "tight", progress=False, report=False)
    assert list(scratch.iterdir()) == []  # the scratch database and spill files are gone
    a = pq.read_table(tmp_path / "roomy" / "accounts.parquet")
    b = pq.read_table(tmp_path / "tight" / "accounts.parquet")
    assert a.num_rows > 100 and (a["verdict"].to_pylist()).count("attack") > 0
    for col in ("account_id", "verdict", "score", "campaign_id", "flagged_at"):
        assert a[col].equals(b[col]), col
    assert roomy.meta["replay_checkpoints"] > 10
    meta = json.loads((tmp_path / "tight" / "scan_meta.json").read_text())
    peaks = meta["peak_rss_gb"]
    assert set(peaks) == set(meta["timings_s"])
    assert list(peaks.values()) == sorted(peaks.values())  # a running peak per stage
    assert all(v > 0 for v in peaks.values())


def test_connect_limits_memory_and_spills(tmp_path: Path) -> None:
    con = scan_mod.connect(0.25, tmp_path, on_disk=True)
    limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert limit == "256.0 MiB", limit
    con.execute("CREATE TABLE big AS SELECT range AS a, md5(range::VARCHAR) AS s FROM range(3000000)")
    got = con.execute("SELECT count(DISTINCT s) FROM big").fetchall()[0][0]
    assert got == 3_000_000
    assert (tmp_path / "scan.duckdb").is_file()
    con.close()
