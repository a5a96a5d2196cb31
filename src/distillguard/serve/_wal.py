"""The write-ahead log: accepted events are on disk (fsync) before the server answers 2xx.

Layout under ``DIR/serve/wal/``::

    seg-00000007.open      the segment requests append to (one at a time)
    seg-00000006.closed    closed segments waiting for an increment
    pending.json           segments an increment is consuming, and the increment id it will get

A segment is a sequence of records ``magic(4) kind(1) length(4) crc32(4) payload``; the
payload is one request's validated rows as an Arrow IPC stream (kind ``E``: events in
the event schema, ``Q``: quarantined rows). Why framed records and not JSON lines: a
process killed mid-append leaves a torn tail, and the CRC tells a torn record from a
whole one, so recovery cuts exactly the bytes that were never acknowledged.

Why segments are deleted only after their increment is committed, with ``pending.json``
in between: a crash between the state's commit and the deletion is then recognised on
restart (the state already holds the increment ``pending.json`` names) and the segments
are dropped instead of replayed; were they replayed anyway, the state would reject every
event as ``duplicate_event_id``: no event is lost or counted twice either way.
"""

from __future__ import annotations

import io
import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

MAGIC = b"DGW1"
_HEADER = struct.Struct("<4scII")
KIND_EVENTS = b"E"
KIND_QUARANTINE = b"Q"
OPEN_SUFFIX = ".open"
CLOSED_SUFFIX = ".closed"
PENDING = "pending.json"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _segment_no(path: Path) -> int:
    return int(path.name.split("-", 1)[1].split(".", 1)[0])


@dataclass
class SegmentRead:
    events: list[pa.Table]
    quarantine: list[pa.Table]
    records: int
    torn_bytes: int  #: bytes after the last whole record (a write killed mid-way; never acknowledged)


def read_segment(path: Path) -> SegmentRead:
    """Every whole record of a segment; stops at the first torn or corrupt one."""
    data = path.read_bytes()
    out = SegmentRead([], [], 0, 0)
    pos = 0
    while pos + _HEADER.size <= len(data):
        magic, kind, length, crc = _HEADER.unpack_from(data, pos)
        start, end = pos + _HEADER.size, pos + _HEADER.size + length
        if magic != MAGIC or end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        table = ipc.open_stream(pa.py_buffer(data[start:end])).read_all()
        (out.events if kind == KIND_EVENTS else out.quarantine).append(table)
        out.records += 1
        pos = end
    out.torn_bytes = len(data) - pos
    return out


class WriteAheadLog:
    """Appends (thread-safe, fsync per append) and hands closed segments to increments."""

    def __init__(self, root: Path, segment_max_bytes: int) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.segment_max_bytes = segment_max_bytes
        self._lock = threading.Lock()
        self.recovered_torn_bytes = 0
        self._close_leftovers()
        self._next = max((_segment_no(p) for p in self._all()), default=0) + 1
        self._fh: io.BufferedWriter | None = None
        self._size = 0
        self._current: Path | None = None

    def _all(self) -> list[Path]:
        return sorted(p for p in self.root.glob("seg-*") if p.suffix in (OPEN_SUFFIX, CLOSED_SUFFIX))

    def _close_leftovers(self) -> None:
        """A previous process's open segment: cut its torn tail and close it (restart)."""
        for p in sorted(self.root.glob(f"seg-*{OPEN_SUFFIX}")):
            seg = read_segment(p)
            if seg.torn_bytes:
                with open(p, "r+b") as fh:
                    fh.truncate(p.stat().st_size - seg.torn_bytes)
                    fh.flush()
                    os.fsync(fh.fileno())
                self.recovered_torn_bytes += seg.torn_bytes
            os.replace(p, p.with_suffix(CLOSED_SUFFIX))
        _fsync_dir(self.root)

    def _open_new(self) -> None:
        self._current = self.root / f"seg-{self._next:08d}{OPEN_SUFFIX}"
        self._next += 1
        self._fh = open(self._current, "ab")  # noqa: SIM115 - kept open across appends
        self._size = 0
        _fsync_dir(self.root)

    def append(self, events: pa.Table | None, quarantine: pa.Table | None) -> None:
        """Write one request's rows and fsync; returns only once they are durable."""
        parts = []
        for kind, table in ((KIND_EVENTS, events), (KIND_QUARANTINE, quarantine)):
            if table is not None and table.num_rows:
                payload = _ipc_bytes(table)
                parts.append(_HEADER.pack(MAGIC, kind, len(payload), zlib.crc32(payload)) + payload)
        if not parts:
            return
        blob = b"".join(parts)
        with self._lock:
            if self._fh is None:
                self._open_new()
            assert self._fh is not None
            self._fh.write(blob)
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._size += len(blob)
            if self._size >= self.segment_max_bytes:
                self._close_current()

    def _close_current(self) -> None:
        if self._fh is None or self._current is None:
            return
        self._fh.close()
        os.replace(self._current, self._current.with_suffix(CLOSED_SUFFIX))
        _fsync_dir(self.root)
        self._fh, self._current = None, None

    def rotate(self) -> list[Path]:
        """Close the open segment; returns every closed segment, oldest first."""
        with self._lock:
            self._close_current()
            return sorted(self.root.glob(f"seg-*{CLOSED_SUFFIX}"))

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    # -- the increment hand-off ----------------------------------------------------------
    def write_pending(self, segments: list[Path], increment: int) -> None:
        tmp = self.root / (PENDING + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"increment": increment, "segments": [p.name for p in segments]}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / PENDING)
        _fsync_dir(self.root)

    def read_pending(self) -> tuple[int, list[Path]] | None:
        path = self.root / PENDING
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["increment"]), [self.root / n for n in data["segments"]]

    def drop(self, segments: list[Path]) -> None:
        """Segments now in the state (or empty): delete them, then the pending marker."""
        for p in segments:
            p.unlink(missing_ok=True)
        (self.root / PENDING).unlink(missing_ok=True)
        _fsync_dir(self.root)

    def clear_pending(self) -> None:
        (self.root / PENDING).unlink(missing_ok=True)
        _fsync_dir(self.root)

    def backlog(self) -> Iterator[Path]:
        yield from sorted(self.root.glob(f"seg-*{CLOSED_SUFFIX}"))
