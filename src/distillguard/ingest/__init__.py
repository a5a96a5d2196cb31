"""ingest: raw API logs -> validated events (``events/day=*/``) + quarantine.

Readers: Parquet, JSON lines, CSV/TSV (plain or gzip), OTLP/JSON trace exports
(``format="otel"``), LiteLLM spend logs (``format="litellm"``), and anything else
through a column-mapping file (YAML/TOML; see ``examples/``). Validation follows
``shared/spec/events.md`` "Bad input": every row read is either accepted or
quarantined with a reason, never dropped. Hostile input is bounded by named limits
(``ValidationOptions``: nesting depth, id and text lengths), reported in the summary.
"""

from __future__ import annotations

from distillguard.ingest._api import IngestResult, ingest, iter_event_batches, open_events
from distillguard.ingest._mapping import Mapping, load_mapping
from distillguard.ingest._sources import is_event_dir
from distillguard.ingest._validate import ValidationOptions
from distillguard.ingest._writer import WriterOptions

__all__ = [
    "IngestResult",
    "Mapping",
    "ValidationOptions",
    "WriterOptions",
    "ingest",
    "is_event_dir",
    "iter_event_batches",
    "load_mapping",
    "open_events",
]
