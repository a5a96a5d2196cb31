"""The event schema v1 (``shared/spec/events.md``) and the tables stages hand on.

Every reader produces :data:`EVENT_SCHEMA`; every detector consumes only it (plus
what ``enrich`` adds). Nobody else re-declares these columns: import them.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1"

TIMESTAMP = pa.timestamp("us", tz="UTC")

#: Columns every event must carry (spec: "Required columns").
REQUIRED_FIELDS: tuple[pa.Field, ...] = (
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("timestamp", TIMESTAMP, nullable=False),
    pa.field("account_id", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("input_tokens", pa.int64(), nullable=False),
    pa.field("output_tokens", pa.int64(), nullable=False),
)

#: Columns a source may lack (absent column = unknown; null = unknown for that row).
OPTIONAL_FIELDS: tuple[pa.Field, ...] = (
    pa.field("provider", pa.string()),
    pa.field("api_key_id", pa.string()),
    pa.field("end_user_id", pa.string()),
    pa.field("reasoning_output_tokens", pa.int64()),
    pa.field("client_ip", pa.string()),
    pa.field("user_agent", pa.string()),
    pa.field("tls_fingerprint", pa.string()),
    pa.field("payment_fingerprint", pa.string()),
    pa.field("account_created_at", TIMESTAMP),
    pa.field("account_tier", pa.string()),
    pa.field("account_country", pa.string()),
    pa.field("prompt", pa.string()),
    pa.field("system_prompt", pa.string()),
    pa.field("conversation_id", pa.string()),
    pa.field("tool_count", pa.int64()),
    pa.field("has_image", pa.bool_()),
    pa.field("logprobs_requested", pa.bool_()),
    pa.field("stream", pa.bool_()),
    pa.field("temperature", pa.float64()),
    pa.field("status", pa.string()),
    pa.field("duration_ms", pa.int64()),
)

EVENT_SCHEMA = pa.schema(
    list(REQUIRED_FIELDS) + list(OPTIONAL_FIELDS),
    metadata={b"distillguard.schema_version": SCHEMA_VERSION.encode()},
)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in REQUIRED_FIELDS)
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in OPTIONAL_FIELDS)
EVENT_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
NON_NEGATIVE_INT_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "tool_count",
    "duration_ms",
)
ACCOUNT_TIERS: tuple[str, ...] = ("free", "paid", "edu", "startup", "research", "enterprise")
STATUSES: tuple[str, ...] = ("ok", "error", "rate_limited", "refused")
DEFAULT_PROVIDER = "local"

#: Quarantine rows: the offending row's fields as strings, plus why and where from.
#: ``reason`` is one of :data:`QUARANTINE_REASONS` (stable, for counting); ``detail`` says
#: in words which column and what about it (``output_tokens: 12.5 is not a whole number``).
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("reason", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("row_number", pa.int64()),
        pa.field("event_id", pa.string()),
        pa.field("account_id", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

#: Quarantine reasons (spec: "Bad input"); the only values ``reason`` takes.
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_required",  # a required value is null/empty (detail in ``raw``)
    "bad_timestamp",
    "negative_tokens",
    "invalid_ip",
    "duplicate_event_id",
    "malformed_row",  # a line/record that could not be parsed at all
    "too_deep",  # a record nested deeper than the ingest limit (hostile or broken input)
    "field_too_long",  # an id longer than the ingest limit (``detail`` names the column)
)


def conform_quarantine(table: pa.Table) -> pa.Table:
    """``table`` as QUARANTINE_SCHEMA; a column an older ingest did not write is null."""
    n = table.num_rows
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
        for f in QUARANTINE_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=QUARANTINE_SCHEMA)


#: Ground-truth labels (evaluation only).
LABELS_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("is_attack", pa.bool_(), nullable=False),
        pa.field("campaign", pa.string()),
        pa.field("persona", pa.string(), nullable=False),
    ]
)

#: Scan output: ``accounts.parquet`` (spec: "Scan output contract") plus extras.
ACCOUNTS_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("verdict", pa.string(), nullable=False),
        pa.field("campaign_id", pa.string()),
        pa.field("reasons", pa.list_(pa.string())),
        pa.field("flagged_at", TIMESTAMP),
        pa.field("exchanges", pa.int64()),
        pa.field("first_seen", TIMESTAMP),
        pa.field("last_seen", TIMESTAMP),
    ]
)
VERDICTS: tuple[str, ...] = ("attack", "suspicious", "clear")

#: One fired signal: what a detector emits (one row per account and signal).
SIGNALS_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),  # traffic|extraction|automation|coordination|intel
        pa.field("signal", pa.string(), nullable=False),  # stable name, e.g. "cot_elicitation_share"
        pa.field("strength", pa.float64(), nullable=False),  # in [0, 1]
        pa.field("value", pa.float64()),  # the measured value behind it
        pa.field("threshold", pa.float64()),  # the named threshold it crossed
        pa.field("evidence", pa.string()),  # short human-readable evidence
    ]
)

#: Account-account link: what ``campaigns`` clusters on.
EDGES_SCHEMA = pa.schema(
    [
        pa.field("src", pa.string(), nullable=False),
        pa.field("dst", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # payment|infra|template|sync|created_together
        pa.field("weight", pa.float64(), nullable=False),
        pa.field("evidence", pa.string()),
    ]
)


def empty_table(schema: pa.Schema) -> pa.Table:
    """An empty table of ``schema`` (for outputs that must exist even when empty)."""
    return schema.empty_table()
