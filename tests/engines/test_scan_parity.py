"""``scan(..., backend=<PySpark>)`` writes DuckDB's verdicts and campaigns on ``tiny`` and on
the first day of ``small``.

Not ``slow`` on purpose: ``make test`` (and so CI, which installs Java and the ``spark``
extra) runs them, so the claim that the scan runs on Spark is checked on every submission.
Features and coordination run on a local[2] Spark session (the one the other engine tests
use), and so do the per-text enrichment kernels (``mapInArrow``); loading and the clustering
of distinct texts stay on the driver as in every scan. Nothing is hard-coded: both scans run
on the same simulated input and their outputs are compared whole.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.engines.spark import require_spark, session

#: The cut of ``small`` (seed 0) the second parity test scans: its first day, ``as_of`` this
#: many hours after the scenario's start (106,471 events, 3,675 accounts, 628 attack, 3
#: campaigns on DuckDB; about 3x ``tiny``).
SMALL_CUT_HOURS = 24


def _campaigns(out: Path) -> list[tuple[str, list[str]]]:
    found = json.loads((out / "campaigns.json").read_text())
    return sorted((c["campaign_id"], sorted(c["accounts"])) for c in found)


def _scan_both(events: Path, root: Path, **opts: Any) -> None:
    """Scan ``events`` on DuckDB and on PySpark into ``root``/duckdb and ``root``/pyspark and
    assert the scan contracts are the same."""
    import ibis

    from distillguard.scan import scan

    opts = {"replay": False, "report": False, "progress": False, **opts}
    duck = scan([events], root / "duckdb", **opts)
    spark = ibis.pyspark.connect(session("distillguard-engines-test"))
    on_spark = scan([events], root / "pyspark", backend=spark, **opts)

    assert duck.verdict_counts["attack"] > 0 and duck.campaigns  # not a vacuous comparison
    # the per-text kernels ran on the executors, not on the driver
    assert "per-text kernels on pyspark" in on_spark.meta["enrich"]
    assert "per-text kernels" not in duck.meta["enrich"]
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
    assert on_spark.meta["events"] == duck.meta["events"]


def test_tiny_scan_on_pyspark_equals_duckdb(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_spark()
    from distillguard.simulate import simulate

    root = tmp_path_factory.mktemp("scan-engines")
    simulate("tiny", root / "tiny", seed=0)
    _scan_both(root / "tiny", root)


def test_small_first_day_scan_on_pyspark_equals_duckdb(tmp_path_factory: pytest.TempPathFactory) -> None:
    require_spark()
    from distillguard.simulate import simulate
    from distillguard.simulate._scenario import load_scenario

    root = tmp_path_factory.mktemp("scan-engines-small")
    simulate("small", root / "small", seed=0)  # ~10 s; generated here, never committed
    cut = load_scenario("small").start + dt.timedelta(hours=SMALL_CUT_HOURS)
    _scan_both(root / "small", root, as_of=cut)
    events = json.loads((root / "duckdb" / "scan_meta.json").read_text())["events"]
    assert 50_000 < events < 1_000_000  # a cut of small: more than tiny, less than the whole
