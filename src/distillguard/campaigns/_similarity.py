"""Account similarity for the campaign list: IDF-weighted overlap of what accounts share.

Why not cluster the raw group links: a template family used by 1,000 accounts of two
operators says "same harvest recipe", not "same operator", and a sparse expander per group
(needed to keep the graph small) throws away the one thing that does tell operators apart:
*which combination* of cards, IPs, bursts and families two accounts share. Here every
shared group contributes its self-information ``kind weight * log(N / n)`` (``N`` accounts in
the input, ``n`` in the group: a card shared by five says far more than a frame shared by
thousands, learned from the population rather than set per kind), summed over all groups
a pair shares. Each account keeps its ``knn`` most similar partners (a k-nearest-neighbour
graph, the usual input to Leiden), so one generic link cannot outweigh a fleet's own core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.campaigns.graph import SIGNUP_TIME_KINDS, GraphParams, fact_of_kind, shared_groups
from distillguard.detectors.base import param


@dataclass(frozen=True)
class SimilarityParams:
    knn: int = param(
        15,
        "most similar partners each account keeps in the campaign-list graph (a link is kept when "
        "either end ranks it in its top knn)",
    )
    candidates: int = param(
        24,
        "partners sampled per member of a large group (seeded) whose full similarity is computed; "
        "groups up to this size are compared all-pairs",
    )
    seed: int = param(0, "seed of the partner sampling")
    same_fact: tuple[tuple[str, ...], ...] = param(
        (SIGNUP_TIME_KINDS,),
        "kinds of shared group that read one fact (the signup time): a pair sharing groups of "
        "several of them gets the largest of those kinds' information, not their sum",
    )


def _candidate_pairs(gid: np.ndarray, acc: np.ndarray, p: SimilarityParams) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of account codes worth scoring: all pairs in small groups, sampled ones in large."""
    rng = np.random.default_rng(p.seed)
    order = np.lexsort((acc, gid))
    gid, acc = gid[order], acc[order]
    bounds = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1], True])
    src, dst = [], []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k = b - a
        if k < 2:
            continue
        members = acc[a:b]
        if k <= p.candidates + 1:
            i, j = np.triu_indices(k, 1)
            src.append(members[i])
            dst.append(members[j])
            continue
        # a union of independent random cycles: an expander, so a homogeneous group leaves
        # no artificial cut for the clustering to find (one ring would be cut into arcs)
        for _ in range(max(1, p.candidates // 2)):
            perm = members[rng.permutation(k)]
            src.append(perm)
            dst.append(np.roll(perm, -1))
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s, d = np.concatenate(src), np.concatenate(dst)
    lo, hi = np.minimum(s, d), np.maximum(s, d)
    keep = lo != hi
    width = np.int64(max(int(hi.max()) + 1, 1))
    pairs = np.unique(lo[keep].astype(np.int64) * width + hi[keep])
    return pairs // width, pairs % width


def similarity_edges(
    ctx: Any,
    accounts: np.ndarray,
    graph: GraphParams,
    params: SimilarityParams,
    sync: pa.Table | None = None,
) -> pa.Table:
    """kNN similarity graph among ``accounts``: columns src, dst, weight (src < dst).

    ``sync``: lockstep pairs (EDGES_SCHEMA rows of kind ``sync``) added with the sync kind
    weight times the self-information of a pair (``log N``): a pair-level coincidence.
    """
    import polars as pl

    names = np.asarray(sorted(set(np.asarray(accounts, dtype=object).tolist())), dtype=object)
    empty = pa.table(
        {
            "src": pa.array([], pa.string()),
            "dst": pa.array([], pa.string()),
            "weight": pa.array([], pa.float64()),
        }
    )
    if len(names) < 2:
        return empty
    n_pop = max(2, ctx.features.num_rows)
    sorted_names = names.astype(str)

    def code(values: Any) -> np.ndarray:
        """Index of each value in ``names`` (-1 when not one of them), vectorized."""
        v = np.asarray(values, dtype=object).astype(str)
        pos = np.minimum(np.searchsorted(sorted_names, v), len(sorted_names) - 1)
        return np.where(sorted_names[pos] == v, pos, -1).astype(np.int64)

    gids, accs, ws, kind_codes, facts = [], [], [], [], []
    offset = 0
    fact_of = fact_of_kind(params.same_fact)
    fact_no: dict[str, int] = {}
    # two-payer harvest system prompts too: an operator lifted through one belongs with its keys
    for kind_no, (kind, keys, members, weight, _ev) in enumerate(
        shared_groups(ctx, set(names.tolist()), graph, pairs=True)
    ):
        if len(keys) == 0:
            continue
        uniq, inv, counts = np.unique(np.asarray(keys).astype(str), return_inverse=True, return_counts=True)
        info = weight * np.log(n_pop / np.maximum(counts, 1))
        mem = np.asarray(members, dtype=object)
        pos = code(mem)
        inside = pos >= 0
        gids.append(inv[inside] + offset)
        accs.append(pos[inside])
        ws.append(info[inv[inside]])
        # groups of one fact share a code (the first such kind's number), others their own
        facts.append(np.full(int(inside.sum()), fact_no.setdefault(fact_of.get(kind, kind), kind_no)))
        kind_codes.append(np.full(int(inside.sum()), kind_no))
        offset += len(uniq)
    pair_w = []
    if gids:
        gid, acc, w = np.concatenate(gids), np.concatenate(accs), np.concatenate(ws)
        k_code, f_code = np.concatenate(kind_codes), np.concatenate(facts)
        s, d = _candidate_pairs(gid, acc, params)
        if len(s):
            mem = pl.DataFrame({"a": acc, "g": gid, "w": w, "k": k_code, "f": f_code}).unique(["a", "g"])
            cand = pl.DataFrame({"s": s, "d": d})
            sims = (
                cand.join(mem.rename({"a": "s"}), on="s")
                .join(mem.select(pl.col("a").alias("d"), "g"), on=["d", "g"])
                .group_by(["s", "d", "f", "k"])  # summed within a kind,
                .agg(pl.col("w").sum())
                .group_by(["s", "d", "f"])  # the largest of the kinds of one fact,
                .agg(pl.col("w").max())
                .group_by(["s", "d"])  # summed over facts
                .agg(pl.col("w").sum())
            )
            pair_w.append(sims)
    if sync is not None and sync.num_rows:
        ss = code(sync["src"].to_pylist())
        dd = code(sync["dst"].to_pylist())
        ok = (ss >= 0) & (dd >= 0)
        if ok.any():
            pair_w.append(
                pl.DataFrame(
                    {
                        "s": np.minimum(ss, dd)[ok],
                        "d": np.maximum(ss, dd)[ok],
                        "w": np.full(int(ok.sum()), graph.weight_sync * np.log(n_pop)),
                    }
                )
            )
    if not pair_w:
        return empty
    # rounded: a parallel sum may differ in the last bit between runs, and ranks must not
    sims = pl.concat(pair_w).group_by(["s", "d"]).agg(pl.col("w").sum().round(9))
    both = pl.concat(
        [sims.rename({"s": "a", "d": "b"}), sims.select(pl.col("d").alias("a"), pl.col("s").alias("b"), "w")]
    )
    # ties (a homogeneous fleet: every pair shares the same groups) are broken by a seeded
    # hash, not by id: an id order would wire low ids into hubs and invent a cut to find
    salt = params.seed * 1_000_003 + 7919
    both = both.with_columns(
        ((pl.col("a") * 2_654_435_761 + pl.col("b") * 40_503 + salt) % 1_000_000_007).alias("h")
    )
    top = (
        both.sort(["a", "w", "h"], descending=[False, True, False])
        .group_by("a", maintain_order=True)
        .head(params.knn)
    )
    kept = (
        top.select(pl.min_horizontal("a", "b").alias("s"), pl.max_horizontal("a", "b").alias("d"), "w")
        .unique(["s", "d"])
        .sort(["s", "d"])
    )
    s = kept["s"].to_numpy()
    d = kept["d"].to_numpy()
    return pa.table(
        {
            "src": pa.array(names[s].tolist(), pa.string()),
            "dst": pa.array(names[d].tolist(), pa.string()),
            "weight": pa.array(kept["w"].to_numpy().astype(np.float64), pa.float64()),
        }
    )
