"""A tiny simulated world fed to ``scan --state`` in increments, for the console tests.

The first increment holds the first ``FIRST_HOURS`` hours of ``tiny`` (seed 0); the next
one (``next_increment``) the following hours' events of benign accounts only, so that it
brings new events but no new evidence about the accounts already flagged.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

SCAN_OPTIONS = {"progress": False, "report": False}
#: Past one day, so that night-time shares are already judged (a first day-long window
#: would let the next increment add ``off_hours_activity``: new evidence, rightly re-flagged).
FIRST_HOURS = 30
NEXT_HOURS = 6


@dataclass
class World:
    root: Path
    state: Path  # the state after the first increment (copy it before changing it)
    next_input: Path  # the benign-only events of the next hours


def _window(events: pa.Table, start: dt.datetime, hours: float) -> pa.Table:
    ts = events["timestamp"]
    lo = pa.scalar(start, ts.type)
    hi = pa.scalar(start + dt.timedelta(hours=hours), ts.type)
    return events.filter(pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)))


@pytest.fixture(scope="session")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from distillguard.ingest import open_events
    from distillguard.simulate import simulate
    from distillguard.state import run_increment

    root = tmp_path_factory.mktemp("console")
    simulate("tiny", root / "sim", seed=0, progress=False)
    events = (
        open_events(root / "sim").to_table().sort_by([("timestamp", "ascending"), ("event_id", "ascending")])
    )
    start = events["timestamp"][0].as_py().replace(minute=0, second=0, microsecond=0)
    first = _window(events, start, FIRST_HOURS)
    later = _window(events, start + dt.timedelta(hours=FIRST_HOURS), NEXT_HOURS)
    labels = pq.read_table(root / "sim" / "labels.parquet")
    benign = labels.filter(pc.invert(labels["is_attack"]))["account_id"]
    later = later.filter(pc.is_in(later["account_id"], benign))
    (root / "in").mkdir()
    pq.write_table(first, root / "in" / "first.parquet")
    pq.write_table(later, root / "in" / "next.parquet")
    run_increment(root / "state", [root / "in" / "first.parquet"], scan_options=SCAN_OPTIONS)
    return World(root, root / "state", root / "in" / "next.parquet")


@pytest.fixture
def console_state(console_world: World, tmp_path: Path) -> Path:
    """A private copy of the first-increment state (tests change it)."""
    dst = tmp_path / "state"
    shutil.copytree(console_world.state, dst)
    return dst


def next_increment(state: Path, world: World) -> Any:
    from distillguard.state import run_increment

    return run_increment(state, [world.next_input], scan_options=SCAN_OPTIONS)


class Server:
    """The console app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, state: Path, analyst: str = "test-analyst") -> None:
        import socket

        import uvicorn

        from distillguard.console import create_app

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.app = create_app(state, analyst=analyst)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("console server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
