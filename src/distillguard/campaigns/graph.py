"""The weighted account graph (``EDGES_SCHEMA``): who is linked to whom, by what evidence.

Built only around the candidate accounts (suspicious or attack after the first scoring
pass) and their direct neighbours, so it stays small at any input size. A group of k
accounts sharing one thing (a card, a fleet template family, a creation burst, a datacenter
IP) becomes a clique when small and a seeded sparse expander (each member linked to a few
random others) when large: connectivity and community structure survive, the quadratic
blow-up does not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import param
from distillguard.schema import EDGES_SCHEMA

#: Kinds of shared group that all read one fact, the signup time: a creation burst, a
#: harvest-shaped signup-hour cohort and an older-model signup wave. Two of them between two
#: accounts are one coincidence, not two (a customer who signs up in a fleet's hour shares
#: both), so the corroborated link counts them as one kind and the campaign similarity
#: takes the largest of them.
SIGNUP_TIME_KINDS: tuple[str, ...] = ("created_together", "cohort", "wave")


def fact_of_kind(same_fact: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    """Kind -> the fact it reads (the first kind of its ``same_fact`` group); kinds in no
    group are absent (each its own fact)."""
    return {kind: group[0] for group in same_fact for kind in group}


@dataclass(frozen=True)
class GraphParams:
    clique_max: int = param(8, "groups up to this size are linked as cliques, larger ones as expanders")
    expander_degree: int = param(3, "random links per member in a large group (seeded)")
    weight_payment: float = param(1.0, "edge weight of a shared payment instrument")
    weight_template: float = param(1.0, "edge weight of a shared fleet template family")
    weight_sync: float = param(1.0, "edge weight of synchronized activity")
    weight_infra: float = param(0.6, "edge weight of a shared datacenter IP")
    weight_created: float = param(0.5, "edge weight of being created in the same burst")
    weight_system: float = param(1.0, "edge weight of sharing one harvest system prompt (relay injection)")
    weight_profile: float = param(
        0.6, "edge weight of sharing a beyond-chance off-hours + minority-model profile"
    )
    weight_cohort: float = param(
        0.6, "edge weight of being in one harvest-shaped signup cohort of unrelated payers (metadata)"
    )
    weight_wave: float = param(
        0.6,
        "edge weight of being in one signup week of unrelated payers steering to an older model far "
        "beyond the population's rate (metadata, coordination._wave)",
    )
    seed: int = param(0, "seed of the expander links")
    specific_size: int = param(
        50,
        "groups up to this size link at full weight; a larger group's links weigh "
        "1 / (1 + log2(size / specific_size)): a template frame shared by thousands of accounts is "
        "weaker evidence of one operator than a card or a lockstep schedule shared by a few",
    )


#: All 64 bits of a hash, whether the engine held it signed or unsigned.
_U64 = (1 << 64) - 1


def specificity(n: int, p: GraphParams) -> float:
    """Weight factor of a link from a group of ``n`` accounts (1 for small, specific groups)."""
    return 1.0 / (1.0 + np.log2(max(1.0, n / max(p.specific_size, 1))))


def _group_pairs(
    members: np.ndarray, p: GraphParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    k = len(members)
    if k < 2:
        return np.empty(0, dtype=object), np.empty(0, dtype=object)
    if k <= p.clique_max:
        i, j = np.triu_indices(k, 1)
        return members[i], members[j]
    src, dst = [], []
    order = members[rng.permutation(k)]
    for step in range(1, p.expander_degree + 1):
        src.append(order)
        dst.append(np.roll(order, -step * max(1, k // (p.expander_degree + 1)) if step > 1 else -1))
    return np.concatenate(src), np.concatenate(dst)


def _group_edges(
    kind: str, keys: np.ndarray, members: np.ndarray, weight: float, evidence: str, p: GraphParams
) -> list[pa.Table]:
    """Edges among accounts sharing a key (one group per distinct key)."""
    rng = np.random.default_rng(p.seed)
    if len(keys) == 0:
        return []
    keys = np.asarray(keys).astype(str)
    order = np.lexsort((np.asarray(members, dtype=object).astype(str), keys))
    keys, members = keys[order], np.asarray(members, dtype=object)[order]
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
    srcs, dsts, evs, ws = [], [], [], []
    for a, b in itertools.pairwise(bounds):
        s, d = _group_pairs(members[a:b], p, rng)
        if len(s):
            srcs.append(s)
            dsts.append(d)
            evs.append(np.full(len(s), evidence.format(key=keys[a], n=b - a), dtype=object))
            ws.append(np.full(len(s), weight * specificity(b - a, p)))
    if not srcs:
        return []
    return [_table(np.concatenate(srcs), np.concatenate(dsts), kind, np.concatenate(ws), np.concatenate(evs))]


def _table(src: np.ndarray, dst: np.ndarray, kind: str, weight: Any, evidence: np.ndarray) -> pa.Table:
    s = np.asarray(src, dtype=object).astype(str)
    d = np.asarray(dst, dtype=object).astype(str)
    swap = s > d
    lo, hi = np.where(swap, d, s), np.where(swap, s, d)
    keep = lo != hi
    w = np.broadcast_to(np.asarray(weight, dtype=np.float64), s.shape)
    return pa.table(
        {
            "src": pa.array(lo[keep].tolist(), pa.string()),
            "dst": pa.array(hi[keep].tolist(), pa.string()),
            "kind": pa.array([kind] * int(keep.sum()), pa.string()),
            "weight": pa.array(w[keep], pa.float64()),
            "evidence": pa.array(np.asarray(evidence, dtype=object)[keep].tolist(), pa.string()),
        },
        schema=EDGES_SCHEMA,
    )


def _touching(keys: np.ndarray, members: np.ndarray, cand: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keep only groups (rows sharing a key) with at least one candidate member (vectorized)."""
    keys = np.asarray(keys).astype(str)
    members = np.asarray(members, dtype=object)
    if len(keys) == 0:
        return keys, members
    is_cand = np.isin(members.astype(str), np.asarray(sorted(cand), dtype=str))
    uniq, inv = np.unique(keys, return_inverse=True)
    hot = np.zeros(len(uniq), dtype=bool)
    hot[inv[is_cand]] = True
    mask = hot[inv]
    return keys[mask], members[mask]


