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
    resolution: float = param(
        0.3,
        "Leiden resolution (RB configuration model): two groups stay one campaign when the "
        "similarity linking them exceeds this share of what random rewiring (same per-account "
        "totals) would put between them. 1 is plain modularity, which also splits a homogeneous "
        "fleet; 0.3 merges any split whose cut keeps >= 30% of its expected links",
    )
    iterations: int = param(2, "Leiden passes (2 is the library default; more rarely changes campaigns)")
    fine_resolution: float = param(
        1.0,
        "resolution of the finer partition Leiden is also started from (plain modularity); the "
        "start reaching the higher objective at ``resolution`` wins (<= resolution: one start only)",
    )
    min_accounts: int = param(3, "accounts (attack verdict) a cluster needs to be a campaign")
    strong_kinds: tuple[str, ...] = param(
        ("payment", "template", "sync", "system_prompt", "wave"),
        "edge kinds that alone make membership strong (others need a second kind)",
    )
    strong_inside_share: float = param(0.5, "share of a member's edge weight inside its cluster to be strong")
    whole_kinds: tuple[str, ...] = param(
        ("payment",),
        "edge kinds whose groups are one customer (accounts on one card): after Leiden, each "
        "such group joins the campaign holding most of its accounts, so a fleet's card is never "
        "split between two campaigns by the generic links (templates, signup bursts) of a few",
    )
    link_kinds: tuple[str, ...] = param(
        ("payment", "template", "system_prompt", "wave"),
        "edge kinds that connect accounts into one group for the verdict lift. Shared datacenter "
        "IPs, creation bursts and lockstep pairs corroborate inside a group but do not chain groups "
        "together: one stray lockstep pair must not make five evaluation harnesses on a public "
        "system prompt part of a fleet. An older-model signup wave (``wave``) links: its members "
        "are only the payers focused on the one model its binomial test found in excess",
    )


