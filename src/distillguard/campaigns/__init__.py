"""Campaigns: link suspicious accounts, cluster them, score campaigns, lift strong members.

Flow: first-pass scores -> candidates (anything not clear, or with coordination evidence)
-> edges around them (:mod:`.graph`) -> seeded Leiden clusters (:mod:`.cluster`) -> a
campaign score per cluster -> strong members of a convincing campaign get a
``campaign_member`` coordination signal -> final scores. Only accounts with an ``attack``
verdict are listed as campaign members, so campaigns stay pure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.campaigns.cluster import (
    ClusterParams,
    attack_subgraph,
    campaign_score,
    evidence_summary,
    inside_kinds,
    leiden_clusters,
    link_groups,
    order_clusters,
    strong_members,
)
from distillguard.campaigns.graph import GraphParams, build_edges
from distillguard.detectors.base import (
    FAMILIES,
    DetectionContext,
    concat_signals,
    documented,
    param,
    signal_rows,
)
from distillguard.schema import EDGES_SCHEMA
from distillguard.scoring import ScoringParams, score_accounts

__all__ = ["CampaignParams", "CampaignResult", "ClusterParams", "GraphParams", "find_campaigns"]


@dataclass(frozen=True)
class CampaignParams:
    graph: GraphParams = field(default_factory=GraphParams)
    listing_graph: GraphParams = field(
        default_factory=lambda: GraphParams(clique_max=40, expander_degree=6)
    )  #: denser links among the final attack accounts, for the campaign list only
    cluster: ClusterParams = field(default_factory=ClusterParams)
    lift_min_score: float = param(0.6, "campaign score from which strong members are lifted")
    attack_share_full: float = param(
        0.2, "share of corroborated attack members at which a cluster's attack evidence is full"
    )
    member_attack_score: float = param(
        0.75, "campaign score from which a strong, suspicious member is an attack on the campaign's evidence"
    )

    def documented(self) -> dict[str, dict[str, Any]]:
        out = documented(self.graph, "graph.")
        out.update(documented(self.listing_graph, "listing_graph."))
        out.update(documented(self.cluster, "cluster."))
        out["attack_share_full"] = {
            "value": self.attack_share_full,
            "doc": "share of corroborated attack members at which a cluster's attack evidence is full",
        }
        out["lift_min_score"] = {"value": self.lift_min_score, "doc": "campaign score lifting strong members"}
        out["member_attack_score"] = {
            "value": self.member_attack_score,
            "doc": "campaign score from which a strong, suspicious member is an attack",
        }
        return out


@dataclass
class CampaignResult:
    scored: dict[str, Any]  #: final per-account score/verdict/reasons (see scoring.score_accounts)
    signals: pa.Table  #: detector signals plus campaign_member signals
    edges: pa.Table  #: EDGES_SCHEMA
    campaigns: list[dict[str, Any]]  #: campaigns.json entries
    campaign_of: dict[str, str]  #: account -> campaign id (attack members only)


def find_campaigns(
    ctx: DetectionContext,
    signals: pa.Table,
    scoring: ScoringParams | None = None,
    params: CampaignParams | None = None,
    *,
    first: dict[str, Any] | None = None,
    only: set[str] | None = None,
) -> CampaignResult:
    """Link suspicious accounts, lift strong members of convincing groups, list campaigns.

    Two uses of the graph, kept apart on purpose. The *verdict* lift works on connected
    groups of linking evidence (:func:`~.cluster.link_groups`): cheap, exact at every replay
    checkpoint, and a fleet split in two by a clustering heuristic still lifts both halves.
    The *campaign list* clusters only the final attack accounts (seeded Leiden per
    component, specificity-weighted edges), which is what analysts and purity care about.
    ``first`` is the first-pass scoring if already computed; ``only`` (replay) restricts the
    lift to groups holding those accounts and skips the campaign list.
    """
    sp = scoring or ScoringParams()
    p = params or CampaignParams()
    first = first if first is not None else score_accounts(ctx.features, signals, sp)
    acc = first["account_id"]
    coord_fired = first["families"][:, FAMILIES.index("coordination")] > 0
    candidates = acc[(first["verdict"] != "clear") | coord_fired]
    edges = build_edges(ctx, candidates, p.graph) if len(candidates) else EDGES_SCHEMA.empty_table()
    cluster = link_groups(edges, p.cluster, only=only)
    groups = order_clusters(cluster)
    index = {a: i for i, a in enumerate(acc.tolist())}
    kinds_of = inside_kinds(edges, cluster)
    group_score = np.zeros(len(acc))
    for cid, members in groups.items():
        idx = np.array([index[m] for m in members])
        verdict = first["verdict"][idx]
        n_attack = int((verdict == "attack").sum())
        if n_attack < p.cluster.min_accounts:
            continue
        flagged = float((verdict != "clear").mean())
        cscore = campaign_score(flagged, n_attack / len(members), kinds_of.get(cid, 0), p.attack_share_full)
        if cscore >= p.lift_min_score:
            group_score[idx] = cscore
    strong = strong_members(edges, cluster, p.cluster)
    lift = np.zeros(len(acc))
    for m in strong:
        lift[index[m]] = group_score[index[m]]
    # a mixed group (a fleet chained to benign look-alikes) scores low: its members get no
    # membership evidence at all, rather than a weak signal that tips a third family
    lift = np.where(lift >= p.member_attack_score, lift, 0.0)
    lifted = signal_rows(
        acc,
        "coordination",
        "campaign_member",
        lift,
        lift,
        p.lift_min_score,
        ("strong member of a campaign scored {:.2f}", [lift]),
    )
    all_signals = concat_signals([signals, lifted])
    final = score_accounts(
        ctx.features,
        all_signals,
        sp,
        campaign_member=lift >= p.member_attack_score,
        own_score=first["score"],
    )
    if only is not None:
        return CampaignResult(final, all_signals, edges, [], {})
    attackers = acc[final["verdict"] == "attack"]
    dense = (
        attack_subgraph(build_edges(ctx, attackers, p.listing_graph), attackers) if len(attackers) else edges
    )
    clusters = order_clusters(leiden_clusters(dense, p.cluster))
    campaigns, campaign_of = _campaigns(ctx, final, clusters, edges, index, p)
    return CampaignResult(final, all_signals, edges, campaigns, campaign_of)


def _campaigns(
    ctx: DetectionContext,
    final: dict[str, Any],
    groups: dict[int, list[str]],
    edges: pa.Table,
    index: dict[str, int],
    p: CampaignParams,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    n = ctx.col("n", 0.0)
    first_ts = ctx.features["first_ts"].to_pylist()
    last_ts = ctx.features["last_ts"].to_pylist()
    cap = ctx.col("top_capability")
    found = []
    for members in groups.values():
        attack = [m for m in members if final["verdict"][index[m]] == "attack"]
        if len(attack) < p.cluster.min_accounts:
            continue
        found.append(sorted(attack))
    found.sort(key=lambda ms: ms[0])
    campaigns = []
    campaign_of: dict[str, str] = {}
    for k, members in enumerate(found, start=1):
        cid = f"C{k:04d}"
        idx = np.array([index[m] for m in members])
        mset = set(members)
        evidence = evidence_summary(edges, mset)
        reasons = Counter(r for i in idx for r in final["reasons"][i])
        caps = Counter(c for c in cap[idx].tolist() if c)
        campaigns.append(
            {
                "campaign_id": cid,
                "accounts": members,
                "exchanges": int(n[idx].sum()),
                "score": round(
                    0.5 * float(np.mean(final["score"][idx]))
                    + 0.5 * campaign_score(1.0, 1.0, len({e["kind"] for e in evidence})),
                    6,
                ),
                "first_seen": _iso(min(first_ts[i] for i in idx)),
                "last_seen": _iso(max(last_ts[i] for i in idx)),
                "evidence": evidence,
                "capabilities": [c for c, _ in caps.most_common(5)],
                "top_reasons": [r for r, _ in reasons.most_common(8)],
            }
        )
        for m in members:
            campaign_of[m] = cid
    return campaigns, campaign_of


def _iso(t: Any) -> str:
    return t.astimezone(__import__("datetime").UTC).isoformat().replace("+00:00", "Z")
