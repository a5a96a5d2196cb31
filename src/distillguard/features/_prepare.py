"""The normalized event table ``ev`` over enriched events, whatever columns the source had.

Detectors must work on metadata-only logs and on logs without enrichment, so every
column a feature reads is guaranteed here: present columns are cast to one type, absent
ones become typed NULLs (spec: "absent column = unknown"). Everything downstream reads
only the table ``ev``, never the raw events.

The table is an Ibis expression over the scan's backend (:func:`normalized_events`), built
in one statement with the few derived columns each row needs. On DuckDB the raw events are
a view over the spilled batches (:meth:`~distillguard.enrich._spilled.SpilledEvents.
create_view`, the spill format's own reader); another backend reads the columns the table
needs from one Parquet file written from that view (:func:`register_events`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: column of ``ev`` -> (Ibis type, source column candidates in order, fill for a NULL value).
#: The first candidate present in the source is used (its NULLs become the fill, when one
#: is given); with none present the column is NULL of that type. ``prompt_hash`` and
#: ``system_hash`` fall back to the engine's hash of the text (:data:`_TEXT_HASHES`).
_COLUMNS: tuple[tuple[str, str, tuple[str, ...], Any], ...] = (
    ("event_id", "string", ("event_id",), None),
    ("account_id", "string", ("account_id",), None),
    ("ts", "timestamp('UTC')", ("timestamp",), None),
    ("provider", "string", ("provider",), "local"),
    ("model", "string", ("model",), None),
    ("input_tokens", "int64", ("input_tokens",), None),
    ("output_tokens", "int64", ("output_tokens",), None),
    ("reasoning_tokens", "int64", ("reasoning_output_tokens",), 0),
    ("client_ip", "string", ("client_ip",), None),
    ("user_agent", "string", ("user_agent",), None),
    ("tls_fingerprint", "string", ("tls_fingerprint",), None),
    ("payment_fingerprint", "string", ("payment_fingerprint",), None),
    ("account_created_at", "timestamp('UTC')", ("account_created_at",), None),
    ("account_tier", "string", ("account_tier",), "unknown"),
    ("account_country", "string", ("account_country",), None),
    ("conversation_id", "string", ("conversation_id",), None),
    ("tool_count", "int64", ("tool_count",), 0),
    ("status", "string", ("status",), None),
    # enrich: IP infrastructure
    ("asn", "int64", ("asn",), None),
    ("ip_kind", "string", ("ip_kind",), "unknown"),
    ("ip_country", "string", ("ip_country",), None),
    ("ip_prefix", "string", ("ip_prefix24", "client_ip"), None),
    # enrich: prompt templates and tags (absent on metadata-only input)
    # the instruction frame's family: survives fixed wrappers around varying tasks and
    # paraphrased wrappers (enrich clusters frame texts); older enrich outputs lack it
    ("template_family", "int64", ("frame_id", "template_family", "template_id"), None),
    ("system_family", "int64", ("system_template_id",), None),
    ("cot", "boolean", ("tag_cot", "cot_elicitation", "is_cot"), None),
    ("extraction_tag", "boolean", ("tag_extraction", "is_extraction"), None),
    ("capability", "string", ("capability",), None),
    # exact-duplicate detection across accounts (benchmarks repeat; harvest sweeps do not)
    ("prompt_hash", "uint64", ("prompt_hash",), None),
    # exact system prompt (relays inject one harvest system prompt into every forwarded call)
    ("system_hash", "uint64", ("system_hash",), None),
)

#: Hash columns computed from the text when the source has the text but not the hash (an
#: Arrow table of raw events; the scan's loader always hashes with DuckDB's ``hash()``).
_TEXT_HASHES: dict[str, str] = {"prompt_hash": "prompt", "system_hash": "system_prompt"}

#: Column names of the normalized view, in order.
VIEW_COLUMNS: tuple[str, ...] = tuple(name for name, _, _, _ in _COLUMNS)


def _chosen(available: set[str], name: str, candidates: tuple[str, ...]) -> str | None:
    """The source column of view column ``name``: the first candidate present, else None."""
    for col in candidates:
        if col in available:
            return col
    text = _TEXT_HASHES.get(name)
    return text if text in available else None


def source_columns(available: set[str], tags: dict[str, list[str]] | None = None) -> list[str]:
    """The source columns the view reads (in ``available``), ``tags`` included."""
    used = {"account_id", "timestamp"}
    for name, _, candidates, _ in _COLUMNS:
        if tags and name in tags:
            used.update(tags[name])
        elif (col := _chosen(available, name, candidates)) is not None:
            used.add(col)
    return sorted(used & available)


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

    used = set(source_columns(set(table.column_names)))
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


def tag_columns(booleans: list[str]) -> dict[str, list[str]]:
    """Fold enrich's boolean tag columns into the view's ``cot`` and ``extraction_tag``:
    view column -> the source's tag columns (``booleans``: its boolean column names) that
    make it true.

    enrich emits one boolean column per tag rule (rules are data and may be renamed); the
    detectors only need two questions answered: does the request elicit reasoning, and is it
    one of the harvesting request kinds named in the public record.
    """
    tags = [n for n in booleans if n.startswith(("tag_", "is_"))]
    cot = [c for c in tags if any(h in c for h in COT_TAG_HINTS)]
    ext = [c for c in tags if any(h in c for h in EXTRACTION_TAG_HINTS) and c not in cot]
    return {k: v for k, v in (("cot", cot), ("extraction_tag", ext)) if v}


def _tags(schema: Any) -> dict[str, list[str]]:
    """:func:`tag_columns` of the boolean columns of an Ibis ``schema``."""
    return tag_columns([n for n in schema.names if schema[n].is_boolean()])


#: Derived columns :func:`normalized_events` adds to the view, with their Ibis types.
DERIVED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("aid", "int32"),
    ("t", "int64"),
    ("cp", "int32"),
)


def epoch_ms_floor(con: Any, ts: Any) -> Any:
    """Milliseconds since the epoch of timestamp ``ts``, floored (also before 1970): the
    event table's ``t``. (:func:`~._ibis_exprs.epoch_ms` rounds half up, as DuckDB's
    ``epoch_ms`` does, for the features' own times; ``t`` has always been floored.)"""
    from distillguard import _engine

    us = _engine.epoch_us(con, ts)
    return (us - (((us % 1000) + 1000) % 1000)) // 1000


