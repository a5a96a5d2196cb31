"""Network coordination: where accounts sit, shared datacenter egress, synchronized activity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard import _engine
from distillguard.detectors.base import DetectionContext, ramp, signal_rows, timed
from distillguard.detectors.coordination import _cohort, _lockstep, _partials, _queries

FAMILY = "coordination"

#: IP kinds that are an operator's own datacenter egress (an account behind one is not "at a
#: site"). VPN / Tor exits count as sites: like a campus NAT, many unrelated users share one.
DATACENTER_KINDS: tuple[str, ...] = ("hosting",)

#: The two synchronized-timing signals, in the order a pair found both ways is credited.
SYNC_KINDS: tuple[str, ...] = ("synchronized", "lockstep_timeline")


def sites(ctx: DetectionContext, p: Any) -> np.ndarray:
    """Each account's main non-datacenter network (/24) so far, or None (datacenter/unknown).

    An account is *behind* a site only when that /24 carries a real part of its traffic
    (``site_min_share``): a campus user sends most requests from the campus NAT, while an
    account hopping through a pool of VPN or proxy exits merely passes through its busiest
    one, and sharing that exit with the rest of the pool is no campus.
    """
    if "sites" not in ctx.cache:
        _partials.ensure(ctx, "sites", _partials.sites)
        t = _queries.sites(ctx)
        out = np.full(ctx.features.num_rows, None, dtype=object)
        if t.num_rows:
            dc = pc.is_in(t["site_kind"], pa.array(DATACENTER_KINDS)).to_numpy(zero_copy_only=False)
            vals = np.asarray(t["site"].to_pylist(), dtype=object)
            vals[dc] = None
            top = _queries.top_site_share(ctx)
            top_share = np.ones(ctx.features.num_rows)
            top_share[ctx.positions(top["aid"].to_numpy())] = top["top"].to_numpy(zero_copy_only=False)
            vals[top_share[ctx.positions(t["aid"].to_numpy())] < p.site_min_share] = None
            out[ctx.positions(t["aid"].to_numpy())] = vals
        ctx.cache["sites"] = out
        at = pa.table({"aid": ctx.features["aid"], "site": pa.array(out, pa.string())})
        at = at.filter(pc.is_valid(at["site"]))
        ctx.cache["sites_ibis"] = _engine.arrow_table(_partials.backend(ctx), "dg_sites", at)
    return ctx.cache["sites"]


def behind_nat(ctx: DetectionContext, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(site, known, nat)`` per account: :func:`sites`, whether it has one, and whether that
    site is shared by ``nat_min_accounts`` or more (a campus or office NAT)."""
    site = sites(ctx, p)
    known = np.array([x is not None for x in site.tolist()], dtype=bool)
    _, inv, counts = np.unique(np.where(known, site, "").astype(str), return_inverse=True, return_counts=True)
    return site, known, known & (counts[inv] >= p.nat_min_accounts)


