"""Per-connection lookup tables from raw event values to canonical/keyed forms.

Export and match both need "which canonical identifier / template did this event
carry". Both work on DISTINCT raw values (a few thousand IPs or prompts, not millions of
rows), transform them column-at-a-time with pyarrow, and register the result in DuckDB
so joins against the ``events`` view do the rest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.share._hashing import FRAME_KIND, KIND_COLUMNS, canonicalize, hash_canonical
from distillguard.share._sketch import SketchParams, band_keys, keyed_signatures, normalize_templates

if TYPE_CHECKING:
    import duckdb


def _distinct(con: duckdb.DuckDBPyConnection, column: str) -> pa.Table:
    """The distinct non-null values of ``events.<column>``, as column ``raw``."""
    from distillguard.features._timeline import ibis_backend

    e = ibis_backend(con).table("events")
    return e.filter(e[column].notnull()).select(raw=e[column]).distinct().to_pyarrow()


def canon_map(
    con: duckdb.DuckDBPyConnection, kind: str, *, frame_words: int = 4, with_harvest: bool = True
) -> str:
    """Register ``_map_<kind>(raw, canon)`` for the distinct values of the kind's column.

    Kind ``frame`` maps each distinct prompt to its head and tail frame (two rows, plus a
    ``harvest`` column), see :mod:`distillguard.share._frames`.
    """
    if kind == FRAME_KIND:
        from distillguard.share._frames import frame_map

        return frame_map(con, frame_words, with_harvest=with_harvest)
    col = KIND_COLUMNS[kind]
    name = f"_map_{kind}"
    raw = _distinct(con, col)
    canon = canonicalize(kind, raw.column("raw"))
    table = pa.table({"raw": raw.column("raw"), "canon": canon}).filter(pc.is_valid(canon))
    con.register(name, table)
    return name


def keyed_map(
    con: duckdb.DuckDBPyConnection, kind: str, key_id: str, secret: bytes, *, frame_words: int = 4
) -> str:
    """Register ``_keyed_<kind>_<n>(raw, hmac)``: every local value's keyed hash under one key."""
    mapped = canon_map(con, kind, frame_words=frame_words, with_harvest=False)
    from distillguard.features._timeline import ibis_backend

    table = ibis_backend(con).table(mapped).select("raw", "canon").to_pyarrow()
    hashes = hash_canonical(table.column("canon"), secret, kind, con=con)
    name = f"_keyed_{kind}_{re.sub(r'[^A-Za-z0-9]', '_', key_id)}"
    con.register(name, pa.table({"raw": table.column("raw"), "hmac": hashes}))
    return name


def template_map(con: duckdb.DuckDBPyConnection) -> str:
    """Register ``_map_template(raw, template)`` for every distinct non-empty prompt."""
    raw = _distinct(con, "prompt")
    prompts = raw.column("raw").combine_chunks()
    templates = normalize_templates(prompts) if len(prompts) else pa.array([], pa.string())
    table = pa.table({"raw": prompts, "template": templates})
    table = table.filter(
        pc.and_(pc.is_valid(table["template"]), pc.greater(pc.utf8_length(table["template"]), 0))
    )
    con.register("_map_template", table)
    return "_map_template"


def local_sketches(templates: pa.Array, secret: bytes, params: SketchParams) -> tuple[np.ndarray, np.ndarray]:
    """Keyed signatures and band keys of distinct template texts."""
    sigs = keyed_signatures(templates, secret, params)
    return sigs, band_keys(sigs, params)