def checkpoint_of(t: Any, checkpoints_ms: list[int]) -> Any:
    """The replay interval of epoch-ms ``t``: how many checkpoints are at or before it."""
    import ibis

    cp = ibis.literal(0, "int32")
    for c in sorted(int(c) for c in checkpoints_ms):
        cp = cp + (t >= c).cast("int32")
    return cp


def account_ids(raw: Any) -> Any:
    """``account_id`` -> dense ``aid`` (0, 1, ... in ``account_id`` order) of ``raw``."""
    import ibis

    a = raw.select(account_id=raw.account_id.cast("string")).distinct()
    return a.mutate(aid=ibis.row_number().over(order_by=a.account_id).cast("int32"))


def normalized_events(con: Any, raw: Any, accounts: Any, checkpoints_ms: list[int]) -> Any:
    """The event table of ``raw`` (enriched events on backend ``con``): the view columns,
    ``aid`` (from ``accounts``, :func:`account_ids`), ``t`` and ``cp``."""
    import ibis

    schema = raw.schema()
    available = set(schema.names)
    tags = _tags(schema)
    cols: dict[str, Any] = {}
    for name, typ, candidates, fill in _COLUMNS:
        dtype = ibis.dtype(typ)
        if dtype.is_unsigned_integer() and con.name != "duckdb":
            dtype = ibis.dtype("int64")  # Spark has no unsigned integers (_engine.spark_safe)
        col = _chosen(available, name, candidates)
        if name in tags:
            value = ibis.or_(*(raw[c].fill_null(False) for c in tags[name]))
        elif col is None:
            value = ibis.null(dtype)
        elif col == _TEXT_HASHES.get(name):
            value = _text_hash(con, raw[col])
        else:
            value = raw[col]
        value = value.cast(dtype)
        cols[name] = value if fill is None or col is None else value.fill_null(fill)
    v = raw.select(**cols)
    t = epoch_ms_floor(con, v.ts)
    v = v.mutate(t=t.cast("int64"), cp=checkpoint_of(t, checkpoints_ms))
    j = v.left_join(accounts, v.account_id.identical_to(accounts.account_id))
    return j.select(*VIEW_COLUMNS, aid=j.aid, t=j.t, cp=j.cp)


