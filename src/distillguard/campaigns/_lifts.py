"""Verdict lifts after the membership pass, and the guard on membership itself.

Each lift turns ``suspicious`` accounts into ``attack`` on evidence that ties them to
accounts proven on their own evidence (first-pass attack): :func:`corroborate` (two
independent kinds of link to one attacker, :mod:`._corroborate`), :func:`fleet_group_lift`
(a card or burst that is mostly attackers plus a second link, :mod:`._fleet_group`),
:func:`injected_prompt_lift` (an attack but for cross-account evidence, whose harvest system
prompt only proven attackers send).
:func:`backend_only` / :func:`vouched` keep membership from reaching accounts whose only
evidence is a business backend's profile. ``p`` is the :class:`CampaignParams` (typed
loosely: it lives in the package ``__init__``, which imports this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.campaigns._corroborate import corroborated_links
from distillguard.campaigns._fleet_group import fleet_group_links
from distillguard.detectors.base import FAMILIES, DetectionContext, concat_signals, signal_rows
from distillguard.scoring import ScoringParams, attack_floor


def _lift(
    final: dict[str, Any], signals: pa.Table, hit: np.ndarray, rows: pa.Table, reason: str, sp: ScoringParams
) -> tuple[dict[str, Any], pa.Table]:
    """``hit`` accounts become attacks scoring at least ``sp.attack_score`` (verdict and rank
    in a score-sorted queue agree), with ``reason`` appended and their signal ``rows`` added."""
    final = dict(final)
    final["verdict"] = np.where(hit, "attack", final["verdict"])
    final["score"] = attack_floor(final["score"], hit, sp)
    final["reasons"] = [[*r, reason] if h else r for r, h in zip(final["reasons"], hit.tolist(), strict=True)]
    return final, concat_signals([signals, rows])


def backend_only(acc: np.ndarray, signals: pa.Table, p: Any) -> np.ndarray:
    """Accounts with signals of their own, all of them a business backend's profile (cloud
    egress, one capability, unusual traffic shape): every evaluation company, leaderboard,
    agent framework and SaaS backend looks like this, so such an account's membership must
    rest on more than a shared public frame. (Accounts with no signal at all keep their
    membership signal: it sends them to review, never to attack -- the own-evidence gate of
    the lift stops them.)"""
    if not signals.num_rows:
        return np.zeros(len(acc), dtype=bool)
    backend = pc.or_(
        pc.is_in(signals["family"], pa.array(list(p.backend_families), pa.string())),
        pc.is_in(signals["signal"], pa.array(list(p.backend_signals), pa.string())),
    )
    fired = pc.greater(signals["strength"], 0.0)

    def who(mask: pa.Array) -> np.ndarray:
        ids = signals.filter(pc.and_(mask, fired))["account_id"].unique().to_pylist()
        return np.isin(acc.astype(str), np.asarray(ids, dtype=str))

    return who(backend) & ~who(pc.invert(backend))


def vouched(acc: np.ndarray, edges: pa.Table, first: dict[str, Any], p: Any) -> np.ndarray:
    """Accounts linked to an account that is an attack on its own evidence (first pass) by a
    link kind other than ``p.backend_public_kinds`` (a card, an IP, a creation burst, lockstep,
    a harvest system prompt): one customer with, or one operator's infrastructure as, a
    proven attacker."""
    if not edges.num_rows:
        return np.zeros(len(acc), dtype=bool)
    attackers = np.asarray(acc[first["verdict"] == "attack"], dtype=str)
    keep = pc.invert(pc.is_in(edges["kind"], pa.array(list(p.backend_public_kinds), pa.string())))
    e = edges.filter(keep)
    src = np.asarray(e["src"].to_pylist(), dtype=str)
    dst = np.asarray(e["dst"].to_pylist(), dtype=str)
    tied = np.concatenate([dst[np.isin(src, attackers)], src[np.isin(dst, attackers)]])
    return np.isin(acc.astype(str), tied)


def _only(sus: np.ndarray, only: set[str] | None) -> np.ndarray:
    """``sus`` restricted to ``only`` (replay: the accounts whose lift is judged)."""
    if only is None:
        return sus
    return np.asarray(sorted(set(sus.tolist()) & only), dtype=object)


def _card_mates(ctx: DetectionContext, acc: np.ndarray, mask: np.ndarray, proven: np.ndarray) -> np.ndarray:
    """Accounts of ``acc[mask]`` on a payment instrument that also pays for a proven attacker."""
    pay = ctx.col("payment")
    known = np.array([v is not None for v in pay.tolist()], dtype=bool)
    if not known.any() or not len(proven):
        return acc[:0]
    is_proven = np.isin(acc.astype(str), np.asarray(proven, dtype=str))
    cards = set(pay[known & is_proven].astype(str).tolist())
    on = known & np.isin(pay.astype(str), np.asarray(sorted(cards), dtype=str))
    return acc[mask & on]


def _link_columns(
    acc: np.ndarray, links: dict[str, tuple[str, int, float, list[str]]]
) -> tuple[np.ndarray, ...]:
    """Per account of ``acc``: lifted?, group kind, proven attackers, their share, other kinds
    (from :func:`~._fleet_group.fleet_group_links`)."""
    got = [links.get(a) for a in acc.tolist()]
    hit = np.array([g is not None for g in got], dtype=bool)
    kind = np.array([g[0] if g else "" for g in got], dtype=object)
    n_proven = np.array([g[1] if g else 0 for g in got], dtype=np.float64)
    share = np.array([g[2] if g else 0.0 for g in got], dtype=np.float64)
    other = np.array([" + ".join(g[3]) if g else "" for g in got], dtype=object)
    return hit, kind, n_proven, share, other


def corroborate(
    ctx: DetectionContext,
    first: dict[str, Any],
    final: dict[str, Any],
    signals: pa.Table,
    p: Any,
    only: set[str] | None,
    sp: ScoringParams,
) -> tuple[dict[str, Any], pa.Table]:
    """Suspicious accounts linked to one own-evidence attacker by independent kinds -> attack
    (see :mod:`._corroborate`), with a ``corroborated_link`` signal naming the partner. A
    lifted account scores at least ``sp.attack_score`` (:func:`~distillguard.scoring.attack_floor`):
    its verdict and its rank in a score-sorted queue must agree."""
    acc = final["account_id"]
    # own evidence, as for the membership lift: a suspect suspicious only through membership
    # (a stolen card shared with a fleet, say) is not lifted by links alone
    own = np.asarray(first["score"], dtype=np.float64) >= sp.member_min_own_score
    links = corroborated_links(
        ctx,
        _only(acc[(final["verdict"] == "suspicious") & own], only),
        acc[first["verdict"] == "attack"],
        p.graph,
        p.corroborated_min_kinds,
        p.corroborated_max_group,
        p.corroborated_same_fact,
    )
    if not links:
        return final, signals
    hit = np.array([a in links for a in acc.tolist()], dtype=bool)
    partner = np.array([links[a][0] if a in links else "" for a in acc.tolist()], dtype=object)
    kinds = np.array([" + ".join(links[a][1]) if a in links else "" for a in acc.tolist()], dtype=object)
    n_kinds = np.array([len(links[a][1]) if a in links else 0 for a in acc.tolist()], dtype=np.float64)
    rows = signal_rows(
        acc,
        "coordination",
        "corroborated_link",
        hit.astype(np.float64),
        n_kinds,
        p.corroborated_min_kinds,
        ("shares {} with attack account {}", [kinds, partner]),
    )
    return _lift(final, signals, hit, rows, "corroborated_link", sp)


def fleet_group_lift(
    ctx: DetectionContext,
    first: dict[str, Any],
    final: dict[str, Any],
    signals: pa.Table,
    p: Any,
    only: set[str] | None,
    sp: ScoringParams,
) -> tuple[dict[str, Any], pa.Table]:
    """Suspicious members of a fleet group (a card or signup burst that is mostly proven
    attackers) with a second kind of link to proven attackers -> attack (see
    :mod:`._fleet_group`), with a ``fleet_group`` signal naming the group and the links.
    On a ``fleet_solo_kinds`` group (a card: one payer) the card's ``clear`` accounts count
    too: a card mostly paying for proven attackers is the operator's instrument, and a hydra
    slot's thinnest accounts on it carry no signal of their own (measured without prompt
    text: small seed 0 hydra recall 0.843 -> 0.876, no benign account lifted).
    No own evidence is required -- this is the rule for a fleet's thinnest members -- so
    every condition is one a benign account's group does not meet. "Proven" is an attack
    verdict with evidence of its own (first-pass score >= ``sp.member_min_own_score``): an
    account lifted here never proves another (one pass, no chains)."""
    if not p.fleet_kinds:
        return final, signals
    acc = final["account_id"]
    own = np.asarray(first["score"], dtype=np.float64) >= sp.member_min_own_score
    proven = acc[(final["verdict"] == "attack") & own]
    common = {
        "min_proven": p.fleet_min_proven,
        "min_share": p.fleet_min_share,
        "max_group": p.corroborated_max_group,
        "min_other": p.fleet_min_other,
        "coincidence_kinds": tuple(p.fleet_coincidence_kinds),
        "solo_kinds": tuple(p.fleet_solo_kinds),
    }
    links = fleet_group_links(
        ctx,
        _only(acc[final["verdict"] == "suspicious"], only),
        proven,
        p.graph,
        kinds=tuple(p.fleet_kinds),
        **common,
    )
    # a card mostly held by proven attackers is the operator's own instrument: its silent
    # accounts (a hydra slot's thinnest, no signal of their own) are the operator's too
    solo = tuple(k for k in p.fleet_solo_kinds if k in p.fleet_kinds)
    mates = _card_mates(ctx, acc, final["verdict"] == "clear", proven) if solo else acc[:0]
    if len(mates):
        links.update(fleet_group_links(ctx, _only(mates, only), proven, p.graph, kinds=solo, **common))
    if not links:
        return final, signals
    hit, kind, n_proven, share, other = _link_columns(acc, links)
    other = np.where(hit & (other == ""), "no other link (a card needs none)", other)
    rows = signal_rows(
        acc,
        "coordination",
        "fleet_group",
        hit.astype(np.float64),
        n_proven,
        p.fleet_min_proven,
        (
            "{} group with {:.0f} proven attackers ({:.0%} of its other members); also shares {} "
            "with proven attackers",
            [kind, n_proven, share, other],
        ),
    )
    return _lift(final, signals, hit, rows, "fleet_group", sp)


def injected_prompt_lift(
    ctx: DetectionContext,
    first: dict[str, Any],
    final: dict[str, Any],
    signals: pa.Table,
    p: Any,
    only: set[str] | None,
    sp: ScoringParams,
) -> tuple[dict[str, Any], pa.Table]:
    """Suspicious accounts that are attacks on their own traffic but for cross-account
    evidence, whose harvest system prompt nobody but proven attackers sends -> attack, with an
    ``injected_prompt`` signal naming how many.

    Why: a relay operator injects its harvest instruction into the calls it forwards, its own
    account's and those of the keys it hijacked. When only one or two hijacked keys carry an
    operator's prompt, no fleet-sized group forms, and the operator alone looks like an
    always-on reasoning app (a tutoring backend that asks for step-by-step explanations).
    What a tutoring app never has is its exact system prompt in the traffic of accounts proven
    to be harvesting, and of no other customer. The account must already meet every other
    condition of an attack on its own first-pass evidence (``sp.min_families`` local families
    firing, score >= ``sp.attack_score``): the shared prompt stands in only for the missing
    cross-account family."""
    if not p.prompt_kinds:
        return final, signals
    acc = final["account_id"]
    fam = np.asarray(first["families"])
    fired = fam >= sp.family_fire
    local = fired.sum(axis=1) - fired[:, FAMILIES.index("intel")]
    ready = (np.asarray(first["score"], dtype=np.float64) >= sp.attack_score) & (local >= sp.min_families)
    own = np.asarray(first["score"], dtype=np.float64) >= sp.member_min_own_score
    links = fleet_group_links(
        ctx,
        _only(acc[(final["verdict"] == "suspicious") & ready], only),
        acc[(first["verdict"] == "attack") & own],
        p.graph,
        kinds=tuple(p.prompt_kinds),
        min_proven=p.prompt_min_proven,
        min_share=p.prompt_min_share,
        max_group=p.corroborated_max_group,
        min_other=p.prompt_min_proven,
        solo_kinds=tuple(p.prompt_kinds),
        pairs=True,
    )
    if not links:
        return final, signals
    hit, kind, n_proven, _share, _other = _link_columns(acc, links)
    rows = signal_rows(
        acc,
        "coordination",
        "injected_prompt",
        hit.astype(np.float64),
        n_proven,
        p.prompt_min_proven,
        ("{} sent otherwise only by {:.0f} proven attackers", [kind, n_proven]),
    )
    return _lift(final, signals, hit, rows, "injected_prompt", sp)
