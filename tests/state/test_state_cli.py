"""``distillguard scan --state``: increments from the command line, their summary and usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dg_state_world import split, until

DG = [sys.executable, "-m", "distillguard"]


def _dg(*args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*DG, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def test_increments_from_the_cli(tiny_events, tmp_path: Path):
    parts = split(until(tiny_events, 48), 24, tmp_path / "parts")
    state, out = tmp_path / "state", tmp_path / "out"
    first = _dg("scan", parts[0], "--state", state, "--out", out, "--json", "--quiet")
    assert first.returncode == 0, first.stderr
    s1 = json.loads(first.stdout)
    assert s1["increment"] == 1 and s1["events_new"] > 0
    again = _dg("scan", parts[1], parts[0], "--state", state, "--out", out, "--json", "--quiet")
    assert again.returncode == 0, again.stderr
    s2 = json.loads(again.stdout)
    assert s2["increment"] == 2
    assert s2["too_late"] + s2["duplicates"] == s1["events_new"]  # the re-sent first day
    meta = json.loads((out / "scan_meta.json").read_text())
    assert meta["state"]["scored_increment"] == 2
    rescore = _dg("scan", "--state", state, "--json", "--quiet", "--fail-on", "attack")
    assert rescore.returncode == (1 if s2["verdicts"]["attack"] else 0), rescore.stderr
    assert json.loads(rescore.stdout)["increment"] is None


def test_state_usage_errors(tmp_path: Path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("x")
    for args, needle in (
        (("scan", "--state", tmp_path / "s", "--as-of", "2026-01-01"), "--as-of cannot be combined"),
        (("scan", "--state", tmp_path / "notes"), "holds no distillguard state"),
        (("scan", "--state", tmp_path / "s", "--replay-from", "yesterday"), "not an ISO 8601 time"),
        (("scan", "--state", tmp_path / "s", "--confirm-increments", "0"), "--confirm-increments must be"),
    ):
        res = _dg(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr
        assert "Traceback" not in res.stderr


def test_scan_connections_draw_no_progress_bar(tmp_path: Path):
    """DuckDB's progress bar writes to stdout: it must be off wherever a scan or state queries."""
    from distillguard.scan import connect
    from distillguard.state import StateStore

    for con in (connect(1.0, tmp_path), StateStore(tmp_path / "s").con):
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_relative_state_and_out_are_reused_without_overwrite(tiny_events, tmp_path: Path):
    """``--out`` holding this state's previous scan is replaced each run, however the paths are spelt."""
    parts = split(until(tiny_events, 24), 12, tmp_path / "parts")
    env = {**os.environ, "COLUMNS": "200"}
    for part in parts:
        res = subprocess.run(
            [*DG, "scan", str(part), "--state", "st", "--out", "o", "--quiet"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
