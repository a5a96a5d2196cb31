"""Persona blocks -> one EVENT_SCHEMA table, labels, and the event directory on disk.

Log sources differ in what they record, as real provider pipelines do. Every account is
served through one source (its region's gateway); the source decides which optional
columns are absent (all null) for its rows. Nothing here depends on the persona.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _h2_common import DAY_US, MODEL_STD, PROVIDER, START_US, Pop, hex_ids

#: Log sources: (has TLS fingerprint, share of rows with client_ip missing, logs prompt text,
#: logs user agent). ``gw-legacy`` predates TLS fingerprinting and drops client_ip on 30 % of
#: rows (IPs lost at a load balancer); ``gw-apac`` has content logging disabled; ``zdr`` is
#: the zero-data-retention path enterprise contracts buy (no text at all).
SOURCES: dict[str, tuple[bool, float, bool, bool]] = {
    "gw-main": (True, 0.0, True, True),
    "gw-legacy": (False, 0.30, True, True),
    "gw-apac": (True, 0.02, False, True),
    "zdr": (True, 0.0, False, False),
}
#: Share of ordinary accounts routed through each non-ZDR source.
SOURCE_MIX = {"gw-main": 0.55, "gw-legacy": 0.28, "gw-apac": 0.17}


def source_mix(rng: np.random.Generator, n: int) -> np.ndarray:
    names = np.array(list(SOURCE_MIX), dtype=object)
    p = np.array(list(SOURCE_MIX.values()))
    return names[rng.choice(len(names), size=n, p=p / p.sum())]


def _arr(v: Any, typ: pa.DataType) -> pa.Array:
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if isinstance(v, pa.Array):
        return v if v.type == typ else v.cast(typ)
    v = np.asarray(v)
    if v.dtype == object:
        return pa.array(v.tolist(), typ)
    return pa.array(v, typ)


def _default(rng: np.random.Generator, name: str, ev: dict[str, Any], n: int) -> Any:
    if name == "model":
        return np.full(n, MODEL_STD, dtype=object)
    if name in ("tool_count",):
        return np.zeros(n, dtype=np.int64)
    if name in ("has_image", "logprobs"):
        return np.zeros(n, dtype=bool)
    if name == "stream":
        return rng.random(n) < 0.55
    if name == "temperature":
        t = np.array([np.nan, 0.7, 1.0, 0.2, 0.0])[rng.choice(5, size=n, p=[0.45, 0.25, 0.15, 0.1, 0.05])]
        return pa.array(t, pa.float64(), mask=np.isnan(t))
    if name == "status":
        return np.array(["ok", "error", "rate_limited"], dtype=object)[
            rng.choice(3, size=n, p=[0.985, 0.01, 0.005])
        ]
    if name == "duration":
        out = np.asarray(ev["out_tok"], dtype=float)
        return (250 + out * 22 * np.exp(0.25 * rng.standard_normal(n))).astype(np.int64)
    return pa.nulls(n, pa.string())


#: Event column -> (key in Pop.events, Arrow type).
_EVENT_COLS = {
    "model": ("model", pa.string()),
    "input_tokens": ("in_tok", pa.int64()),
    "output_tokens": ("out_tok", pa.int64()),
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
_ACCOUNT_COLS = {
    "payment_fingerprint": ("payment", pa.string()),
    "account_tier": ("tier", pa.string()),
    "account_country": ("country", pa.string()),
}


def _pop_table(rng: np.random.Generator, pop: Pop) -> pa.Table:
    ev, ac = pop.events, pop.accounts
    n = pop.n_events
    acct = np.asarray(ev["acct"], dtype=np.int64)
    cols: dict[str, pa.Array] = {}
    cols["timestamp"] = pa.array(np.asarray(ev["ts"], dtype=np.int64), pa.int64())
    cols["account_id"] = _arr(np.asarray(ac["account_id"], dtype=object)[acct], pa.string())
    for name, (key, typ) in _EVENT_COLS.items():
        v = ev.get(key)
        if v is None and key in ("ua", "ja4"):
            v = None
        cols[name] = _arr(_default(rng, key, ev, n) if v is None else v, typ)
    for name, key in (("user_agent", "ua"), ("tls_fingerprint", "ja4")):
        v = ev.get(key)
        if v is None and key in ac:
            v = np.asarray(ac[key], dtype=object)[acct]
        cols[name] = _arr(pa.nulls(n, pa.string()) if v is None else v, pa.string())
    if cols["api_key_id"].null_count == n:
        keys = ac.get("api_key")
        if keys is None:
            keys = np.char.add("key_", np.char.replace(np.asarray(ac["account_id"]).astype(str), "org_", ""))
        cols["api_key_id"] = _arr(np.asarray(keys, dtype=object)[acct], pa.string())
    r = ev.get("reason_tok")
    cols["reasoning_output_tokens"] = pa.nulls(n, pa.int64()) if r is None else _arr(r, pa.int64())
    for name, (key, typ) in _ACCOUNT_COLS.items():
        cols[name] = _arr(np.asarray(ac[key], dtype=object)[acct], typ)
    cols["account_created_at"] = pa.array(np.asarray(ac["created_us"], dtype=np.int64)[acct], pa.int64())
    cols["_source"] = _arr(np.asarray(ac["source"], dtype=object)[acct], pa.string())
    return pa.table(cols)


def _apply_sources(rng: np.random.Generator, t: pa.Table) -> pa.Table:
    src = t["_source"].to_numpy(zero_copy_only=False)
    n = t.num_rows
    drop_tls = np.zeros(n, bool)
    drop_ip = np.zeros(n, bool)
    drop_text = np.zeros(n, bool)
    drop_ua = np.zeros(n, bool)
    u = rng.random(n)
    for name, (tls, ip_null, text, ua) in SOURCES.items():
        sel = src == name
        drop_tls |= sel & (not tls)
        drop_ip |= sel & (u < ip_null)
        drop_text |= sel & (not text)
        drop_ua |= sel & (not ua)

    def null_where(col: str, mask: np.ndarray) -> None:
        nonlocal t
        a = t[col].combine_chunks()
        t = t.set_column(
            t.schema.get_field_index(col), col, pc.if_else(pa.array(mask), pa.nulls(n, a.type), a)
        )

    null_where("tls_fingerprint", drop_tls)
    null_where("client_ip", drop_ip)
    null_where("prompt", drop_text)
    null_where("system_prompt", drop_text)
    null_where("user_agent", drop_ua)
    return t.drop_columns(["_source"])


def assemble(rng: np.random.Generator, pops: list[Pop]) -> tuple[pa.Table, pa.Table]:
    """All persona blocks -> (events sorted by time, EVENT_SCHEMA; labels, LABELS_SCHEMA)."""
    from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA

    t = pa.concat_tables([_pop_table(rng, p) for p in pops if p.n_events], promote_options="permissive")
    t = _apply_sources(rng, t)
    t = t.take(pc.sort_indices(t, [("timestamp", "ascending"), ("account_id", "ascending")]))
    n = t.num_rows
    ts_type = EVENT_SCHEMA.field("timestamp").type
    cols = {}
    for f in EVENT_SCHEMA:
        if f.name == "event_id":
            cols[f.name] = pa.array(hex_ids(rng, n, 12, "req_"), pa.string())
        elif f.name == "provider":
            cols[f.name] = pa.array(np.full(n, PROVIDER, dtype=object).tolist(), pa.string())
        elif f.type == ts_type:
            cols[f.name] = t[f.name].cast(pa.timestamp("us")).cast(ts_type)
        else:
            cols[f.name] = t[f.name].cast(f.type)
    events = pa.table(cols, schema=EVENT_SCHEMA)
    acc = [p.accounts for p in pops]
    labels = pa.table(
        {
            "account_id": pa.array(
                np.concatenate([a["account_id"] for a in acc]).astype(object).tolist(), pa.string()
            ),
            "is_attack": pa.array(np.concatenate([a["is_attack"] for a in acc]).astype(bool)),
            "campaign": pa.array(np.concatenate([a["campaign"] for a in acc]).tolist(), pa.string()),
            "persona": pa.array(np.concatenate([a["persona"] for a in acc]).tolist(), pa.string()),
        },
        schema=LABELS_SCHEMA,
    )
    seen = pc.is_in(labels["account_id"], value_set=pc.unique(events["account_id"]))
    return events, labels.filter(seen)


def write(out: Path, events: pa.Table, labels: pa.Table, manifest: dict[str, Any]) -> None:
    """The event directory: ``events/day=*/part-0.parquet``, labels, empty quarantine."""
    from distillguard.schema import QUARANTINE_SCHEMA, empty_table

    out.mkdir(parents=True, exist_ok=True)
    ts = events["timestamp"].cast(pa.int64()).to_numpy()
    day = (ts - START_US) // DAY_US
    bounds = np.searchsorted(day, np.arange(day.max() + 2))
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
