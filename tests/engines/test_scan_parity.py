"""``scan(..., backend=<PySpark>)`` writes DuckDB's verdicts and campaigns on ``tiny``.

Not ``slow`` on purpose: ``make test`` (and so CI, which installs Java and the ``spark``
extra) runs it, so the claim that the scan runs on Spark is checked on every submission.
Features and coordination run on a local[2] Spark session (the one the other engine tests
use); loading and enrichment stream on the driver as in every scan. Nothing is hard-coded:
both scans run on the same simulated input and their outputs are compared whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.engines.spark import require_spark, session


def _campaigns(out: Path) -> list[tuple[str, list[str]]]:
    found = json.loads((out / "campaigns.json").read_text())
    return sorted((c["campaign_id"], sorted(c["accounts"])) for c in found)


def test_tiny_scan_on_pyspark_equals_duckdb(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_spark()
    import ibis

    from distillguard.scan import scan
    from distillguard.simulate import simulate

    root = tmp_path_factory.mktemp("scan-engines")
    simulate("tiny", root / "tiny", seed=0)
    opts = {"replay": False, "report": False, "progress": False}
    duck = scan([root / "tiny"], root / "duckdb", **opts)
    spark = ibis.pyspark.connect(session("distillguard-engines-test"))
    on_spark = scan([root / "tiny"], root / "pyspark", backend=spark, **opts)

    assert duck.verdict_counts["attack"] > 0 and duck.campaigns  # not a vacuous comparison
    want, got = (
        pq.read_table(root / "duckdb" / "accounts.parquet"),
        pq.read_table(root / "pyspark" / "accounts.parquet"),
    )
    assert got.schema == want.schema
    differ = [c for c in want.column_names if got[c].to_pylist() != want[c].to_pylist()]
    assert not differ, f"accounts.parquet columns differ on PySpark: {differ}"
    assert _campaigns(root / "pyspark") == _campaigns(root / "duckdb")
    assert (root / "pyspark" / "campaigns.json").read_bytes() == (
        root / "duckdb" / "campaigns.json"
    ).read_bytes()
    for name in ("signals", "edges"):
        assert pq.read_table(root / "pyspark" / f"{name}.parquet").equals(
            pq.read_table(root / "duckdb" / f"{name}.parquet")
        ), name
    assert on_spark.meta["counts"] == duck.meta["counts"]
