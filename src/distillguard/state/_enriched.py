"""Enrichment kept in the state, once per increment: enriching pays for new events only.

Why: every scoring of the state used to stream the whole event store through
:class:`~distillguard.enrich._stream.StreamEnricher` again (hash texts, annotate IPs,
normalize, MinHash, tag), work that grows with the history. Keeping it saved ~10% of an
increment's CPU on ``small`` (README, "Continuous mode"). Each committed increment's
events never change, so the state keeps, per increment:

* its hashed event batches (no raw text; IP columns added), as the batch scan spills them;
* the per-text parts of the texts it saw first (template id, LSH band keys, frame texts and
  ids, tag hits: :func:`~distillguard.enrich._stream.text_parts`), so each distinct text is
  normalized and MinHashed once in the state's life.

Scoring then clusters the parts of all texts together (template families and frame sides
depend on every text: ~1.4 s per 120K distinct prompts) and hands the scan the same
:class:`~distillguard.enrich._spilled.SpilledEvents` a batch scan builds, so verdicts are
those of a batch scan over the store. The cache is keyed by what enrichment depends on
(IP feeds, metadata-only, distillguard and DuckDB versions: text hashes are DuckDB's
``hash()``); another key rebuilds it from the store. Each increment's cache is written to a
temporary directory and renamed into place, so a killed run leaves either nothing or a
whole entry.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.state._store import Increment, StateStore

#: Directory of the cache inside the state.
ENRICHED = "enriched"
#: Bumped when the cached files' layout or meaning changes: an old cache is then rebuilt.
CACHE_VERSION = 1
_KEY_FILE = "key.json"
_DONE = "done.json"
_PROMPTS = "prompts.parquet"
_SYSTEMS = "systems.parquet"


def cache_key(infra_sources: Sequence[tuple[str, str]], metadata_only: bool) -> dict[str, Any]:
    """What the cached enrichment depends on; a different key means rebuild."""
    import duckdb

    from distillguard import __version__

    feeds = []
    for path, kind in infra_sources:
        p = Path(path)
        stat = p.stat() if p.is_file() else None
        feeds.append([path, kind, stat.st_size if stat else None, stat.st_mtime_ns if stat else None])
    return {
        "cache_version": CACHE_VERSION,
        "distillguard": __version__,
        "duckdb": duckdb.__version__,
        "metadata_only": metadata_only,
        "infra": feeds,
    }


class EnrichedCache:
    """Per-increment enriched events of one state (``DIR/enriched/inc-NNNNNN/``)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.root = store.root / ENRICHED

    def _dir(self, inc: int) -> Path:
        return self.root / f"inc-{inc:06d}"

    def _sync_key(self, key: dict[str, Any], committed: set[int]) -> None:
        """Drop the cache when its key changed, and entries of increments no longer committed."""
        key_file = self.root / _KEY_FILE
        try:
            old = json.loads(key_file.read_text())
        except (OSError, ValueError):
            old = None
        if old != key:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
            key_file.write_text(json.dumps(key, sort_keys=True))
            return
        for entry in self.root.iterdir():
            killed = entry.name.startswith(".tmp-")  # what a killed build left
            orphan = entry.name.startswith("inc-") and int(entry.name[4:]) not in committed
            if killed or orphan:
                shutil.rmtree(entry, ignore_errors=True)

    def load(
        self,
        increments: Sequence[Increment],
        *,
        infra: Sequence[str | Path] | None,
        metadata_only: bool,
    ) -> Any:
        """The events of ``increments`` (all committed, in order) as the scan's ``LoadedEvents``,
        enriching the increments not cached yet."""
        from distillguard.enrich._enrich import EnrichParams, _builtin_infra
        from distillguard.enrich._spilled import SpilledEvents
        from distillguard.enrich._stream import per_text_tables
        from distillguard.enrich.ip_infra import IpInfra
        from distillguard.errors import DistillguardError
        from distillguard.features._source import LoadedEvents
        from distillguard.schema import QUARANTINE_SCHEMA

        ip = IpInfra.from_paths([str(p) for p in infra]) if infra else _builtin_infra()
        self._sync_key(cache_key(ip.sources, metadata_only), {i.id for i in self.store.increments()})
        done: list[dict[str, Any]] = []
        parts: dict[str, list[pa.Table]] = {_PROMPTS: [], _SYSTEMS: []}  # each entry's, read once
        built = 0
        for inc in increments:
            folder = self._dir(inc.id)
            if not (folder / _DONE).is_file():
                self._build(inc, sum(d["rows"] for d in done), parts, ip, metadata_only)
                built += 1
            done.append(json.loads((folder / _DONE).read_text()))
            for name, tables in parts.items():
                tables.append(pq.read_table(folder / name))
        rows = sum(d["rows"] for d in done)
        if not rows:
            raise DistillguardError("no valid events in the state (see quarantine)")
        files = [self._dir(d["increment"]) / f for d in done for f in d["files"]]
        prompts, systems = (
            pa.concat_tables(parts[n], promote_options="permissive") for n in (_PROMPTS, _SYSTEMS)
        )
        prompt_text, system_text, spec = per_text_tables(prompts, systems, EnrichParams(), 0)
        schemas = [pq.read_schema(f) for f in files]
        ranges = [d["time_range"] for d in done if d["time_range"]]
        time_range = None
        if ranges:
            lo = min(dt.datetime.fromisoformat(r[0]) for r in ranges)
            time_range = (lo, max(dt.datetime.fromisoformat(r[1]) for r in ranges))
        source = SpilledEvents(
            files=files,
            schema=pa.unify_schemas(schemas, promote_options="permissive"),
            prompt_text=prompt_text,
            system_text=system_text,
            spec=spec,
            rows=rows,
            time_range=time_range,
        )
        note = (
            f"enriched once per increment and kept in the state ({built} of {len(done)} increments "
            f"enriched now); {prompt_text.num_rows} distinct prompts and {system_text.num_rows} "
            f"system prompts clustered; IP knowledge: {ip.label()}"
        )
        has_prompts = any(d["rows_with_prompt"] for d in done)
        return LoadedEvents(
            source, QUARANTINE_SCHEMA.empty_table(), has_prompts, [str(self.store.store.resolve())], note
        )

    def _build(
        self, inc: Increment, offset: int, before: dict[str, list[pa.Table]], ip: Any, metadata_only: bool
    ) -> None:
        """Enrich one increment's events, numbered from ``offset``; texts in ``before`` (the
        earlier entries' per-text parts) are not redone."""
        from distillguard.enrich._stream import StreamEnricher
        from distillguard.features._source import STREAM_BATCH_ROWS, _rebatch
        from distillguard.ingest._api import open_event_files
        from distillguard.ingest._readers import event_batches

        known = {
            field: np.concatenate([t[column].to_numpy() for t in before[name]] or [np.zeros(0, np.uint64)])
            for field, name, column in (
                ("prompt", _PROMPTS, "prompt_hash"),
                ("system_prompt", _SYSTEMS, "system_hash"),
            )
        }
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        enricher = StreamEnricher(
            ip,
            spill_dir=tmp,
            row_offset=offset,
            known=known,
        )
        try:
            paths = [self.store.store / rel for rel in inc.files if rel.startswith("events/")]
            if paths:
                batches = event_batches(open_event_files(paths, str(self.store.store)))
                for table in _rebatch(batches, None, metadata_only, STREAM_BATCH_ROWS):
                    enricher.add(table)
            files, prompts, systems, owner = enricher.finish_parts()
            names = []
            for i, f in enumerate(files):
                name = f"batch-{i:06d}.parquet"
                os.replace(f, tmp / name)
                names.append(name)
            owner.cleanup()
            pq.write_table(prompts, tmp / _PROMPTS)
            pq.write_table(systems, tmp / _SYSTEMS)
            tr = enricher.time_range
            (tmp / _DONE).write_text(
                json.dumps(
                    {
                        "increment": inc.id,
                        "rows": enricher.rows,
                        "rows_with_prompt": enricher.rows_with_prompt,
                        "time_range": [tr[0].isoformat(), tr[1].isoformat()] if tr else None,
                        "files": names,
                    }
                )
            )
            os.replace(tmp, self._dir(inc.id))
        finally:
            enricher.close()
            shutil.rmtree(tmp, ignore_errors=True)
