"""Streaming enrichment: the same columns as :func:`enrich` over a whole input, in bounded memory.

Why: ``enrich`` clusters templates and frames across everything it is given, so running it
per file batch would give one template different family ids in different batches. Running
it over the whole input at once needs every prompt text of every event in memory (10M
events did not fit in 20 GB). Prompt text is massively repeated, though: a campaign sends
one template with few payloads, and 10M simulated events carry ~200K distinct prompts.

So :class:`StreamEnricher` takes batches one at a time and, per batch, replaces the prompt
texts by 64-bit hashes (``prompt_hash`` / ``system_hash``), annotates client IPs on distinct
values, files each *new* distinct text in a catalog and writes the batch (no raw text) to a
Parquet file in a scratch directory: nothing per event stays in memory. :meth:`finish_spilled`
runs the template / family / frame / tag computation once over the catalog - the exact set
of distinct texts one-pass ``enrich`` sees, so family ids are identical - and returns
:class:`~._spilled.SpilledEvents`: the Parquet batches plus one small table per text field,
joined back to the events by hash inside DuckDB. Raw text never outlives its batch except
once per distinct value.

Hash: DuckDB's ``hash()`` of the text (UBIGINT), vectorized and the exact value the
features view computed from raw text before, so detector inputs are unchanged. It is an
in-process join key, not a cross-run identifier (that is ``template_id``'s job).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillguard import _duck
from distillguard.enrich._enrich import (
    EnrichParams,
    _builtin_infra,
    _col,
    template_columns_from_parts,
    template_parts,
)
from distillguard.enrich._spilled import ROW_COLUMN, SpilledEvents, TagSpec
from distillguard.enrich.ip_infra import IP_COLUMNS, IpInfra
from distillguard.enrich.tags import TagRule, default_rules, field_hits

#: Text columns replaced by hashes; name -> hash column name.
HASHED_TEXT: dict[str, str] = {"prompt": "prompt_hash", "system_prompt": "system_hash"}
#: Rows per Parquet row group of a spilled batch: DuckDB reads row groups in parallel, and
#: this is its own row-group size.
SPILL_ROW_GROUP_ROWS = 122_880
#: Codec of the spilled batches: written and read once, so speed beats size (lz4 writes
#: about twice as fast as zstd for ~1.4x the bytes).
SPILL_COMPRESSION = "lz4"
#: Spilled batches being written in the background at most: the writer (Parquet encoding and
#: lz4, which release the GIL) overlaps with hashing the next batch, and memory stays at a
#: few batches.
SPILL_WRITES_IN_FLIGHT = 2
#: String columns unique per event, written without a Parquet dictionary (building one for
#: them costs write time and saves nothing); every other string column gets one.
SPILL_PLAIN_COLUMNS: tuple[str, ...] = ("event_id", "conversation_id")


def text_hashes(con: Any, texts: pa.Array) -> np.ndarray:
    """DuckDB ``hash()`` (uint64) of each non-null string of ``texts`` (distinct values)."""
    if len(texts) == 0:
        return np.zeros(0, dtype=np.uint64)
    con.register("_dg_texts", pa.table({"i": pa.array(np.arange(len(texts))), "v": texts}))
    try:
        out = con.execute("SELECT hash(v) AS h FROM _dg_texts ORDER BY i").fetchnumpy()["h"]
    finally:
        con.unregister("_dg_texts")
    return np.asarray(out, dtype=np.uint64)


@dataclass
class _Catalog:
    """Distinct texts of one field across the stream, keyed by hash, in first-seen order."""

    hashes: list[np.ndarray] = field(default_factory=list)
    texts: list[pa.Array] = field(default_factory=list)
    _seen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # sorted

    def add(self, hashes: np.ndarray, texts: pa.Array) -> None:
        """File the (distinct-within-batch) texts whose hash is new."""
        if len(self._seen):
            pos = np.minimum(np.searchsorted(self._seen, hashes), len(self._seen) - 1)
            new = self._seen[pos] != hashes
        else:
            new = np.ones(len(hashes), dtype=bool)
        if not new.any():
            return
        self.hashes.append(hashes[new])
        self.texts.append(texts.filter(pa.array(new)))
        self._seen = np.union1d(self._seen, hashes[new])

    def finish(self) -> tuple[np.ndarray, pa.Array]:
        hashes = np.concatenate(self.hashes) if self.hashes else np.zeros(0, dtype=np.uint64)
        texts = pa.concat_arrays(self.texts) if self.texts else pa.array([], pa.string())
        self.hashes, self.texts = [], []
        return hashes, texts


def text_parts(
    text_field: str,
    hashes: np.ndarray,
    texts: pa.Array,
    params: EnrichParams,
    seed: int,
    rules: list[TagRule] | None = None,
) -> pa.Table:
    """The hash, the per-text template parts (prompts) and one hit column per tag rule of
    distinct texts of ``text_field``: everything that depends on a text alone."""
    rules = rules if rules is not None else default_rules()
    cols: dict[str, pa.Array] = {HASHED_TEXT[text_field]: pa.array(hashes, pa.uint64())}
    if text_field == "prompt":
        cols.update(template_parts(texts, params, seed)[0])
    for rule, hits in field_hits(texts, text_field, rules).items():
        cols[TagSpec.hit_column(text_field, rule)] = pa.array(hits, pa.bool_())
    return pa.table(cols)


def per_text_tables(
    prompt_parts: pa.Table, system_parts: pa.Table, params: EnrichParams, seed: int
) -> tuple[pa.Table, pa.Table, TagSpec]:
    """The per-text tables :class:`SpilledEvents` joins to the events: prompt parts of *all*
    texts clustered together (families and frames are cross-text), tag hits as they are."""
    rules = default_rules()
    tmpl = template_columns_from_parts(prompt_parts, params, seed)
    hits = [c for c in prompt_parts.column_names if c.startswith("_p_")]
    cols = {"prompt_hash": prompt_parts["prompt_hash"], **tmpl}
    cols.update({c: prompt_parts[c] for c in hits})
    return pa.table(cols), system_parts, TagSpec.of(rules, tuple(tmpl))


#: How the per-text parts of one field are computed: called as :func:`text_parts` is (field,
#: distinct hashes, their texts, params, seed), it must return exactly what it returns.
#: ``None`` is :func:`text_parts` itself, here; ``enrich._spark_text.SparkTextKernel`` runs it
#: on Spark executors.
TextKernel = Callable[[str, np.ndarray, pa.Array, EnrichParams, int], pa.Table]


class StreamEnricher:
    """Feed event batches with :meth:`add`; get the enriched events from :meth:`finish_spilled`
    (on disk, for DuckDB) or :meth:`finish` (one Arrow table, for small inputs and tests).

    Output columns: the input's columns minus ``prompt`` / ``system_prompt``, then
    ``prompt_hash`` / ``system_hash`` (uint64, null for null text), then exactly the
    columns :func:`enrich` appends (IP, template, tag, ``capability``) with identical values.
    ``spill_dir`` is where the hashed batches are written (a fresh directory inside it; a
    private temporary directory when None).
    """

    def __init__(
        self,
        infra: IpInfra | None = None,
        *,
        minhash_seed: int = 0,
        params: EnrichParams | None = None,
        spill_dir: str | Path | None = None,
        row_offset: int = 0,
        known: dict[str, np.ndarray] | None = None,
        text_kernel: TextKernel | None = None,
    ) -> None:
        """``row_offset`` starts the events' ``_dg_row`` numbering; ``known`` holds, per hashed
        text field, hashes whose texts are already enriched elsewhere (a state's earlier
        increments): they are not cataloged again, so :meth:`finish_parts` gives new texts only.
        ``text_kernel`` computes the per-text parts (default: :func:`text_parts` in this process)."""
        self.infra = infra if infra is not None else _builtin_infra()
        self.seed = minhash_seed
        self.params = params or EnrichParams()
        self.text_kernel = text_kernel
        self._con = _duck.connect()
        self._con.execute("SET preserve_insertion_order = true")
        self._catalogs = {name: _Catalog() for name in HASHED_TEXT}
        for name, hashes in (known or {}).items():
            self._catalogs[name]._seen = np.unique(np.asarray(hashes, dtype=np.uint64))
        self.row_offset = row_offset
        if spill_dir is not None:
            Path(spill_dir).mkdir(parents=True, exist_ok=True)
        self._tmp: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(
            prefix="dg-enrich-", dir=spill_dir
        )
        self._files: list[Path] = []
        self._schemas: list[pa.Schema] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dg-spill")
        self._writes: deque[Future[None]] = deque()
        self.rows = 0  #: events added
        self.rows_with_prompt = 0  #: events with non-null prompt text
        self.batches_seen = 0  #: non-empty batches added
        self.distinct = {name: 0 for name in HASHED_TEXT}  #: distinct texts per field (after finish)
        self.time_range: tuple[dt.datetime, dt.datetime] | None = None  #: min/max ``timestamp``

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Hash and catalog the texts, annotate IPs; spill the batch without raw text."""
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        if batch.num_rows == 0:
            return
        if self._tmp is None:
            raise RuntimeError("StreamEnricher.add after finish")
        added: dict[str, pa.Array] = {}
        for text_col, hash_col in HASHED_TEXT.items():
            text = _col(batch, text_col, pa.string())
            enc = pc.dictionary_encode(text)
            uniq_h = text_hashes(self._con, enc.dictionary)
            self._catalogs[text_col].add(uniq_h, enc.dictionary)
            added[hash_col] = pa.array(uniq_h, pa.uint64()).take(enc.indices)
        n = batch.num_rows
        self.rows_with_prompt += n - added["prompt_hash"].null_count
        ip = self.infra.annotate(_col(batch, "client_ip", pa.string()))
        added.update({name: ip.column(name).combine_chunks() for name in IP_COLUMNS.names})
        first = self.row_offset + self.rows
        added[ROW_COLUMN] = pa.array(np.arange(first, first + n, dtype=np.int64))
        self._track_time(batch)
        self.rows += n
        self.batches_seen += 1
        drop = set(HASHED_TEXT) | set(added)
        keep = [f for f in batch.schema if f.name not in drop]
        arrays = [batch.column(f.name) for f in keep] + list(added.values())
        fields = keep + [pa.field(n, a.type) for n, a in added.items()]
        self._spill(pa.Table.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata)))

    def _track_time(self, batch: pa.Table) -> None:
        if "timestamp" not in batch.column_names:
            return
        mm = pc.min_max(batch["timestamp"]).as_py()
        if mm["min"] is None:
            return
        lo, hi = (mm["min"], mm["max"]) if self.time_range is None else self.time_range
        self.time_range = (min(lo, mm["min"]), max(hi, mm["max"]))

    def _spill(self, table: pa.Table) -> None:
        """Write ``table`` as the next batch file, in the background (see ``SPILL_WRITES_IN_FLIGHT``)."""
        assert self._tmp is not None
        path = Path(self._tmp.name) / f"batch-{len(self._files):06d}.parquet"
        strings = [f for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
        dictionary = [f.name for f in strings if f.name not in SPILL_PLAIN_COLUMNS]
        while len(self._writes) >= SPILL_WRITES_IN_FLIGHT:
            self._writes.popleft().result()  # a failed write raises here, on the caller's thread
        self._writes.append(
            self._writer.submit(
                pq.write_table,
                table,
                path,
                row_group_size=SPILL_ROW_GROUP_ROWS,
                compression=SPILL_COMPRESSION,
                use_dictionary=dictionary,
                write_statistics=False,
            )
        )
        self._files.append(path)
        self._schemas.append(table.schema)

    def _written(self) -> None:
        """Wait until every spilled batch is on disk (re-raises a failed write)."""
        while self._writes:
            self._writes.popleft().result()

    def close(self) -> None:
        """Release the hashing connection, and the spilled batches unless handed out (idempotent)."""
        for write in self._writes:
            write.cancel()
        self._writer.shutdown(wait=True)
        self._writes.clear()
        self._con.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _parts(self) -> tuple[pa.Table, pa.Table]:
        """Per-text columns (see :func:`text_parts`) of the texts cataloged so far."""
        rules = default_rules()
        p_hash, p_text = self._catalogs["prompt"].finish()
        s_hash, s_text = self._catalogs["system_prompt"].finish()
        self.distinct = {"prompt": len(p_hash), "system_prompt": len(s_hash)}
        if self.text_kernel is not None:
            kernel = self.text_kernel
            prompt = kernel("prompt", p_hash, p_text, self.params, self.seed)
            return prompt, kernel("system_prompt", s_hash, s_text, self.params, self.seed)
        prompt = text_parts("prompt", p_hash, p_text, self.params, self.seed, rules)
        return prompt, text_parts("system_prompt", s_hash, s_text, self.params, self.seed, rules)

    def _per_text(self) -> tuple[pa.Table, pa.Table, TagSpec]:
        """Template columns and tag hits once per distinct prompt / system prompt."""
        return per_text_tables(*self._parts(), self.params, self.seed)

    def finish_parts(self) -> tuple[list[Path], pa.Table, pa.Table, Any]:
        """(spilled batch files, prompt parts, system-prompt parts, owner of the files' directory).

        For a cache that keeps enrichment per increment: the parts of the texts that were
        not ``known`` (:func:`per_text_tables` clusters them with the known ones later). The
        caller moves the files and then cleans the owner (a TemporaryDirectory) up.
        """
        if self._tmp is None:
            raise RuntimeError("StreamEnricher.finish_parts after finish")
        self._written()
        self._writer.shutdown(wait=True)
        prompt, system = self._parts()
        files, owner = list(self._files), self._tmp
        self._tmp = None
        self._con.close()
        return files, prompt, system, owner

    def finish_spilled(self) -> SpilledEvents:
        """The enriched events as spilled Parquet batches plus per-text tables (see ``SpilledEvents``)."""
        if self._tmp is None:
            raise RuntimeError("StreamEnricher.finish_spilled called twice")
        self._written()
        self._writer.shutdown(wait=True)
        prompt, system, spec = self._per_text()
        schema = pa.unify_schemas(self._schemas, promote_options="permissive") if self._schemas else None
        out = SpilledEvents(
            files=list(self._files),
            schema=schema,
            prompt_text=prompt,
            system_text=system,
            spec=spec,
            rows=self.rows,
            time_range=self.time_range,
            _owner=self._tmp,
        )
        self._tmp = None  # the spilled batches now live as long as ``out``
        self._con.close()
        return out

    def finish(self) -> pa.Table:
        """The enriched events as one Arrow table, in input order (whole input in memory)."""
        spilled = self.finish_spilled()
        try:
            return spilled.to_table()
        finally:
            spilled.remove()
