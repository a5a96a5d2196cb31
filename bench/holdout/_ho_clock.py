"""Arrival-time models for the hold-out traffic (all vectorized; times are seconds since T0).

Three families, chosen independently of the project simulator:

* human sessions: Poisson sessions per day, a local-hour diurnal profile, weekday weights,
  geometric session length and log-normal think-time gaps;
* ServeGen renewal: real per-client, per-window request rates and CVs (Alibaba Bailian),
  replayed with Gamma gaps conditioned on the window count (cv > 1 -> bursts);
* fixed-rate jobs (cron batches, eval harnesses) built by the personas from ``group_cumsum``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

#: Start of the generated period (a Monday, 00:00 UTC).
T0 = datetime(2026, 3, 2, tzinfo=UTC)
T0_S = int(T0.timestamp())
DAY = 86400.0
#: Day-of-week of T0 (Monday = 0).
T0_DOW = T0.weekday()

#: Local-hour activity of people using a chat product (low 2-6 am, evening peak).
DIURNAL_HOME = np.array(
    [3, 2, 1.2, 0.8, 0.6, 0.7, 1.2, 2.2, 3.5, 4.5, 5, 5.2, 5, 5, 5.2, 5.2, 5, 5, 5.2, 5.8, 6.2, 6, 5, 4]
)
#: Local-hour activity of people at work (office hours, lunch dip).
DIURNAL_WORK = np.array(
    [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 7, 8, 8, 5, 7, 8, 8, 7, 5, 2.5, 1.5, 1.2, 1, 0.7, 0.5]
)
WEEKDAY_ALL = np.ones(7)
#: ServeGen windows with a larger CV are replayed at this CV (Gamma shape 1/16 already gives
#: extreme bursts; smaller shapes underflow to zero-length gaps).
MAX_CV = 4.0
WEEKDAY_WORK = np.array([1, 1, 1, 1, 1, 0.15, 0.1])


def group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every new value of the sorted ``group`` array."""
    c = np.cumsum(values)
    if values.size == 0:
        return c
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    base = np.repeat(c[starts] - values[starts], np.diff(np.r_[starts, values.size]))
    return c - base


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of the sorted ``group`` array."""
    return group_cumsum(np.ones(group.size, dtype=np.int64), group) - 1


def sessions(
    rng: np.random.Generator,
    rate_per_day: np.ndarray,
    tz_hours: np.ndarray,
    days: int,
    *,
    reqs_mean: float | np.ndarray,
    gap_median_s: float,
    gap_sigma: float = 1.0,
    diurnal: np.ndarray = DIURNAL_HOME,
    weekday: np.ndarray = WEEKDAY_ALL,
    day_lo: np.ndarray | None = None,
    day_hi: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Human-like sessions for ``len(rate_per_day)`` accounts.

    Returns per-event ``acct`` (index), ``t`` (seconds since T0), ``sess`` (global session
    index, usable as a conversation) and ``turn`` (0-based position in the session).
    """
    n = rate_per_day.size
    lo = np.zeros(n) if day_lo is None else np.asarray(day_lo, dtype=float)
    hi = np.full(n, float(days)) if day_hi is None else np.asarray(day_hi, dtype=float)
    span = np.clip(hi - lo, 0, None)
    n_sess = rng.poisson(rate_per_day * span)
    sa = np.repeat(np.arange(n), n_sess)
    day = np.floor(lo[sa] + rng.random(sa.size) * span[sa])
    keep = rng.random(sa.size) < weekday[(day.astype(int) + T0_DOW) % 7] / weekday.max()
    sa, day = sa[keep], day[keep]
    hour = rng.choice(24, size=sa.size, p=diurnal / diurnal.sum())
    start = day * DAY + (hour - tz_hours[sa]) * 3600.0 + rng.random(sa.size) * 3600.0
    mean = np.broadcast_to(np.asarray(reqs_mean, dtype=float), (n,))[sa]
    n_req = rng.geometric(1.0 / np.maximum(mean, 1.0))
    ev_sess = np.repeat(np.arange(sa.size), n_req)
    gaps = rng.lognormal(np.log(gap_median_s), gap_sigma, ev_sess.size)
    turn = rank_in_group(ev_sess)
    gaps[turn == 0] = 0.0
    t = start[ev_sess] + group_cumsum(gaps, ev_sess)
    return {"acct": sa[ev_sess], "t": t, "sess": ev_sess, "turn": turn}


def servegen_arrivals(
    rng: np.random.Generator,
    rates: dict[str, np.ndarray],
    client_of_acct: np.ndarray,
    daily_target: np.ndarray,
    days: int,
    *,
    shift_s: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Replay real ServeGen client windows, rescaled to ``daily_target`` requests per day.

    The trace (1 or 3 days) is tiled over ``days``; each window's count is Poisson with the
    window's rescaled rate, and the arrivals inside it follow normalized Gamma gaps with
    shape 1/cv^2, which keeps each client's real burstiness.
    """
    cid, ws, rate, cv = rates["client_id"], rates["window_start_s"], rates["rate_rps"], rates["cv"]
    win = float(np.min(np.diff(np.unique(ws))))
    period = float(np.ceil((ws.max() + win) / DAY) * DAY)
    out_acct, out_t = [], []
    # Per-account rows of its client (accounts are few: tens), then vectorized inside.
    for a, c in enumerate(client_of_acct):
        m = cid == c
        w0, r, v = ws[m], rate[m], cv[m]
        scale = daily_target[a] / max(float(np.sum(r * win)) / (period / DAY), 1e-9)
        reps = int(np.ceil(days * DAY / period))
        w0 = (w0[None, :] + period * np.arange(reps)[:, None]).ravel()
        r, v = np.tile(r, reps), np.tile(v, reps)
        count = rng.poisson(r * scale * win)
        ev_w = np.repeat(np.arange(w0.size), count + 1)  # one extra gap closes the window
        g = rng.gamma(1.0 / np.clip(v[ev_w], 0.2, MAX_CV) ** 2, 1.0) + 1e-12
        cs = group_cumsum(g, ev_w)
        total = np.repeat(cs[np.r_[np.flatnonzero(np.diff(ev_w)), ev_w.size - 1]], count + 1)
        last = np.r_[np.diff(ev_w) != 0, True]
        t = w0[ev_w] + cs / total * win
        t = t[~last]
        if shift_s is not None:
            t = t + shift_s[a]
        out_acct.append(np.full(t.size, a))
        out_t.append(t)
    return {"acct": np.concatenate(out_acct), "t": np.concatenate(out_t)}
