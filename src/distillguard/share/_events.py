"""Event inputs for sharing: event directories, Parquet files, or in-memory tables.

Sharing reads only a few columns (account, time, identifiers, prompt), so inputs are
exposed to DuckDB as one projected view ``events`` (an Ibis expression) with the missing optional columns
filled with nulls; nothing is materialized in Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from distillguard.errors import DistillguardError
from distillguard.schema import EVENT_SCHEMA

if TYPE_CHECKING:
    import duckdb
    import pyarrow.dataset as ds

#: Columns the sharing stage reads from events.
SHARE_COLUMNS: tuple[str, ...] = (
    "account_id",
    "timestamp",
    "client_ip",
    "user_agent",
    "tls_fingerprint",
    "payment_fingerprint",
    "prompt",
)

if not set(SHARE_COLUMNS) <= set(EVENT_SCHEMA.names):  # pragma: no cover - schema drift guard
    raise ImportError("SHARE_COLUMNS drifted from schema.EVENT_SCHEMA")

EventSource = str | os.PathLike[str] | pa.Table | pa.RecordBatch


def _dataset_of(path: Path) -> ds.Dataset:
    import pyarrow.dataset as ds

    from distillguard.ingest import is_event_dir, open_events

    if is_event_dir(path):
        return open_events(path)
    if (path / "events").is_dir():
        return ds.dataset(path / "events", format="parquet", partitioning="hive")
    if path.is_dir() and any(path.rglob("*.parquet")):
        return ds.dataset(path, format="parquet", partitioning="hive")
    if path.is_file() and path.suffix == ".parquet":
        return ds.dataset(path, format="parquet")
    raise DistillguardError(
        f"{path} is not an event directory or Parquet file (run `distillguard ingest` first)"
    )


def resolve_sources(inputs: Sequence[EventSource] | EventSource) -> list[pa.Table | ds.Dataset]:
    """Open every input; a missing path is a one-line error."""
    if isinstance(inputs, str | os.PathLike | pa.Table | pa.RecordBatch):
        inputs = [inputs]
    out: list[Any] = []
    for item in inputs:
        if isinstance(item, pa.RecordBatch):
            out.append(pa.Table.from_batches([item]))
        elif isinstance(item, pa.Table) or (hasattr(item, "to_table") and hasattr(item, "schema")):
            out.append(item)
        else:
            path = Path(item)
            if not path.exists():
                raise DistillguardError(f"event input {path} does not exist")
            out.append(_dataset_of(path))
    if not out:
        raise DistillguardError("no event input given")
    return out


def register_events(con: duckdb.DuckDBPyConnection, sources: list[Any], name: str = "events") -> None:
    """Create view ``name`` over all sources with :data:`SHARE_COLUMNS` (missing -> null)."""
    import ibis

    from distillguard.features._timeline import ibis_backend

    be = ibis_backend(con)
    parts = []
    for i, src in enumerate(sources):
        alias = f"_dg_src{i}"
        # Arrow tables and datasets are scanned in place (DuckDB's Python API: no copy)
        con.register(alias, src)
        present = set(src.schema.names)
        if not {"account_id", "timestamp"} <= present:
            raise DistillguardError("event input lacks account_id/timestamp columns")
        t = be.table(alias)
        columns = {}
        for col in SHARE_COLUMNS:
            typ = "timestamp('UTC')" if col == "timestamp" else "string"
            columns[col] = t[col].cast(typ) if col in present else ibis.null(typ)
        parts.append(t.select(**columns))
    be.create_view(name, ibis.union(*parts), overwrite=True)


def events_from_scan_meta(scan_dir: Path) -> list[str]:
    """The event inputs a scan recorded in ``scan_meta.json`` (``inputs``)."""
    meta_path = scan_dir / "scan_meta.json"
    if not meta_path.is_file():
        raise DistillguardError(f"{scan_dir} has no scan_meta.json; pass --events DIR")
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        raise DistillguardError(f"{meta_path} is not valid JSON") from None
    inputs = meta.get("inputs") if isinstance(meta, dict) else None
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs or not all(isinstance(i, str) for i in inputs):
        raise DistillguardError(f"{meta_path} lists no event inputs; pass --events DIR")
    resolved = [
        str((scan_dir / i) if not Path(i).is_absolute() and (scan_dir / i).exists() else i) for i in inputs
    ]
    return resolved