def shared_groups(
    ctx: Any, cand: set[str], p: GraphParams, *, pairs: bool = False
) -> list[tuple[str, np.ndarray, np.ndarray, float, str]]:
    """Every group of accounts sharing one thing, as ``(kind, keys, members, kind weight,
    evidence template)``, keeping whole groups that hold at least one candidate (so a group's
    size is its size in the whole input, not among candidates). ``pairs`` adds the harvest
    system prompts too few payers share for a signal (kind ``system_pair``): never edges of
    the verdict graph; the injected-prompt lift and the campaign-list similarity read them."""
    acc = ctx.accounts
    out: list[tuple[str, np.ndarray, np.ndarray, float, str]] = []
    size = ctx.cache.get("payment_size")
    pay = ctx.col("payment")
    if size is not None:
        known = np.array([v is not None for v in pay.tolist()]) & (size >= 2)
        k, m = _touching(pay[known], acc[known], cand)
        out.append(("payment", k, m, p.weight_payment, "payment instrument shared by {n} accounts"))
    members = ctx.cache.get("fleet_members")
    if members is not None and members.num_rows:
        k, m = _touching(
            np.asarray(members["fam"].to_pylist()), np.asarray(members["account_id"].to_pylist()), cand
        )
        out.append(("template", k, m, p.weight_template, "fleet template family {key} ({n} accounts)"))
    for kind, key in (("system_prompt", "system_prompts"), ("system_pair", "system_prompt_pairs")):
        sysp = ctx.cache.get(key)
        if sysp is None or not sysp.num_rows or (kind == "system_pair" and not pairs):
            continue
        # hex ids: uint64 hashes beyond int64 would otherwise print as floats in the evidence;
        # masked to 64 bits, as Spark (no unsigned integers) holds the same bits as int64
        hashes = np.asarray([f"{int(v) & _U64:016x}" for v in sysp["sh"].to_pylist()], dtype=object)
        k, m = _touching(hashes, np.asarray(sysp["account_id"].to_pylist()), cand)
        out.append((kind, k, m, p.weight_system, "harvest system prompt {key} shared by {n} accounts"))
    # metadata groups the detectors kept as (account_id, key) members
    for kind, name, weight, label in (
        ("profile", "profile_members", p.weight_profile, "shared unusual profile ({n} accounts)"),
        ("cohort", "cohort_members", p.weight_cohort, "harvest-shaped signup cohort {key} ({n} accounts)"),
        ("wave", "wave_members", p.weight_wave, "older-model signup wave {key} ({n} accounts)"),
    ):
        group = ctx.cache.get(name)
        if group is not None and group.num_rows:
            keys, ids = np.asarray(group["key"].to_pylist()), np.asarray(group["account_id"].to_pylist())
            k, m = _touching(keys, ids, cand)
            out.append((kind, k, m, weight, label))
    thr = ctx.cache.get("created_threshold")
    if thr is not None:
        created = ctx.micros("created_at")
        ok = np.isfinite(created) & ~ctx.cache.get("created_colocated", np.zeros(len(acc), dtype=bool))
        bucket = np.floor(created[ok] / (ctx.cache.get("created_bucket_s", 600) * 1e6)).astype(np.int64)
        _, inv, counts = np.unique(bucket, return_inverse=True, return_counts=True)
        burst = counts[inv] >= thr
        k, m = _touching(bucket[burst], acc[ok][burst], cand)
        out.append(("created_together", k, m, p.weight_created, "created in burst {key} ({n})"))
    ips = ctx.cache.get("hosting_ips")
    if ips is not None and ips.num_rows:
        k, m = _touching(np.asarray(ips["ip"].to_pylist()), np.asarray(ips["account_id"].to_pylist()), cand)
        out.append(("infra", k, m, p.weight_infra, "datacenter IP {key} shared by {n} accounts"))
    return out


