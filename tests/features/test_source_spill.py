"""Loaded events stay on disk: the scan registers spilled Parquet batches, never one Arrow table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from distillguard.enrich._spilled import SpilledEvents
from distillguard.enrich._stream import StreamEnricher
from distillguard.features import register_events
from distillguard.features._source import load_events
from distillguard.scan import _checkpoints, connect
from distillguard.scoring import ReplaySchedule

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def _ev(con, name: str = "ev") -> pa.Table:
    """The event table by event id: rows from spilled batches come in the joins' order."""
    return con.sql(f"SELECT * FROM {name}").to_arrow_table().sort_by("event_id")


def _reference(accounts: list[str], times: list[dt.datetime], cps_ms: list[int]) -> dict[str, list]:
    """aid / t / gap / gap_prev / cp per row, by hand: rows sorted by (account, ms, input row)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    t = [(x - epoch) // dt.timedelta(milliseconds=1) for x in times]
    rank = {a: i for i, a in enumerate(sorted(set(accounts), key=lambda s: s.encode()))}
    order = sorted(range(len(t)), key=lambda i: (rank[accounts[i]], t[i], i))
    gap: list[float | None] = [None] * len(t)
    prev: list[float | None] = [None] * len(t)
    for pos, i in enumerate(order):
        if pos and accounts[order[pos - 1]] == accounts[i]:
            gap[i] = (t[i] - t[order[pos - 1]]) / 1000.0
            prev[i] = gap[order[pos - 1]]
    cp = [sum(c <= x for c in cps_ms) for x in t]
    return {"aid": [rank[a] for a in accounts], "t": t, "gap": gap, "gap_prev": prev, "cp": cp}


def _gap_rows(con, name: str = "ev") -> list[tuple]:
    """(aid, cp, gap, gap_prev) of every event as the features compute them, sorted: which
    of two events at the same millisecond gets which gap is not defined, the multiset is."""
    from distillguard.features import _ibis_exprs as X
    from distillguard.features._timeline import ibis_backend

    got = X.gaps(ibis_backend(con).table(name)).to_pyarrow()
    return sorted(zip(*(got[c].to_pylist() for c in ("aid", "cp", "gap", "gap_prev")), strict=True), key=repr)


def _check(got: pa.Table, con, ref: dict[str, list], by_row: list[int]) -> None:
    """``got`` (the event table sorted by event id, row ``i`` being input row ``by_row[i]``)
    has the reference's aid / t / cp per event and its gaps as a multiset."""
    for name in ("aid", "t", "cp"):
        assert got[name].to_pylist() == [ref[name][i] for i in by_row], name
    want = sorted(zip(ref["aid"], ref["cp"], ref["gap"], ref["gap_prev"], strict=True), key=repr)
    assert _gap_rows(con) == want


def test_derived_columns_from_spilled_events(tmp_path: Path) -> None:
    """Times floor to the millisecond, ids sort by bytes, checkpoints count inclusively,
    gaps follow each account's requests in time (ties give equal gaps either way)."""
    accounts = ["b", "B", "b", "é", "b", "a", "B", "b", "a"]
    offsets_us = [0, 10, 2_000_400, 5, 2_000_900, 7, 10, 7_000_000, 3_600_000_000]
    times = [T0 + dt.timedelta(microseconds=u) for u in offsets_us]
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(times))],
            "account_id": accounts,
            "timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    cps = [T0 + dt.timedelta(seconds=2), T0 + dt.timedelta(hours=1)]
    cps_ms = [int(c.timestamp() * 1000) for c in cps]
    se = StreamEnricher(spill_dir=tmp_path)
    se.add(table.slice(0, 4))
    se.add(table.slice(4))
    spilled = se.finish_spilled()
    con = connect()
    assert register_events(con, spilled, "ev", checkpoints_ms=cps_ms) == len(times)
    got = _ev(con)
    assert got["event_id"].to_pylist() == table["event_id"].to_pylist()  # e0 ... e8 sort as read
    assert "gap" not in got.column_names and "_dg_row" not in got.column_names
    _check(got, con, _reference(accounts, times, cps_ms), list(range(len(times))))
    with pytest.raises(duckdb.CatalogException):  # the per-text tables are let go
        con.sql("SELECT * FROM ev__raw__ptext")
    cut = T0 + dt.timedelta(seconds=3)
    con2 = connect()
    assert register_events(con2, spilled, "ev", as_of=cut) == sum(t <= cut for t in times)
    spilled.remove()
    assert not list(tmp_path.rglob("*.parquet"))


def test_spilled_load_registers_like_the_whole_table(tiny_dir: Path, tmp_path: Path) -> None:
    loaded = load_events([tiny_dir], spill_dir=tmp_path)
    assert isinstance(loaded.source, SpilledEvents) and "events" not in loaded.__dict__
    files = list(tmp_path.rglob("*.parquet"))
    assert files and sum(pq.read_metadata(f).num_rows for f in files) == loaded.rows
    raw_ts = pq.read_table(tiny_dir / "events", columns=["timestamp"])["timestamp"]
    assert loaded.time_range == (min(raw_ts.to_pylist()), max(raw_ts.to_pylist()))
    cps = _checkpoints(loaded, ReplaySchedule())
    assert len(cps) > 10 and cps == _checkpoints(loaded.events, ReplaySchedule())
    cps_ms = [int(c.timestamp() * 1000) for c in cps]
    views, cons = [], []
    for source in (loaded.source, loaded.events):
        con = connect()
        register_events(con, source, "ev", checkpoints_ms=cps_ms)
        views.append(_ev(con))
        cons.append(con)
    assert views[0].num_rows == loaded.rows > 30_000
    assert views[0].equals(views[1])
    ref = _reference(loaded.events["account_id"].to_pylist(), loaded.events["timestamp"].to_pylist(), cps_ms)
    assert len(set(loaded.events["event_id"].to_pylist())) == loaded.rows  # event ids order both sides
    _check(views[0], cons[0], ref, pc.sort_indices(loaded.events["event_id"]).to_pylist())
    assert views[0]["template_family"].null_count < views[0].num_rows  # the per-text join ran


def test_intel_reads_the_same_identifiers_from_the_spill(tiny_dir: Path, tmp_path: Path) -> None:
    """On raw logs the scan hands share/intel the spilled batches as a dataset, not a table."""
    from distillguard.share._events import SHARE_COLUMNS, resolve_sources
    from distillguard.share._events import register_events as share_register

    loaded = load_events([tiny_dir], spill_dir=tmp_path)
    got = []
    for source in (loaded.source.dataset(), loaded.events):
        con = duckdb.connect()
        share_register(con, resolve_sources([source]))
        got.append(con.sql(f"SELECT {', '.join(SHARE_COLUMNS)} FROM events ORDER BY ALL").to_arrow_table())
    assert got[0].num_rows == loaded.rows and got[0].equals(got[1])


def test_scan_never_builds_the_whole_event_table(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distillguard.scan import scan

    def whole(self: SpilledEvents) -> pa.Table:
        raise AssertionError("the scan materialized every event in Python")

    monkeypatch.setattr(SpilledEvents, "to_table", whole)
    res = scan([tiny_dir], tmp_path / "out", progress=False, replay=False, report=False)
    n = sum(pq.read_metadata(f).num_rows for f in (tiny_dir / "events").rglob("*.parquet"))
    assert res.meta["events"] == n
    assert res.verdict_counts["attack"] > 0