def _text_hash(con: Any, text: Any) -> Any:
    """Hash of a text column: DuckDB's own ``hash()`` (unsigned 64-bit, the loader's
    ``prompt_hash``) on DuckDB, the engine's hash elsewhere (a scan's events are hashed by the
    loader, so this is for raw Arrow tables only)."""
    import ibis

    if con.name != "duckdb":
        return text.hash()

    def duckdb_hash(value: str) -> int: ...  # DuckDB's builtin ``hash`` (no Python runs)

    return ibis.udf.scalar.builtin(duckdb_hash, name="hash", signature=((text.type(),), "uint64"))(text)


def register_events(
    con: Any,
    table: Any,
    name: str = "ev",
    *,
    as_of: Any = None,
    checkpoints_ms: list[int] | None = None,
    backend: Any = None,
    scratch: str | Path | None = None,
) -> int:
    """Register enriched events as the normalized event table ``name``; returns its row count.

    ``con`` is a DuckDB connection; ``table`` an Arrow table or spilled events
    (:class:`~distillguard.enrich._spilled.SpilledEvents`, read from disk by DuckDB: the
    scan's way, nothing per event in Python). Besides the view columns the table has what
    every later query wants precomputed once: ``aid`` (dense integer account id in
    ``account_id`` order: integer group keys are several times cheaper than strings), ``t``
    (epoch ms, floored) and ``cp``, the replay interval of the event: the number of
    checkpoints at or before it, so "the events seen before checkpoint k" is ``cp <= k``.
    ``as_of`` keeps only events at or before it.

    The table lives on ``backend`` (an Ibis backend; default: ``con`` itself). Another
    engine than DuckDB gets the raw events' needed columns as one Parquet file in
    ``scratch`` (64-bit unsigned hashes as signed, bit for bit), read there.

    Every column is a function of its own row (``aid`` through a join with the small table
    of accounts), so the table is one parallel statement and rows come in whatever order
    the joins give: every reader aggregates. Gaps between an account's requests are a
    window the features take over three of these columns (:func:`~._ibis_exprs.gaps`).
    """
    import datetime as dt

    import pyarrow as pa

    from distillguard import _engine
    from distillguard.features._timeline import ibis_backend

    raw_name = f"{name}__raw"
    if isinstance(table, pa.Table):
        con.register(raw_name, table)
    else:
        table.create_view(con, raw_name)
    local = ibis_backend(con)
    duck = backend is None or backend.name == "duckdb"
    target = local if duck else backend
    raw = local.table(raw_name)
    if as_of is not None:
        cut = as_of.astimezone(dt.UTC) if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
        raw = raw.filter(raw.timestamp.cast("timestamp('UTC')") <= cut)
    if not duck:
        if scratch is None:
            raise ValueError("register_events on another backend needs a scratch directory")
        schema = raw.schema()
        raw = raw.select(*source_columns(set(schema.names), _tags(schema)))
        raw = _to_backend(
            con, local.compile(raw), target, Path(scratch) / f"{name}__raw.parquet", f"{name}__raw"
        )
    accounts = _engine.keep(target, f"{name}_accts", account_ids(raw))
    events = normalized_events(target, raw, accounts, checkpoints_ms or [])
    if duck:  # main-catalog table: compressed on disk when the connection has a database file
        target.create_table(name, events, overwrite=True)
    else:
        _engine.keep(target, name, events)
    _engine.drop(target, f"{name}_accts")
    if isinstance(table, pa.Table):
        con.unregister(raw_name)
    else:
        table.drop_view(con, raw_name)
    return int(target.table(name).count().to_pyarrow().as_py())


#: Rows per Arrow batch when the raw events are written for another backend.
EXPORT_BATCH_ROWS: int = 262_144


def _to_backend(con: Any, sql: str, backend: Any, path: Path, name: str) -> Any:
    """The rows of ``sql`` on DuckDB connection ``con`` streamed in batches to one Parquet
    file at ``path`` (64-bit unsigned hashes as signed, bit for bit: Spark has no unsigned
    integers) and read by ``backend`` as ``name``. (DuckDB's own batch reader: Ibis 12's
    ``to_pyarrow_batches`` calls a method DuckDB 1.5 no longer has.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from distillguard import _engine

    reader = con.sql(sql).to_arrow_reader(EXPORT_BATCH_ROWS)
    schema = _engine.spark_safe(reader.schema.empty_table()).schema
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            writer.write_table(_engine.spark_safe(pa.Table.from_batches([batch])))
    return _engine.read_parquet(backend, [path], name)
