"""Backends of the behavioural feature suite, and hand-made event tables to run on them.

The same Ibis feature expressions must give the same answers on every backend: DuckDB (the
default, through the scan's own DuckDB connection), Polars (in-process), and PySpark when it
is installed (local[2]; slow to start, so marked ``slow``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import ibis
import pyarrow as pa
import pytest

from distillguard.features import FeatureParams, build_timeline
from distillguard.features._prepare import _COLUMNS, DERIVED_COLUMNS

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)  #: a Monday, 00:00 UTC

#: Values of a plain request where a test does not say otherwise (the view's own defaults
#: for absent columns: provider 'local', tier / ip_kind 'unknown', no tools, no reasoning).
_DEFAULTS: dict[str, Any] = {
    "provider": "local",
    "model": "m-main",
    "input_tokens": 100,
    "output_tokens": 100,
    "reasoning_tokens": 0,
    "account_tier": "unknown",
    "tool_count": 0,
    "ip_kind": "unknown",
}


def event_table(rows: list[dict[str, Any]], checkpoints: list[dt.datetime] | None = None) -> pa.Table:
    """The normalized event table (view columns + ``aid``/``t``/``cp``)
    of hand-written rows: each row needs ``account_id`` and ``at`` (seconds after
    :data:`T0`); any other view column may be given."""
    cols: dict[str, pa.Array] = {}
    for i, r in enumerate(rows):
        r.setdefault("event_id", f"e{i}")
        r["ts"] = T0 + dt.timedelta(seconds=r["at"])
    for name, typ, _, _ in _COLUMNS:
        cols[name] = pa.array([r.get(name, _DEFAULTS.get(name)) for r in rows], ibis.dtype(typ).to_pyarrow())
    table = pa.table(cols)
    derived = _derived(table, checkpoints)
    for name, typ in DERIVED_COLUMNS:
        table = table.append_column(name, pa.array(derived[name], ibis.dtype(typ).to_pyarrow()))
    return table


def _derived(table: pa.Table, checkpoints: list[dt.datetime] | None) -> dict[str, list[int]]:
    """The derived columns in row order, by hand: ``aid`` ranks account ids by their bytes,
    ``t`` floors to the millisecond, ``cp`` counts the checkpoints at or before ``t``."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    accounts = table["account_id"].to_pylist()
    rank = {a: i for i, a in enumerate(sorted(set(accounts), key=lambda s: s.encode()))}
    t = [(x - epoch) // dt.timedelta(milliseconds=1) for x in table["ts"].to_pylist()]
    cps = [int(c.timestamp() * 1000) for c in checkpoints or []]
    return {"aid": [rank[a] for a in accounts], "t": t, "cp": [sum(c <= x for c in cps) for x in t]}


def _duckdb() -> Any:
    from distillguard.scan import connect

    return connect()


def _polars() -> Any:
    """An Ibis Polars backend, or a skip saying why it cannot run the feature queries."""
    import ibis
    import ibis.common.exceptions as com

    try:
        con = ibis.polars.connect()
        probe = con.create_table("probe", pa.table({"g": [1, 1], "k": [0, 1], "v": [1, 2]}))
        w = ibis.cumulative_window(group_by=probe.g, order_by=probe.k)
        probe.mutate(c=probe.v.sum().over(w)).to_pyarrow()
    except com.OperationNotDefinedError as exc:
        pytest.skip(
            "ibis's polars backend cannot compile the running sums over checkpoints "
            f"(cumulative window aggregates): {exc}"
        )
    except Exception as exc:  # any import or version clash means "not available"
        pytest.skip(f"ibis polars backend unusable with the installed polars: {exc}")
    return con


@pytest.fixture(scope="session")
def _spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark not installed (optional extra)")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("distillguard-features-test")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def _utc(row: dict[str, Any]) -> dict[str, Any]:
    """PySpark hands timestamps back without a zone (its session zone is UTC here)."""
    return {
        k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is None else v
        for k, v in row.items()
    }


@pytest.fixture(params=["duckdb", "polars", pytest.param("pyspark", marks=pytest.mark.slow)])
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def features_of(
    backend_name: str, request: pytest.FixtureRequest
) -> Callable[..., dict[int, dict[str, dict]]]:
    """``features_of(rows, checkpoints=None, params=None)`` -> ``{k: {account_id: features}}``
    computed on the parametrized backend."""

    def run(
        rows: list[dict[str, Any]], checkpoints: list[dt.datetime] | None = None, params: Any = None
    ) -> dict[int, dict[str, dict]]:
        table = event_table(rows, checkpoints)
        if backend_name == "duckdb":
            con = _duckdb()
            con.register("ev_arrow", table)
            con.execute("CREATE TABLE ev AS SELECT * FROM ev_arrow")
            con.unregister("ev_arrow")
        elif backend_name == "polars":
            con = _polars()
            con.create_table("ev", table)
        else:
            import ibis

            spark = request.getfixturevalue("_spark")
            # Spark has no unsigned integers; the 64-bit prompt hashes are not features
            signed = pa.schema(
                [f.with_type(pa.int64()) if f.type == pa.uint64() else f for f in table.schema]
            )
            spark.createDataFrame(table.cast(signed)).createOrReplaceTempView("ev")
            con = ibis.pyspark.connect(spark)
        tl = build_timeline(con, "ev", list(checkpoints or []), params or FeatureParams())
        return {k: {r["account_id"]: _utc(r) for r in tl.at(k).to_pylist()} for k in range(tl.final + 1)}

    return run
