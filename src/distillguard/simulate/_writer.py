"""Streaming, deterministic writer for the event-directory layout.

``DIR/events/day=YYYY-MM-DD/part-00000.parquet``: one open Parquet writer per day,
each fed row groups from a small per-day buffer. A day is flushed when its buffer
holds ``row_group_rows`` rows, or (largest day first) when all buffers together exceed
``MAX_BUFFERED_ROWS``: personas arrive one after the other and each spans every day, so
without that second rule nothing would be written until the end (no overlap with
generation, and memory growing with ``days x row_group_rows``). Output bytes depend only
on the order tables arrive in (which is seeded), never on timing or threads.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard.schema import EVENT_SCHEMA

#: Rows buffered per day before a row group is written (memory bound, scan granularity).
ROW_GROUP_ROWS = 131_072
#: Rows buffered over all days before the largest day buffer is written early.
MAX_BUFFERED_ROWS = 300_000
#: Tables queued for the background writer thread (bounds memory; Parquet encoding
#: releases the GIL, so generation and writing overlap on two cores).
QUEUE_TABLES = 3
#: Parquet codec: zstd keeps repeated prompt templates small at a modest CPU cost.
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1


class DayPartitionedWriter:
    """Appends event tables to per-day Parquet files under ``root/events``."""

    def __init__(self, root: Path, start_us: int, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.root = Path(root) / "events"
        self.start_us = start_us
        self.row_group_rows = row_group_rows
        self._writers: dict[int, pq.ParquetWriter] = {}
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered: dict[int, int] = {}
        self.rows = 0
        self.files: list[Path] = []
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUE_TABLES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="dg-sim-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            table = self._queue.get()
            if table is None:
                return
            if self._error is None:
                try:
                    self._write(table)
                except BaseException as err:  # surfaced in write()/close()
                    self._error = err

    def _day_name(self, day: int) -> str:
        ts = np.datetime64(self.start_us, "us") + np.timedelta64(day, "D")
        return f"day={np.datetime_as_string(ts, unit='D')}"

    def write(self, table: pa.Table) -> None:
        """Queue ``table`` for writing (order of calls = order in the files)."""
        if self._error is not None:
            raise self._error
        if table.num_rows:
            self.rows += table.num_rows
            self._queue.put(table)

    def _write(self, table: pa.Table) -> None:
        """Buffer ``table`` (already sorted by time) split by UTC day."""
        us = pc.cast(table.column("timestamp"), pa.int64()).to_numpy()
        day = (us - self.start_us) // 86_400_000_000
        bounds = np.flatnonzero(np.diff(day)) + 1 if np.all(np.diff(day) >= 0) else None
        if bounds is None:  # not sorted: group by day with a stable sort
            order = np.argsort(day, kind="stable")
            table, day = table.take(pa.array(order)), day[order]
            bounds = np.flatnonzero(np.diff(day)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(day)]])
        for s, e in zip(starts, ends, strict=True):
            d = int(day[s])
            self._buffers.setdefault(d, []).append(table.slice(int(s), int(e - s)))
            self._buffered[d] = self._buffered.get(d, 0) + int(e - s)
            if self._buffered[d] >= self.row_group_rows:
                self._flush(d)
        while sum(self._buffered.values()) > MAX_BUFFERED_ROWS:
            self._flush(max(self._buffered, key=lambda k: (self._buffered[k], -k)))

    def _flush(self, day: int) -> None:
        parts = self._buffers.pop(day, [])
        self._buffered[day] = 0
        if not parts:
            return
        writer = self._writers.get(day)
        if writer is None:
            path = self.root / self._day_name(day) / "part-00000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(
                path, EVENT_SCHEMA, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL
            )
            self._writers[day] = writer
            self.files.append(path)
        writer.write_table(pa.concat_tables(parts), row_group_size=self.row_group_rows * 2)

    def close(self) -> None:
        """Drain the queue, flush every buffer and close the files."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        for day in sorted(self._buffers):
            self._flush(day)
        for day in sorted(self._writers):
            self._writers[day].close()
        self._writers.clear()