def build_edges(ctx: Any, candidates: np.ndarray, params: GraphParams | None = None) -> pa.Table:
    """Edges touching at least one candidate account, deduplicated per (src, dst, kind)."""
    p = params or GraphParams()
    cand = set(np.asarray(candidates, dtype=object).tolist())
    tables: list[pa.Table] = []
    for kind, k, m, weight, evidence in shared_groups(ctx, cand, p):
        tables += _group_edges(kind, k, m, weight, evidence, p)
    sync = ctx.cache.get("sync_pairs")
    if sync is not None and sync.num_rows:
        s = np.asarray(sync["src"].to_pylist(), dtype=object)
        d = np.asarray(sync["dst"].to_pylist(), dtype=object)
        cand_arr = np.asarray(sorted(cand), dtype=str)
        hot = np.isin(s.astype(str), cand_arr) | np.isin(d.astype(str), cand_arr)
        if hot.any():
            ev = np.asarray(sync["evidence"].to_pylist(), dtype=object)[hot]
            tables.append(_table(s[hot], d[hot], "sync", p.weight_sync, ev))
    if not tables:
        return EDGES_SCHEMA.empty_table()
    edges = pa.concat_tables(tables)
    # a pair sharing several groups of one kind (several fleet families) is linked more strongly
    edges = edges.group_by(["src", "dst", "kind"], use_threads=False).aggregate(
        [("weight", "sum"), ("evidence", "first")]
    )
    edges = edges.rename_columns(
        [{"weight_sum": "weight", "evidence_first": "evidence"}.get(c, c) for c in edges.column_names]
    )
    return (
        edges.select(EDGES_SCHEMA.names)
        .cast(EDGES_SCHEMA)
        .sort_by([("src", "ascending"), ("dst", "ascending"), ("kind", "ascending")])
    )
