"""Is a group of unrelated accounts a fleet, or the user base of something popular?

Sharing a template family is what a fleet's members do -- and what the unrelated users of
one popular agent framework do too: the framework wraps every task in its own prompt frame,
so hundreds of independent developers each send most of their traffic in it, each with
their own distinct tasks. Counting devoted payers and checking that prompts do not repeat
cannot tell them apart. Two things a framework's user base cannot fake (the same two the
shared-system-prompt rule uses, :mod:`._system`):

* **a signup cohort**: a fleet opens its accounts together (days to a few weeks apart, even
  when it mixes in some aged accounts), while a tool's users are a sample of the provider's
  customers and signed up whenever each of them did. The spread (inter-quartile range) of
  the group's signup dates is therefore judged *relative to the spread of every account
  seen*: a user base spreads like the population, a fleet is a small fraction of it. The
  ratio, not a fixed number of days, so a young provider (whose customers all signed up
  this year) does not make every group a cohort;
* **shared egress**: an operator runs its fleet from its own few datacenter hosts, so most
  of the group's payers call through an IP some other payer of the group also uses.

A group passing neither is a user base: no fleet evidence for a neutral frame. A harvest
frame (CoT elicitation, rubric grading...) devoted by many unrelated accounts is the public
record's signature itself and is not excused (:func:`._content.templates`). When signup
dates are unknown (logs without ``account_created_at``) the cohort test cannot be made, and
the group is judged as before (size, devotion, distinct prompts) rather than silently
dropped. The same population-relative spread tells a commercial VPN exit on a datacenter
range from an operator's own hosts (:func:`._network.exits`).

Known limit: a fleet of aged (bought) accounts, each on its own card and network, in a
neutral frame, is judged a user base by this rule; its harvest content, timing and the other
families still speak against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import DetectionContext
from distillguard.detectors.coordination import _partials, _queries


def family_egress(ctx: DetectionContext, fleet: pa.Table, devoted_share: float, min_payers: int) -> pa.Table:
    """Per candidate family (``fam`` of ``fleet``, as of checkpoint k): the share of its devoted
    payers that call through a datacenter IP which another devoted payer of the family also
    uses (``fam``, ``shared``)."""
    import ibis

    fl = ibis.memtable(fleet.select(["fam"]))
    afc = _partials.table(ctx, "afc")
    a = afc.semi_join(fl, afc.f == fl.fam)
    a = a.filter(a.cp <= ctx.k)
    af = a.group_by(["aid", "f"]).aggregate(c=a.c.sum())
    dj = af.join(_queries.features(ctx), "aid")
    d = dj.filter(dj.c / dj.tmpl_n >= devoted_share).select("aid", "f", pay=_partials.payer(dj))
    hip = _partials.table(ctx, "hip")
    h = hip.filter(hip.cp0 <= ctx.k)
    x = d.join(h, "aid").select("f", "ip", "pay")
    g = x.group_by(["f", "ip"]).aggregate(n=x.pay.nunique())
    ipg = g.filter(g.n >= min_payers).select("f", "ip")
    lx = x.semi_join(ipg, ["f", "ip"])
    linked = lx.group_by("f").aggregate(lp=lx.pay.nunique())
    tot = d.group_by("f").aggregate(p=d.pay.nunique())
    j = tot.left_join(linked, "f")
    out = j.select(fam=j.f, shared=j.lp.coalesce(0) / j.p)
    return out.order_by("fam").to_pyarrow()


def population_spread_days(ctx: DetectionContext, min_known: int) -> float:
    """Inter-quartile range (days) of the signup dates of every account seen so far, or NaN
    when fewer than ``min_known`` are known."""
    created = ctx.micros("created_at")
    created = created[np.isfinite(created)]
    if len(created) < min_known:
        return float("nan")
    q1, q3 = np.percentile(created, [25, 75])
    return float(q3 - q1) / 86_400e6


def group_spread_days(
    ctx: DetectionContext, pos: np.ndarray, group: np.ndarray, min_known: int
) -> np.ndarray:
    """Per element (account at feature position ``pos`` in group ``group``): the inter-quartile
    range (days) of its group's signup dates, NaN when the group has fewer than ``min_known``
    known. The IQR, not the range: a fleet that mixes in a few aged accounts is still a
    cohort, a user base with a few fresh signups still spread."""
    created = ctx.micros("created_at")[pos]
    labels, inv = np.unique(group, return_inverse=True)
    order = np.lexsort((created, inv))  # by group, then signup (NaN last within each)
    inv_s, created_s = inv[order], created[order]
    ok_s = np.isfinite(created_s)
    start = np.searchsorted(inv_s, np.arange(len(labels)))
    end = np.append(start[1:], len(inv_s))
    known = np.add.reduceat(ok_s.astype(int), start) if len(inv_s) else np.zeros(0, dtype=int)
    spread = np.full(len(labels), np.nan)
    for g in np.flatnonzero(known >= min_known):  # one per group with enough known signups
        vals = created_s[start[g] : end[g]][ok_s[start[g] : end[g]]]
        q1, q3 = np.percentile(vals, [25, 75])
        spread[g] = (q3 - q1) / 86_400e6
    return spread[inv]


def cohort_ratio(fams: pa.Table, ctx: DetectionContext, min_known: int) -> np.ndarray:
    """Per family row: its devoted accounts' signup IQR / the population's (NaN = unknown)."""
    pop = population_spread_days(ctx, min_known)
    spread = fams["signup_iqr_days"].cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
    known = fams["known_signups"].to_numpy(zero_copy_only=False).astype(float)
    out = np.full(fams.num_rows, np.nan)
    if np.isfinite(pop) and pop > 0:
        ok = known >= min_known
        out[ok] = spread[ok] / pop
    return out


def shared_egress(ctx: DetectionContext, fleet: pa.Table, p: Any) -> np.ndarray:
    """Per row of ``fleet``: share of its devoted payers behind a datacenter IP shared with
    another of them (0 without datacenter traffic)."""
    out = np.zeros(fleet.num_rows)
    if not fleet.num_rows:
        return out
    _partials.ensure(ctx, "hosting_ips", _partials.hosting_ips, min_payments=p.infra_min_payments)
    t = family_egress(ctx, fleet, p.devoted_share, p.fleet_egress_min_payers)
    if t.num_rows:
        keys = t["fam"].to_numpy(zero_copy_only=False)
        vals = t["shared"].cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        fams = fleet["fam"].to_numpy(zero_copy_only=False)
        pos = np.searchsorted(keys, fams)
        hit = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == fams)
        out[hit] = vals[pos[hit]]
    return out


def fleetlike(ctx: DetectionContext, fleet: pa.Table, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keep, ratio, egress)`` per row of ``fleet``: keep = a signup cohort (or signup dates
    unknown: not judged) or shared datacenter egress."""
    ratio = cohort_ratio(fleet, ctx, p.fleet_cohort_min_known)
    egress = shared_egress(ctx, fleet, p)
    cohort = ~np.isfinite(ratio) | (ratio <= p.fleet_cohort_max_spread)
    return cohort | (egress >= p.fleet_min_shared_egress), ratio, egress


