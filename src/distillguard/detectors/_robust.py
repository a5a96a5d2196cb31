"""Robust baselines calibrated on the benign bulk of the input itself.

Thresholds are never constants learnt from one generator: each is a robust location/scale
(median/MAD) of the input's own population, per signup path when the path has enough
accounts. Like River's anomaly filter, the fit refuses to learn from what it flags: fit,
drop the accounts beyond the threshold, refit, so a large fleet cannot drag the baseline
towards itself (a fleet up to ~half of a tier is tolerated by the median's breakdown point).
"""

from __future__ import annotations

import numpy as np

#: MAD -> standard deviation for a normal distribution.
MAD_TO_SIGMA = 1.4826


def _fit(x: np.ndarray, keep: np.ndarray, mad_floor: float) -> tuple[float, float]:
    vals = x[keep & np.isfinite(x)]
    if vals.size == 0:
        return float("nan"), float("nan")
    med = float(np.median(vals))
    mad = float(np.median(np.abs(vals - med))) * MAD_TO_SIGMA
    return med, max(mad, mad_floor)


def filtered_baseline(
    x: np.ndarray, z_threshold: float, mad_floor: float, rounds: int
) -> tuple[float, float, np.ndarray]:
    """Median and scale of ``x`` after ``rounds`` of fit / drop-upper-outliers / refit.

    Returns ``(median, scale, inlier_mask)``. Only upper outliers are dropped: every
    detector here looks for excess (more volume, more regularity), never for deficit.
    """
    keep = np.isfinite(x)
    med, scale = _fit(x, keep, mad_floor)
    for _ in range(rounds):
        if not np.isfinite(med):
            break
        z = (x - med) / scale
        new_keep = np.isfinite(x) & (z <= z_threshold)
        if new_keep.sum() == keep.sum():
            break
        keep = new_keep
        med, scale = _fit(x, keep, mad_floor)
    return med, scale, keep


def robust_z(
    x: np.ndarray,
    groups: np.ndarray,
    *,
    z_threshold: float,
    mad_floor: float,
    rounds: int,
    min_group: int,
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group robust z-scores of ``x`` (``(z, median, scale)`` per element).

    Groups (signup paths) with fewer than ``min_group`` eligible accounts use the baseline
    of the whole population instead: a median of five accounts is not a baseline.
    ``eligible`` restricts which accounts may shape the baseline (e.g. enough traffic
    for the feature to mean anything); all accounts are still scored.
    """
    x = np.asarray(x, dtype=np.float64)
    elig = np.isfinite(x) if eligible is None else (eligible & np.isfinite(x))
    med_all, sc_all, _ = filtered_baseline(np.where(elig, x, np.nan), z_threshold, mad_floor, rounds)
    med = np.full(x.shape, med_all)
    scale = np.full(x.shape, sc_all)
    groups = np.asarray(groups, dtype=object)
    for g in sorted({str(v) for v in groups.tolist()}):
        member = groups.astype(str) == g
        if int((member & elig).sum()) < min_group:
            continue
        m, s, _ = filtered_baseline(np.where(member & elig, x, np.nan), z_threshold, mad_floor, rounds)
        med[member] = m
        scale[member] = s
    z = (x - med) / scale
    return np.nan_to_num(z, nan=0.0), med, scale


def upper_quantile_threshold(
    x: np.ndarray, q: float, floor: float, eligible: np.ndarray | None = None
) -> float:
    """``max(floor, quantile_q(x))`` over eligible finite values (``floor`` if none)."""
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x) if eligible is None else (eligible & np.isfinite(x))
    if not ok.any():
        return float(floor)
    return float(max(floor, np.quantile(x[ok], q)))
