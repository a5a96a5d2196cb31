"""An increment killed with SIGKILL leaves the state whole; the next run completes it once.

The kill is real: a subprocess runs the increment and ``DG_STATE_CRASH_AT`` makes it send
itself SIGKILL at a chosen step (no handler or ``finally`` runs), or a timer kills it at an
arbitrary moment. The next run must not lose or double any event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from dg_state_world import SCAN_OPTIONS, split, until

from distillguard.state import run_increment

RUN = """
import sys
from distillguard.state import run_increment
run_increment(sys.argv[1], [sys.argv[2]], scan_options={"progress": False, "report": False})
"""


def _run(state, part, crash_at=None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DG_STATE_CRASH_AT"}
    # a killed scan cannot remove its scratch directory: keep it in the test's own tmp_path
    env["TMPDIR"] = str(Path(state).parent)
    if crash_at:
        env["DG_STATE_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-c", RUN, str(state), str(part)], env=env)


def _store(state) -> tuple[int, int]:
    con = duckdb.connect()
    return con.execute(
        f"SELECT count(*), count(DISTINCT event_id) FROM read_parquet('{state}/store/events/*/*.parquet')"
    ).fetchone()


def _increments(state) -> list[tuple]:
    con = duckdb.connect(str(state / "state.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT id, events_new, scored_at IS NOT NULL FROM increments ORDER BY id"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("crash_at", ["before_commit", "after_commit", "before_scored"])
def test_killed_increment_is_completed_once(tiny_events, tmp_path, crash_at):
    events = until(tiny_events, 24)
    parts = split(events, 12, tmp_path / "parts")
    state = tmp_path / "state"
    run_increment(state, [parts[0]], scan_options=SCAN_OPTIONS)
    first = pq.read_metadata(parts[0]).num_rows
    proc = _run(state, parts[1], crash_at)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    if crash_at == "before_commit":  # the previous watermark, nothing of the killed run
        assert _increments(state) == [(1, first, True)]
        assert _store(state) == (first, first)
    # the next run gets the same input again (a retry) and completes what was cut
    res = run_increment(state, [parts[1]], tmp_path / "out", scan_options=SCAN_OPTIONS)
    assert _store(state) == (events.num_rows, events.num_rows)
    assert not (state / "staging").exists()
    incs = _increments(state)
    assert all(scored for _, _, scored in incs)
    assert sum(n for _, n, _ in incs) == events.num_rows
    if crash_at != "before_commit":  # the retry found its events already committed
        assert res.counts["events_new"] == 0
        assert res.counts["duplicates"] + res.counts["too_late"] == events.num_rows - first
    acc = pq.read_table(tmp_path / "out" / "accounts.parquet")
    assert acc["exchanges"].to_numpy().sum() == events.num_rows


def test_kill_at_an_arbitrary_moment(tiny_events, tmp_path):
    events = until(tiny_events, 36)
    parts = split(events, 12, tmp_path / "parts")
    state = tmp_path / "state"
    run_increment(state, [parts[0]], scan_options=SCAN_OPTIONS)
    for delay in (0.4, 1.2, 2.5):
        proc = _run(state, parts[1])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        n, distinct = _store(state)
        assert n == distinct  # never a doubled event, whatever the moment
    for p in parts[1:]:
        run_increment(state, [p], scan_options=SCAN_OPTIONS)
    assert _store(state) == (events.num_rows, events.num_rows)
