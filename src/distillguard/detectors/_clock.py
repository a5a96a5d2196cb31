"""Shared per-account masks for the "unusual profile" evidence: off-hours for the declared
country, and focus on a minority (older) model.

Two behaviours on the public record of distillation fleets, each with a benign twin:
operators work their own office hours whatever country the accounts claim (a night owl, a
shift worker or a nightly batch job does too), and they steer harvest to an older, less
protected model ("defense arbitrage"; a legacy integration does too). Single accounts
therefore get weak signals; the strong evidence is many *unrelated* accounts showing both
at once far beyond what independence predicts (``coordination._profile``).
"""

from __future__ import annotations

import numpy as np

from distillguard.detectors._robust import filtered_baseline
from distillguard.detectors.base import DetectionContext

#: MAD floor of the night share (a population of strict day workers has a MAD near 0).
NIGHT_MAD_FLOOR = 0.05
#: Fit / drop flagged / refit rounds of the night-share baseline.
NIGHT_FILTER_ROUNDS = 3


def clock_covered(ctx: DetectionContext, min_hours: float) -> bool:
    """Does the input (as of the context's checkpoint) span at least ``min_hours``?

    A share of requests "at night" means something only when the input covers every hour of
    the day: two hours of logs from 00:00 UTC are night in Europe for everyone there (an
    early replay checkpoint, a short ``--as-of`` cut)."""
    first, last = ctx.micros("first_ts"), ctx.micros("last_ts")
    if not (np.isfinite(first).any() and np.isfinite(last).any()):
        return False
    return bool((np.nanmax(last) - np.nanmin(first)) / 3.6e9 >= min_hours)


def off_hours(
    ctx: DetectionContext, *, floor: float, z: float, min_requests: int, min_input_h: float = 0.0
) -> tuple[np.ndarray, float, np.ndarray]:
    """(night share, threshold, mask): accounts whose share of requests in their billing
    country's night exceeds ``max(floor, median + z * MAD)`` of the input's own accounts
    (fitted on the benign bulk: fit, drop flagged, refit). Accounts without a known local
    clock or with fewer than ``min_requests`` clocked requests never fire, nor does anyone
    while the input spans less than ``min_input_h`` hours (:func:`clock_covered`)."""
    night = ctx.col("night_share", np.nan)
    elig = (ctx.col("tz_n", 0.0) >= min_requests) & np.isfinite(night) & clock_covered(ctx, min_input_h)
    med, scale, _ = filtered_baseline(np.where(elig, night, np.nan), z, NIGHT_MAD_FLOOR, NIGHT_FILTER_ROUNDS)
    thr = floor if not np.isfinite(med) else float(min(0.95, max(floor, med + z * scale)))
    return night, thr, elig & (night >= thr)


def minority_focus(
    ctx: DetectionContext, *, share: float, min_requests: int
) -> tuple[np.ndarray, np.ndarray]:
    """(minority-model share, mask): accounts sending at least ``share`` of their traffic to
    models the population has mostly left (see ``features._ibis_exprs.minority_models``)."""
    x = ctx.col("minority_model_share", 0.0)
    return x, (ctx.col("n", 0.0) >= min_requests) & (x >= share)
