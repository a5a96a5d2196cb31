"""Content coordination: fleet template families (shared system prompts: :mod:`._system`).

A template family is fleet evidence only when many unrelated accounts are devoted to it,
its prompts do not repeat across accounts (benchmarks and class assignments repeat; sweeps
partition a task set), its users are not all behind one non-datacenter network, and they
are a signup cohort or share datacenter egress (a popular agent framework's unrelated users
are neither: :mod:`._cohort`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination import _cohort, _partials, _queries
from distillguard.detectors.coordination._network import ids, sites

FAMILY = "coordination"


def _fleet_mask(fams: pa.Table, p: Any) -> pa.Array:
    conds = [
        pc.greater_equal(fams["devoted_payments"], p.fleet_min_payments),
        pc.greater_equal(fams["devoted_event_share"], p.fleet_min_devoted_events),
        pc.greater_equal(fams["member_share"], p.fleet_member_share),
        pc.less_equal(fams["cross_dup_share"], p.fleet_max_cross_dup),
        pc.less_equal(fams["repeat_ratio"], p.fleet_max_repeat),
        pc.less_equal(fams["colocated_share"], p.fleet_max_colocated),
    ]
    out = conds[0]
    for c in conds[1:]:
        out = pc.and_(out, c)
    return out


def templates(ctx: DetectionContext, p: Any) -> list[pa.Table]:
    """Share of each account's prompts in fleet families where it is one member among many."""
    _partials.ensure(ctx, "families", _partials.families, min_payments=p.fleet_min_payments)
    sites(ctx, p)
    fams = _queries.families(ctx, p.devoted_share)
    fleet = fams.filter(_fleet_mask(fams, p))
    # a popular framework's user base shares its (neutral) frame too: such a family is a fleet's
    # only as a signup cohort or behind shared datacenter egress (:mod:`._cohort`). A harvest
    # frame (CoT elicitation, rubric grading...) devoted by many unrelated accounts is the
    # public record's own signature and is not excused by a diverse signup history.
    keep, ratio, egress = _cohort.fleetlike(ctx, fleet, p)
    harvest_fam = fleet["harvest_tag_share"].to_numpy(zero_copy_only=False) >= p.harvest_family_share
    keep = keep | harvest_fam
    fleet = fleet.append_column("cohort_ratio", pa.array(ratio)).append_column(
        "shared_egress", pa.array(egress)
    )
    ctx.cache["user_base_families"] = fleet.filter(pa.array(~keep))
    fleet = fleet.filter(pa.array(keep))
    members = _queries.members(
        ctx,
        fleet,
        devoted_share=p.devoted_share,
        owner_max_share=p.owner_max_share,
        member_max_ratio=p.member_max_ratio,
        member_fence_iqr=p.member_fence_iqr,
        customer_fence_iqr=p.customer_fence_iqr,
    )
    ctx.cache["fleet_families"] = fleet
    ctx.cache["fleet_members"] = pa.table(
        {
            "account_id": pa.array(ids(ctx, members["aid"]).tolist(), pa.string()),
            "fam": members["fam"],
            "payments": members["devoted_payments"],
        }
    )
    n = ctx.features.num_rows
    share = np.zeros(n)
    pays = np.zeros(n)
    harvest_w = np.zeros(n)
    if members.num_rows:
        pos = ctx.positions(members["aid"].to_numpy())
        c = members["c"].to_numpy(zero_copy_only=False).astype(float)
        np.add.at(share, pos, members["share"].to_numpy(zero_copy_only=False))
        np.maximum.at(pays, pos, members["devoted_payments"].to_numpy(zero_copy_only=False).astype(float))
        weighted = c * members["harvest_tag_share"].fill_null(0.0).to_numpy(zero_copy_only=False)
        np.add.at(harvest_w, pos, weighted)
        total_c = np.zeros(n)
        np.add.at(total_c, pos, c)
        harvest = np.divide(harvest_w, total_c, out=np.zeros(n), where=total_c > 0)
    else:
        harvest = harvest_w
    strength = np.where(
        share >= p.fleet_min_share, ramp(pays, p.fleet_min_payments, p.fleet_full_payments), 0.0
    )
    is_harvest = harvest >= p.harvest_family_share
    evidence = (
        "{:.0%} of prompts in template families dominated by {:.0f} unrelated accounts",
        [share, pays],
    )
    return [
        signal_rows(
            ctx.accounts,
            FAMILY,
            "shared_template",
            np.where(is_harvest, 0.0, strength),
            pays,
            p.fleet_min_payments,
            evidence,
        ),
        signal_rows(
            ctx.accounts,
            FAMILY,
            "shared_harvest_template",
            np.where(is_harvest, strength, 0.0),
            pays,
            p.fleet_min_payments,
            evidence,
        ),
    ]
