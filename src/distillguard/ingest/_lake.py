"""Delta Lake and Apache Iceberg tables, read as Arrow record batches (the ``lake`` extra).

Delta Lake through delta-rs (``deltalake``): the table's current version, as the
files its log adds and has not removed, read as a pyarrow dataset one batch at a time.
A table whose protocol needs deletion vectors or column mapping (which pyarrow datasets
cannot apply) is read through delta-rs's own streaming scan instead.

Iceberg through ``pyiceberg`` without a catalog: a static table loaded from its
current metadata file (``metadata/version-hint.text`` if present, else the
highest-numbered ``metadata/*.metadata.json``, or the ``.metadata.json`` file given),
scanned one data file after another with its position deletes and deletion vectors
applied. pyiceberg cannot apply equality deletes: such a table stops the run with one line.

Both libraries are imported here only, when a table is read; without them the run
stops with one line naming the extra to install. Any failure of theirs to open or read
a table becomes :class:`UnreadableInputError` (one line, the table named).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.ingest._readers import event_batches
from distillguard.ingest._sources import ICEBERG_METADATA_SUFFIX, SourceFile

#: ``pip install 'distillguard[lake]'`` installs both readers.
LAKE_EXTRA = "lake"
_LIBRARIES = {"delta": ("deltalake", "Delta Lake"), "iceberg": ("pyiceberg", "Iceberg")}
#: Delta reader features that pyarrow datasets cannot apply (delta-rs's scan can).
_SCAN_ONLY_FEATURES = {"deletionVectors", "columnMapping"}
_VERSION = re.compile(r"^v?(\d+)[-.]")


def _require(kind: str, module: str) -> ModuleType:
    package, what = _LIBRARIES[kind]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DistillguardError(
            f"reading {what} tables needs the {package} package: pip install 'distillguard[{LAKE_EXTRA}]'"
        ) from None


def _why(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    first = lines[0].strip() if lines else ""
    return (f"{type(err).__name__}: {first}" if first else type(err).__name__)[:200]


def iceberg_metadata_file(path: Path) -> Path:
    """The current metadata file of the Iceberg table at ``path`` (or ``path`` itself if a file)."""
    if path.is_file():
        return path
    metadata = path / "metadata"
    hint = metadata / "version-hint.text"
    if hint.is_file():
        text = hint.read_text(encoding="utf-8", errors="replace").strip()
        if text.endswith(ICEBERG_METADATA_SUFFIX):
            named = metadata / text
        elif text.isdigit():
            named = metadata / f"v{text}{ICEBERG_METADATA_SUFFIX}"
        else:
            named = metadata / f"{text}{ICEBERG_METADATA_SUFFIX}"
        if named.is_file():
            return named
    candidates = list(metadata.glob("*" + ICEBERG_METADATA_SUFFIX))
    if not candidates:
        raise UnreadableInputError(path, f"no metadata/*{ICEBERG_METADATA_SUFFIX}: not an Iceberg table")

    def version(p: Path) -> tuple[int, float, str]:
        m = _VERSION.match(p.name)
        return (int(m.group(1)) if m else -1, p.stat().st_mtime, p.name)

    return max(candidates, key=version)


def _open_delta(src: SourceFile) -> tuple[str, Any]:
    deltalake = _require("delta", "deltalake")
    table = deltalake.DeltaTable(str(src.path))
    features = set(table.protocol().reader_features or ())
    if features & _SCAN_ONLY_FEATURES:
        # deletion vectors / column mapping: delta-rs's own streaming scan applies them
        return ("scan", table)
    return ("dataset", table.to_pyarrow_dataset())


def _delta_batches(opened: tuple[str, Any], batch_rows: int) -> Iterator[pa.RecordBatch]:
    how, obj = opened
    if how == "scan":
        yield from pa.RecordBatchReader.from_stream(obj.scan())
        return
    yield from event_batches(obj, batch_rows)


def _open_iceberg(src: SourceFile) -> Any:
    table_module = _require("iceberg", "pyiceberg.table")
    _require("iceberg", "pyiceberg.io.pyarrow")
    location = iceberg_metadata_file(src.path)
    table = table_module.StaticTable.from_metadata(str(location.resolve()))
    scan = table.scan()
    return scan, list(scan.plan_files())


def _iceberg_batches(opened: Any) -> Iterator[pa.RecordBatch]:
    """One data file at a time; within a file, batch by batch where pyiceberg allows it."""
    from pyiceberg.io import pyarrow as pio

    scan, tasks = opened
    arrow_scan = pio.ArrowScan(
        scan.table_metadata, scan.io, scan.projection(), scan.row_filter, scan.case_sensitive
    )
    stream = getattr(arrow_scan, "_record_batches_from_scan_tasks_and_deletes", None)
    read_deletes = getattr(pio, "_read_all_delete_files", None)
    for task in tasks:
        if stream is not None and read_deletes is not None:
            # pyiceberg's public to_record_batches holds a whole data file in memory per task
            yield from stream([task], read_deletes(scan.io, [task]))
        else:  # pragma: no cover - other pyiceberg versions: one data file at a time
            yield from arrow_scan.to_record_batches([task])


def open_table(src: SourceFile) -> Any:
    """Open the table's current version (log or metadata, no data read); one-line errors."""
    try:
        if src.container == "delta":
            return _open_delta(src)
        return _open_iceberg(src)
    except DistillguardError:
        raise
    except Exception as err:  # the libraries raise their own types, ValueError, OSError, ...
        raise UnreadableInputError(src.path, _why(err)) from None


def read_table(src: SourceFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of a Delta or Iceberg table's current version, a bounded number at a time."""
    opened = open_table(src)
    batches = _delta_batches(opened, batch_rows) if src.container == "delta" else _iceberg_batches(opened)
    try:
        yield from batches
    except DistillguardError:
        raise
    except Exception as err:
        raise UnreadableInputError(src.path, _why(err)) from None
