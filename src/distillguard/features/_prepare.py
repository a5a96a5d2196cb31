"""One normalized DuckDB view over enriched events, whatever columns the source had.

Detectors must work on metadata-only logs and on logs without enrichment, so every
column a feature reads is guaranteed here: present columns are cast to one type, absent
ones become typed NULLs (spec: "absent column = unknown"). Everything downstream reads
only the view ``ev`` (or a time-bounded copy of it for replay), never the raw table.

This loader stays DuckDB SQL on purpose: it writes the scan's own DuckDB table, choosing
per input schema among SQL source expressions (DuckDB's ``hash()`` of prompt text among
them), and the derived columns come from numpy. The feature queries that read the table
are Ibis expressions; another backend is given the normalized rows as Arrow.
"""

from __future__ import annotations

from typing import Any

#: column in the normalized view -> (SQL type, source expression candidates in order).
#: The first candidate whose columns all exist is used; otherwise NULL of that type.
_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("event_id", "VARCHAR", ("event_id",)),
    ("account_id", "VARCHAR", ("account_id",)),
    ("ts", "TIMESTAMPTZ", ("timestamp",)),
    ("provider", "VARCHAR", ("coalesce(provider, 'local')",)),
    ("model", "VARCHAR", ("model",)),
    ("input_tokens", "BIGINT", ("input_tokens",)),
    ("output_tokens", "BIGINT", ("output_tokens",)),
    ("reasoning_tokens", "BIGINT", ("coalesce(reasoning_output_tokens, 0)",)),
    ("client_ip", "VARCHAR", ("client_ip",)),
    ("user_agent", "VARCHAR", ("user_agent",)),
    ("tls_fingerprint", "VARCHAR", ("tls_fingerprint",)),
    ("payment_fingerprint", "VARCHAR", ("payment_fingerprint",)),
    ("account_created_at", "TIMESTAMPTZ", ("account_created_at",)),
    ("account_tier", "VARCHAR", ("coalesce(account_tier, 'unknown')",)),
    ("account_country", "VARCHAR", ("account_country",)),
    ("conversation_id", "VARCHAR", ("conversation_id",)),
    ("tool_count", "BIGINT", ("coalesce(tool_count, 0)",)),
    ("status", "VARCHAR", ("status",)),
    # enrich: IP infrastructure
    ("asn", "BIGINT", ("asn",)),
    ("ip_kind", "VARCHAR", ("coalesce(ip_kind, 'unknown')",)),
    ("ip_country", "VARCHAR", ("ip_country",)),
    ("ip_prefix", "VARCHAR", ("ip_prefix24", "client_ip")),
    # enrich: prompt templates and tags (absent on metadata-only input)
    # the instruction frame's family: survives fixed wrappers around varying tasks and
    # paraphrased wrappers (enrich clusters frame texts); older enrich outputs lack it
    ("template_family", "BIGINT", ("frame_id", "template_family", "template_id")),
    ("system_family", "BIGINT", ("system_template_id",)),
    ("cot", "BOOLEAN", ("tag_cot", "cot_elicitation", "is_cot")),
    ("extraction_tag", "BOOLEAN", ("tag_extraction", "is_extraction")),
    ("capability", "VARCHAR", ("capability",)),
    # exact-duplicate detection across accounts (benchmarks repeat; harvest sweeps do not)
    ("prompt_hash", "UBIGINT", ("prompt_hash", "hash(prompt)")),
    # exact system prompt (relays inject one harvest system prompt into every forwarded call)
    ("system_hash", "UBIGINT", ("system_hash", "hash(system_prompt)")),
)

#: Column names of the normalized view, in order.
VIEW_COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in _COLUMNS)

#: Bare column names each candidate expression needs (for availability checks).
_IDENT_SPLIT = "(), '"


def _needed(expr: str) -> list[str]:
    """Bare column identifiers an expression references (ignores SQL words and literals)."""
    words = expr
    for ch in _IDENT_SPLIT:
        words = words.replace(ch, " ")
    skip = {"coalesce", "hash", "local", "unknown", "0"}
    return [w for w in words.split() if w and w not in skip]


