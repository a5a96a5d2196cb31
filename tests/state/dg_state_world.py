"""A tiny simulated world cut into increments, and its batch scan to compare against."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

SCAN_OPTIONS = {"progress": False, "report": False}


@pytest.fixture(scope="session")
def tiny_events(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The ``tiny`` scenario's events (seed 0), sorted by time."""
    from distillguard.ingest import open_events
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("tiny") / "sim"
    simulate("tiny", out, seed=0, progress=False)
    return open_events(out).to_table().sort_by([("timestamp", "ascending"), ("event_id", "ascending")])


def until(events: pa.Table, hours: float) -> pa.Table:
    """Events in the first ``hours`` hours from the input's first whole hour."""
    start = hour_floor(events)
    ts = events["timestamp"]
    return events.filter(pc.less(ts, pa.scalar(start + dt.timedelta(hours=hours), ts.type)))


def hour_floor(events: pa.Table) -> dt.datetime:
    return events["timestamp"][0].as_py().replace(minute=0, second=0, microsecond=0)


def split(events: pa.Table, hours: float, folder: Path) -> list[Path]:
    """One Parquet file per ``hours``-long window (empty windows skipped), in time order."""
    folder.mkdir(parents=True, exist_ok=True)
    ts = events["timestamp"]
    cur, end = hour_floor(events), ts[-1].as_py()
    files: list[Path] = []
    while cur <= end:
        nxt = cur + dt.timedelta(hours=hours)
        part = events.filter(
            pc.and_(
                pc.greater_equal(ts, pa.scalar(cur, ts.type)),
                pc.less(ts, pa.scalar(nxt, ts.type)),
            )
        )
        cur = nxt
        if part.num_rows:
            files.append(folder / f"part-{len(files):04d}.parquet")
            pq.write_table(part, files[-1])
    return files


def batch_scan(events: pa.Table, folder: Path) -> Path:
    """A batch scan (no replay) of ``events`` written as one file; returns the scan directory."""
    from distillguard.scan import scan

    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(events, folder / "all.parquet")
    scan([folder / "all.parquet"], folder / "scan", replay=False, **SCAN_OPTIONS)
    return folder / "scan"


def assert_same_verdicts(a: Path, b: Path) -> None:
    """Scores, verdicts, reasons and campaigns identical between two scan directories."""
    import json

    cols = ["account_id", "score", "verdict", "campaign_id", "reasons"]
    ta = pq.read_table(a / "accounts.parquet", columns=cols).sort_by("account_id")
    tb = pq.read_table(b / "accounts.parquet", columns=cols).sort_by("account_id")
    for c in cols:
        assert ta[c].to_pylist() == tb[c].to_pylist(), c

    def members(p: Path) -> list[tuple[str, tuple[str, ...]]]:
        camps = json.loads((p / "campaigns.json").read_text())
        return sorted((c["campaign_id"], tuple(sorted(c["accounts"]))) for c in camps)

    assert members(a) == members(b)
