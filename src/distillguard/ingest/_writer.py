"""Day-partitioned Parquet output with bounded memory and a bounded number of open files.

Rows are split by UTC day (``events/day=YYYY-MM-DD/part-N.parquet``) and buffered per
day until a row group's worth has gathered, so time-sorted logs give few large row
groups and shuffled logs still cannot grow the buffers without limit. A new part
file starts when a day's writer was closed to respect the open-file limit, or when
the batch's extra columns differ from the open file's schema.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.schema import QUARANTINE_SCHEMA

_MICROS_PER_DAY = 86_400_000_000
#: Nearly-unique columns: dictionary-encoding them costs time (~35% of writing)
#: and gains nothing, so they are written plain.
_NO_DICTIONARY = frozenset(
    {"event_id", "timestamp", "prompt", "system_prompt", "conversation_id", "duration_ms"}
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WriterOptions:
    """Output tuning; none of these change what is written, only how."""

    #: Rows per Parquet row group (readers skip whole row groups by min/max stats).
    row_group_rows: int = 262_144
    #: Day files open at once; the least recently written is closed beyond this.
    max_open_files: int = 32
    #: Rows buffered across all days before the largest buffers are flushed.
    max_buffered_rows: int = 1_048_576
    #: Parquet codec: zstd gives ~30% smaller files than snappy at similar speed here.
    compression: str = "zstd"


def day_label(day: int) -> str:
    return (_EPOCH + timedelta(days=int(day))).strftime("%Y-%m-%d")


class DayPartitionWriter:
    """Writes accepted events under ``root/day=YYYY-MM-DD/``."""

    def __init__(self, root: Path, options: WriterOptions | None = None) -> None:
        self.root = root
        self.options = options or WriterOptions()
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered: dict[int, int] = {}
        self._writers: OrderedDict[int, pq.ParquetWriter] = OrderedDict()
        self._parts: dict[int, int] = {}
        self.files: list[Path] = []
        self.rows_written = 0

    @property
    def days(self) -> list[str]:
        return [day_label(d) for d in sorted(self._parts)]

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        micros = table.column("timestamp").cast(pa.int64()).to_numpy()
        days = micros // _MICROS_PER_DAY
        if days.min() == days.max():
            self._buffer(int(days[0]), table)
        else:
            order = np.argsort(days, kind="stable")
            sorted_days = days[order]
            cuts = np.flatnonzero(np.diff(sorted_days)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(order)], strict=True):
                self._buffer(int(sorted_days[lo]), table.take(pa.array(order[lo:hi])))
        if sum(self._buffered.values()) > self.options.max_buffered_rows:
            for day in sorted(self._buffered, key=self._buffered.get, reverse=True):
                self._flush(day)
                if sum(self._buffered.values()) <= self.options.max_buffered_rows // 2:
                    break

    def _buffer(self, day: int, table: pa.Table) -> None:
        self._buffers.setdefault(day, []).append(table)
        self._buffered[day] = self._buffered.get(day, 0) + table.num_rows
        if self._buffered[day] >= self.options.row_group_rows:
            self._flush(day)

    def _open(self, day: int, schema: pa.Schema) -> pq.ParquetWriter:
        while len(self._writers) >= self.options.max_open_files:
            _, oldest = self._writers.popitem(last=False)
            oldest.close()
        part = self._parts.get(day, 0)
        self._parts[day] = part + 1
        folder = self.root / f"day={day_label(day)}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{part}.parquet"
        self.files.append(path)
        dictionary = [f.name for f in schema if f.name not in _NO_DICTIONARY]
        writer = pq.ParquetWriter(
            path, schema, compression=self.options.compression, use_dictionary=dictionary
        )
        self._writers[day] = writer
        return writer

    def _flush(self, day: int) -> None:
        tables = self._buffers.pop(day, [])
        self._buffered.pop(day, None)
        groups: list[list[pa.Table]] = []
        for t in tables:
            if groups and groups[-1][0].schema.equals(t.schema):
                groups[-1].append(t)
            else:
                groups.append([t])
        for group in groups:
            data = pa.concat_tables(group)
            writer = self._writers.get(day)
            if writer is None or not writer.schema.equals(data.schema):
                if writer is not None:
                    self._writers.pop(day).close()
                writer = self._open(day, data.schema)
            else:
                self._writers.move_to_end(day)
            writer.write_table(data, row_group_size=self.options.row_group_rows)
            self.rows_written += data.num_rows

    def close(self) -> None:
        for day in list(self._buffers):
            self._flush(day)
        while self._writers:
            _, writer = self._writers.popitem()
            writer.close()


class QuarantineWriter:
    """``quarantine.parquet`` (always written, possibly empty), buffered."""

    def __init__(self, path: Path, flush_rows: int = 65_536) -> None:
        self.path = path
        self._writer = pq.ParquetWriter(path, QUARANTINE_SCHEMA, compression="zstd")
        self._buffer: list[pa.Table] = []
        self._rows = 0
        self._flush_rows = flush_rows

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._buffer.append(table.cast(QUARANTINE_SCHEMA))
            self._rows += table.num_rows
            if self._rows >= self._flush_rows:
                self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.concat_tables(self._buffer))
        self._buffer = []
        self._rows = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
