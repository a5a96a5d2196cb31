"""Shared unusual profile: many unrelated accounts steering their traffic to a minority
(older) model whose *aggregate* clock is off-hours for the countries they declare.

Low-and-slow fleets stay under every per-account limit and paraphrase their templates, but
they cannot hide who runs them: the model chosen for the harvest ("defense arbitrage") and
the operator's office hours are the same across hundreds of accounts that claim to be
unrelated customers in several countries. Per account, both traits have benign twins
(legacy integrations, night owls, nightly jobs) and a person's hours are noisy; over a
group of unrelated accounts, though, real customers follow their own countries' day, so a
group whose mean share of requests falls in the declared countries' night is far above the
rest of the population is one operator's schedule, not a coincidence of customers.

Two benign look-alikes are kept out on purpose. Always-on services (app backends, agent
platforms serving users round the clock) put a flat clock's share of their requests in any
night window (8 of 24 hours = 1/3 for local 23-07), so the group's night share must clear
that flat share by a margin, not merely a fixed floor. And a heavy independent customer on
the older model with a nightly batch (an evaluation harness) is not one of a fleet's many
small members: accounts sending far more than the group's median member are left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors._clock import clock_covered, minority_focus
from distillguard.detectors.base import DetectionContext, ramp, signal_rows

FAMILY = "coordination"


def profile(ctx: DetectionContext, p: Any) -> pa.Table:
    """``shared_unusual_profile`` for members of an off-hours minority-model group."""
    acc = ctx.accounts
    night = ctx.col("night_share", np.nan)
    clocked = (ctx.col("tz_n", 0.0) >= p.profile_min_requests) & np.isfinite(night)
    clocked &= clock_covered(ctx, p.profile_min_input_h)
    _, old = minority_focus(ctx, share=p.profile_minority_share, min_requests=p.profile_min_requests)
    group = clocked & old
    # a heavy independent user (a nightly eval batch on the old model) is not a fleet member
    n = ctx.col("n", 0.0)
    if group.any():
        group &= n <= p.member_max_ratio * float(np.median(n[group]))
    rest = clocked & ~old
    base = float(np.median(night[rest])) if rest.any() else float("nan")
    mean = float(np.mean(night[group])) if group.any() else float("nan")
    pay = ctx.col("payment")
    payers = {
        (v if v is not None else a) for v, a in zip(pay[group].tolist(), acc[group].tolist(), strict=True)
    }
    # the group's clock must be night-heavier than both a fixed floor and a flat always-on clock
    thr = max(p.profile_group_night, p.profile_flat_lift * p.profile_flat_night)
    fires = (
        len(payers) >= p.profile_min_payments
        and np.isfinite(base)
        and mean >= max(thr, p.profile_night_lift * base)
    )
    # members are the accounts that carry the group's clock, not every legacy user in it
    member = group & (night > base) if fires else np.zeros(len(acc), dtype=bool)
    # strength grows with how far the group's clock is from the population's (its lift)
    lift = mean / base if fires and base > 0 else p.profile_full_lift
    strength = np.where(member, ramp(np.full(len(acc), lift), p.profile_night_lift, p.profile_full_lift), 0.0)
    members = acc[strength > 0]
    ctx.cache["profile_members"] = pa.table(
        {
            "account_id": pa.array(members.tolist(), pa.string()),
            "key": pa.array(["off-hours+minority-model"] * len(members), pa.string()),
        }
    )
    n_group = np.full(len(acc), float(len(payers)))
    return signal_rows(
        acc,
        FAMILY,
        "shared_unusual_profile",
        strength,
        np.full(len(acc), mean),
        thr,
        (
            "one of {:.0f} unrelated accounts on an older model sending {:.0%} of requests in their "
            "countries' night (the rest of the population: {:.0%})",
            [n_group, np.full(len(acc), mean), np.full(len(acc), base)],
        ),
    )
