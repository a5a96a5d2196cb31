"""Progress when nobody watches a terminal: plain timestamped lines on stderr, nothing on stdout."""

from __future__ import annotations

import io
import json
import re

import pyarrow.parquet as pq

from distillguard import _progress
from distillguard._progress import LogProgress, NullProgress, make_progress


def test_log_progress_logs_stage_changes_and_throttles_counts() -> None:
    stream = io.StringIO()
    bar = LogProgress(stream=stream, interval_s=3600)
    with bar:
        task = bar.add_task("scan", total=3)
        bar.update(task, advance=1, description="scan: load done")
        for _ in range(50):
            bar.advance(task, 0)  # counts moving inside a stage: throttled by the interval
        bar.update(task, advance=1, description="scan: detect done")
        bar.advance(task)
    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == [
        "scan: load done 1/3",
        "scan: detect done 2/3",
        "scan: detect done 3/3",  # the final count, written when the bar stops
    ]
    assert all(re.match(r"\[\s*\d+\.\ds\] ", line) for line in lines)


def test_log_progress_writes_every_interval_while_counting() -> None:
    stream = io.StringIO()
    bar = LogProgress(stream=stream, interval_s=0)
    task = bar.add_task("ingest rows")
    for _ in range(3):
        bar.update(task, advance=10)
    assert stream.getvalue().count("ingest rows") == 3
    assert stream.getvalue().splitlines()[-1].endswith("ingest rows 30")


def test_make_progress_picks_lines_off_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(make_progress(True), LogProgress)
    assert not make_progress(False) and isinstance(make_progress(False), NullProgress)


def test_verbose_forces_lines_on_a_terminal(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    assert not isinstance(make_progress(True), LogProgress)
    monkeypatch.setattr(_progress, "_force_log_lines", True)
    assert isinstance(make_progress(True), LogProgress)


def test_simulate_and_scan_show_progress_lines_on_stderr_when_piped(cli, tmp_path) -> None:
    sim = cli("simulate", "--scenario", "tiny", "--out", tmp_path / "sim", "--json")
    assert sim.returncode == 0, sim.stderr
    events = json.loads(sim.stdout)["events"]  # stdout holds only the JSON
    last = sim.stderr.strip().splitlines()[-1]
    assert re.search(rf"simulate tiny {events:,}/{events:,}$", last), sim.stderr

    scan = cli("scan", tmp_path / "sim", "--out", tmp_path / "scan", "--no-replay", "--json")
    assert scan.returncode == 0, scan.stderr
    summary = json.loads(scan.stdout)
    verdicts = pq.read_table(tmp_path / "scan" / "accounts.parquet")["verdict"].to_pylist()
    assert summary["verdicts"] == {v: verdicts.count(v) for v in ("attack", "suspicious", "clear")}
    stages = re.findall(r"scan: (\S+) done", scan.stderr)
    assert stages[:3] == ["load+enrich", "features", "detect"] and stages[-1] == "report"
