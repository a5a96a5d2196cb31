"""Persona blocks -> one EVENT_SCHEMA table and one LABELS_SCHEMA table.

A persona returns a :class:`Block`: per-account arrays (label, tier, country, creation
time, payment) and per-event arrays (``acct`` index into the block, ``t`` seconds since
T0, and any event columns it sets). ``assemble`` fills the rest with defaults, takes the
account columns per event, drops events outside the period, sorts by time, and gives
opaque ids that leak nothing about the persona.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA

_ACCOUNT_KEYS = ("persona", "is_attack", "campaign", "tier", "country", "created_s", "payment")
#: Models served during the period; ``atlas-4-think`` is released mid-period (see RELEASE_S).
MODELS = ("atlas-3", "atlas-3-mini", "atlas-3-think", "atlas-2", "atlas-4-think")
#: Release of the new model: day 6, 14:00 UTC.
RELEASE_S = 6 * 86400.0 + 14 * 3600.0
#: Tiers that always have a payment instrument on file.
PAYING_TIERS = ("paid", "enterprise", "startup")
#: Background share of failed requests (``error``) for every persona.
ERROR_RATE = 0.004
#: Time to first token (median ms) and per-output-token decode time (ms) by model.
TTFT_MS = 350.0
MS_PER_TOKEN = {
    "atlas-3": 22.0,
    "atlas-3-mini": 9.0,
    "atlas-3-think": 28.0,
    "atlas-2": 18.0,
    "atlas-4-think": 30.0,
}


@dataclass
class Block:
    """One persona's accounts and events (see module docstring)."""

    acc: dict[str, np.ndarray]
    ev: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_accounts(self) -> int:
        return int(self.acc["persona"].size)


