"""``_engine.epoch_us`` and ``_engine.read_parquet``: what ``report`` and ``evaluate`` read
the events with. Epoch microseconds must equal DuckDB's ``epoch_us`` (what these stages used
before they were Ibis) on every engine, before 1970 and at second boundaries included."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.engines.spark import session

from distillguard import _duck, _engine

_UTC = dt.UTC
MOMENTS = [
    dt.datetime(2026, 11, 3, 4, 5, 6, 789012, tzinfo=_UTC),
    dt.datetime(2026, 11, 3, 4, 5, 6, 999999, tzinfo=_UTC),
    dt.datetime(2026, 11, 3, 4, 5, 7, tzinfo=_UTC),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=_UTC),
    dt.datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=_UTC),
    None,
]


def _expected() -> list[int | None]:
    epoch = dt.datetime(1970, 1, 1, tzinfo=_UTC)
    return [None if m is None else (m - epoch) // dt.timedelta(microseconds=1) for m in MOMENTS]


def _write(tmp_path: Path) -> list[str]:
    """Two files; the second lacks ``account_id`` (read as null)."""
    ts = pa.array(MOMENTS, pa.timestamp("us", "UTC"))
    first = tmp_path / "a.parquet"
    pq.write_table(pa.table({"account_id": ["a"] * len(MOMENTS), "timestamp": ts}), first)
    second = tmp_path / "b.parquet"
    pq.write_table(pa.table({"timestamp": ts.slice(0, 1)}), second)
    return [str(first), str(second)]


def test_duckdb_epoch_us_and_union_by_name(tmp_path: Path) -> None:
    files = _write(tmp_path)
    con = _duck.backend()
    try:
        ev = _engine.read_parquet(con, files, "dg_events")
        out = ev.select("account_id", t=_engine.epoch_us(con, ev.timestamp)).to_pyarrow()
        duck = con.raw_sql("SELECT epoch_us(timestamp) FROM dg_events").fetchall()
    finally:
        con.disconnect()
    assert out["t"].to_pylist() == _expected() + _expected()[:1] == [r[0] for r in duck]
    assert out["account_id"].to_pylist() == ["a"] * len(MOMENTS) + [None]


def test_pyspark_epoch_us(tmp_path: Path) -> None:
    import ibis

    spark = session("dg-epoch-us")
    con = ibis.pyspark.connect(spark)
    ts = pa.array(MOMENTS, pa.timestamp("us", "UTC"))
    t = _engine.arrow_table(con, "dg_moments", pa.table({"i": list(range(len(MOMENTS))), "timestamp": ts}))
    out = t.select("i", u=_engine.epoch_us(con, t.timestamp)).order_by("i").to_pyarrow()
    assert out["u"].to_pylist() == _expected()


def test_portable_epoch_us_equals_duckdbs(tmp_path: Path) -> None:
    """The arithmetic other backends get (DuckDB and Spark use their own function)."""

    class Other:
        name = "polars"

    files = _write(tmp_path)
    con = _duck.backend()
    try:
        ev = _engine.read_parquet(con, files[:1], "dg_events")
        out = ev.select(t=_engine.epoch_us(Other(), ev.timestamp)).to_pyarrow()
    finally:
        con.disconnect()
    assert out["t"].to_pylist() == _expected()
