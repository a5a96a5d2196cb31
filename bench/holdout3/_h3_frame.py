"""Population blocks -> one EVENT_SCHEMA table, labels, and the event directory on disk.

Real providers log through several pipelines that keep different columns, so every
account is served through one log source, and the source (never the persona) decides
which optional columns are null. The metadata-light attack lives on the ``minimal``
source, but so do a share of ordinary benign accounts: the source itself is no tell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _h3_core import DAY_US, END_US, M_MAIN, M_NEW, M_REASON, PROVIDER, START_US, Block, client_cols, hexes

#: Log source -> (keeps TLS fingerprint, share of rows without client_ip, keeps prompt and
#: system text, keeps user agent). ``legacy`` predates JA4 and loses IPs behind an old load
#: balancer; ``nocontent`` has content logging off (most enterprise contracts); ``minimal``
#: is a billing-grade usage export: tokens, model, time, account, sometimes the IP.
SOURCES: dict[str, tuple[bool, float, bool, bool]] = {
    "full": (True, 0.0, True, True),
    "legacy": (False, 0.25, True, True),
    "nocontent": (True, 0.01, False, True),
    "minimal": (False, 0.55, False, False),
}
#: Log-source mix of ordinary accounts.
ORDINARY_SOURCES = {"full": 0.6, "legacy": 0.2, "nocontent": 0.14, "minimal": 0.06}


def ordinary_sources(rng: np.random.Generator, n: int) -> np.ndarray:
    names = np.array(list(ORDINARY_SOURCES), dtype=object)
    p = np.array(list(ORDINARY_SOURCES.values()))
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


_EVENT_COLS: dict[str, tuple[str, pa.DataType]] = {
    "model": ("model", pa.string()),
    "input_tokens": ("in_tok", pa.int64()),
    "output_tokens": ("out_tok", pa.int64()),
    "reasoning_output_tokens": ("reason_tok", pa.int64()),
    "api_key_id": ("api_key", pa.string()),
    "end_user_id": ("end_user", pa.string()),
    "client_ip": ("ip", pa.string()),
    "prompt": ("prompt", pa.string()),
    "system_prompt": ("system", pa.string()),
    "conversation_id": ("conv", pa.string()),
    "tool_count": ("tool_count", pa.int64()),
    "has_image": ("has_image", pa.bool_()),
    "logprobs_requested": ("logprobs", pa.bool_()),
    "stream": ("stream", pa.bool_()),
    "temperature": ("temperature", pa.float64()),
    "status": ("status", pa.string()),
    "duration_ms": ("duration", pa.int64()),
}


def _arr(v: Any, typ: pa.DataType) -> pa.Array:
    if isinstance(v, pa.Array):
        return v.cast(typ)
    v = np.asarray(v)
    if v.dtype == object:
        return pa.array(v.tolist(), typ, from_pandas=True)
    if v.dtype.kind == "f" and typ != pa.float64():
        return pa.array(v, pa.float64(), from_pandas=True).cast(typ)
    return pa.array(v, typ, from_pandas=True)


def _default(rng: np.random.Generator, key: str, ev: dict[str, Any], n: int) -> Any:
    if key == "model":
        return np.full(n, M_MAIN, dtype=object)
    if key == "tool_count":
        return np.zeros(n, dtype=np.int64)
    if key in ("has_image", "logprobs"):
        return np.zeros(n, dtype=bool)
    if key == "stream":
        return rng.random(n) < 0.6
    if key == "temperature":
        return np.array([np.nan, 1.0, 0.7, 0.3, 0.0])[rng.choice(5, size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05])]
    if key == "status":
        return np.array(["ok", "error", "rate_limited"], dtype=object)[
            rng.choice(3, size=n, p=[0.988, 0.008, 0.004])
        ]
    if key == "duration":
        out = np.asarray(ev["out_tok"], dtype=float)
        return (300 + out * 18 * np.exp(0.3 * rng.standard_normal(n))).astype(np.int64)
    return np.full(n, None, dtype=object)


def _block_table(rng: np.random.Generator, b: Block, ids: np.ndarray, reason_share: np.ndarray) -> pa.Table:
    ev, ac = b.events, b.accounts
    n = b.n_events
    acct = np.asarray(ev["acct"], dtype=np.int64)
    # Requests that fall outside the window wrap around it (a session running past Sunday
    # midnight shows up as last week's tail): clipping would pile them onto one instant.
    ts = START_US + (np.asarray(ev["ts"], dtype=np.int64) - START_US) % (END_US - START_US)
    cols: dict[str, pa.Array] = {
        "timestamp": pa.array(ts, pa.int64()),
        "account_id": pa.array(ids[acct].tolist(), pa.string()),
    }
    for name, (key, typ) in _EVENT_COLS.items():
        v = ev.get(key)
        if v is None and key == "api_key":
            v = np.char.add("sk-", ids[acct].astype(str)).astype(object)
        cols[name] = _arr(_default(rng, key, ev, n) if v is None else v, typ)
    if ev.get("reason_tok") is None:
        # Reasoning models report hidden reasoning tokens for every caller (share of output
        # from ServeGen's DeepSeek-R1 clients).
        model = np.asarray(cols["model"].to_numpy(zero_copy_only=False), dtype=object)
        think = (model == M_REASON) | (model == M_NEW)
        share = reason_share[rng.integers(0, len(reason_share), size=n)]
        out = np.asarray(ev["out_tok"], dtype=np.int64)
        cols["reasoning_output_tokens"] = pa.array((out * share).astype(np.int64), pa.int64(), mask=~think)
    ua, ja = client_cols(np.asarray(ev.get("client", ac["client"][acct]), dtype=object))
    cols["user_agent"] = _arr(ua, pa.string())
    cols["tls_fingerprint"] = _arr(ja, pa.string())
    cols["payment_fingerprint"] = _arr(ac["payment"][acct], pa.string())
    cols["account_tier"] = _arr(ac["tier"][acct], pa.string())
    cols["account_country"] = _arr(ac["country"][acct], pa.string())
    cols["account_created_at"] = pa.array(np.asarray(ac["created_us"], dtype=np.int64)[acct], pa.int64())
    cols["_source"] = _arr(ac["source"][acct], pa.string())
    return pa.table(cols)


def _apply_sources(rng: np.random.Generator, t: pa.Table) -> pa.Table:
    src = t["_source"].to_numpy(zero_copy_only=False)
    n = t.num_rows
    masks = {k: np.zeros(n, bool) for k in ("tls_fingerprint", "client_ip", "prompt", "user_agent")}
    u = rng.random(n)
    for name, (tls, ip_null, text, ua) in SOURCES.items():
        sel = src == name
        masks["tls_fingerprint"] |= sel & (not tls)
        masks["client_ip"] |= sel & (u < ip_null)
        masks["prompt"] |= sel & (not text)
        masks["user_agent"] |= sel & (not ua)
    masks["system_prompt"] = masks["prompt"]
    for col, m in masks.items():
        a = t[col].combine_chunks()
        t = t.set_column(t.schema.get_field_index(col), col, pc.if_else(pa.array(m), pa.nulls(n, a.type), a))
    return t.drop_columns(["_source"])


def assemble(
    rng: np.random.Generator, blocks: list[Block], reason_share: np.ndarray
) -> tuple[pa.Table, pa.Table]:
    """Blocks -> (events sorted by time in EVENT_SCHEMA, labels in LABELS_SCHEMA).

    ``reason_share``: observed shares of reasoning tokens in output (ServeGen R1 clients).
    """
    from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA

    total = sum(len(b.accounts["persona"]) for b in blocks)
    all_ids = hexes(rng, total, "acct_")
    ids, o = [], 0
    for b in blocks:
        k = len(b.accounts["persona"])
        ids.append(all_ids[o : o + k])
        o += k
    t = pa.concat_tables(
        [_block_table(rng, b, i, reason_share) for b, i in zip(blocks, ids, strict=True) if b.n_events]
    )
    t = _apply_sources(rng, t)
    t = t.take(pc.sort_indices(t, [("timestamp", "ascending"), ("account_id", "ascending")]))
    n = t.num_rows
    ts_type = EVENT_SCHEMA.field("timestamp").type
    cols = {}
    for f in EVENT_SCHEMA:
        if f.name == "event_id":
            cols[f.name] = pa.array(hexes(rng, n, "evt_", 14).tolist(), pa.string())
        elif f.name == "provider":
            cols[f.name] = pa.array([PROVIDER] * n, pa.string())
        elif f.type == ts_type:
            cols[f.name] = t[f.name].cast(pa.timestamp("us")).cast(ts_type)
        else:
            cols[f.name] = t[f.name].cast(f.type)
    events = pa.table(cols, schema=EVENT_SCHEMA)
    labels = pa.table(
        {
            "account_id": pa.array(np.concatenate(ids).tolist(), pa.string()),
            "is_attack": pa.array(np.concatenate([b.accounts["is_attack"] for b in blocks]).astype(bool)),
            "campaign": pa.array(
                np.concatenate([b.accounts["campaign"] for b in blocks]).tolist(), pa.string()
            ),
            "persona": pa.array(
                np.concatenate([b.accounts["persona"] for b in blocks]).tolist(), pa.string()
            ),
        },
        schema=LABELS_SCHEMA,
    )
    seen = pc.is_in(labels["account_id"], value_set=pc.unique(events["account_id"]))
    return events, labels.filter(seen)


def write(out: Path, events: pa.Table, labels: pa.Table, manifest: dict[str, Any]) -> None:
    """``OUT/events/day=YYYY-MM-DD/part-0.parquet``, labels, an empty quarantine, manifest."""
    from distillguard.schema import QUARANTINE_SCHEMA, empty_table

    out.mkdir(parents=True, exist_ok=True)
    ts = events["timestamp"].cast(pa.int64()).to_numpy()
    day = (ts - START_US) // DAY_US
    bounds = np.searchsorted(day, np.arange(int(day.max()) + 2))
    for d in range(int(day.max()) + 1):
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        if hi <= lo:
            continue
        date = np.datetime64(START_US + d * DAY_US, "us").astype("datetime64[D]")
        part = out / "events" / f"day={date}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(events.slice(lo, hi - lo), part / "part-0.parquet")
    pq.write_table(labels, out / "labels.parquet")
    pq.write_table(empty_table(QUARANTINE_SCHEMA), out / "quarantine.parquet")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
