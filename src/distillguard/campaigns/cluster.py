"""Clusters of the account graph -> campaigns (seeded Leiden, stable ids).

Leiden on the weighted graph (edge weights summed over evidence kinds) splits two fleets
that happen to share one generic link while keeping each fleet whole; it is seeded and the
graph is built in sorted order, so the same input always yields the same campaigns.
Campaign ids are assigned in order of the campaign's smallest member id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import param


@dataclass(frozen=True)
class ClusterParams:
    seed: int = param(0, "Leiden seed (same seed, same campaigns)")
    resolution: float = param(1.0, "Leiden modularity resolution (higher = smaller campaigns)")
    iterations: int = param(2, "Leiden passes (2 is the library default; more rarely changes campaigns)")
    min_accounts: int = param(3, "accounts (attack verdict) a cluster needs to be a campaign")
    strong_kinds: tuple[str, ...] = param(
        ("payment", "template", "sync"),
        "edge kinds that alone make membership strong (others need a second kind)",
    )
    strong_inside_share: float = param(0.5, "share of a member's edge weight inside its cluster to be strong")


def leiden_clusters(edges: pa.Table, params: ClusterParams) -> dict[str, int]:
    """Account -> cluster index (accounts without edges are absent)."""
    if edges.num_rows == 0:
        return {}
    import igraph as ig
    import leidenalg

    agg = edges.group_by(["src", "dst"], use_threads=False).aggregate([("weight", "sum")])
    agg = agg.sort_by([("src", "ascending"), ("dst", "ascending")])
    src = agg["src"].to_pylist()
    dst = agg["dst"].to_pylist()
    names = sorted(set(src) | set(dst))
    idx = {n: i for i, n in enumerate(names)}
    g = ig.Graph(n=len(names), edges=[(idx[a], idx[b]) for a, b in zip(src, dst, strict=True)])
    g.es["weight"] = agg["weight_sum"].to_pylist()
    part = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=params.resolution,
        seed=params.seed,
        n_iterations=params.iterations,
    )
    return {names[v]: int(c) for v, c in enumerate(part.membership)}


def strong_members(edges: pa.Table, cluster: dict[str, int], params: ClusterParams) -> set[str]:
    """Accounts tied to their own cluster by a strong kind, or by two kinds, with most of
    their edge weight inside it (a stray shared IP does not make a customer a member)."""
    if edges.num_rows == 0:
        return set()
    total: dict[str, float] = {}
    inside: dict[str, float] = {}
    kinds: dict[str, set[str]] = {}
    for s, d, k, w in zip(*(edges[c].to_pylist() for c in ("src", "dst", "kind", "weight")), strict=True):
        same = cluster.get(s) == cluster.get(d)
        for a in (s, d):
            total[a] = total.get(a, 0.0) + w
            if same:
                inside[a] = inside.get(a, 0.0) + w
                kinds.setdefault(a, set()).add(k)
    out = set()
    for a, t in total.items():
        ks = kinds.get(a, set())
        if inside.get(a, 0.0) >= params.strong_inside_share * t and (
            len(ks) >= 2 or ks & set(params.strong_kinds)
        ):
            out.add(a)
    return out


def evidence_summary(edges: pa.Table, members: set[str]) -> list[dict[str, Any]]:
    """Per evidence kind inside a campaign: how many links, which accounts, an example."""
    rows: dict[str, dict[str, Any]] = {}
    for s, d, k, w, e in zip(*(edges[c].to_pylist() for c in EDGES_COLS), strict=True):
        if s in members and d in members:
            r = rows.setdefault(k, {"kind": k, "links": 0, "accounts": set(), "weight": 0.0, "detail": e})
            r["links"] += 1
            r["accounts"].update((s, d))
            r["weight"] += w
    out = []
    for k in sorted(rows):
        r = rows[k]
        out.append(
            {
                "kind": k,
                "detail": f"{r['links']} links; e.g. {r['detail']}",
                "accounts": sorted(r["accounts"]),
                "weight": round(r["weight"], 4),
            }
        )
    return out


EDGES_COLS = ("src", "dst", "kind", "weight", "evidence")


def order_clusters(cluster: dict[str, int]) -> dict[int, list[str]]:
    """Cluster index -> sorted members."""
    groups: dict[int, list[str]] = {}
    for a in sorted(cluster):
        groups.setdefault(cluster[a], []).append(a)
    return groups


def campaign_score(
    flagged_share: float, attack_share: float, kinds: int, attack_share_full: float = 0.2
) -> float:
    """Campaign score in [0, 1] from cluster-level evidence: the share of members that are
    at least suspicious, the share already corroborated as attacks (full at
    ``attack_share_full``: a fleet's thinnest members never corroborate on their own), and
    whether more than one independent kind of link holds it together."""
    return float(
        np.clip(
            0.4 * flagged_share + 0.3 * min(1.0, attack_share / attack_share_full) + 0.3 * min(kinds, 2) / 2,
            0.0,
            1.0,
        )
    )
