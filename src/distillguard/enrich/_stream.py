"""Streaming enrichment: the same columns as :func:`enrich` over a whole input, in bounded memory.

Why: ``enrich`` clusters templates and frames across everything it is given, so running it
per file batch would give one template different family ids in different batches. Running
it over the whole input at once needs every prompt text of every event in memory (10M
events did not fit in 20 GB). Prompt text is massively repeated, though: a campaign sends
one template with few payloads, and 10M simulated events carry ~200K distinct prompts.

So :class:`StreamEnricher` takes batches one at a time and, per batch, replaces the prompt
texts by 64-bit hashes (``prompt_hash`` / ``system_hash``), annotates client IPs on distinct
values, and files each *new* distinct text in a catalog. :meth:`StreamEnricher.finish`
runs the template / family / frame / tag computation once over the catalog - the exact
set of distinct texts one-pass ``enrich`` sees, so family ids are identical - and joins
the per-text results back to each stored batch by hash. Raw text never outlives its batch
except once per distinct value.

Hash: DuckDB's ``hash()`` of the text (UBIGINT), vectorized and the exact value the
features view computed from raw text before, so detector inputs are unchanged. It is an
in-process join key, not a cross-run identifier (that is ``template_id``'s job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._enrich import EnrichParams, _builtin_infra, _col, template_columns
from distillguard.enrich.ip_infra import IP_COLUMNS, IpInfra
from distillguard.enrich.tags import capability_of, default_rules, field_hits

#: Text columns replaced by hashes; name -> hash column name.
HASHED_TEXT: dict[str, str] = {"prompt": "prompt_hash", "system_prompt": "system_hash"}


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


def _lookup(side: dict[str, Any], column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(catalog row per event, valid mask) for a batch's hash column."""
    keys_sorted, order = side["keys"], side["order"]
    hashes = column.combine_chunks()
    valid = hashes.is_valid().to_numpy(zero_copy_only=False)
    h = pc.fill_null(hashes, 0).to_numpy()
    if len(keys_sorted) == 0:
        return np.zeros(len(h), dtype=np.int64), np.zeros(len(h), dtype=bool)
    pos = np.minimum(np.searchsorted(keys_sorted, h), len(keys_sorted) - 1)
    return order[pos], valid


class StreamEnricher:
    """Feed event batches with :meth:`add`, get the enriched table from :meth:`finish`.

    Output columns: the input's columns minus ``prompt`` / ``system_prompt``, then
    ``prompt_hash`` / ``system_hash`` (uint64, null for null text), then exactly the
    columns :func:`enrich` appends (IP, template, tag, ``capability``) with identical values.
    """

    def __init__(
        self, infra: IpInfra | None = None, *, minhash_seed: int = 0, params: EnrichParams | None = None
    ) -> None:
        import duckdb

        self.infra = infra if infra is not None else _builtin_infra()
        self.seed = minhash_seed
        self.params = params or EnrichParams()
        self._con = duckdb.connect()
        self._con.execute("SET preserve_insertion_order = true")
        self._catalogs = {name: _Catalog() for name in HASHED_TEXT}
        self._batches: list[pa.Table] = []
        self.rows = 0  #: events added
        self.rows_with_prompt = 0  #: events with non-null prompt text
        self.batches_seen = 0  #: non-empty batches added
        self.distinct = {name: 0 for name in HASHED_TEXT}  #: distinct texts per field (after finish)

    def add(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Hash and catalog the texts, annotate IPs; keep the batch without raw text."""
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        if batch.num_rows == 0:
            return
        added: dict[str, pa.Array] = {}
        for text_col, hash_col in HASHED_TEXT.items():
            text = _col(batch, text_col, pa.string())
            enc = pc.dictionary_encode(text)
            uniq_h = text_hashes(self._con, enc.dictionary)
            self._catalogs[text_col].add(uniq_h, enc.dictionary)
            added[hash_col] = pa.array(uniq_h, pa.uint64()).take(enc.indices)
        self.rows += batch.num_rows
        self.batches_seen += 1
        self.rows_with_prompt += batch.num_rows - added["prompt_hash"].null_count
        ip = self.infra.annotate(_col(batch, "client_ip", pa.string()))
        added.update({name: ip.column(name).combine_chunks() for name in IP_COLUMNS.names})
        drop = set(HASHED_TEXT) | set(added)
        keep = [f for f in batch.schema if f.name not in drop]
        arrays = [batch.column(f.name) for f in keep] + list(added.values())
        fields = keep + [pa.field(n, a.type) for n, a in added.items()]
        self._batches.append(pa.Table.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata)))

    def close(self) -> None:
        """Release the DuckDB connection used for hashing (idempotent)."""
        self._con.close()

    def _per_text(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Template columns and tag hits once per distinct prompt / system prompt."""
        rules = default_rules()
        p_hash, p_text = self._catalogs["prompt"].finish()
        tmpl, _ = template_columns(p_text, self.params, self.seed)
        s_hash, s_text = self._catalogs["system_prompt"].finish()
        self.distinct = {"prompt": len(p_hash), "system_prompt": len(s_hash)}
        out = {}
        for name, hashes, text, extra in (
            ("prompt", p_hash, p_text, tmpl),
            ("system_prompt", s_hash, s_text, {}),
        ):
            order = np.argsort(hashes, kind="stable")
            out[name] = {
                "keys": hashes[order],
                "order": order,
                "hits": field_hits(text, name, rules),
                "cols": extra,
            }
        return out["prompt"], out["system_prompt"]

    def finish(self) -> pa.Table:
        """Join the per-text results back to every batch; the enriched table."""
        rules = default_rules()
        prompt, system = self._per_text()
        out: list[pa.Table] = []
        while self._batches:
            batch = self._batches.pop(0)
            n = batch.num_rows
            p_idx, p_ok = _lookup(prompt, batch.column("prompt_hash"))
            s_idx, s_ok = _lookup(system, batch.column("system_hash"))
            take = pa.array(np.where(p_ok, p_idx, 0)), pa.array(~p_ok)
            cols: dict[str, pa.Array] = {}
            for name, col in prompt["cols"].items():
                got = col.take(take[0]) if len(col) else pa.nulls(n, col.type)
                cols[name] = pc.if_else(take[1], pa.scalar(None, col.type), got)
            tags = {r.name: np.zeros(n, dtype=bool) for r in rules}
            for side, idx, ok in ((prompt, p_idx, p_ok), (system, s_idx, s_ok)):
                for name, hits in side["hits"].items():
                    if len(hits):
                        tags[name] |= ok & hits[np.where(ok, idx, 0)]
            tool_count = pc.fill_null(_col(batch, "tool_count", pa.int64()), 0).to_numpy()
            has_image = pc.fill_null(_col(batch, "has_image", pa.bool_()), False)
            if "tag_tool_use" in tags:
                tags["tag_tool_use"] |= tool_count > 0
            if "tag_vision" in tags:
                tags["tag_vision"] |= has_image.to_numpy(zero_copy_only=False)
            cols.update({name: pa.array(mask, pa.bool_()) for name, mask in tags.items()})
            cols["capability"] = capability_of(tags, rules, p_ok | s_ok)
            for name, arr in cols.items():
                batch = batch.append_column(pa.field(name, arr.type), arr)
            out.append(batch)
        self.close()
        if not out:
            return pa.table({})
        return pa.concat_tables(out, promote_options="permissive")