def _encode(edges: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted names, src index, dst index) of an edge table."""
    src = np.asarray(edges["src"].to_pylist(), dtype=str)
    dst = np.asarray(edges["dst"].to_pylist(), dtype=str)
    names, inv = np.unique(np.concatenate([src, dst]), return_inverse=True)
    return names, inv[: len(src)], inv[len(src) :]


def leiden_clusters(edges: pa.Table, params: ClusterParams, only: set[str] | None = None) -> dict[str, int]:
    """Account -> cluster index (accounts without edges are absent).

    Leiden runs on each connected component separately: a campaign never spans two
    components, and a component's split then depends on its own links only (not on
    unrelated fleets elsewhere in the input through the modularity null model), which also
    lets the replay cluster just the components it needs (``only``: accounts whose
    components are wanted; others are left out of the result).
    """
    if edges.num_rows == 0:
        return {}
    import igraph as ig

    agg = edges.group_by(["src", "dst"], use_threads=False).aggregate([("weight", "sum")])
    agg = agg.sort_by([("src", "ascending"), ("dst", "ascending")])
    names, s, d = _encode(agg)
    g = ig.Graph(n=len(names), edges=np.column_stack([s, d]).tolist())
    g.es["weight"] = agg["weight_sum"].to_pylist()
    comps = g.connected_components()
    wanted = None if only is None else np.isin(names, np.asarray(sorted(only), dtype=str))
    out: dict[str, int] = {}
    offset = 0
    for members in comps:
        if wanted is not None and not wanted[members].any():
            continue
        part = _best_partition(g.subgraph(members), params)
        for v, c in zip(members, part.membership, strict=True):
            out[str(names[v])] = offset + int(c)
        offset += max(part.membership) + 1
    return out


def keep_whole(edges: pa.Table, cluster: dict[str, int], kinds: tuple[str, ...]) -> dict[str, int]:
    """Each connected group over ``kinds`` evidence edges (a card's accounts) moves into the
    cluster holding most of its clustered accounts (ties: the lowest cluster index, stable)."""
    if not kinds or not cluster:
        return cluster
    names, membership = _components(edges, kinds)
    out = dict(cluster)
    groups: dict[int, list[str]] = {}
    for a, g in zip(names.tolist(), membership.tolist(), strict=True):
        if a in cluster:
            groups.setdefault(g, []).append(a)
    for members in groups.values():
        counts: dict[int, int] = {}
        for a in members:
            counts[cluster[a]] = counts.get(cluster[a], 0) + 1
        if len(counts) > 1:
            top = min(counts, key=lambda c: (-counts[c], c))
            out.update(dict.fromkeys(members, top))
    return out


def _components(edges: pa.Table, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted account names, connected-component index of each) over the ``kinds`` edges."""
    import igraph as ig
    import pyarrow.compute as pc

    sub = edges.filter(pc.is_in(edges["kind"], pa.array(list(kinds), pa.string())))
    if sub.num_rows == 0:
        return np.zeros(0, dtype=str), np.zeros(0, dtype=np.int64)
    names, s, d = _encode(sub)
    g = ig.Graph(n=len(names), edges=np.column_stack([s, d]).tolist())
    return names, np.asarray(g.connected_components().membership)


def _best_partition(sub: Any, params: ClusterParams) -> Any:
    """The better (by the RB objective at ``params.resolution``) of two seeded Leiden runs:
    from singletons, and from the partition found at ``params.fine_resolution``.

    Greedy moves from singletons can lock a small fleet into a large one early (its members
    join their generic neighbours before their own fleet has formed) and never undo it;
    starting from a finer partition, where the small fleet is already whole, reaches the
    better optimum of the same objective. Same objective, same seed: only the search changes.
    """
    import leidenalg

    def run(initial: list[int] | None) -> Any:
        part = leidenalg.RBConfigurationVertexPartition(
            sub, initial_membership=initial, weights="weight", resolution_parameter=params.resolution
        )
        opt = leidenalg.Optimiser()
        opt.set_rng_seed(params.seed)
        opt.optimise_partition(part, n_iterations=params.iterations)
        return part

    direct = run(None)
    if params.fine_resolution <= params.resolution:
        return direct
    fine = leidenalg.find_partition(
        sub,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=params.fine_resolution,
        seed=params.seed,
        n_iterations=params.iterations,
    )
    refined = run(list(fine.membership))
    return refined if refined.quality() > direct.quality() + 1e-9 else direct


def link_groups(edges: pa.Table, params: ClusterParams, only: set[str] | None = None) -> dict[str, int]:
    """Account -> connected group over the linking kinds (``params.link_kinds``).

    Groups are what the verdict lift judges (a convincing group lifts its strong members).
    ``only``: keep just the groups holding one of these accounts (replay).
    """
    if edges.num_rows == 0:
        return {}
    names, membership = _components(edges, params.link_kinds)
    if not len(names):
        return {}
    if only is not None:
        wanted = np.isin(names, np.asarray(sorted(only), dtype=str))
        keep = np.isin(membership, np.unique(membership[wanted]))
    else:
        keep = np.ones(len(names), dtype=bool)
    return {str(a): int(c) for a, c in zip(names[keep], membership[keep], strict=True)}


def edge_clusters(edges: pa.Table, cluster: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cluster of each edge's endpoints (-1 when unclustered)."""
    cs = np.array([cluster.get(a, -1) for a in edges["src"].to_pylist()], dtype=np.int64)
    cd = np.array([cluster.get(a, -1) for a in edges["dst"].to_pylist()], dtype=np.int64)
    return cs, cd


def strong_members(edges: pa.Table, cluster: dict[str, int], params: ClusterParams) -> set[str]:
    """Accounts tied to their own cluster by a strong kind, or by two kinds, with most of
    their edge weight inside it (a stray shared IP does not make a customer a member)."""
    if edges.num_rows == 0:
        return set()
    cs, cd = edge_clusters(edges, cluster)
    return _tied(edges, (cs == cd) & (cs >= 0), params)


def _tied(
    edges: pa.Table,
    same: np.ndarray | None,
    params: ClusterParams,
    toward: tuple[np.ndarray, np.ndarray] | None = None,
) -> set[str]:
    """Accounts with >= ``strong_inside_share`` of their edge weight on qualifying edges,
    held by a strong kind or by two kinds (qualifying: inside the cluster, or ``toward``:
    per endpoint side, which edges qualify for that endpoint)."""
    names, s, d = _encode(edges)
    if toward is None:
        toward = (same, same)
    w = edges["weight"].to_numpy(zero_copy_only=False)
    ends = np.concatenate([s, d])
    good = np.concatenate([toward[0], toward[1]]).astype(bool)
    total = np.bincount(ends, weights=np.concatenate([w, w]), minlength=len(names))
    inside = np.bincount(ends, weights=np.concatenate([w, w]) * good, minlength=len(names))
    kinds = np.asarray(edges["kind"].to_pylist(), dtype=str)
    kk = np.concatenate([kinds, kinds])[good]
    ee = ends[good]
    pairs = np.unique(np.char.add(ee.astype(str), np.char.add("|", kk))) if len(ee) else np.zeros(0, str)
    n_kinds = np.zeros(len(names))
    strong_kind = np.zeros(len(names), dtype=bool)
    for item in pairs.tolist():
        i, k = item.split("|", 1)
        n_kinds[int(i)] += 1
        strong_kind[int(i)] |= k in params.strong_kinds
    ok = (inside >= params.strong_inside_share * total) & ((n_kinds >= 2) | strong_kind) & (inside > 0)
    return set(names[ok].tolist())


def inside_kinds(edges: pa.Table, cluster: dict[str, int]) -> dict[int, int]:
    """Number of distinct evidence kinds linking members inside each cluster."""
    if edges.num_rows == 0:
        return {}
    cs, cd = edge_clusters(edges, cluster)
    same = (cs == cd) & (cs >= 0)
    kinds = np.asarray(edges["kind"].to_pylist(), dtype=str)[same]
    out: dict[int, int] = {}
    for c, _kind in set(zip(cs[same].tolist(), kinds.tolist(), strict=True)):
        out[c] = out.get(c, 0) + 1
    return out


def evidence_summary(edges: pa.Table, members: set[str]) -> list[dict[str, Any]]:
    """Per evidence kind inside a campaign: how many links, which accounts, an example."""
    rows: dict[str, dict[str, Any]] = {}
    arr = np.asarray(sorted(members), dtype=str)
    inside = np.isin(np.asarray(edges["src"].to_pylist(), dtype=str), arr) & np.isin(
        np.asarray(edges["dst"].to_pylist(), dtype=str), arr
    )
    sub = edges.filter(pa.array(inside))
    for s, d, k, w, e in zip(*(sub[c].to_pylist() for c in EDGES_COLS), strict=True):
        r = rows.setdefault(
            k, {"kind": k, "links": 0, "accounts": set(), "weight": 0.0, "detail": e, "top": -1.0}
        )
        r["links"] += 1
        r["accounts"].update((s, d))
        r["weight"] += w
        if w > r["top"]:  # the example shown is the most specific link (smallest shared group)
            r["top"], r["detail"] = w, e
    out = []
    for k in sorted(rows):
        r = rows[k]
        out.append(
            {
                "kind": k,
                "detail": f"{r['links']} links; most specific: {r['detail']}",
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
