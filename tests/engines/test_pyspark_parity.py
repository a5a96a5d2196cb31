"""The feature stage on PySpark (local[2]) gives DuckDB's features on the ``tiny`` scenario.

Not ``slow`` on purpose: ``make test`` (and so CI, which installs Java and the ``spark``
extra) runs it, so the claim that the Ibis features run unchanged on Spark is checked on
every submission. It compares every feature column of every account on the whole input (and at the
last ``CHECKPOINTS`` replay checkpoints) against DuckDB's own run; nothing is hard-coded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from tests.engines.spark import require_spark, session

from distillguard._engine import spark_safe
from distillguard.features._timeline import utc_micros

#: Replay checkpoints compared besides the whole input (the last ones of the schedule). Each
#: is one more slice Spark plans and runs whole (nothing is cached on Spark), about doubling
#: the test's time; the running sums over checkpoints are checked on Spark by
#: tests/features/test_feature_backends.py, so here the whole input only.
CHECKPOINTS = 0


@pytest.fixture(scope="module")
def tiny_events(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, list[dt.datetime]]:
    """The normalized event table of ``tiny`` (seed 0), registered as a scan does, and its
    checkpoints."""
    require_spark()
    from distillguard.features import register_events
    from distillguard.features._source import load_events
    from distillguard.scan import _checkpoints
    from distillguard.scoring import ReplaySchedule
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("engines") / "tiny"
    simulate("tiny", out, seed=0)
    loaded = load_events([out], compact=True)
    schedule = _checkpoints(loaded.events, ReplaySchedule())
    cps = schedule[len(schedule) - CHECKPOINTS :]
    con = duckdb.connect()
    register_events(con, loaded.events, "ev", checkpoints_ms=[int(c.timestamp() * 1000) for c in cps])
    return con.sql("SELECT * FROM ev").to_arrow_table(), cps


def _duckdb_features(events: pa.Table, cps: list[dt.datetime]) -> Any:
    from distillguard.features import FeatureParams, build_timeline

    con = duckdb.connect()
    con.register("ev_arrow", events)
    con.execute("CREATE TABLE ev AS SELECT * FROM ev_arrow")
    con.unregister("ev_arrow")
    return build_timeline(con, "ev", cps, FeatureParams())


def test_tiny_features_on_pyspark_equal_duckdb(tiny_events: tuple[pa.Table, list[dt.datetime]]) -> None:
    import ibis

    from distillguard.features import FeatureParams, build_timeline

    events, cps = tiny_events
    assert len(cps) == CHECKPOINTS and events.num_rows > 10_000
    duck = _duckdb_features(events, cps)
    spark = session("distillguard-engines-test")
    spark.createDataFrame(spark_safe(events)).createOrReplaceTempView("ev")
    tl = build_timeline(ibis.pyspark.connect(spark), "ev", cps, FeatureParams())
    for k in range(tl.final + 1):
        want, got = utc_micros(duck.at(k)), utc_micros(tl.at(k))
        assert got.column_names == want.column_names
        assert got.num_rows == want.num_rows > 0
        differ = [c for c in want.column_names if got[c].to_pylist() != want[c].to_pylist()]
        assert not differ, f"checkpoint {k}: columns differ on PySpark: {differ}"
