"""Arrival processes: calibrated window cv, persistence, steady backends, session bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distillguard.simulate import _timing_fit as F
from distillguard.simulate._timing import Clock, TimingSpec, session_times, steady_times


def _window_cv(t: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cv, n) of every (account, 600 s window) with >= 10 requests, like ServeGen."""
    acc = np.repeat(np.arange(len(counts)), counts)
    win = (t // F.WINDOW_S).astype(np.int64)
    order = np.lexsort((t, win, acc))
    acc, win, t = acc[order], win[order], t[order]
    key = acc * 10**6 + win
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    n = np.diff(np.r_[starts, len(t)])
    cvs = []
    for s, k in zip(starts[n >= 10], n[n >= 10], strict=True):
        g = np.diff(t[s : s + k])
        cvs.append(g.std() / g.mean())
    return np.array(cvs), n[n >= 10]


def _sessions(spec: TimingSpec, accounts: int = 1500, per_account: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    clock = Clock(7, 0)
    counts = np.full(accounts, per_account)
    keys = np.arange(accounts, dtype=np.uint64) * np.uint64(7919)
    lo, hi = np.zeros(accounts), np.full(accounts, 7 * 24.0)
    t, _ = session_times(rng, clock, counts, lo, hi, np.full(accounts, 11), spec, keys=keys)
    return t, counts


def test_session_window_cv_follows_the_servegen_fit() -> None:
    t, counts = _sessions(TimingSpec(profile="human", session_len=40.0, gap_s=20.0))
    cv, n = _window_cv(t, counts)
    sel = (n >= F.COUNT_BINS[0]) & (n < F.COUNT_BINS[2])  # the bins these sessions populate
    levels = np.array(F.QUANTILE_LEVELS)[1:-1]
    for b in (0, 1):
        in_bin = sel & (F.count_bin(n.astype(float)) == b)
        target = np.exp(np.array(F.CV_LOG_QUANTILES_OBSERVED[b])[1:-1])
        below = (cv[in_bin][:, None] <= target[None, :]).mean(axis=0)
        assert np.max(np.abs(below - levels)) < 0.12, (b, np.round(below - levels, 2))


def test_burstiness_shifts_an_account_population() -> None:
    cv_reg = _window_cv(*_sessions(TimingSpec(session_len=40.0, gap_s=20.0, burstiness=-1.0), 400))[0]
    cv_bur = _window_cv(*_sessions(TimingSpec(session_len=40.0, gap_s=20.0, burstiness=1.0), 400))[0]
    assert np.median(cv_reg) < 0.8 * np.median(cv_bur)


def test_sessions_stay_inside_the_active_window() -> None:
    rng = np.random.default_rng(4)
    counts = np.full(200, 500)
    lo, hi = np.full(200, 10.0), np.full(200, 30.0)
    spec = TimingSpec(session_len=200.0, gap_s=30.0)
    t, _ = session_times(rng, Clock(3, 0), counts, lo, hi, np.full(200, 11), spec)
    assert t.min() >= 10 * 3600 - 1e-6 and t.max() <= 30 * 3600 + 1e-6
    assert np.mean(t > 30 * 3600 - 60) < 0.01  # no pile-up at the end of the window


def test_steady_backends_are_always_on_with_a_diurnal_swing() -> None:
    rng = np.random.default_rng(5)
    clock, counts = Clock(7, 0), np.full(6, 40_000)
    spec = TimingSpec(profile="human", strength=0.77, mode="steady")
    lo, hi = np.zeros(6), np.full(6, 7 * 24.0)
    t, sess = steady_times(
        rng, clock, counts, lo, hi, np.full(6, 11), spec, keys=np.arange(6, dtype=np.uint64)
    )
    assert len(t) == counts.sum() and len(sess) == len(t)
    acc = np.repeat(np.arange(6), counts)
    hours = np.zeros((6, 7 * 24))
    np.add.at(hours, (acc, (t // 3600).astype(np.int64)), 1)
    assert (hours > 0).mean() > 0.97  # every hour of every day
    by_hour = hours.reshape(6, 7, 24).sum(axis=(0, 1))
    assert 0.1 < by_hour.min() / by_hour.max() < 0.6  # ServeGen steady clients: trough/peak 0.27
    # Each account's requests come out in time order, window after window.
    for a in range(6):
        assert np.all(np.diff(t[acc == a]) >= 0)


@pytest.mark.slow
def test_stored_constants_are_the_fit_of_the_real_data(shared_data: Path) -> None:
    from distillguard.simulate._calibrate import fit

    got = fit(shared_data)
    assert got["CV_LOG_QUANTILES_OBSERVED"] == F.CV_LOG_QUANTILES_OBSERVED
    assert got["WEIBULL_SHARE"] == F.WEIBULL_SHARE
    assert np.allclose(got["CV_LOG_QUANTILES_GENERATOR"], F.CV_LOG_QUANTILES_GENERATOR, atol=1e-3)
    for name in ("CLIENT_RHO", "WINDOW_AR", "RATE_AR", "RATE_INNOVATION_SD", "STEADY_TROUGH_TO_PEAK"):
        assert got[name] == getattr(F, name), name
