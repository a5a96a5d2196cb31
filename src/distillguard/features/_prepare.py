"""One normalized DuckDB view over enriched events, whatever columns the source had.

Detectors must work on metadata-only logs and on logs without enrichment, so every
column a feature reads is guaranteed here: present columns are cast to one type, absent
ones become typed NULLs (spec: "absent column = unknown"). Everything downstream reads
only the view ``ev`` (or a time-bounded copy of it for replay), never the raw table.

This loader stays DuckDB SQL on purpose: it writes the scan's own DuckDB table, choosing
per input schema among SQL source expressions (DuckDB's ``hash()`` of prompt text among
them), and puts the derived columns (SQL windows over a narrow projection) beside the wide
rows by position. The feature queries that read the table are Ibis expressions; another
backend reads the normalized rows from Parquet.
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


#: Derived columns :func:`register_events` adds to the view, with their SQL types.
DERIVED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("aid", "INTEGER"),
    ("t", "BIGINT"),
    ("gap", "DOUBLE"),
    ("gap_prev", "DOUBLE"),
    ("cp", "INTEGER"),
)


def _derived_sql(src: str, row: str, checkpoints_ms: list[int]) -> str:
    """``aid``, ``t``, ``gap``, ``gap_prev``, ``cp`` (as ``_dg_*``) per ``row`` of ``src``, in row order.

    Computed on a narrow projection (row, account, time) rather than as a window over the
    wide event rows, which would drag every column through the sort. Ties in time are
    ordered by input row, as a stable sort of the input would.
    """
    us = "epoch_us(CAST(timestamp AS TIMESTAMPTZ))"
    t_ms = f"(({us}) - ((({us}) % 1000) + 1000) % 1000) // 1000"  # floor, also before 1970
    cps = sorted(int(c) for c in checkpoints_ms)
    cp = " + ".join(f"CAST(t >= {c} AS INTEGER)" for c in cps) if cps else "0"
    return f"""
    WITH k AS (SELECT {row} AS r, CAST(account_id AS VARCHAR) AS account_id, {t_ms} AS t FROM {src}),
    a AS (SELECT account_id, row_number() OVER (ORDER BY account_id) - 1 AS aid
          FROM (SELECT DISTINCT account_id FROM k)),
    j AS (SELECT k.r, a.aid, k.t FROM k LEFT JOIN a ON k.account_id IS NOT DISTINCT FROM a.account_id)
    SELECT r AS _dg_row, CAST(aid AS INTEGER) AS _dg_aid, CAST(t AS BIGINT) AS _dg_t,
           CAST(t - lag(t) OVER w AS DOUBLE) / 1000.0::DOUBLE AS _dg_gap,
           CAST(lag(t) OVER w - lag(t, 2) OVER w AS DOUBLE) / 1000.0::DOUBLE AS _dg_gap_prev,
           CAST({cp} AS INTEGER) AS _dg_cp
    FROM j WINDOW w AS (PARTITION BY aid ORDER BY t, r)
    ORDER BY r"""


def register_events(
    con: Any,
    table: Any,
    name: str = "ev",
    *,
    as_of: Any = None,
    checkpoints_ms: list[int] | None = None,
) -> int:
    """Register enriched events as the normalized event table ``name``; returns its row count.

    ``table`` is an Arrow table or spilled events (:class:`~distillguard.enrich._spilled.
    SpilledEvents`, read from disk by DuckDB: the scan's way, nothing per event in Python).
    Besides the view columns it adds what every later query wants precomputed once:
    ``aid`` (dense integer account id in ``account_id`` order: integer group keys are
    several times cheaper than strings), ``t`` (epoch ms), ``gap``/``gap_prev`` (seconds
    since the account's previous request / the previous gap: a prefix of the input has the
    same gaps, so they serve every replay checkpoint; ties in time need no tie-break, equal
    times give the same gaps in either order) and ``cp``, the replay interval of the event:
    the number of checkpoints at or before it, so "the events seen before checkpoint k" is
    ``cp <= k``. ``as_of`` keeps only events at or before it. Rows keep the input order unless
    the positional pairing failed (see :func:`_create_with_derived`; every reader aggregates).
    """
    import datetime as dt

    import numpy as np
    import pyarrow as pa

    from distillguard.enrich._spilled import ROW_COLUMN

    raw, src, derived = f"{name}__raw", f"{name}__src", f"{name}__derived"
    if isinstance(table, pa.Table):
        rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
        plain = table.drop_columns([c for c in (ROW_COLUMN,) if c in table.column_names])
        con.register(raw, plain.append_column(ROW_COLUMN, rows))
    else:
        table.create_view(con, raw)
    where = ""
    if as_of is not None:
        cut = as_of.astimezone(dt.UTC) if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
        where = f" WHERE CAST(timestamp AS TIMESTAMPTZ) <= '{cut.isoformat()}'::TIMESTAMPTZ"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {src} AS SELECT * FROM {raw}{where}")
    schema = con.sql(f"SELECT * FROM {src} LIMIT 0").to_arrow_table().schema
    names = [n for n in schema.names if n != ROW_COLUMN]
    types = {f.name: f.type for f in schema}
    # main-catalog tables: compressed on disk when the connection has a database file
    con.execute(f"CREATE OR REPLACE TABLE {derived} AS {_derived_sql(src, ROW_COLUMN, checkpoints_ms or [])}")
    _create_with_derived(con, name, view_sql(set(names), src, tag_expressions(names, types)), src, derived)
    con.execute(f"DROP TABLE {derived}")
    con.execute(f"DROP VIEW {src}")
    if isinstance(table, pa.Table):
        con.unregister(raw)
    else:
        table.drop_view(con, raw)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_accts AS SELECT DISTINCT aid, account_id FROM {name}")
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])


def _create_with_derived(con: Any, name: str, view: str, src: str, derived: str) -> None:
    """Table ``name``: the ``view`` of ``src`` beside the ``derived`` columns, in input order.

    A POSITIONAL JOIN pairs the rows without joining or sorting the wide rows (the derived
    table is stored in row order, the scan of ``src`` runs in file order). The row numbers
    of both sides are compared afterwards; should DuckDB pair them otherwise, the table is
    rebuilt with a keyed join, rows in the join's order. That happened on the 50M-event
    ``seed`` scenario's event directory (the per-text joins inside ``src`` did not keep the
    file order there; on 10M events they did). Pairing the batches with the derived columns
    before those joins is always in order, but ran twice as long where both worked (10M
    events: 43 s against 22 s), so it is not the first choice.
    """
    from distillguard.enrich._spilled import ROW_COLUMN

    cols = ", ".join(f"d._dg_{c} AS {c}" for c, _ in DERIVED_COLUMNS)
    pair = f"{src}.{ROW_COLUMN} AS _dg_left, d._dg_row AS _dg_right"
    positional = f", {cols}, {pair} FROM {src} POSITIONAL JOIN {derived} d"
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {view.replace(f' FROM {src}', positional)}")
    if _rows_paired(con, name):
        con.execute(f"ALTER TABLE {name} DROP COLUMN _dg_left")
        con.execute(f"ALTER TABLE {name} DROP COLUMN _dg_right")
        return
    row = f"{src}.{ROW_COLUMN}"
    keyed = f", {cols} FROM {src} JOIN {derived} d ON {row} = d._dg_row"
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {view.replace(f' FROM {src}', keyed)}")


def _rows_paired(con: Any, name: str) -> bool:
    """Did the positional join pair every event with its own derived row."""
    query = f"SELECT count(*) FILTER (WHERE _dg_left IS DISTINCT FROM _dg_right) FROM {name}"
    return int(con.execute(query).fetchall()[0][0]) == 0
