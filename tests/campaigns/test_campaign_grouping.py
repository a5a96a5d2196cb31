"""Campaign grouping: specific evidence separates fleets a generic template chains together,
a homogeneous fleet is not cut, and a suspicious account is lifted only by a corroborated
(two-kind) link to one attacker."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from distillguard.campaigns import CampaignParams
from distillguard.campaigns._corroborate import corroborated_links
from distillguard.campaigns._similarity import SimilarityParams, similarity_edges
from distillguard.campaigns.cluster import ClusterParams, keep_whole, leiden_clusters
from distillguard.campaigns.graph import GraphParams


def _two_fleets(make_ctx, n: int = 120):
    """Fleet A (cards of 6, own family "fa") and fleet B (cards of 6, own family "fb"); every
    account of both also uses the generic family 'generic'."""
    a = [f"a{i:04d}" for i in range(n)]
    b = [f"b{i:04d}" for i in range(n)]
    payment = {x: f"cardA{i // 6}" for i, x in enumerate(a)} | {x: f"cardB{i // 6}" for i, x in enumerate(b)}
    fams = [(x, "generic") for x in a + b] + [(x, "fa") for x in a] + [(x, "fb") for x in b]
    return a, b, make_ctx(a + b, payment, fams)


def test_specific_evidence_separates_fleets_a_generic_family_chains(make_ctx) -> None:
    a, b, ctx = _two_fleets(make_ctx)
    edges = similarity_edges(ctx, np.array(a + b, dtype=object), GraphParams(), SimilarityParams())
    cl = leiden_clusters(edges, ClusterParams())
    assert len({cl[x] for x in a}) == 1 and len({cl[x] for x in b}) == 1
    assert cl[a[0]] != cl[b[0]]


def test_homogeneous_fleet_is_not_cut(make_ctx) -> None:
    fleet = [f"f{i:04d}" for i in range(300)]
    ctx = make_ctx(fleet, {}, [(x, "only") for x in fleet])
    edges = similarity_edges(ctx, np.array(fleet, dtype=object), GraphParams(), SimilarityParams())
    cl = leiden_clusters(edges, ClusterParams())
    assert len({cl[x] for x in fleet}) == 1


def test_similarity_graph_is_deterministic_and_seeded(make_ctx) -> None:
    a, b, ctx = _two_fleets(make_ctx, 60)
    acc = np.array(a + b, dtype=object)
    one = similarity_edges(ctx, acc, GraphParams(), SimilarityParams())
    two = similarity_edges(ctx, acc[::-1], GraphParams(), SimilarityParams())
    assert one.equals(two)
    other = similarity_edges(ctx, acc, GraphParams(), SimilarityParams(seed=1))
    assert not one.equals(other)


def test_rare_shared_group_weighs_more_than_common_one(make_ctx) -> None:
    """IDF: two accounts sharing a card of 2 are more similar than two sharing a family of 200."""
    big = [f"m{i:04d}" for i in range(200)]
    ctx = make_ctx(big, {"m0000": "c", "m0001": "c"}, [(x, "wide") for x in big])
    edges = similarity_edges(ctx, np.array(big, dtype=object), GraphParams(), SimilarityParams(knn=3))
    w = dict(
        zip(
            zip(edges["src"].to_pylist(), edges["dst"].to_pylist(), strict=True),
            edges["weight"].to_pylist(),
            strict=True,
        )
    )
    card_pair = w[("m0000", "m0001")]
    others = [v for k, v in w.items() if k != ("m0000", "m0001")]
    assert card_pair > 2 * max(others)


def test_corroborated_link_needs_two_kinds_with_one_attacker(make_ctx) -> None:
    accounts = ["att1", "att2", "s_both", "s_split", "s_one"]
    payment = {"att1": "c1", "s_both": "c1", "att2": "c2", "s_split": "c2", "s_one": "c3", "x": "c3"}
    fams = [
        ("att1", "f1"),
        ("s_both", "f1"),
        ("att1", "f9"),
        ("s_split", "f9"),
        ("att2", "f2"),
        ("s_one", "f2"),
    ]
    ctx = make_ctx([*accounts, "x"], payment, fams)
    links = corroborated_links(
        ctx,
        np.array(["s_both", "s_split", "s_one"], dtype=object),
        np.array(["att1", "att2"], dtype=object),
        GraphParams(),
        2,
        100,
    )
    # s_both: card + family with att1; s_split: card with att2, family with att1 (two partners);
    # s_one: family with att2 only
    assert links == {"s_both": ("att1", ["payment", "template"])}


def test_corroborated_link_counts_kinds_of_one_fact_once(make_ctx) -> None:
    """A signup cohort and a signup wave shared with one attacker are one fact (the signup
    time), not two kinds; a card beside them is a second one."""
    accounts = ["att1", "s_signup", "s_card"]
    ctx = make_ctx(accounts, {"att1": "c1", "s_card": "c1"}, [])
    for name, key in (("cohort_members", "h1"), ("wave_members", "w1")):
        ctx.cache[name] = pa.table({"key": [key] * 3, "account_id": accounts})
    same_fact = CampaignParams().corroborated_same_fact
    assert ("cohort" in same_fact[0]) and ("wave" in same_fact[0])
    sus, att = np.array(accounts[1:], dtype=object), np.array(["att1"], dtype=object)
    links = corroborated_links(ctx, sus, att, GraphParams(), 2, 100, same_fact)
    assert links == {"s_card": ("att1", ["cohort/wave", "payment"])}
    # without the grouping both suspects had two kinds
    assert set(corroborated_links(ctx, sus, att, GraphParams(), 2, 100)) == {"s_signup", "s_card"}


def test_similarity_takes_one_signup_time_kind_per_pair(make_ctx) -> None:
    """A pair in one signup cohort and one creation wave is linked by the signup time once:
    its similarity counts the larger kind's information, not both."""
    accounts = [f"a{i:02d}" for i in range(12)]
    ctx = make_ctx(accounts, {}, [("a00", "f1"), ("a01", "f1"), ("a00", "f2"), ("a01", "f2")])
    ctx.cache["cohort_members"] = pa.table({"key": ["h1", "h1"], "account_id": ["a00", "a01"]})
    ctx.cache["wave_members"] = pa.table({"key": ["w1", "w1"], "account_id": ["a00", "a01"]})
    graph, acc = GraphParams(), np.array(accounts, dtype=object)

    def weight(params: SimilarityParams) -> float:
        e = similarity_edges(ctx, acc, graph, params)
        return dict(
            zip(
                zip(e["src"].to_pylist(), e["dst"].to_pylist(), strict=True),
                e["weight"].to_pylist(),
                strict=True,
            )
        )[("a00", "a01")]

    both, summed = weight(SimilarityParams()), weight(SimilarityParams(same_fact=()))
    larger = "cohort_members" if graph.weight_cohort >= graph.weight_wave else "wave_members"
    ctx.cache.pop("wave_members" if larger == "cohort_members" else "cohort_members")
    alone = weight(SimilarityParams())
    assert both == pytest.approx(alone)  # the second signup-time group adds nothing
    assert summed > alone + 0.1  # summed, it did
    ctx.cache.pop(larger)
    assert weight(SimilarityParams()) < alone  # the families alone: the signup time did count once


