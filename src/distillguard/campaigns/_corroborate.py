"""Corroborated links: a suspicious account tied to one attack account by independent kinds.

The campaign-score lift (``campaign_member``) needs a member's own score to be near a family
of its own, because on held-out traffic a loose version of it turned benign customers in
mixed components into attacks: "member of a group" is weak when the group is chained
together by generic links. This rule is pairwise instead: an account that is suspicious,
with evidence of its own (first-pass score >= ``member_min_own_score``, the membership
lift's gate), and shares groups of at least ``min_kinds`` *different* kinds with one
single account that is an attack on its own evidence (a card and a creation burst, a card
and a fleet template family...), is an attack. Two independent coincidences with one
proven attacker are what an analyst would act on; a benign customer can share a public
template or a datacenter IP with a fleet, rarely two unrelated things with one account.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillguard.campaigns.graph import GraphParams, fact_of_kind, shared_groups


def corroborated_links(
    ctx: Any,
    suspects: np.ndarray,
    attackers: np.ndarray,
    graph: GraphParams,
    min_kinds: int,
    max_group: int,
    same_fact: tuple[tuple[str, ...], ...] = (),
) -> dict[str, tuple[str, list[str]]]:
    """Suspect -> (its attack partner, the kinds linking them) for every suspect sharing
    groups of ``min_kinds`` or more distinct kinds with one attacker, at least one of them a
    group of at most ``max_group`` accounts (partner: most kinds, then smallest id, so the
    result is stable). Kinds listed together in ``same_fact`` read one fact (a signup burst
    and a signup-hour cohort are both the signup time) and count as one kind. Pairs are
    enumerated from the small groups only, so the cost grows with the members of cards,
    IPs and bursts, not with the square of a template family."""
    import polars as pl

    sus = set(np.asarray(suspects, dtype=object).tolist())
    att = set(np.asarray(attackers, dtype=object).tolist())
    if not sus or not att or min_kinds < 1:
        return {}
    fact_of = fact_of_kind(same_fact)
    frames = []
    for kind_no, (kind, keys, members, _w, _ev) in enumerate(shared_groups(ctx, sus, graph)):
        if len(keys) == 0:
            continue
        _, inv, counts = np.unique(np.asarray(keys).astype(str), return_inverse=True, return_counts=True)
        frames.append(
            pl.DataFrame(
                {
                    "a": np.asarray(members, dtype=object).astype(str),
                    "g": inv.astype(np.int64) * 64 + kind_no,
                    "k": [kind] * len(inv),
                    "f": [fact_of.get(kind, kind)] * len(inv),
                    "n": counts[inv],
                }
            )
        )
    if not frames:
        return {}
    mem = pl.concat(frames).unique()
    left = mem.filter(pl.col("a").is_in(sorted(sus)))
    right = mem.filter(pl.col("a").is_in(sorted(att))).select(pl.col("a").alias("b"), "g", "n")
    small = (
        left.filter(pl.col("n") <= max_group)
        .join(right.filter(pl.col("n") <= max_group).drop("n"), on="g")
        .filter(pl.col("a") != pl.col("b"))
        .select("a", "b")
        .unique()
    )
    pairs = (
        small.join(left.select("a", "g", "k", "f"), on="a")
        .join(right.select("b", "g"), on=["b", "g"], how="semi")
        .group_by(["a", "b", "f"])  # kinds of one fact: one entry ("cohort/created_together")
        .agg(pl.col("k").unique().sort().str.join("/").alias("kf"))
        .group_by(["a", "b"])
        .agg(pl.col("kf").sort().alias("ks"))
        .with_columns(pl.col("ks").list.len().alias("nk"))
        .filter(pl.col("nk") >= min_kinds)
        .sort(["a", "nk", "b"], descending=[False, True, False])
        .group_by("a", maintain_order=True)
        .first()
    )
    return {
        a: (b, list(ks))
        for a, b, ks in zip(pairs["a"].to_list(), pairs["b"].to_list(), pairs["ks"].to_list(), strict=True)
    }
