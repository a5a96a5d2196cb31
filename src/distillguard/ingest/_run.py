"""One ingest run: files -> raw batches -> mapped -> validated -> deduplicated batches.

The run owns what spans batches: the set of event ids already accepted (duplicate
detection across all files), the types of extra columns (so every output file has
compatible columns), and the counters that become ``ingest_summary.json``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.ingest._dedup import HashSet64, hash64
from distillguard.ingest._jsonl import DEFAULT_BLOCK_BYTES, open_stream
from distillguard.ingest._mapping import Mapping, apply_mapping, load_mapping
from distillguard.ingest._presets import resolve
from distillguard.ingest._raw import RawBatch
from distillguard.ingest._readers import DEFAULT_BATCH_ROWS, read_source
from distillguard.ingest._sources import (
    ARROW_CONTAINERS,
    CONTAINERS,
    FORMATS,
    TABLE_CONTAINERS,
    SourceFile,
    expand_inputs,
)
from distillguard.ingest._validate import CODE, ValidationOptions, quarantine_rows, validate
from distillguard.schema import EVENT_COLUMNS, QUARANTINE_REASONS, QUARANTINE_SCHEMA

Progress = Callable[[str, int], None]


@dataclass
class FileStats:
    path: str
    container: str
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    skipped_spans: int = 0


@dataclass
class RunStats:
    """Counters of one run; ``accepted + quarantined == rows_read`` always."""

    rows_read: int = 0
    accepted: int = 0
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    skipped_spans: int = 0
    #: column -> accepted rows whose value was cut to its limit (see ``_validate``)
    truncated: Counter[str] = field(default_factory=Counter)
    first_us: int | None = None
    last_us: int | None = None
    files: list[FileStats] = field(default_factory=list)
    accounts: HashSet64 = field(default_factory=HashSet64)

    @property
    def quarantined(self) -> int:
        return sum(self.quarantined_by_reason.values())


def _as_batch(table: pa.Table) -> pa.RecordBatch:
    table = table.combine_chunks()
    batches = table.to_batches()
    if len(batches) == 1:
        return batches[0]
    if not batches:
        return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in table.schema], schema=table.schema)
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _preflight(src: SourceFile) -> None:
    """Fail before writing anything when a file cannot even be opened."""
    if not os.access(src.path, os.R_OK):
        raise UnreadableInputError(src.path, "permission denied" if src.path.exists() else "no such file")
    if src.container in TABLE_CONTAINERS:
        from distillguard.ingest._lake import open_table

        open_table(src)  # the log / metadata and the list of data files, no data
        return
    try:
        if src.container == "parquet":
            pq.read_metadata(str(src.path))
        else:
            with open_stream(src) as stream:
                stream.read(1)
    except (OSError, EOFError, pa.ArrowException) as err:
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnreadableInputError(src.path, why[:200]) from None


class IngestRun:
    """Reads, maps, validates and deduplicates; yields (accepted, quarantined) per batch."""

    def __init__(
        self,
        inputs: list[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        format: str = "auto",
        mapping: Mapping | str | os.PathLike[str] | None = None,
        account_from: str | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
        options: ValidationOptions | None = None,
        progress: Progress | None = None,
    ) -> None:
        if format not in FORMATS:
            raise DistillguardError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
        if isinstance(inputs, str | os.PathLike):
            inputs = [inputs]
        user = load_mapping(mapping) if isinstance(mapping, str | os.PathLike) else mapping
        self.mapping, self.derive = resolve(format, user, account_from)
        container = format if format in CONTAINERS else (self.mapping.format or "auto")
        if self.mapping.preset == "otel":
            container = "otel"
        self.files, self.skipped_files = expand_inputs(list(inputs), container)
        if self.mapping.delimiter:
            self.files = [replace(f, delimiter=self.mapping.delimiter) for f in self.files]
        for src in self.files:
            _preflight(src)
        opts = options or ValidationOptions()
        self.options = replace(
            opts,
            timestamp_unit=self.mapping.timestamp_unit,
            timestamp_format=self.mapping.timestamp_format,
            timestamp_origin_us=self.mapping.timestamp_origin_us,
            defaults={**opts.defaults, **self.mapping.defaults},
        )
        self.format = format
        self.batch_rows = batch_rows
        self.block_bytes = block_bytes
        self.progress = progress
        self.stats = RunStats()
        self.extra_types: dict[str, pa.DataType] = {}
        self._seen_ids = HashSet64()

    def __iter__(self) -> Iterator[tuple[pa.RecordBatch, pa.Table]]:
        for src in self.files:
            fstats = FileStats(src.name, src.container)
            self.stats.files.append(fstats)
            for raw in read_source(
                src,
                batch_rows=self.batch_rows,
                block_bytes=self.block_bytes,
                max_depth=self.options.max_nesting_depth,
            ):
                accepted, quarantined = self._process(src, raw)
                fstats.rows_read += raw.rows_read
                fstats.accepted += accepted.num_rows
                fstats.quarantined += quarantined.num_rows
                fstats.skipped_spans += raw.skipped_spans
                if self.progress is not None:
                    self.progress(src.name, raw.rows_read)
                yield accepted, quarantined

    def _process(self, src: SourceFile, raw: RawBatch) -> tuple[pa.RecordBatch, pa.Table]:
        n = raw.table.num_rows
        source = self._with_virtual_columns(raw)
        if self.derive is not None and n:
            source = self.derive(source, self.mapping)
        mapped = apply_mapping(source, self.mapping)
        verdicts = validate(mapped, n, self.options, stringify_extras=src.container not in ARROW_CONTAINERS)
        events, codes, details = verdicts.events, verdicts.codes, verdicts.details
        self._mark_duplicates(events, codes, details)
        keep = codes == 0
        for name, cut in verdicts.truncated.items():
            self.stats.truncated[name] += int((cut & keep).sum())
        accepted = self._conform_extras(events.filter(pa.array(keep)))
        shown = raw.table.drop([c for c in self.mapping.drop if c in raw.table.column_names])
        rejected = quarantine_rows(shown, events, codes, details, src.name, raw.row_numbers)
        quarantined = pa.concat_tables([raw.malformed.cast(QUARANTINE_SCHEMA), rejected])
        self._count(raw, accepted, quarantined)
        return _as_batch(accepted), quarantined

    def _with_virtual_columns(self, raw: RawBatch) -> pa.Table:
        """Add ``$row_number``, ``$source`` and ``$row_id`` when the mapping asks for them.

        They let sources without ids (traces, aggregates) get a stable event id:
        ``$row_id`` is ``<file name>:<row number>``.
        """
        wanted = {s for sources in self.mapping.columns.values() for s in sources if s.startswith("$")}
        table = raw.table
        if not wanted:
            return table
        n = table.num_rows
        name = os.path.basename(raw.source)
        numbers = raw.row_numbers
        if "$row_number" in wanted:
            table = table.append_column("$row_number", numbers)
        if "$source" in wanted:
            table = table.append_column("$source", pa.array([name] * n, pa.string()))
        if "$row_id" in wanted:
            row_id = pc.binary_join_element_wise(name, numbers.cast(pa.string()), ":")
            table = table.append_column("$row_id", row_id)
        return table

    def _mark_duplicates(self, events: pa.Table, codes: np.ndarray, details: np.ndarray) -> None:
        """First copy of an event id (in input order, among valid rows) wins."""
        candidates = np.flatnonzero(codes == 0)
        if len(candidates) == 0:
            return
        ids = events.column("event_id")
        if len(candidates) < len(codes):
            ids = ids.take(pa.array(candidates))
        fresh = self._seen_ids.add_new(hash64(ids.combine_chunks()))
        codes[candidates[~fresh]] = CODE["duplicate_event_id"]
        details[candidates[~fresh]] = "event_id seen before (the first copy is kept)"

    def _conform_extras(self, table: pa.Table) -> pa.Table:
        """Give every extra column the type it had when first seen in this run."""
        for i, f in enumerate(table.schema):
            if f.name in EVENT_COLUMNS:
                continue
            known = self.extra_types.get(f.name)
            if known is None or pa.types.is_null(known):
                self.extra_types[f.name] = f.type
                continue
            if f.type == known:
                continue
            try:
                col = table.column(i).cast(known)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise DistillguardError(
                    f"extra column {f.name!r} is {known} in one input and {f.type} in another; "
                    "rename or drop it with a mapping file"
                ) from None
            table = table.set_column(i, pa.field(f.name, known), col)
        return table

    def _count(self, raw: RawBatch, accepted: pa.Table, quarantined: pa.Table) -> None:
        s = self.stats
        s.rows_read += raw.rows_read
        s.accepted += accepted.num_rows
        s.skipped_spans += raw.skipped_spans
        if quarantined.num_rows:
            reasons, counts = np.unique(quarantined.column("reason").to_numpy(), return_counts=True)
            s.quarantined_by_reason.update({str(r): int(c) for r, c in zip(reasons, counts, strict=True)})
        if accepted.num_rows:
            lo, hi = pc.min_max(accepted.column("timestamp").cast(pa.int64())).values()
            s.first_us = lo.as_py() if s.first_us is None else min(s.first_us, lo.as_py())
            s.last_us = hi.as_py() if s.last_us is None else max(s.last_us, hi.as_py())
            accounts = pc.unique(accepted.column("account_id").combine_chunks())
            s.accounts.add_new(hash64(accounts))
        if s.accepted + s.quarantined != s.rows_read:  # pragma: no cover - an invariant
            raise AssertionError("ingest lost rows: accepted + quarantined != read")


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")


def summary_dict(run: IngestRun, *, days: list[str], seconds: float) -> dict[str, Any]:
    """What ``ingest_summary.json`` holds."""
    s = run.stats
    by_reason = {r: int(s.quarantined_by_reason.get(r, 0)) for r in QUARANTINE_REASONS}
    return {
        "schema_version": "1",
        "format": run.format,
        "preset": run.mapping.preset,
        "rows_read": s.rows_read,
        "accepted": s.accepted,
        "quarantined": s.quarantined,
        "quarantined_by_reason": by_reason,
        "skipped_non_genai_spans": s.skipped_spans,
        "skipped_files": run.skipped_files,
        "first_event": _iso(s.first_us),
        "last_event": _iso(s.last_us),
        "accounts": len(s.accounts),
        "days": days,
        "extra_columns": {k: str(v) for k, v in run.extra_types.items()},
        "thresholds": {
            "min_timestamp": run.options.min_timestamp.isoformat(),
            "max_timestamp": run.options.max_timestamp.isoformat(),
            **run.options.limits(),
        },
        "truncated": {k: int(v) for k, v in sorted(s.truncated.items())},
        "mapping": {
            "columns": {k: list(v) for k, v in run.mapping.columns.items()},
            "timestamp_unit": run.mapping.timestamp_unit,
            "timestamp_format": run.mapping.timestamp_format,
            "account_from": run.mapping.account_from,
        },
        "files": [vars(f) for f in s.files],
        "seconds": round(seconds, 3),
        "events_per_second": round(s.rows_read / seconds, 1) if seconds > 0 else None,
        "written_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def now() -> float:
    return time.perf_counter()
