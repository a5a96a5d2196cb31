"""The features' input: validated events (via ingest) enriched (via enrich), streamed to disk.

The input is read batch by batch and never held whole: each batch's prompts become 64-bit
hashes (``prompt_hash`` / ``system_hash``) and IP columns right away and the batch goes to a
Parquet file in a scratch directory; the template / family / frame / tag computation runs
*once* over the distinct texts of the whole input (:class:`distillguard.enrich._stream.
StreamEnricher`) and joins back by hash inside DuckDB when the scan registers the events
(:func:`~._prepare.register_events` reads :class:`~distillguard.enrich._spilled.SpilledEvents`).
Families are therefore consistent across all accounts exactly as in a one-pass ``enrich``,
while memory holds one batch plus one copy of each distinct text, whatever the input size.
``as_of`` is applied to each batch before enrichment, so a scan "as of T" never learns
from later prompts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._spilled import SpilledEvents
from distillguard.errors import DistillguardError
from distillguard.ingest._readers import event_batches
from distillguard.schema import QUARANTINE_SCHEMA

#: Prompt-text columns dropped for a metadata-only scan (and replaced by hashes otherwise).
PROMPT_COLUMNS: tuple[str, ...] = ("prompt", "system_prompt")
#: Rows gathered before a batch is enriched: large enough that per-batch work on distinct
#: values (IP lookups, hashing) is amortised, small enough that the few batches in flight
#: (read ahead, being enriched, being written) stay a small share of memory. Measured on the
#: 50M-event ``seed`` scenario's event directory (``load_events`` alone, resident memory
#: polled every 0.5 s, 2026-12-07): 1M rows peaked at 4.31 GB resident (2.8 GB of Arrow
#: buffers), 500K at 2.76 GB (1.7 GB), in the same time (66 / 68 s).
STREAM_BATCH_ROWS = 500_000
#: Rebatched tables read and validated ahead, by one thread, while the previous one is
#: enriched: ingest (parsing, validation, duplicate marking) and enrichment (hashing, IP
#: lookups, the spill) each spend most of their time in Arrow, numpy or DuckDB, outside the
#: GIL, so on two cores they overlap. One table waits at most: memory grows by one batch.
PREFETCH_TABLES = 1


@dataclass
class LoadedEvents:
    #: the enriched events on disk (hashed Parquet batches + per-text tables), read by
    #: :func:`~._prepare.register_events`; ``source.remove()`` frees the disk once registered
    source: SpilledEvents
    quarantine: pa.Table  #: QUARANTINE_SCHEMA rows from ingest
    has_prompts: bool  #: prompt text present and used
    event_inputs: list[str]  #: event directories (for the report / share stage), if any
    enrich_note: str  #: how enrichment ran
    compact: bool = False  #: :attr:`events` keeps only what the detection view reads

    @property
    def rows(self) -> int:
        """Number of loaded events."""
        return self.source.rows

    @property
    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        """(first, last) event ``timestamp``."""
        return self.source.time_range

    @cached_property
    def events(self) -> pa.Table:
        """All enriched events as one Arrow table (no raw prompt text), in input order.

        Materialized on first use, for tests and Arrow callers: the whole input in memory,
        which is what the scan avoids by registering :attr:`source` instead.
        """
        from distillguard.features._prepare import compact_events

        table = self.source.to_table()
        return compact_events(table) if self.compact else table


def _open_inputs(
    inputs: Sequence[str | Path],
) -> tuple[Iterator[pa.RecordBatch], list[pa.Table], list[str]]:
    """(event batches, quarantine tables filled while iterating, event directories)."""
    paths = [Path(p) for p in inputs]
    for p in paths:
        if not p.exists():
            raise DistillguardError(f"input {p} does not exist")
    from distillguard.ingest import is_event_dir, iter_event_batches, open_events

    quarantines: list[pa.Table] = []
    if all(is_event_dir(p) for p in paths):
        import pyarrow.parquet as pq

        for p in paths:
            if (p / "quarantine.parquet").is_file():
                quarantines.append(pq.read_table(p / "quarantine.parquet"))

        def dir_batches() -> Iterator[pa.RecordBatch]:
            for p in paths:
                yield from event_batches(open_events(p))

        return dir_batches(), quarantines, [str(p.resolve()) for p in paths]

    def raw_batches() -> Iterator[pa.RecordBatch]:
        for batch, bad in iter_event_batches([str(p) for p in paths]):
            if bad is not None and bad.num_rows:
                quarantines.append(bad)
            if batch.num_rows:
                yield batch

    return raw_batches(), quarantines, []


def _rebatch(
    batches: Iterator[pa.RecordBatch], as_of: dt.datetime | None, metadata_only: bool, rows: int
) -> Iterator[pa.Table]:
    """Cut at ``as_of``, strip prompts if asked, and regroup into ~``rows``-row tables."""
    buf: list[pa.Table] = []
    size = 0
    for batch in batches:
        table = pa.Table.from_batches([batch])
        if as_of is not None:
            ts = table["timestamp"]
            table = table.filter(pc.less_equal(ts, pa.scalar(as_of, ts.type)))
        if metadata_only:
            table = table.drop_columns([c for c in PROMPT_COLUMNS if c in table.column_names])
        if table.num_rows == 0:
            continue
        buf.append(table)
        size += table.num_rows
        if size >= rows:
            yield pa.concat_tables(buf, promote_options="permissive")
            buf, size = [], 0
    if buf:
        yield pa.concat_tables(buf, promote_options="permissive")


def _prefetched(tables: Iterator[pa.Table], depth: int = PREFETCH_TABLES) -> Iterator[pa.Table]:
    """``tables`` in order, produced by a background thread at most ``depth`` ahead.

    An exception in the producer is raised here, in the consumer's thread; a consumer that
    stops early (or fails) stops the producer before this generator returns.
    """
    import queue
    import threading

    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for table in tables:
                if not put(table):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="dg-ingest", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def load_events(
    inputs: Sequence[str | Path],
    *,
    infra: Sequence[str | Path] | None = None,
    metadata_only: bool = False,
    as_of: dt.datetime | None = None,
    compact: bool = False,
    spill_dir: str | Path | None = None,
    text_kernel: Any = None,
) -> LoadedEvents:
    """Stream, cut at ``as_of``, strip prompts if asked, enrich (prompt text -> hashes), spill.

    The hashed batches go to a fresh directory inside ``spill_dir`` (a private temporary
    directory when None). ``compact`` makes :attr:`LoadedEvents.events` keep only what the
    detection view reads, low-cardinality strings dictionary-encoded
    (:func:`~._prepare.compact_events`): same detection results, but not every input column
    survives. ``text_kernel`` computes the per-text template and tag parts
    (:data:`~distillguard.enrich._stream.TextKernel`; default: in this process).
    """
    batches, quarantines, event_inputs = _open_inputs(inputs)
    stream = _rebatch(batches, as_of, metadata_only, STREAM_BATCH_ROWS)
    from distillguard.enrich._stream import StreamEnricher
    from distillguard.enrich.ip_infra import IpInfra, default_infra

    ip_infra = IpInfra.from_paths([str(p) for p in infra]) if infra else default_infra()
    enricher = StreamEnricher(ip_infra, spill_dir=spill_dir, text_kernel=text_kernel)
    try:
        for table in _prefetched(stream):
            enricher.add(table)
        if not enricher.rows:
            raise DistillguardError("no valid events in the input (see quarantine)")
        source = enricher.finish_spilled()
    finally:
        enricher.close()
    # the batches are gone: hand the allocator's cached pages back before DuckDB's stages
    # (~0.65 GB of resident memory after 2M events, otherwise held through the scan)
    pa.default_memory_pool().release_unused()
    d = enricher.distinct
    note = (
        f"streamed in {enricher.batches_seen} batches; {d['prompt']} distinct prompts and "
        f"{d['system_prompt']} system prompts enriched once"
        + (f" (per-text kernels on {text_kernel.name})" if text_kernel is not None else "")
        + f"; IP knowledge: {ip_infra.label()}"
    )
    quarantine = (
        pa.concat_tables(quarantines, promote_options="permissive")
        if quarantines
        else QUARANTINE_SCHEMA.empty_table()
    )
    has_prompts = enricher.rows_with_prompt > 0
    return LoadedEvents(source, quarantine, has_prompts, event_inputs, note, compact)
