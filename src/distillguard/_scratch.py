"""Scratch directories that a killed scan does not leak.

A scan's scratch directory (spilled event batches, DuckDB's database and temp files) holds
tens of GB on the 50M-event ``seed`` scenario. ``TemporaryDirectory`` removes it when the
scan ends, also on an exception, but not when the process is killed (SIGKILL from a
supervisor's timeout or the OOM killer): four such directories once held 22 GB of /tmp. An
hourly job that is killed now and then would fill the disk. So each scratch directory
records its owner (host name, pid and the process's start time), and creating one first
removes the directories of the same prefix whose owner on this host is gone. A directory
without an owner file, or owned on another host (a container sharing /tmp has another host
name), is left alone: it may belong to a live process this one cannot see.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

#: File in each scratch directory naming the process that owns it.
OWNER_FILE = ".dg-owner.json"


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks after boot (Linux), None elsewhere
    or when there is no such process: tells a live owner from a later process given its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22; the command name may hold spaces


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return started is None or _start_time(pid) in (None, started)


def _owner() -> dict[str, object]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_time(pid)}


def remove_orphans(prefix: str, parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the ``prefix*`` directories under ``parent`` (default: the system temp
    directory) whose owner on this host is no longer running; returns what was removed."""
    root = Path(parent or tempfile.gettempdir())
    removed: list[Path] = []
    host = socket.gethostname()
    for path in root.glob(f"{prefix}*"):
        try:
            owner = json.loads((path / OWNER_FILE).read_text())
            pid = int(owner["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # no readable owner: not ours to judge
        if owner.get("host") != host or _alive(pid, owner.get("started")):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A new ``TemporaryDirectory`` with its owner recorded, after removing the orphans of
    ``prefix`` (:func:`remove_orphans`)."""
    remove_orphans(prefix)
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    (Path(tmp.name) / OWNER_FILE).write_text(json.dumps(_owner()))
    return tmp
