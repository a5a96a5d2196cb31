"""Shared unusual profile: many unrelated accounts working off-hours for the country they
declare AND steering their traffic to a minority (older) model, far beyond chance.

Low-and-slow fleets stay under every per-account limit and paraphrase their templates, but
they cannot hide who runs them: the operator's office hours and the model chosen for the
harvest are the same across hundreds of accounts that claim to be unrelated customers in
several countries. Either trait alone has benign twins (night owls, nightly jobs, legacy
integrations); both together in one account are rare, so the number of unrelated payers
showing both is compared with what independence predicts, estimated on the accounts that
show only one trait (a baseline that does not learn from the group it judges).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors._clock import minority_focus, off_hours
from distillguard.detectors.base import DetectionContext, ramp, signal_rows

FAMILY = "coordination"


def profile(ctx: DetectionContext, p: Any) -> pa.Table:
    """``shared_unusual_profile`` for accounts in a beyond-chance off-hours + minority-model group."""
    acc = ctx.accounts
    _, _, late = off_hours(
        ctx, floor=p.profile_night_floor, z=p.profile_night_z, min_requests=p.profile_min_requests
    )
    _, old = minority_focus(ctx, share=p.profile_minority_share, min_requests=p.profile_min_requests)
    elig = (ctx.col("n", 0.0) >= p.profile_min_requests) & (ctx.col("tz_n", 0.0) >= p.profile_min_requests)
    both = elig & late & old
    pay = ctx.col("payment")
    payers = {
        (v if v is not None else a) for v, a in zip(pay[both].tolist(), acc[both].tolist(), strict=True)
    }
    observed = float(len(payers))
    n_elig = float(elig.sum())
    # independence baseline from accounts showing at most one trait
    p_late = float((elig & late & ~old).sum()) / max(float((elig & ~old).sum()), 1.0)
    p_old = float((elig & old & ~late).sum()) / max(float((elig & ~late).sum()), 1.0)
    expected = max(n_elig * p_late * p_old, 1.0)
    lift = observed / expected
    fires = observed >= p.profile_min_payments and lift >= p.profile_min_lift
    strength = np.where(
        both & fires, ramp(np.full(len(acc), lift), p.profile_min_lift, p.profile_full_lift), 0.0
    )
    members = acc[strength > 0]
    ctx.cache["profile_members"] = pa.table(
        {
            "account_id": pa.array(members.tolist(), pa.string()),
            "key": pa.array(["off-hours+minority-model"] * len(members)),
        }
    )
    return signal_rows(
        acc,
        FAMILY,
        "shared_unusual_profile",
        strength,
        np.full(len(acc), lift),
        p.profile_min_lift,
        (
            "one of {:.0f} unrelated accounts working off-hours for their country on a minority model "
            "({:.1f}x what chance predicts)",
            [np.full(len(acc), observed), np.full(len(acc), lift)],
        ),
    )