def ids(ctx: DetectionContext, aids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Account ids (strings) of integer ids."""
    return ctx.accounts[ctx.positions(np.asarray(aids))]


def exits(ctx: DetectionContext, ips: pa.Table, p: Any) -> np.ndarray:
    """Per row (IP, account) of ``ips``: is the account a stranger on a shared exit (a
    commercial VPN exit or a cloud NAT on a datacenter range) rather than on an operator's
    own infrastructure?

    An operator runs its fleet from its hosts: the accounts behind one of them were opened
    together (a signup cohort) or the traffic through it is harvest. The customers of a VPN
    provider who happen to leave through one of its exits are a sample of everyone: their
    signups spread like the population's (:func:`._cohort.population_spread_days`), and their
    traffic is ordinary. A fleet may use the same commercial exit as those people: its
    harvest then flows through it, but a customer whose own traffic through the exit is
    ordinary is still a stranger there. A row is an exit only when the IP's accounts spread
    like strangers (enough signup dates known to judge) and either the IP's traffic or the
    account's own prompts through it are ordinary; otherwise it stays evidence as before.
    """
    out = np.zeros(ips.num_rows, dtype=bool)
    pop = _cohort.population_spread_days(ctx, p.fleet_cohort_min_known)
    if not ips.num_rows or not np.isfinite(pop) or pop <= 0:
        return out
    known = ips["known_signups"].to_numpy(zero_copy_only=False) >= p.fleet_cohort_min_known
    iqr = ips["signup_iqr_days"].cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
    harvest = ips["harvest_share"].cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
    # an account is ordinary on the IP when it sent prompts through it and its prompts are
    # ordinary overall (its share through one exit alone is a handful of prompts: noise);
    # without prompt text through the IP it is unknown, not ordinary
    prompts = ips["own_prompts"].to_numpy(zero_copy_only=False).astype(float)
    pos = ctx.positions(ips["aid"].to_numpy())
    overall = np.minimum(1.0, ctx.col("cot_share", 0.0) + ctx.col("extraction_share", 0.0))[pos]
    own = np.where(prompts > 0, overall, 1.0)
    ordinary = (harvest < p.infra_exit_max_harvest) | (own < p.infra_exit_max_harvest)
    return known & (iqr / pop > p.infra_exit_min_spread) & ordinary


def infra(ctx: DetectionContext, p: Any) -> pa.Table:
    """Datacenter egress IPs shared with unrelated customers (strangers on shared exits left
    out: :func:`exits`)."""
    _partials.ensure(ctx, "hosting_ips", _partials.hosting_ips, min_payments=p.infra_min_payments)
    ips = _queries.hosting_ips(ctx, p.infra_min_payments, p.infra_max_accounts)
    is_exit = exits(ctx, ips, p)
    seen = pc.unique(ips["ip"])
    ips = ips.filter(pa.array(~is_exit))
    ctx.cache["exit_ips"] = seen.filter(pc.invert(pc.is_in(seen, pc.unique(ips["ip"]))))
    best = np.zeros(ctx.features.num_rows)
    if ips.num_rows:
        pos = ctx.positions(ips["aid"].to_numpy())
        np.maximum.at(best, pos, ips["payments"].to_numpy(zero_copy_only=False).astype(float))
    ctx.cache["hosting_ips"] = pa.table(
        {"account_id": pa.array(ids(ctx, ips["aid"]).tolist(), pa.string()), "ip": ips["ip"]}
    )
    return signal_rows(
        ctx.accounts,
        FAMILY,
        "shared_infra",
        ramp(best, p.infra_min_payments, 4 * p.infra_min_payments),
        best,
        p.infra_min_payments,
        ("datacenter egress IP shared with {:.0f} unrelated customers", [best]),
    )


def _cooccurring(ctx: DetectionContext, p: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """SynchroTrap pairs (integer ids, evidence): (bucket, key) actions overlapping far
    beyond chance."""
    with timed(ctx, "coordination.sync.partials"):  # once per input (the replay's checkpoints reuse it)
        _partials.ensure(
            ctx,
            "sync",
            _partials.sync,
            bucket_s=p.sync_bucket_s,
            max_cell=p.sync_max_cell,
            min_actions=p.sync_min_actions,
            min_shared=p.sync_min_shared,
        )
    with timed(ctx, "coordination.sync.pairs"):
        pairs = _queries.sync(ctx, min_actions=p.sync_min_actions, min_shared=p.sync_min_shared)
    pairs = pairs.filter(
        pc.and_(
            pc.greater_equal(pairs["lift"], p.sync_min_lift),
            pc.greater_equal(pairs["overlap"], p.sync_min_overlap),
        )
    )
    shared = pairs["shared"].to_numpy(zero_copy_only=False)
    lift = pairs["lift"].to_numpy(zero_copy_only=False)
    ev = [f"{x:.0f} shared actions, lift {y:.1f}" for x, y in zip(shared, lift, strict=True)]
    return pairs["src"].to_numpy(), pairs["dst"].to_numpy(), ev


def _lockstep_pairs(ctx: DetectionContext, p: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pairs whose request timelines are one stream dealt between them (:mod:`._lockstep`)."""
    with timed(ctx, "coordination.sync.lockstep"):
        _partials.ensure(ctx, "timeline_buckets", _partials.timeline_buckets, bucket_s=p.lockstep_bucket_s)
        t = _lockstep.pairs(ctx, p)
    x, chance = t["x"].to_numpy(zero_copy_only=False), t["p"].to_numpy(zero_copy_only=False)
    ev = [
        f"request timelines in lockstep: x {a:.3f}, chance < {c:.0e}" for a, c in zip(x, chance, strict=True)
    ]
    return t["src"].to_numpy(), t["dst"].to_numpy(), ev


def sync(ctx: DetectionContext, p: Any) -> list[pa.Table]:
    """Synchronized accounts: SynchroTrap-style co-occurrence (``synchronized``), or request
    timelines in lockstep (``lockstep_timeline``; a pair found both ways counts once, as
    co-occurrence: one fact, the timing).

    The pairs' graph is judged as a whole: pairs behind one site or behind busy shared sites
    (campus NATs), and groups of strangers (signups spread like everyone's), are dropped.
    The pairs kept are cached (``sync_pairs``: ``src``, ``dst``, ``kind``, ``evidence``) for
    the campaign graph and the own-card rule (:func:`._meta_fleet.own_customer`).
    """
    found: dict[tuple[int, int], tuple[str, str]] = {}
    found_by = {"synchronized": _cooccurring(ctx, p), "lockstep_timeline": _lockstep_pairs(ctx, p)}
    for kind, (s, d, e) in found_by.items():
        for pair, why in zip(zip(s.tolist(), d.tolist(), strict=True), e, strict=True):
            found.setdefault(pair, (kind, why))
    src = np.fromiter((a for a, _ in found), np.int64, len(found))
    dst = np.fromiter((b for _, b in found), np.int64, len(found))
    kinds = np.asarray([k for k, _ in found.values()], dtype=object)
    evidence = [e for _, e in found.values()]
    n = ctx.features.num_rows
    partners = {k: np.zeros(n) for k in SYNC_KINDS}
    if len(src):
        s_pos = ctx.positions(src)
        d_pos = ctx.positions(dst)
        site, known, nat = behind_nat(ctx, p)
        same = known[s_pos] & (site[s_pos] == site[d_pos])
        # NAT-aware: a pair behind one site, or both behind busy shared sites (campus NATs), is
        # explained by where they sit, not by a common operator
        keep = ~(same | (nat[s_pos] & nat[d_pos]))
        # and a lockstep group of strangers (signups spread like everyone's) is a common
        # schedule, not one operator (:func:`._cohort.cohort_pairs`)
        keep &= _cohort.cohort_pairs(ctx, s_pos, d_pos, p)
        for k, count in partners.items():
            mine = keep & (kinds == k)
            np.add.at(count, s_pos[mine], 1)
            np.add.at(count, d_pos[mine], 1)
        ctx.cache["sync_pairs"] = pa.table(
            {
                "src": ctx.accounts[s_pos[keep]].tolist(),
                "dst": ctx.accounts[d_pos[keep]].tolist(),
                "kind": pa.array(kinds[keep].tolist(), pa.string()),
                "evidence": pa.array([e for e, k in zip(evidence, keep, strict=True) if k], pa.string()),
            }
        )
    texts = {
        "synchronized": "active in lockstep with {:.0f} accounts far beyond chance",
        "lockstep_timeline": "request timeline in lockstep with {:.0f} accounts (one stream dealt out)",
    }
    return [
        signal_rows(
            ctx.accounts,
            FAMILY,
            k,
            ramp(partners[k], p.sync_min_partners, p.sync_full_partners),
            partners[k],
            p.sync_min_partners,
            (texts[k], [partners[k]]),
        )
        for k in SYNC_KINDS
    ]