def test_corroborated_link_needs_one_specific_group(make_ctx) -> None:
    """Two kinds shared with one attacker, but both huge groups: not specific to the pair."""
    crowd = [f"c{i:04d}" for i in range(300)]
    fams = [(x, "wide") for x in crowd] + [(x, "wide2") for x in crowd]
    members = pa.table(
        {"account_id": pa.array(crowd, pa.string()), "ip": pa.array(["9.9.9.9"] * 300, pa.string())}
    )
    ctx = make_ctx(crowd, {}, fams)
    ctx.cache["hosting_ips"] = members
    sus, att = np.array(crowd[:1], dtype=object), np.array(crowd[1:], dtype=object)
    assert corroborated_links(ctx, sus, att, GraphParams(), 2, 100) == {}
    assert corroborated_links(ctx, sus, att, GraphParams(), 2, 300)["c0000"] == (
        "c0001",
        ["infra", "template"],
    )


def test_campaign_params_document_every_knob() -> None:
    from dataclasses import fields, is_dataclass

    params = CampaignParams()
    doc = params.documented()
    for key in ("similarity.knn", "similarity.candidates", "cluster.resolution", "corroborated_min_kinds"):
        assert key in doc and doc[key]["doc"]
    for f in fields(params):
        if not is_dataclass(getattr(params, f.name)):
            assert doc[f.name]["doc"] and doc[f.name]["value"] == getattr(params, f.name), f.name


def test_two_start_leiden_never_worse_than_one_start(make_ctx) -> None:
    """The kept partition reaches at least the objective of the plain run from singletons."""
    import igraph as ig
    import leidenalg

    from distillguard.campaigns.cluster import _best_partition

    a, b, ctx = _two_fleets(make_ctx, 90)
    edges = similarity_edges(ctx, np.array(a + b, dtype=object), GraphParams(), SimilarityParams())
    names = sorted(set(edges["src"].to_pylist()) | set(edges["dst"].to_pylist()))
    ix = {n: i for i, n in enumerate(names)}
    g = ig.Graph(
        n=len(names),
        edges=[
            (ix[s], ix[d]) for s, d in zip(edges["src"].to_pylist(), edges["dst"].to_pylist(), strict=True)
        ],
    )
    g.es["weight"] = edges["weight"].to_pylist()
    params = ClusterParams()
    plain = leidenalg.find_partition(
        g,
        leidenalg.RBConfigurationVertexPartition,
        weights="weight",
        resolution_parameter=params.resolution,
        seed=params.seed,
        n_iterations=params.iterations,
    )
    best = _best_partition(g, params)
    assert best.quality() >= plain.quality() - 1e-9
    one = _best_partition(g, ClusterParams(fine_resolution=0.0))
    assert one.membership == plain.membership


def _edges(rows: list[tuple[str, str, str]]) -> pa.Table:
    return pa.table(
        {
            "src": [r[0] for r in rows],
            "dst": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "weight": [1.0] * len(rows),
            "evidence": [""] * len(rows),
        }
    )


def test_a_card_split_by_clustering_joins_the_campaign_holding_most_of_it() -> None:
    """Five accounts on one card: Leiden put two of them with another fleet (shared template,
    signup burst). A card is one customer: all five go where three of them are; accounts on
    other cards and template-only links stay where they were."""
    card = [f"c{i}" for i in range(5)]
    edges = _edges(
        [(card[0], a, "payment") for a in card[1:]]
        + [("c3", "x0", "template"), ("c4", "x1", "created_together"), ("x0", "x1", "payment")]
    )
    cluster = {"c0": 0, "c1": 0, "c2": 0, "c3": 1, "c4": 1, "x0": 1, "x1": 1}
    out = keep_whole(edges, cluster, ClusterParams().whole_kinds)
    assert out == {**cluster, "c3": 0, "c4": 0}
    assert keep_whole(edges, cluster, ()) == cluster


def test_a_card_split_evenly_goes_to_the_lowest_cluster() -> None:
    edges = _edges([("a", "b", "payment"), ("b", "c", "payment"), ("c", "d", "payment")])
    cluster = {"a": 3, "b": 3, "c": 1, "d": 1}
    assert keep_whole(edges, cluster, ("payment",)) == dict.fromkeys("abcd", 1)