def accounts(
    n: int,
    persona: str,
    *,
    campaign: str | None = None,
    tier: np.ndarray | str = "free",
    country: np.ndarray | str = "US",
    created_s: np.ndarray | float = -30 * 86400.0,
    payment: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-account arrays for a block; scalars are broadcast."""

    def arr(v: object, dtype: object = object) -> np.ndarray:
        a = np.asarray(v, dtype=dtype)
        return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a

    return {
        "persona": arr(persona),
        "is_attack": arr(campaign is not None, bool),
        "campaign": arr(campaign),
        "tier": arr(tier),
        "country": arr(country),
        "created_s": arr(created_s, float),
        "payment": arr(None) if payment is None else arr(payment),
    }


def hex_ids(rng: np.random.Generator, prefix: str, n: int, width: int = 16) -> np.ndarray:
    """Random opaque ids (``prefix`` + hex)."""
    hi = rng.integers(0, 2**62, size=n, dtype=np.int64)
    return np.char.mod(f"{prefix}%0{width}x", hi).astype(object)


def est_tokens(texts: np.ndarray) -> np.ndarray:
    """Rough token count: ~4 ASCII chars per token, ~1.5 bytes per token beyond ASCII."""
    a = pa.array(texts, type=pa.string())
    chars = pc.fill_null(pc.utf8_length(a), 0).to_numpy(zero_copy_only=False)
    nbytes = pc.fill_null(pc.binary_length(a), 0).to_numpy(zero_copy_only=False)
    return (chars / 4.0 + (nbytes - chars) / 1.5).astype(np.int64) + 1


def concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of arrays/scalars (pyarrow, vectorized)."""
    n = max((p.size for p in parts if isinstance(p, np.ndarray)), default=1)
    arrs = [pa.array(np.broadcast_to(np.asarray(p, dtype=object), (n,)), type=pa.string()) for p in parts]
    return np.asarray(pc.binary_join_element_wise(*arrs, "").to_numpy(zero_copy_only=False), dtype=object)


def trace_tokens(rng: np.random.Generator, trace: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, output) token pairs resampled from a real serving trace."""
    idx = rng.integers(0, trace.shape[0], n)
    return trace[idx, 0].astype(np.int64), trace[idx, 1].astype(np.int64)


def lognormal_p50_p90(rng: np.random.Generator, p50: np.ndarray, p90: np.ndarray) -> np.ndarray:
    """Draws from the log-normal with the given median and 90th percentile."""
    p50 = np.maximum(np.asarray(p50, dtype=float), 1.0)
    sigma = np.log(np.maximum(np.asarray(p90, dtype=float), p50 * 1.05) / p50) / 1.2816
    return np.maximum(rng.lognormal(np.log(p50), sigma), 1).astype(np.int64)


def _default(name: str, n: int) -> np.ndarray:
    if name in ("has_image", "logprobs_requested", "stream"):
        return np.zeros(n, dtype=bool)
    return np.full(n, None, dtype=object)


def assemble(
    blocks: list[Block], rng: np.random.Generator, *, days: int, t0_s: int, provider: str = "local"
) -> tuple[pa.Table, pa.Table]:
    """(events sorted by time, labels) for all blocks; ids are opaque and unique."""
    n_acc = np.array([b.n_accounts for b in blocks])
    offs = np.r_[0, np.cumsum(n_acc)[:-1]]
    acc = {k: np.concatenate([b.acc[k] for b in blocks]) for k in _ACCOUNT_KEYS}
    acc_id = hex_ids(rng, "org-", int(n_acc.sum()), 12)
    # Paying tiers have a card on file; personas that share or spread cards set them explicitly.
    no_card = (acc["payment"] == None) & np.isin(acc["tier"], PAYING_TIERS)  # noqa: E711
    acc["payment"][no_card] = hex_ids(rng, "pm_", int(no_card.sum()), 14)
    cols: dict[str, list[np.ndarray]] = {}
    names = [f.name for f in EVENT_SCHEMA]
    for b, off in zip(blocks, offs, strict=True):
        ne = b.ev["t"].size
        keep = (b.ev["t"] >= 0) & (b.ev["t"] < days * 86400.0)
        for k in ("acct", "t", *names):
            v = b.ev.get(k)
            if k == "acct":
                v = v + off
            elif v is None:
                v = _default(k, ne)
            elif np.ndim(v) == 0:
                v = np.full(ne, v, dtype=object)
            cols.setdefault(k, []).append(np.asarray(v)[keep])
    ev = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(ev["t"], kind="stable")
    ev = {k: v[order] for k, v in ev.items()}
    a, n = ev["acct"], ev["t"].size
    out_tok = ev["output_tokens"].astype(np.int64)
    status = ev["status"]
    status = np.where(status == None, "ok", status)  # noqa: E711 (object array compare)
    status = np.where(rng.random(n) < ERROR_RATE, "error", status)
    out_tok = np.where(status == "ok", out_tok, np.where(status == "refused", np.minimum(out_tok, 40), 0))
    model = ev["model"].astype(str)
    ms_tok = np.vectorize(MS_PER_TOKEN.get, otypes=[float])(np.unique(model))
    per_tok = ms_tok[np.searchsorted(np.unique(model), model)]
    duration = ev["duration_ms"]
    duration = np.where(
        duration == None,  # noqa: E711
        rng.lognormal(np.log(TTFT_MS), 0.5, n) + out_tok * per_tok * rng.uniform(0.8, 1.3, n),
        duration,
    ).astype(np.int64)
    reasoning = ev["reasoning_output_tokens"]
    data = {
        "event_id": hex_ids(rng, "req_", n, 16),
        "timestamp": pa.array(((t0_s + ev["t"]) * 1e6).astype(np.int64), pa.int64()).cast(
            EVENT_SCHEMA.field("timestamp").type
        ),
        "account_id": acc_id[a],
        "model": model,
        "input_tokens": ev["input_tokens"].astype(np.int64),
        "output_tokens": out_tok,
        "provider": np.full(n, provider, dtype=object),
        "reasoning_output_tokens": np.where(status == "ok", reasoning, np.where(reasoning == None, None, 0)),  # noqa: E711
        "payment_fingerprint": acc["payment"][a],
        "account_created_at": pa.array(
            ((t0_s + acc["created_s"][a]) * 1e6).astype(np.int64), pa.int64()
        ).cast(EVENT_SCHEMA.field("account_created_at").type),
        "account_tier": acc["tier"][a],
        "account_country": acc["country"][a],
        "status": status,
        "duration_ms": duration,
    }
    arrays = []
    for f in EVENT_SCHEMA:
        v = data.get(f.name, ev.get(f.name))
        arrays.append(v if isinstance(v, pa.Array) else pa.array(v, type=f.type, from_pandas=True))
    events = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
    seen = np.zeros(acc_id.size, dtype=bool)
    seen[a] = True
    labels = pa.Table.from_arrays(
        [
            pa.array(acc_id[seen], pa.string()),
            pa.array(acc["is_attack"][seen], pa.bool_()),
            pa.array(acc["campaign"][seen], pa.string()),
            pa.array(acc["persona"][seen], pa.string()),
        ],
        schema=LABELS_SCHEMA,
    )
    return events, labels


def merge_events(*evs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Concatenate event dicts of one block; a column missing from one part becomes null there."""
    keys = set().union(*evs)
    out = {}
    for k in keys:
        parts = []
        for e in evs:
            n = e["t"].size
            v = e.get(k)
            parts.append(
                np.full(n, None, dtype=object) if v is None else np.broadcast_to(np.asarray(v), (n,))
            )
        out[k] = np.concatenate([p.astype(object) if p.dtype.kind in "OU" else p for p in parts])
    return out


def opaque(prefix: str, x: np.ndarray) -> np.ndarray:
    """Deterministic opaque ids for integer keys (a multiplicative hash, no collisions < 2^40)."""
    h = (np.asarray(x, dtype=np.uint64) * np.uint64(0x9E3779B1)) % np.uint64(2**40)
    return np.char.mod(f"{prefix}%010x", h).astype(object)