def cohort_pairs(ctx: DetectionContext, s_pos: np.ndarray, d_pos: np.ndarray, p: Any) -> np.ndarray:
    """Per synchronized pair (feature positions ``s_pos``-``d_pos``): does its group of
    synchronized accounts (the connected component of the pair graph) look like one
    operator's, i.e. is it a signup cohort, or can that not be judged?

    Unrelated customers run on common schedules (a framework's cron examples, nightly batch
    windows): their co-activity forms groups whose signups spread like everyone's. A fleet's
    lockstep group was opened together.
    """
    keep = np.ones(len(s_pos), dtype=bool)
    pop = population_spread_days(ctx, p.fleet_cohort_min_known)
    if not len(s_pos) or not np.isfinite(pop) or pop <= 0:
        return keep
    import igraph as ig

    nodes, inv = np.unique(np.concatenate([s_pos, d_pos]), return_inverse=True)
    a = inv[: len(s_pos)]
    g = ig.Graph(n=len(nodes), edges=np.column_stack([a, inv[len(s_pos) :]]).tolist())
    comp = np.asarray(g.connected_components().membership)
    ratio = group_spread_days(ctx, nodes, comp, p.fleet_cohort_min_known) / pop
    return ~(np.isfinite(ratio[a]) & (ratio[a] > p.sync_cohort_max_spread))
