"""A scan killed with SIGKILL leaves its scratch directory; the next scan removes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from distillguard import _scratch
from distillguard.scan import SPILL_PREFIX, scan


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temp directory, for this process and its children, is a fresh one."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _spills(root: Path) -> list[Path]:
    return sorted(root.glob(f"{SPILL_PREFIX}*"))


def test_killed_scan_scratch_is_removed_by_the_next_scan(
    tiny_dir: Path, tmp_path: Path, temp_root: Path
) -> None:
    code = "import sys; from distillguard.scan import scan; scan([sys.argv[1]], sys.argv[2], progress=False)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tiny_dir), str(tmp_path / "killed")])
    deadline = time.monotonic() + 120
    while not any((p / "events").is_dir() for p in _spills(temp_root)):  # the load is spilling
        assert proc.poll() is None and time.monotonic() < deadline, "the scan ended before it was killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    [orphan] = _spills(temp_root)
    assert json.loads((orphan / _scratch.OWNER_FILE).read_text())["pid"] == proc.pid
    scan([tiny_dir], tmp_path / "out", progress=False, replay=False, report=False)
    assert _spills(temp_root) == []  # the orphan, and this scan's own directory at its end


def test_directories_of_live_or_unknown_owners_stay(temp_root: Path) -> None:
    mine = _scratch.scratch_dir(SPILL_PREFIX)  # this process: alive
    foreign = temp_root / f"{SPILL_PREFIX}other-host"
    foreign.mkdir()
    owner = json.loads((Path(mine.name) / _scratch.OWNER_FILE).read_text())
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone_pid = int(done.stdout)
    (foreign / _scratch.OWNER_FILE).write_text(json.dumps({**owner, "host": "elsewhere", "pid": gone_pid}))
    unowned = temp_root / f"{SPILL_PREFIX}no-owner"
    unowned.mkdir()
    reused = temp_root / f"{SPILL_PREFIX}reused-pid"  # our pid, but another start time: a dead owner
    reused.mkdir()
    (reused / _scratch.OWNER_FILE).write_text(json.dumps({**owner, "started": "1"}))
    assert _scratch.remove_orphans(SPILL_PREFIX) == ([reused] if owner["started"] else [])
    assert Path(mine.name).is_dir() and foreign.is_dir() and unowned.is_dir()
    mine.cleanup()
