"""The features' input: validated events (via ingest) enriched in one pass (via enrich).

Enrichment runs over the whole input at once rather than per file batch: template families
and instruction frames are found by clustering across the batch, so one batch means one
consistent family id per template across all accounts. ``as_of`` is applied before
enrichment, so a scan "as of T" never learns from later prompts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.errors import DistillguardError
from distillguard.schema import QUARANTINE_SCHEMA

#: Prompt-text columns dropped for a metadata-only scan.
PROMPT_COLUMNS: tuple[str, ...] = ("prompt", "system_prompt")


@dataclass
class LoadedEvents:
    events: pa.Table  #: enriched events
    quarantine: pa.Table  #: QUARANTINE_SCHEMA rows from ingest
    has_prompts: bool  #: prompt text present and used
    event_inputs: list[str]  #: event directories (for the report / share stage), if any
    enrich_note: str  #: how enrichment ran


def _read_inputs(inputs: Sequence[str | Path]) -> tuple[pa.Table, pa.Table, list[str]]:
    paths = [Path(p) for p in inputs]
    for p in paths:
        if not p.exists():
            raise DistillguardError(f"input {p} does not exist")
    from distillguard import ingest

    is_event_dir = getattr(ingest, "is_event_dir", _is_event_dir)
    open_events = getattr(ingest, "open_events", _open_events)
    if all(is_event_dir(p) for p in paths):
        tables, quarantines = [], []
        for p in paths:
            tables.append(open_events(p).to_table())
            q = p / "quarantine.parquet"
            if q.is_file():
                import pyarrow.parquet as pq

                quarantines.append(pq.read_table(q))
        events = pa.concat_tables(tables, promote_options="permissive") if tables else None
        quarantine = pa.concat_tables(quarantines, promote_options="permissive") if quarantines else None
        return events, quarantine, [str(p.resolve()) for p in paths]
    if not hasattr(ingest, "iter_event_batches"):
        raise DistillguardError("raw logs need the ingest stage; pass an event directory instead")
    accepted, rejected = [], []
    for batch, bad in ingest.iter_event_batches([str(p) for p in paths]):
        if batch.num_rows:
            accepted.append(pa.Table.from_batches([batch]))
        if bad is not None and bad.num_rows:
            rejected.append(bad)
    events = pa.concat_tables(accepted, promote_options="permissive") if accepted else None
    quarantine = pa.concat_tables(rejected, promote_options="permissive") if rejected else None
    return events, quarantine, []


def _is_event_dir(path: Path) -> bool:
    """Fallback while ingest lacks ``is_event_dir``: DIR/events/ holding Parquet."""
    return (path / "events").is_dir() and any((path / "events").rglob("*.parquet"))


def _open_events(path: Path) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(path / "events", format="parquet", partitioning="hive")


def _enrich(events: pa.Table, infra: Sequence[str | Path] | None) -> tuple[pa.Table, str]:
    try:
        from distillguard.enrich import enrich
        from distillguard.enrich.ip_infra import IpInfra
    except ImportError:
        return events, "enrich stage unavailable: no IP infrastructure or template columns"
    ipi = IpInfra.from_paths([str(p) for p in infra]) if infra else IpInfra.builtin()
    if events.num_rows == 0:
        return events, "empty input"
    # enrich takes the table as is: combining chunks into one batch first would hold a second
    # full copy of the input (prompt text included) at the peak of memory use
    return enrich(events, ipi), "enriched in one pass"


def load_events(
    inputs: Sequence[str | Path],
    *,
    infra: Sequence[str | Path] | None = None,
    metadata_only: bool = False,
    as_of: dt.datetime | None = None,
) -> LoadedEvents:
    """Read, cut at ``as_of``, strip prompts if asked, enrich."""
    events, quarantine, event_inputs = _read_inputs(inputs)
    if events is None or events.num_rows == 0:
        raise DistillguardError("no valid events in the input (see quarantine)")
    if as_of is not None:
        events = events.filter(pc.less_equal(events["timestamp"], pa.scalar(as_of, events["timestamp"].type)))
    if metadata_only:
        events = events.drop_columns([c for c in PROMPT_COLUMNS if c in events.column_names])
    has_prompts = "prompt" in events.column_names and events["prompt"].null_count < events.num_rows
    events, note = _enrich(events, infra)
    if quarantine is None:
        quarantine = QUARANTINE_SCHEMA.empty_table()
    return LoadedEvents(events, quarantine, bool(has_prompts), event_inputs, note)
