"""``enrich(batch, infra)``: events in, events plus infrastructure and prompt columns out.

One vectorized pass per batch: IP columns from :class:`IpInfra`, template /
family / frame ids from :mod:`prompts`, tag columns from :mod:`tags`. Every
expensive step runs on distinct values only. Columns a source lacks (no
``client_ip``, no ``prompt``) are treated as all-null, never as an error, so the
same call works on metadata-only logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich import _hashing, _minhash, prompts
from distillguard.enrich.ip_infra import IP_COLUMNS, IpInfra
from distillguard.enrich.tags import broadcast_hits, capability_of, default_rules, field_hits
from distillguard.errors import DistillguardError

T = TypeVar("T", pa.Table, pa.RecordBatch)

#: Template columns (int64 ids; null when the prompt is null).
TEMPLATE_COLUMNS = pa.schema(
    [
        pa.field("template_id", pa.int64()),
        pa.field("template_family", pa.int64()),
        pa.field("frame_id", pa.int64()),
        pa.field("frame_family", pa.int64()),
        pa.field("frame_prefix_id", pa.int64()),
        pa.field("frame_suffix_id", pa.int64()),
    ]
)


@dataclass(frozen=True)
class EnrichParams:
    """Every knob of the prompt side of ``enrich``; defaults are documented where defined."""

    num_perm: int = _minhash.DEFAULT_NUM_PERM  # MinHash permutations
    shingle: int = _minhash.DEFAULT_SHINGLE  # words per shingle
    bands: int = _minhash.DEFAULT_BANDS  # LSH bands (bands * rows <= num_perm)
    rows: int = _minhash.DEFAULT_ROWS  # rows per LSH band
    frame_words: int = prompts.DEFAULT_FRAME_WORDS  # words at each end forming the frame
    frame_max_chars: int = prompts.FRAME_MAX_CHARS  # cap on a frame's characters
    frame_min_support: int = prompts.FRAME_MIN_SUPPORT  # distinct templates sharing a frame
    keep_signatures: bool = False  # add ``minhash`` (fixed-size list<uint64>) per event
    keep_template_text: bool = False  # add ``template`` (the normalised text) per event


def enriched_schema(rules_names: tuple[str, ...] | None = None) -> pa.Schema:
    """The columns :func:`enrich` appends, in order (before optional extras)."""
    names = rules_names if rules_names is not None else tuple(r.name for r in default_rules())
    tag_fields = [pa.field(n, pa.bool_()) for n in names] + [pa.field("capability", pa.string())]
    return pa.schema(list(IP_COLUMNS) + list(TEMPLATE_COLUMNS) + tag_fields)


def _builtin_infra() -> IpInfra:
    """The default IP knowledge (embedded floor + packaged cloud ranges + refreshed cache),
    built once per process: see :meth:`IpInfra.default`."""
    from distillguard.enrich.ip_infra import default_infra

    return default_infra()


def _col(data: pa.Table | pa.RecordBatch, name: str, typ: pa.DataType) -> pa.Array:
    if name not in data.schema.names:
        return pa.nulls(data.num_rows, typ)
    col = data.column(name)
    if isinstance(col, pa.ChunkedArray):
        col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    if pa.types.is_null(col.type):
        return pa.nulls(data.num_rows, typ)
    if col.type == typ:
        return col
    try:
        return col.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise DistillguardError(f"column {name!r} has type {col.type}, expected {typ}") from err


def template_parts(
    unique_prompts: pa.Array, params: EnrichParams, seed: int
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The part of :func:`template_columns` that depends on each text alone (and signatures).

    Normalizing, MinHash and frame texts are ~90% of the prompt-side cost. A continuous
    state computes them once per new text and keeps them; clustering (families, frame
    sides) needs all texts and runs in :func:`template_columns_from_parts`.
    """
    norm = prompts.normalize_templates(unique_prompts)
    tid = prompts.template_ids(norm, normalized=True)
    sigs = _minhash.minhash_signatures(norm, params.num_perm, seed, shingle=params.shingle, normalized=True)
    keys, row_key = _minhash.lsh_keys(sigs, params.bands, params.rows)
    head_text, tail_text = prompts.frame_texts(
        norm, frame_words=params.frame_words, max_chars=params.frame_max_chars
    )
    parts = {
        "template_id": tid,
        "frame_prefix_id": _hashing.hash_strings(head_text, person=b"dg-frame-head"),
        "frame_suffix_id": _hashing.hash_strings(tail_text, person=b"dg-frame-tail"),
        "_lsh_keys": pa.FixedSizeListArray.from_arrays(pa.array(keys.reshape(-1), pa.uint64()), params.bands),
        "_lsh_row": pa.array(row_key, pa.uint64()),
        "_frame_head_text": head_text,
        "_frame_tail_text": tail_text,
    }
    if params.keep_template_text:
        parts["template"] = norm
    return parts, sigs


