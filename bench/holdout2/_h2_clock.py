"""When requests happen: human sessions, diurnal Poisson, machine cadence, ServeGen replay.

Every function is vectorized over accounts and returns ``(acct, ts_us)`` (and, for
sessions, a session index usable as a conversation id). Times are clipped to the window.
"""

from __future__ import annotations

import numpy as np
from _h2_common import DAY_US, DAYS, END_US, HOUR_US, START_US, US, rank_in_segment, seg_cumsum

#: Relative human activity by local hour (0..23): low at night, a late-morning and an
#: evening peak. Shape taken from typical consumer web traffic, not from any detector.
LOCAL_HOUR_WEIGHTS = np.array(
    [
        0.9,
        0.5,
        0.3,
        0.2,
        0.2,
        0.3,
        0.6,
        1.2,
        2.2,
        3.2,
        3.8,
        3.9,
        3.4,
        3.6,
        3.9,
        3.7,
        3.3,
        3.0,
        2.8,
        3.0,
        3.2,
        2.9,
        2.2,
        1.5,
    ],
    dtype=float,
)
#: Office hours profile for employees and students (local time).
OFFICE_HOUR_WEIGHTS = np.array(
    [
        0.05,
        0.02,
        0.02,
        0.02,
        0.02,
        0.05,
        0.2,
        0.8,
        2.5,
        4.0,
        4.2,
        3.8,
        2.5,
        3.5,
        4.0,
        3.8,
        3.3,
        2.2,
        1.0,
        0.6,
        0.5,
        0.4,
        0.2,
        0.1,
    ],
    dtype=float,
)


