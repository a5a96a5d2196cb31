"""Increments of a persistent state agree with a batch scan; late and repeated events are kept apart."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dg_state_world import SCAN_OPTIONS, assert_same_verdicts, batch_scan, hour_floor, split, until

from distillguard.state import StateParams, run_increment


def _feed(files, state, out=None, **kw):
    result = None
    for f in files:
        result = run_increment(state, [f], out, scan_options=SCAN_OPTIONS, **kw)
    return result


def test_daily_increments_give_the_batch_verdicts(tiny_events, tmp_path):
    files = split(tiny_events, 24, tmp_path / "days")
    assert len(files) >= 8
    last = _feed(files, tmp_path / "state", tmp_path / "out")
    assert last.scored == [len(files)]
    assert_same_verdicts(batch_scan(tiny_events, tmp_path / "batch"), tmp_path / "out")
    files = f"{tmp_path}/state/store/events/*/*.parquet"
    store = duckdb.connect().execute(
        f"SELECT count(*), count(DISTINCT event_id) FROM read_parquet('{files}')"
    )
    assert store.fetchone() == (tiny_events.num_rows, tiny_events.num_rows)


def test_hourly_increments_give_the_batch_verdicts(tiny_events, tmp_path):
    cut = until(tiny_events, 14)
    files = split(cut, 1, tmp_path / "hours")
    assert len(files) >= 12
    _feed(files, tmp_path / "state", tmp_path / "out")
    assert_same_verdicts(batch_scan(cut, tmp_path / "batch"), tmp_path / "out")


@pytest.mark.slow
def test_hourly_increments_over_the_whole_input(tiny_events, tmp_path):
    files = split(tiny_events, 1, tmp_path / "hours")
    _feed(files, tmp_path / "state", tmp_path / "out")
    assert_same_verdicts(batch_scan(tiny_events, tmp_path / "batch"), tmp_path / "out")


def test_flagged_at_is_the_first_increment_that_flagged(tiny_events, tmp_path):
    files = split(until(tiny_events, 72), 12, tmp_path / "parts")
    _feed(files, tmp_path / "state", tmp_path / "out")
    acc = pq.read_table(tmp_path / "out" / "accounts.parquet").to_pylist()
    con = duckdb.connect(str(tmp_path / "state" / "state.duckdb"), read_only=True)
    first = dict(
        con.execute(
            "SELECT c.account_id, min(i.watermark) FROM verdict_changes c JOIN increments i"
            " ON i.id = c.increment_id WHERE c.new_verdict = 'attack' GROUP BY 1"
        ).fetchall()
    )
    watermarks = {r[0] for r in con.execute("SELECT watermark FROM increments").fetchall()}
    attacks = [a for a in acc if a["verdict"] == "attack"]
    assert attacks
    assert any(a["flagged_at"] < max(watermarks) for a in attacks)  # some were flagged early
    for a in acc:
        if a["verdict"] == "attack":
            assert a["flagged_at"] == first[a["account_id"]]
            assert a["flagged_at"] in watermarks
        else:
            assert a["flagged_at"] is None
    meta = json.loads((tmp_path / "out" / "scan_meta.json").read_text())
    assert meta["state"]["scored_increment"] == len(files)
    assert "state.allowed_lateness_h" in meta["thresholds"]


def test_late_events_merge_and_older_ones_are_counted(tiny_events, tmp_path):
    day1 = until(tiny_events, 24)
    start = hour_floor(tiny_events)
    ts = day1["timestamp"]
    tail = pc.greater_equal(ts, pa.scalar(start + dt.timedelta(hours=23), ts.type))
    head = pc.less(ts, pa.scalar(start + dt.timedelta(hours=6), ts.type))
    held_late = day1.filter(tail).slice(0, 40)  # within the allowed lateness
    held_old = day1.filter(head).slice(0, 30)  # far older than the watermark
    held = pc.is_in(
        day1["event_id"],
        pa.concat_arrays([held_late["event_id"].combine_chunks(), held_old["event_id"].combine_chunks()]),
    )
    first = day1.filter(pc.invert(held))
    resent = first.slice(first.num_rows - 25, 25)  # already in the state
    day2 = until(tiny_events, 48).filter(
        pc.greater_equal(
            tiny_events.slice(0, until(tiny_events, 48).num_rows)["timestamp"],
            pa.scalar(start + dt.timedelta(hours=24), ts.type),
        )
    )
    (tmp_path / "in").mkdir()
    pq.write_table(first, tmp_path / "in" / "a.parquet")
    second = pa.concat_tables([day2, held_late, held_old, resent])
    pq.write_table(second, tmp_path / "in" / "b.parquet")
    params = StateParams(allowed_lateness_h=2.0)
    run_increment(
        tmp_path / "state", [tmp_path / "in" / "a.parquet"], scan_options=SCAN_OPTIONS, params=params
    )
    res = run_increment(
        tmp_path / "state",
        [tmp_path / "in" / "b.parquet"],
        tmp_path / "out",
        scan_options=SCAN_OPTIONS,
        params=params,
    )
    assert res.counts["too_late"] == 30
    assert res.counts["duplicates"] == 25
    assert res.counts["events_late"] == 40
    assert res.counts["events_new"] == day2.num_rows + 40
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet")
    reasons = pc.value_counts(q["reason"]).to_pylist()
    assert {r["values"]: r["counts"] for r in reasons} == {"too_late": 30, "duplicate_event_id": 25}
    assert set(q.filter(pc.equal(q["reason"], "too_late"))["event_id"].to_pylist()) == set(
        held_old["event_id"].to_pylist()
    )


def test_replay_from_rebuilds_the_history(tiny_events, tmp_path):
    files = split(until(tiny_events, 96), 24, tmp_path / "days")
    _feed(files, tmp_path / "state", tmp_path / "out")
    before = pq.read_table(tmp_path / "out" / "accounts.parquet").sort_by("account_id")
    t = hour_floor(tiny_events) + dt.timedelta(hours=30)
    res = run_increment(tmp_path / "state", [], tmp_path / "again", scan_options=SCAN_OPTIONS, replay_from=t)
    assert res.scored == [2, 3, 4]
    after = pq.read_table(tmp_path / "again" / "accounts.parquet").sort_by("account_id")
    assert after["verdict"].to_pylist() == before["verdict"].to_pylist()
    assert after["flagged_at"].to_pylist() == before["flagged_at"].to_pylist()


def test_state_refuses_a_foreign_directory_and_empty_input(tmp_path):
    from distillguard.errors import DistillguardError

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DistillguardError, match="holds no distillguard state"):
        run_increment(tmp_path / "busy", [], scan_options=SCAN_OPTIONS)
    with pytest.raises(DistillguardError, match="no events yet"):
        run_increment(tmp_path / "fresh", [], scan_options=SCAN_OPTIONS)