def view_sql(available: set[str], source: str, extra_tags: dict[str, str] | None = None) -> str:
    """SELECT statement normalizing ``source`` (a table/view with ``available`` columns).

    ``extra_tags`` maps view column name -> SQL boolean expression over the source, used to
    fold enrich's tag columns (whatever they are called) into ``cot``/``extraction_tag``.
    """
    parts = []
    for name, sql_type, candidates in _COLUMNS:
        chosen = extra_tags[name] if extra_tags and name in extra_tags else _choose(available, candidates)
        parts.append(f"CAST({chosen} AS {sql_type}) AS {name}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def _choose(available: set[str], candidates: tuple[str, ...]) -> str:
    """The first candidate expression whose columns all exist, else ``NULL``."""
    for expr in candidates:
        if all(col in available for col in _needed(expr)):
            return expr
    return "NULL"


#: String columns with few distinct values on any input (models, client software, TLS stacks,
#: tiers, countries, IP kinds, capabilities): dictionary-encoded while the events wait in
#: Arrow for DuckDB, a few bytes a row instead of the string (~1.5 GB less at 10M events).
DICTIONARY_COLUMNS: tuple[str, ...] = (
    "provider",
    "model",
    "user_agent",
    "tls_fingerprint",
    "account_tier",
    "account_country",
    "status",
    "ip_kind",
    "ip_country",
    "capability",
)


def compact_events(table: Any) -> Any:
    """Only the columns the view reads (plus enrich's tag columns), low-cardinality strings
    dictionary-encoded: the same view from about half the Arrow memory. Values are unchanged
    (the view casts every column), so detection results are too."""
    import pyarrow as pa

    available = set(table.column_names)
    used = {"account_id", "timestamp"}
    for _, _, candidates in _COLUMNS:
        used.update(_needed(_choose(available, candidates)))
    keep = [
        f.name
        for f in table.schema
        if f.name in used or (pa.types.is_boolean(f.type) and f.name.startswith(("tag_", "is_")))
    ]
    return encode_low_cardinality(table.select(keep))


def encode_low_cardinality(table: Any) -> Any:
    """``table`` with its :data:`DICTIONARY_COLUMNS` strings dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, f in enumerate(table.schema):
        if f.name in DICTIONARY_COLUMNS and pa.types.is_string(f.type):
            table = table.set_column(i, f.name, pc.dictionary_encode(table[f.name]))
    return table


#: Tag column name fragments that mean "elicits reasoning traces" (enrich's naming may vary).
COT_TAG_HINTS: tuple[str, ...] = ("cot", "reasoning_reconstruct", "reasoning_elicit", "step_by_step")
#: Tag column name fragments that mean "harvest-style request" (rubric, rewrite, eval-as-judge...).
EXTRACTION_TAG_HINTS: tuple[str, ...] = (
    "rubric",
    "rewrite",
    "forced_language",
    "grading",
    "judge",
    "extraction",
    "harvest",
)


def tag_expressions(schema_names: list[str], types: dict[str, Any]) -> dict[str, str]:
    """Fold enrich's boolean tag columns into the view's ``cot`` and ``extraction_tag``.

    enrich emits one boolean column per tag rule (rules are data and may be renamed); the
    detectors only need two questions answered: does the request elicit reasoning, and is it
    one of the harvesting request kinds named in the public record.
    """
    bool_cols = [n for n in schema_names if str(types.get(n)) == "bool" and n.startswith(("tag_", "is_"))]
    cot = [c for c in bool_cols if any(h in c for h in COT_TAG_HINTS)]
    ext = [c for c in bool_cols if any(h in c for h in EXTRACTION_TAG_HINTS) and c not in cot]
    out: dict[str, str] = {}
    if cot:
        out["cot"] = " OR ".join(f"coalesce({c}, false)" for c in cot)
    if ext:
        out["extraction_tag"] = " OR ".join(f"coalesce({c}, false)" for c in ext)
    return out


def _derived(table: Any, checkpoints_ms: list[int]) -> dict[str, Any]:
    """``aid``, ``t``, ``gap``, ``gap_prev``, ``cp`` for every row (vectorized, numpy/Arrow).

    Done in numpy on narrow arrays rather than as a SQL window over the wide event rows
    (which drags every column through the sort and costs several times more).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    acc = table["account_id"].combine_chunks()
    enc = pc.dictionary_encode(acc)
    rank = np.empty(len(enc.dictionary), dtype=np.int32)
    rank[pc.sort_indices(enc.dictionary).to_numpy()] = np.arange(len(enc.dictionary), dtype=np.int32)
    aid = rank[enc.indices.to_numpy(zero_copy_only=False)]
    ts = table["timestamp"].combine_chunks()
    t = pc.cast(ts, pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False) // 1000
    order = np.lexsort((t, aid))
    ts_sorted, aid_sorted = t[order], aid[order]
    same = np.r_[False, aid_sorted[1:] == aid_sorted[:-1]]
    gap_sorted = np.where(same, np.r_[0, np.diff(ts_sorted)] / 1000.0, np.nan)
    prev_sorted = np.where(np.r_[False, same[:-1]] & same, np.r_[np.nan, gap_sorted[:-1]], np.nan)
    gap = np.empty(len(t))
    gap_prev = np.empty(len(t))
    gap[order] = gap_sorted
    gap_prev[order] = prev_sorted
    cps = np.asarray(sorted(int(c) for c in checkpoints_ms), dtype=np.int64)
    return {
        "aid": pa.array(aid, pa.int32()),
        "t": pa.array(t, pa.int64()),
        "gap": pa.array(gap, pa.float64(), from_pandas=True),
        "gap_prev": pa.array(gap_prev, pa.float64(), from_pandas=True),
        "cp": pa.array(np.searchsorted(cps, t, side="right").astype(np.int32), pa.int32()),
    }


def register_events(
    con: Any,
    table: Any,
    name: str = "ev",
    *,
    as_of: Any = None,
    checkpoints_ms: list[int] | None = None,
) -> int:
    """Register an Arrow table as the normalized event table ``name``; returns its row count.

    Besides the view columns it adds what every later query wants precomputed once:
    ``aid`` (dense integer account id in ``account_id`` order: integer group keys are
    several times cheaper than strings), ``t`` (epoch ms), ``gap``/``gap_prev`` (seconds
    since the account's previous request / the previous gap: a prefix of the input has the
    same gaps, so they serve every replay checkpoint; ties in time need no tie-break, equal
    times give the same gaps in either order) and ``cp``, the replay interval of the event:
    the number of checkpoints at or before it, so "the events seen before checkpoint k" is
    ``cp <= k``. ``as_of`` keeps only events at or before it.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if as_of is not None:
        table = table.filter(pc.less_equal(table["timestamp"], pa.scalar(as_of, table["timestamp"].type)))
    names = list(table.schema.names)
    types = {f.name: f.type for f in table.schema}
    extra = _derived(table, checkpoints_ms or []) if table.num_rows else None
    raw = f"{name}__raw"
    if extra is None:
        con.register(raw, table)
        sql = view_sql(set(names), raw, tag_expressions(names, types))
        tail = "NULL::INTEGER AS aid, NULL::BIGINT AS t, NULL::DOUBLE AS gap, NULL::DOUBLE AS gap_prev, "
        select = f"SELECT *, {tail}NULL::INTEGER AS cp FROM ({sql})"
    else:
        keep = [c for c in names if c not in extra]
        table = pa.table([table[c] for c in keep] + list(extra.values()), names=keep + list(extra))
        con.register(raw, table)
        sql = view_sql(set(names), raw, tag_expressions(names, types))
        cols = ", ".join(extra)
        select = sql.replace(f" FROM {raw}", f", {cols} FROM {raw}")
    # a main-catalog table: compressed on disk when the connection has a database file
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
    con.unregister(raw)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_accts AS SELECT DISTINCT aid, account_id FROM {name}")
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
