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
import pyarrow.compute as pc

from distillguard.campaigns._lifts import (
    backend_only,
    corroborate,
    fleet_group_lift,
    injected_prompt_lift,
    vouched,
)
from distillguard.campaigns._similarity import SimilarityParams, similarity_edges
from distillguard.campaigns.cluster import (
    ClusterParams,
    campaign_score,
    evidence_summary,
    inside_kinds,
    keep_whole,
    leiden_clusters,
    link_groups,
    order_clusters,
    strong_members,
)
from distillguard.campaigns.graph import SIGNUP_TIME_KINDS, GraphParams, build_edges
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
    similarity: SimilarityParams = field(
        default_factory=SimilarityParams
    )  #: the kNN similarity graph among final attack accounts, for the campaign list only
    cluster: ClusterParams = field(default_factory=ClusterParams)
    lift_min_score: float = param(0.6, "campaign score from which strong members are lifted")
    attack_share_full: float = param(
        0.2, "share of corroborated attack members at which a cluster's attack evidence is full"
    )
    member_attack_score: float = param(
        0.75, "campaign score from which a strong, suspicious member is an attack on the campaign's evidence"
    )
    corroborated_min_kinds: int = param(
        2,
        "distinct kinds of shared groups (card, IP, burst, template family, system prompt, profile) "
        "linking a suspicious account to one account that is an attack on its own, from which it is "
        "an attack too (0 disables)",
    )
    corroborated_same_fact: tuple[tuple[str, ...], ...] = param(
        (SIGNUP_TIME_KINDS,),
        "kinds of shared group that read one fact and count as one kind for a corroborated link: "
        "a creation burst, a harvest-shaped signup cohort and an older-model signup wave are all "
        "the signup time (medium seed 0 banned a hobbyist who signed up in a fleet's hour on "
        "these two 'kinds' alone)",
    )
    corroborated_max_group: int = param(
        100,
        "one of a corroborated link's shared groups must hold at most this many accounts of the "
        "input (a card, an IP, a creation burst): two huge shared groups are not specific to a pair",
    )
    fleet_kinds: tuple[str, ...] = param(
        ("payment", "created_together"),
        "kinds of shared group that can be a fleet group (a card, a signup burst; never a "
        "datacenter IP: VPN exits are shared by strangers); empty disables the fleet-group rule",
    )
    fleet_min_proven: int = param(
        3, "proven attackers (attack verdict, own evidence) a fleet group holds besides the account"
    )
    fleet_min_share: float = param(
        0.5,
        "share of a fleet group's other members that are proven attackers (an enterprise card "
        "or a class signup burst with one flagged account is far below)",
    )
    fleet_min_other: int = param(
        2, "proven attackers a fleet-group member must also share a group of another kind with"
    )
    fleet_coincidence_kinds: tuple[str, ...] = param(
        ("created_together",),
        "fleet-group kinds strangers share by coincidence (a signup minute): such a group counts "
        "only with a card among the second links. Measured: letting own evidence stand in for "
        "the second link banned a mobile-CGNAT user (IP rotation) who signed up during a "
        "held-out hydra batch",
    )
    fleet_solo_kinds: tuple[str, ...] = param(
        ("payment",),
        "fleet-group kinds that need no second link: a card mostly held by proven attackers, "
        "with the account opened after the first of them, is the operator's own instrument",
    )
    prompt_kinds: tuple[str, ...] = param(
        ("system_prompt", "system_pair"),
        "kinds of shared group whose other members being all proven attackers ties an account "
        "that is an attack on its own traffic but for cross-account evidence to them: a harvest "
        "system prompt no customer but proven attackers sends is the operator's own injection "
        "(a relay's, seen again in the keys it hijacked); empty disables the rule",
    )
    prompt_min_proven: int = param(
        1, "proven attackers (attack verdict, own evidence) such a group holds besides the account"
    )
    prompt_min_share: float = param(
        1.0,
        "share of such a group's other members that are proven attackers: a popular tool's "
        "system prompt is sent by its unrelated users too, an operator's by nobody else",
    )
    backend_families: tuple[str, ...] = param(
        ("traffic",),
        "families whose signals alone are a business backend's profile (unusual volumes, long "
        "outputs, a new model's release day), not evidence of harvesting",
    )
    backend_signals: tuple[str, ...] = param(
        ("hosting_egress", "narrow_capability", "shared_payment"),
        "signals that alone are a business backend's profile: cloud egress, one capability "
        "(an agent framework's tool calls, a coding assistant's code), seats on the company's "
        "card (one customer) -- harvest shows in the prompts (CoT elicitation, rubric / rewrite "
        "requests) or in coordination with other customers",
    )
    backend_public_kinds: tuple[str, ...] = param(
        ("template",),
        "link kinds that do not vouch for a member whose own evidence is a backend's profile: "
        "public benchmark items in a popular frame are sent by unrelated evaluators and fleets alike",
    )

    def documented(self) -> dict[str, dict[str, Any]]:
        """Every knob, the nested parameter groups under their prefixes."""
        out = documented(self.graph, "graph.")
        out.update(documented(self.similarity, "similarity."))
        out.update(documented(self.cluster, "cluster."))
        nested = {"graph", "similarity", "cluster"}
        out.update({k: v for k, v in documented(self).items() if k not in nested})
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
    The *campaign list* clusters only the final attack accounts: seeded Leiden per
    component on a k-nearest-neighbour graph of IDF-weighted shared evidence
    (:mod:`._similarity`), which is what analysts and purity care about.
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
    # an account whose own evidence is a business backend's profile (cloud egress, one
    # capability, long outputs) is a member only when a card, an IP, a burst... ties it to a proven attacker:
    # evaluators replaying public benchmarks share a frame with fleets harvesting the same sets
    lift = np.where(backend_only(acc, signals, p) & ~vouched(acc, edges, first, p), 0.0, lift)
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
    final, all_signals = corroborate(ctx, first, final, all_signals, p, only, sp)
    final, all_signals = fleet_group_lift(ctx, first, final, all_signals, p, only, sp)
    final, all_signals = injected_prompt_lift(ctx, first, final, all_signals, p, only, sp)
    if only is not None:
        return CampaignResult(final, all_signals, edges, [], {})
    sync = edges.filter(pc.equal(edges["kind"], "sync"))
    # suspicious accounts are context, never listed: a fleet's thin members still carry its
    # cards and bursts, which is what tells two fleets' attackers apart
    context = acc[final["verdict"] != "clear"]
    similar = similarity_edges(ctx, context, p.graph, p.similarity, sync=sync)
    clusters = order_clusters(keep_whole(edges, leiden_clusters(similar, p.cluster), p.cluster.whole_kinds))
    campaigns, campaign_of = _campaigns(ctx, final, clusters, edges, index, p)
    _add_cohesion(campaigns, campaign_of, similar)
    return CampaignResult(final, all_signals, edges, campaigns, campaign_of)


def _add_cohesion(campaigns: list[dict[str, Any]], campaign_of: dict[str, str], similar: pa.Table) -> None:
    """Each campaign's ``cohesion``: the share of its members' similarity weight that stays
    between members (1 = nothing links them elsewhere; low = the grouping is a judgment call
    an analyst should check against the evidence rows)."""
    if not campaigns:
        return
    w = similar["weight"].to_numpy(zero_copy_only=False)
    cs = np.array([campaign_of.get(a, "") for a in similar["src"].to_pylist()], dtype=object)
    cd = np.array([campaign_of.get(a, "") for a in similar["dst"].to_pylist()], dtype=object)
    for c in campaigns:
        cid = c["campaign_id"]
        touch = (cs == cid) | (cd == cid)
        inside = (cs == cid) & (cd == cid)
        total = float(w[touch].sum())
        c["cohesion"] = round(float(w[inside].sum()) / total, 4) if total > 0 else None


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
