"""The ingest stage's public functions: ``ingest``, ``iter_event_batches``, ``open_events``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from distillguard.errors import DistillguardError
from distillguard.ingest._mapping import Mapping
from distillguard.ingest._readers import DEFAULT_BATCH_ROWS
from distillguard.ingest._run import IngestRun, Progress, now, summary_dict
from distillguard.ingest._sources import is_event_dir
from distillguard.ingest._validate import ValidationOptions
from distillguard.ingest._writer import DayPartitionWriter, QuarantineWriter, WriterOptions
from distillguard.schema import EVENT_SCHEMA

SUMMARY_NAME = "ingest_summary.json"
QUARANTINE_NAME = "quarantine.parquet"
EVENTS_NAME = "events"

PathLike = str | os.PathLike[str]


class NoEventsAccepted(DistillguardError):
    """An ingest that read no row, or quarantined every row it read."""

    def __init__(self, out: Path, summary: dict[str, Any]) -> None:
        read = summary["rows_read"]
        if read == 0:
            files = len(summary["files"])
            message = f"no rows in the input ({files} file(s), all empty); nothing was ingested into {out}"
        else:
            reasons = sorted(((n, r) for r, n in summary["quarantined_by_reason"].items() if n), reverse=True)
            why = ", ".join(f"{n:,} {r}" for n, r in reasons)
            message = (
                f"no row accepted: all {read:,} rows read were quarantined ({why}); "
                f"see {out / QUARANTINE_NAME} (columns reason, detail)"
            )
        super().__init__(message)
        self.summary = summary


@dataclass
class IngestResult:
    """What one ``ingest`` wrote and counted (also in ``ingest_summary.json``)."""

    out: Path
    rows_read: int
    accepted: int
    quarantined: int
    quarantined_by_reason: dict[str, int]
    accounts: int
    first_event: str | None
    last_event: str | None
    days: list[str]
    skipped_non_genai_spans: int
    skipped_files: list[str]
    seconds: float
    summary: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def events_dir(self) -> Path:
        return self.out / EVENTS_NAME

    @property
    def quarantine_path(self) -> Path:
        return self.out / QUARANTINE_NAME


def iter_event_batches(
    inputs: PathLike | list[PathLike],
    *,
    format: str = "auto",
    mapping: Mapping | PathLike | None = None,
    account_from: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    options: ValidationOptions | None = None,
) -> Iterator[tuple[pa.RecordBatch, pa.Table]]:
    """Stream ``(accepted events, quarantined rows)`` per input batch, writing nothing.

    Accepted batches have EVENT_SCHEMA columns first, then the source's extra
    columns; duplicates are detected across the whole stream.
    """
    run = IngestRun(
        inputs,
        format=format,
        mapping=mapping,
        account_from=account_from,
        batch_rows=batch_rows,
        options=options,
    )
    yield from run


def _prepare_out(out: Path, inputs: list[PathLike], overwrite: bool) -> None:
    targets = [out / EVENTS_NAME, out / QUARANTINE_NAME, out / SUMMARY_NAME]
    resolved_out = out.resolve()
    for raw in inputs:
        p = Path(raw)
        if p.exists() and p.resolve() in (resolved_out, *(t.resolve() for t in targets)):
            raise DistillguardError(f"--out {out} is also an input; write to another directory")
    if any(t.exists() for t in targets):
        if not overwrite:
            raise DistillguardError(f"{out} already holds ingest output; pass --overwrite to replace it")
        shutil.rmtree(out / EVENTS_NAME, ignore_errors=True)
        for t in targets[1:]:
            t.unlink(missing_ok=True)
    if out.exists() and not out.is_dir():
        raise DistillguardError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)


def ingest(
    inputs: PathLike | list[PathLike],
    out: PathLike,
    *,
    format: str = "auto",
    mapping: Mapping | PathLike | None = None,
    account_from: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    overwrite: bool = False,
    options: ValidationOptions | None = None,
    writer_options: WriterOptions | None = None,
    progress: Progress | None = None,
    require_events: bool = True,
) -> IngestResult:
    """Read, validate and write an event directory (ARCHITECTURE.md layout) at ``out``.

    A file that cannot be read stops the run with UnreadableInputError and leaves
    no partial output behind. ``options`` holds the validation limits (timestamp window,
    nesting depth, id and text lengths; see ``ValidationOptions``).

    A run that accepts no row (empty or all-garbage input) writes its quarantine and
    summary, then raises :class:`NoEventsAccepted`, a DistillguardError (exit 2 on the
    command line): an empty event directory is almost never what was meant, and a scan
    of it would only fail later. ``require_events=False`` returns the empty result.
    """
    started = now()
    input_list = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    out_dir = Path(out)
    run = IngestRun(
        input_list,
        format=format,
        mapping=mapping,
        account_from=account_from,
        batch_rows=batch_rows,
        options=options,
        progress=progress,
    )
    _prepare_out(out_dir, input_list, overwrite)
    events = DayPartitionWriter(out_dir / EVENTS_NAME, writer_options)
    quarantine = QuarantineWriter(out_dir / QUARANTINE_NAME)
    try:
        for accepted, rejected in run:
            if accepted.num_rows:
                events.write(pa.Table.from_batches([accepted]))
            quarantine.write(rejected)
        events.close()
        quarantine.close()
    except BaseException:
        events.close()
        quarantine.close()
        shutil.rmtree(out_dir / EVENTS_NAME, ignore_errors=True)
        (out_dir / QUARANTINE_NAME).unlink(missing_ok=True)
        raise
    (out_dir / EVENTS_NAME).mkdir(parents=True, exist_ok=True)
    seconds = now() - started
    summary = summary_dict(run, days=events.days, seconds=seconds)
    (out_dir / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if require_events and summary["accepted"] == 0:
        raise NoEventsAccepted(out_dir, summary)
    return IngestResult(
        out=out_dir,
        rows_read=summary["rows_read"],
        accepted=summary["accepted"],
        quarantined=summary["quarantined"],
        quarantined_by_reason=summary["quarantined_by_reason"],
        accounts=summary["accounts"],
        first_event=summary["first_event"],
        last_event=summary["last_event"],
        days=summary["days"],
        skipped_non_genai_spans=summary["skipped_non_genai_spans"],
        skipped_files=summary["skipped_files"],
        seconds=seconds,
        summary=summary,
    )


def open_events(path: PathLike) -> ds.Dataset:
    """The events of an event directory as one dataset (EVENT_SCHEMA + extras, unified).

    The dataset schema is EVENT_SCHEMA followed by the union of the part files'
    extra columns; a file lacking a column reads it as null. The ``day=``
    directories are not exposed as a column (``timestamp`` carries the time).
    """
    root = Path(path)
    if not is_event_dir(root):
        raise DistillguardError(f"{root} is not an event directory (no events/day=*/ inside)")
    return open_event_files(sorted((root / EVENTS_NAME).rglob("*.parquet")), str(root))


def open_event_files(files: list[Path], where: str) -> ds.Dataset:
    """Part files of an event directory (e.g. one increment's) as one dataset, as :func:`open_events`."""
    fields = list(EVENT_SCHEMA)
    names = set(EVENT_SCHEMA.names)
    extras: list[pa.Schema] = []
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as err:
            raise DistillguardError(f"cannot read {f}: {str(err).splitlines()[0]}") from None
        extra_fields = [fld for fld in schema if fld.name not in names]
        if extra_fields:
            extras.append(pa.schema(extra_fields))
    if extras:
        try:
            unified = pa.unify_schemas(extras, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise DistillguardError(f"{where}: extra columns disagree in type ({err})") from None
        fields.extend(unified)
    schema = pa.schema(fields, metadata=EVENT_SCHEMA.metadata)
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet")


__all__ = ["IngestResult", "ingest", "is_event_dir", "iter_event_batches", "open_events"]