def template_columns_from_parts(parts: Any, params: EnrichParams, seed: int) -> dict[str, pa.Array]:
    """Template, family and frame ids of the texts whose :func:`template_parts` are ``parts``
    (a mapping or table of those columns, all texts clustered together)."""

    def col(name: str) -> pa.Array:
        c = parts[name]
        return c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c

    tid, head, tail = col("template_id"), col("frame_prefix_id"), col("frame_suffix_id")
    keys = col("_lsh_keys").flatten().to_numpy(zero_copy_only=False).reshape(-1, params.bands)
    row_key = col("_lsh_row").to_numpy(zero_copy_only=False)
    family = pa.array(_minhash.lsh_families(keys, row_key), pa.int64())
    use_p, use_s = prompts.choose_frame_sides(head, tail, tid, min_support=params.frame_min_support)
    frame = pc.if_else(pa.array(use_p), head, pc.if_else(pa.array(use_s), tail, tid))
    frame_family = prompts.frame_family_ids(
        col("_frame_head_text"),
        col("_frame_tail_text"),
        use_p,
        use_s,
        family,
        seed=seed,
        num_perm=params.num_perm,
        bands=params.bands,
        rows=params.rows,
    )
    cols = {
        "template_id": tid,
        "template_family": family,
        "frame_id": frame,
        "frame_family": frame_family,
        "frame_prefix_id": head,
        "frame_suffix_id": tail,
    }
    if params.keep_template_text:
        cols["template"] = col("template")
    return cols


def template_columns(
    unique_prompts: pa.Array, params: EnrichParams, seed: int
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Template, family and frame ids for *distinct* non-null prompts (and signatures).

    Frame support counts distinct templates, so computing it over distinct prompts
    gives the same answer as over rows, at a fraction of the cost.
    """
    parts, sigs = template_parts(unique_prompts, params, seed)
    return template_columns_from_parts(parts, params, seed), sigs


def enrich(
    batch: T,
    infra: IpInfra | None = None,
    *,
    minhash_seed: int = 0,
    params: EnrichParams | None = None,
) -> T:
    """Events + IP columns + template columns + tag columns (same kind as ``batch``).

    ``infra=None`` uses :meth:`IpInfra.default` (the embedded floor of special ranges, big clouds, known
    ASNs). ``tag_tool_use`` is also true when ``tool_count > 0`` and ``tag_vision``
    when ``has_image``; ``capability`` then follows the tags. Columns ``enrich``
    adds that already exist in ``batch`` are replaced (re-enrichment is safe).
    """
    if not isinstance(batch, pa.Table | pa.RecordBatch):
        raise DistillguardError(f"enrich expects a pyarrow Table or RecordBatch, got {type(batch).__name__}")
    params = params or EnrichParams()
    infra = infra if infra is not None else _builtin_infra()
    n = batch.num_rows

    ip_table = infra.annotate(_col(batch, "client_ip", pa.string()))
    prompt = _col(batch, "prompt", pa.string())
    system = _col(batch, "system_prompt", pa.string())
    rules = default_rules()
    tag_masks = {r.name: np.zeros(n, dtype=bool) for r in rules}

    # Everything prompt-side runs once per distinct prompt, then ``take`` broadcasts it.
    p_enc = pc.dictionary_encode(prompt)
    uniq_tmpl, uniq_sigs = template_columns(p_enc.dictionary, params, minhash_seed)
    tmpl = {name: col.take(p_enc.indices) for name, col in uniq_tmpl.items()}
    broadcast_hits(tag_masks, field_hits(p_enc.dictionary, "prompt", rules), p_enc.indices)
    if system.null_count < n:
        s_enc = pc.dictionary_encode(system)
        broadcast_hits(tag_masks, field_hits(s_enc.dictionary, "system_prompt", rules), s_enc.indices)
    tool_count = pc.fill_null(_col(batch, "tool_count", pa.int64()), 0).to_numpy()
    has_image = pc.fill_null(_col(batch, "has_image", pa.bool_()), False).to_numpy(zero_copy_only=False)
    if "tag_tool_use" in tag_masks:
        tag_masks["tag_tool_use"] = tag_masks["tag_tool_use"] | (tool_count > 0)
    if "tag_vision" in tag_masks:
        tag_masks["tag_vision"] = tag_masks["tag_vision"] | has_image
    has_text = prompt.is_valid().to_numpy(zero_copy_only=False) | system.is_valid().to_numpy(
        zero_copy_only=False
    )
    capability = capability_of(tag_masks, rules, has_text)

    added: dict[str, pa.Array] = {name: ip_table.column(name).combine_chunks() for name in IP_COLUMNS.names}
    added.update(tmpl)
    added.update({name: pa.array(mask, pa.bool_()) for name, mask in tag_masks.items()})
    added["capability"] = capability
    if params.keep_signatures:
        flat = pa.array(uniq_sigs.reshape(-1), pa.uint64())
        added["minhash"] = pa.FixedSizeListArray.from_arrays(flat, params.num_perm).take(p_enc.indices)

    keep = [f for f in batch.schema if f.name not in added]
    arrays = [batch.column(f.name) for f in keep] + list(added.values())
    fields = keep + [pa.field(name, arr.type) for name, arr in added.items()]
    schema = pa.schema(fields, metadata=batch.schema.metadata)
    if isinstance(batch, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, schema=schema)