def _local_hours(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Fractional local hours drawn from an hourly profile."""
    p = weights / weights.sum()
    return rng.choice(24, size=n, p=p) + rng.random(n)


def human_sessions(
    rng: np.random.Generator,
    *,
    day_lo: np.ndarray,
    day_hi: np.ndarray,
    sess_per_day: np.ndarray,
    req_per_sess: np.ndarray,
    tz_hours: np.ndarray,
    gap_median_s: float = 45.0,
    gap_sigma: float = 1.0,
    weights: np.ndarray = LOCAL_HOUR_WEIGHTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sessions of back-to-back requests with human think time between them.

    Each account is active on days ``[day_lo, day_hi)``; per day it opens
    Poisson(``sess_per_day``) sessions starting at a local hour drawn from ``weights``;
    a session holds 1 + Geometric requests (mean ``req_per_sess``) separated by
    log-normal gaps (median ``gap_median_s``). Returns ``(acct, ts_us, session)``.
    """
    n_acct = len(day_lo)
    ndays = np.clip(day_hi - day_lo, 0, None)
    ad_acct = np.repeat(np.arange(n_acct), ndays)
    ad_day = day_lo[ad_acct] + seg_cumsum(np.ones(len(ad_acct), dtype=np.int64), ad_acct) - 1
    n_sess = rng.poisson(sess_per_day[ad_acct])
    s_acct = np.repeat(ad_acct, n_sess)
    s_day = np.repeat(ad_day, n_sess)
    local = _local_hours(rng, len(s_acct), weights)
    s_start = START_US + s_day * DAY_US + ((local - tz_hours[s_acct]) * HOUR_US).astype(np.int64)
    n_req = rng.geometric(1.0 / np.maximum(req_per_sess[s_acct], 1.0))
    sess = np.repeat(np.arange(len(s_acct)), n_req)
    gaps = np.exp(np.log(gap_median_s) + gap_sigma * rng.standard_normal(len(sess)))
    gaps[rank_in_segment(sess) == 0] = 0.0
    ts = s_start[sess] + (seg_cumsum(gaps, sess) * US).astype(np.int64)
    acct = s_acct[sess]
    keep = (ts >= START_US) & (ts < END_US)
    return acct[keep], ts[keep], sess[keep]


def diurnal_poisson(
    rng: np.random.Generator,
    *,
    per_day: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    tz_hours: np.ndarray,
    flat: float = 0.3,
    weights: np.ndarray = LOCAL_HOUR_WEIGHTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent requests, Poisson(``per_day``) a day, on a daily profile.

    ``flat`` mixes the profile with a uniform one (1.0 = round the clock). Active only
    in ``[t0, t1)``. Returns ``(acct, ts_us)`` unsorted.
    """
    days = np.clip((t1 - t0) / DAY_US, 0, None)
    n = rng.poisson(per_day * days)
    acct = np.repeat(np.arange(len(per_day)), n)
    w = (1 - flat) * weights / weights.sum() + flat / 24.0
    local = _local_hours(rng, len(acct), w)
    first_day = (t0 - START_US) // DAY_US
    last_day = np.maximum((t1 - 1 - START_US) // DAY_US, first_day)
    day = first_day[acct] + (rng.random(len(acct)) * (last_day - first_day + 1)[acct]).astype(np.int64)
    ts = START_US + day * DAY_US + ((local - tz_hours[acct]) * HOUR_US).astype(np.int64)
    # wrap times pushed outside the account's span by the timezone back onto its first day
    ts = np.where(ts < t0[acct], ts + DAY_US, ts)
    keep = (ts >= t0[acct]) & (ts < t1[acct]) & (ts < END_US)
    return acct[keep], ts[keep]


def periodic(
    rng: np.random.Generator,
    *,
    t0: np.ndarray,
    t1: np.ndarray,
    period_s: np.ndarray,
    jitter_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Machine cadence: one request every ``period_s`` with Gaussian jitter ``jitter_s``."""
    n = np.clip(((t1 - t0) / (period_s * US)).astype(np.int64), 0, None)
    acct = np.repeat(np.arange(len(t0)), n)
    k = seg_cumsum(np.ones(len(acct), dtype=np.int64), acct) - 1
    ts = t0[acct] + (k * period_s[acct] * US).astype(np.int64)
    ts = ts + (rng.normal(0, jitter_s, len(acct)) * US).astype(np.int64)
    keep = (ts >= START_US) & (ts < END_US)
    return acct[keep], ts[keep]


def servegen_replay(
    rng: np.random.Generator,
    *,
    rates: dict[str, np.ndarray],
    client: np.ndarray,
    per_day: np.ndarray,
    t0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay real ServeGen per-client rate curves, scaled to ``per_day`` requests a day.

    ``rates`` has ``client_id, window_start_s, rate_rps, cv`` (600 s windows, several days).
    Account ``i`` follows client ``client[i]``'s curve (days wrap), rescaled so its mean
    volume is ``per_day[i]``. Within a window, burstiness follows the window's measured
    CV: requests come in clusters of mean size max(1, cv^2) a few seconds apart, which
    keeps the window's mean and approximately its arrival variance.
    """
    cid, wstart, rate, cv = rates["client_id"], rates["window_start_s"], rates["rate_rps"], rates["cv"]
    span_days = max(1, int(np.ceil((wstart.max() + 600) / 86400)))
    order = np.argsort(cid, kind="stable")
    cid, wstart, rate, cv = cid[order], wstart[order], rate[order], cv[order]
    uniq, first, count = np.unique(cid, return_index=True, return_counts=True)
    pos = np.searchsorted(uniq, client)
    tot = np.add.reduceat(rate * 600, first)[pos] / span_days  # real requests/day of each client
    scale = per_day / np.maximum(tot, 1e-9)
    reps = np.ceil(DAYS / span_days).astype(int)
    # (account, window, repetition) triples
    nwin = count[pos] * reps
    a = np.repeat(np.arange(len(client)), nwin)
    j = seg_cumsum(np.ones(len(a), dtype=np.int64), a) - 1
    w = first[pos][a] + j % count[pos][a]
    rep = j // count[pos][a]
    start = START_US + ((rep * span_days * 86400 + wstart[w]) * US).astype(np.int64)
    expected = rate[w] * 600 * scale[a]
    csize = np.maximum(1.0, cv[w] ** 2)
    n_clusters = rng.poisson(expected / csize)
    c_w = np.repeat(np.arange(len(a)), n_clusters)
    c_t = start[c_w] + (rng.random(len(c_w)) * 600 * US).astype(np.int64)
    size = rng.geometric(1.0 / csize[c_w])
    e_c = np.repeat(np.arange(len(c_w)), size)
    gaps = rng.exponential(3.0, len(e_c))
    ts = c_t[e_c] + (seg_cumsum(gaps, e_c) * US).astype(np.int64)
    acct = a[c_w][e_c]
    keep = (ts >= np.maximum(t0[acct], START_US)) & (ts < END_US)
    return acct[keep], ts[keep]
