"""Stage one increment's events: keep what is new, count and keep the reason for the rest.

An event joins the state when it is newer than ``watermark - allowed_lateness`` and its
``event_id`` is not already in the store; an older one is ``too_late`` and a known id is a
``duplicate_event_id``. Both are kept as rejected rows with their reason (in the state and
in the scan contract's quarantine), never dropped silently. Memory is one input batch plus
the event ids of the store days the batch touches (read by DuckDB from Parquet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from distillguard import _duck
from distillguard.ingest._writer import DayPartitionWriter, day_label
from distillguard.schema import TIMESTAMP

#: Rejected-row reasons the state adds to ingest's (``schema.QUARANTINE_REASONS``).
TOO_LATE = "too_late"
DUPLICATE = "duplicate_event_id"

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("reason", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("account_id", pa.string()),
        pa.field("event_time", TIMESTAMP),
        pa.field("source", pa.string()),
    ]
)

_MICROS_PER_DAY = 86_400_000_000


@dataclass
class Staged:
    """What one increment's input gave (files are relative to the staging folder)."""

    files: list[str] = field(default_factory=list)
    events_new: int = 0
    events_late: int = 0  #: new events older than the previous watermark (merged)
    rejected: list[pa.Table] = field(default_factory=list)
    max_ts: dt.datetime | None = None
    min_ts: dt.datetime | None = None

    def rejected_table(self) -> pa.Table:
        if not self.rejected:
            return REJECTED_SCHEMA.empty_table()
        return pa.concat_tables(self.rejected)

    def count(self, reason: str) -> int:
        return sum(int(pc.sum(pc.equal(t["reason"], reason)).as_py() or 0) for t in self.rejected)


def _rejected(table: pa.Table, reason: str) -> pa.Table:
    n = table.num_rows
    return pa.table(
        {
            "reason": pa.array([reason] * n, pa.string()),
            "event_id": table["event_id"].cast(pa.string()),
            "account_id": table["account_id"].cast(pa.string()),
            "event_time": table["timestamp"].cast(TIMESTAMP),
            "source": pa.array(["state"] * n, pa.string()),
        },
        schema=REJECTED_SCHEMA,
    )


def _store_files_for_days(store_events: Path, days: list[str]) -> list[str]:
    files: list[str] = []
    for d in days:
        files.extend(str(p) for p in sorted((store_events / f"day={d}").glob("*.parquet")))
    return files


def _known_ids(con: object, batch: pa.Table, store_events: Path) -> pa.Array:
    """Event ids of ``batch`` already in the store (only the days the batch touches are read)."""
    micros = batch["timestamp"].cast(pa.int64())
    mm = pc.min_max(micros).as_py()
    days = [day_label(d) for d in range(mm["min"] // _MICROS_PER_DAY, mm["max"] // _MICROS_PER_DAY + 1)]
    files = _store_files_for_days(store_events, days)
    if not files:
        return pa.array([], pa.string())
    con.register("_dg_batch_ids", pa.table({"event_id": batch["event_id"]}))  # type: ignore[attr-defined]
    try:
        rows = con.sql(  # type: ignore[attr-defined]
            "SELECT DISTINCT s.event_id FROM read_parquet($files, union_by_name = true) s"
            " SEMI JOIN _dg_batch_ids b ON s.event_id = b.event_id",
            params={"files": files},
        ).to_arrow_table()
    finally:
        con.unregister("_dg_batch_ids")  # type: ignore[attr-defined]
    return rows["event_id"].combine_chunks().cast(pa.string())


def stage(
    batches: Iterator[pa.RecordBatch],
    staging: Path,
    store_events: Path,
    *,
    watermark: dt.datetime | None,
    allowed_lateness: dt.timedelta,
) -> Staged:
    """Write the new events of ``batches`` under ``staging/events/day=*/`` (see module doc)."""
    out = Staged()
    floor = None if watermark is None else watermark - allowed_lateness
    writer = DayPartitionWriter(staging / "events")
    con = _duck.connect()
    try:
        for batch in batches:
            table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
            if table.num_rows == 0:
                continue
            ts = table["timestamp"]
            if floor is not None:
                old = pc.less_equal(ts, pa.scalar(floor, ts.type))
                if pc.any(old).as_py():
                    out.rejected.append(_rejected(table.filter(old), TOO_LATE))
                    table = table.filter(pc.invert(old))
                if table.num_rows == 0:
                    continue
                known = _known_ids(con, table, store_events)
                if len(known):
                    dup = pc.is_in(table["event_id"], known)
                    out.rejected.append(_rejected(table.filter(dup), DUPLICATE))
                    table = table.filter(pc.invert(dup))
                if table.num_rows == 0:
                    continue
                ts = table["timestamp"]
                out.events_late += int(pc.sum(pc.less_equal(ts, pa.scalar(watermark, ts.type))).as_py() or 0)
            mm = pc.min_max(table["timestamp"]).as_py()
            out.max_ts = mm["max"] if out.max_ts is None else max(out.max_ts, mm["max"])
            out.min_ts = mm["min"] if out.min_ts is None else min(out.min_ts, mm["min"])
            out.events_new += table.num_rows
            writer.write(table)
    finally:
        writer.close()
        con.close()
    out.files = _rename_parts(staging, writer.files)
    return out


def _rename_parts(staging: Path, files: list[Path]) -> list[str]:
    """``events/day=D/part-k.parquet`` -> ``events/day=D/inc-<N>-part-k.parquet`` (unique in the store)."""
    tag = staging.name
    rel: list[str] = []
    for f in files:
        if not f.exists():
            continue
        target = f.with_name(f"{tag}-{f.name}")
        f.rename(target)
        rel.append(str(target.relative_to(staging)))
    return sorted(rel)
