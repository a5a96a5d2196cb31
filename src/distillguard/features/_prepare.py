"""One normalized DuckDB view over enriched events, whatever columns the source had.

Detectors must work on metadata-only logs and on logs without enrichment, so every
column a feature reads is guaranteed here: present columns are cast to one type, absent
ones become typed NULLs (spec: "absent column = unknown"). Everything downstream reads
only the view ``ev`` (or a time-bounded copy of it for replay), never the raw table.
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
    ("template_family", "BIGINT", ("frame_id", "template_family", "template_id")),
    ("system_family", "BIGINT", ("system_template_id",)),
    ("cot", "BOOLEAN", ("tag_cot", "cot_elicitation", "is_cot")),
    ("extraction_tag", "BOOLEAN", ("tag_extraction", "is_extraction")),
    ("capability", "VARCHAR", ("capability",)),
    # exact-duplicate detection across accounts (benchmarks repeat; harvest sweeps do not)
    ("prompt_hash", "UBIGINT", ("hash(prompt)",)),
    # exact system prompt (relays inject one harvest system prompt into every forwarded call)
    ("system_hash", "UBIGINT", ("hash(system_prompt)",)),
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
        chosen = "NULL"
        if extra_tags and name in extra_tags:
            chosen = extra_tags[name]
        else:
            for expr in candidates:
                if all(col in available for col in _needed(expr)):
                    chosen = expr
                    break
        parts.append(f"CAST({chosen} AS {sql_type}) AS {name}")
    return f"SELECT {', '.join(parts)} FROM {source}"


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


def register_events(con: Any, table: Any, name: str = "ev", *, as_of: Any = None) -> int:
    """Register an Arrow table as the normalized view ``name``; returns its row count.

    ``as_of`` (a timestamp) keeps only events at or before it, so a scan "as of T" sees
    exactly what it would have seen at T.
    """
    raw = f"{name}__raw"
    con.register(raw, table)
    names = list(table.schema.names)
    types = {f.name: f.type for f in table.schema}
    sql = view_sql(set(names), raw, tag_expressions(names, types))
    where = ""
    if as_of is not None:
        where = " WHERE ts <= CAST($as_of AS TIMESTAMPTZ)"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM ({sql}){where}", {"as_of": as_of})
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    con.unregister(raw)
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
