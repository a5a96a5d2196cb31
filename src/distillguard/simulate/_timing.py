"""Request arrival times, vectorized over all events of many accounts at once.

Legitimate API clients are bursty, not Poisson, and the burstiness is measured: in
ServeGen's per-client 600 s windows the inter-arrival cv has median 1.16 but a long
tail (p90 5, p99 13), it grows with request volume and it is a persistent trait of a
client. Over days, a client's overall cv is far larger still because activity comes in
sessions separated by idle hours that follow the clock. We model both levels:

* session starts follow a diurnal (and weekly) intensity in the account's own time
  zone, via an inverse-CDF time warp of uniform draws inside the account's active
  window (vectorized with ``np.interp`` per time-zone group); session lengths are
  geometric with a persona-specific mean;
* inside a session (or, for always-on backends, inside each 600 s window), gaps are
  Gamma or Weibull with the session's rate and a cv drawn from the fitted ServeGen
  window-cv quantiles through a copula with ServeGen's per-client persistence
  (constants and their provenance: ``_timing_fit``).

Coordinated fleets use :func:`load_balanced_times`: one campaign-wide timeline whose
events are dealt round-robin (with jitter) to the accounts, the "load balancing"
pattern in the public record. University classes use shared ``slots``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillguard.simulate import _timing_fit as F
from distillguard.simulate._ids import mix64

HOUR = 3600.0

# Relative hourly intensity by local hour (0-23). "human" is the familiar
# evening-heavy consumer curve; "work" is office hours; "night_batch" is cron-like.
# fmt: off
_PROFILES: dict[str, np.ndarray] = {
    "human": np.array([
        0.30, 0.18, 0.10, 0.06, 0.05, 0.07, 0.15, 0.35, 0.60, 0.80, 0.90, 0.95,
        0.90, 0.90, 0.92, 0.92, 0.90, 0.88, 0.90, 0.95, 1.00, 0.95, 0.75, 0.50,
    ]),
    "work": np.array([
        0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.30, 0.75, 1.00, 1.00, 0.95,
        0.70, 0.90, 1.00, 1.00, 0.90, 0.60, 0.30, 0.15, 0.10, 0.07, 0.05, 0.04,
    ]),
    "night_batch": np.array([
        0.60, 1.00, 1.00, 0.90, 0.50, 0.15, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03,
        0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.05, 0.10, 0.30,
    ]),
    "flat": np.array([
        1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00,
        1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00,
    ]),
}
# fmt: on
#: Weekend activity relative to weekdays, per profile (office work drops, hobby does not).
_WEEKEND: dict[str, float] = {"human": 1.05, "work": 0.25, "night_batch": 1.0, "flat": 1.0}


@dataclass(frozen=True)
class TimingSpec:
    """How one persona's requests arrive.

    The shape of the gaps is not a free parameter any more: every session (or, in
    ``steady`` mode, every 600 s window) draws its inter-arrival cv from the ServeGen
    window-cv distribution for its request rate (``_timing_fit``), through a copula
    that keeps each account's burstiness persistent the way real clients' is.
    ``burstiness`` shifts a persona inside that distribution (in standard deviations
    of the normal score): negative for machine-regular workers, positive for bursty
    humans. ``gap_shape`` (a fixed Gamma shape) is an escape hatch for scenario files.
    """

    profile: str = "human"  # key of _PROFILES: shape of the daily curve
    strength: float = 0.8  # 0 = flat around the clock, 1 = full diurnal swing
    session_len: float = 8.0  # mean requests per session (geometric)
    gap_s: float = 45.0  # mean seconds between requests inside a session (steady: unused)
    gap_shape: float | None = None  # fixed Gamma shape instead of the ServeGen cv draws
    burstiness: float = 0.0  # shift of the window-cv normal score (see class docstring)
    mode: str = "sessions"  # sessions | steady | load_balanced | slots

    def __post_init__(self) -> None:
        if self.profile not in _PROFILES:
            raise ValueError(f"unknown timing profile {self.profile!r}; one of {sorted(_PROFILES)}")
        if self.mode not in ("sessions", "steady", "load_balanced", "slots"):
            raise ValueError(f"unknown timing mode {self.mode!r}")
        if self.gap_shape is not None and self.gap_shape <= 0:
            raise ValueError("gap_shape must be positive")


#: Shortest gap between two requests of one client (seconds): dispatching two HTTPS
#: requests takes at least about a millisecond, and logs rarely resolve finer.
MIN_GAP_S = 0.001
#: Log-normal sd of a session's request rate around the persona's ``gap_s``: the
#: stationary sd of ServeGen clients' window log-rate once their time-of-day profile is
#: removed, RATE_INNOVATION_SD / sqrt(1 - RATE_AR^2) (``_timing_fit``).
SESSION_RATE_SD = F.RATE_INNOVATION_SD / float(np.sqrt(1.0 - F.RATE_AR**2))


class Clock:
    """Hour-resolution intensity CDFs for every UTC offset over the scenario span."""

    def __init__(self, days: int, start_weekday: int) -> None:
        self.hours = days * 24
        self.edges = np.arange(self.hours + 1, dtype=np.float64)
        self.start_weekday = start_weekday
        self._cache: dict[tuple[str, float], np.ndarray] = {}

    def cdfs(self, profile: str, strength: float) -> np.ndarray:
        """(24, hours+1) cumulative intensity, row ``k`` for UTC offset ``k - 11`` hours."""
        key = (profile, round(strength, 4))
        if key not in self._cache:
            h = np.arange(self.hours)
            out = np.empty((24, self.hours + 1))
            for k in range(24):
                local = h + (k - 11)
                hod = np.mod(local, 24)
                dow = np.mod(self.start_weekday + np.floor_divide(local, 24), 7)
                w = _PROFILES[profile][hod] * np.where(dow >= 5, _WEEKEND[profile], 1.0)
                w = (1.0 - strength) + strength * w / w.max() + 1e-6
                out[k, 0] = 0.0
                np.cumsum(w, out=out[k, 1:])
            self._cache[key] = out
        return self._cache[key]

    def warp(
        self, u: np.ndarray, lo_h: np.ndarray, hi_h: np.ndarray, tz: np.ndarray, spec: TimingSpec
    ) -> np.ndarray:
        """Map uniform ``u`` in [0,1) to hours inside [lo_h, hi_h] following the intensity."""
        cdfs = self.cdfs(spec.profile, spec.strength)
        out = np.empty(len(u))
        for k in np.unique(tz):
            sel = np.flatnonzero(tz == k)
            c = cdfs[int(k)]
            clo = np.interp(lo_h[sel], self.edges, c)
            chi = np.interp(hi_h[sel], self.edges, c)
            out[sel] = np.interp(clo + u[sel] * (chi - clo), c, self.edges)
        return out


def segment_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first element of each segment of a flattened ragged array."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def session_times(
    rng: np.random.Generator,
    clock: Clock,
    counts: np.ndarray,
    lo_h: np.ndarray,
    hi_h: np.ndarray,
    tz: np.ndarray,
    spec: TimingSpec,
    slot_start_h: np.ndarray | None = None,
    slot_len_h: float = 1.0,
    session_scale: np.ndarray | None = None,
    keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from scenario start per event (grouped by account), and its session number.

    Sessions start on the account's diurnal clock; inside one, gaps have the session's
    rate (``gap_s`` with ServeGen's rate variability) and cv (ServeGen's window-cv
    distribution for that rate, persistent per account via ``keys``). With
    ``slot_start_h`` (one per account), sessions start inside that account's shared slot
    instead of following the clock: a class doing its assignment in the same hour.
    """
    n = int(counts.sum())
    acc = np.repeat(np.arange(len(counts)), counts)
    first = segment_starts(counts)
    mean_len = (
        np.full(len(counts), spec.session_len) if session_scale is None else spec.session_len * session_scale
    )
    brk = rng.random(n) < 1.0 / np.maximum(np.repeat(mean_len, counts), 1.0)
    brk[first[counts > 0]] = True
    sess = np.cumsum(brk) - 1
    sess_first = np.flatnonzero(brk)
    sess_acc = acc[sess_first]
    sess_n = np.diff(np.append(sess_first, n))
    n_sess = len(sess_acc)
    if slot_start_h is not None:
        start_h = slot_start_h[sess_acc] + rng.random(n_sess) * slot_len_h
    else:
        start_h = clock.warp(rng.random(n_sess), lo_h[sess_acc], hi_h[sess_acc], tz[sess_acc], spec)
    gap = spec.gap_s * np.exp(SESSION_RATE_SD * rng.standard_normal(n_sess) - SESSION_RATE_SD**2 / 2)
    per_window = np.minimum(sess_n, F.WINDOW_S / gap)
    latent = account_latent(rng, keys, len(counts))[sess_acc]
    cv, weibull = window_cv(rng, spec, latent, rng.standard_normal(n_sess), per_window)
    gaps = F.unit_gaps(rng, np.repeat(cv, sess_n), np.repeat(weibull, sess_n)) * np.repeat(gap, sess_n)
    np.maximum(gaps, MIN_GAP_S, out=gaps)
    gaps[brk] = 0.0
    cs = np.cumsum(gaps)
    within = cs - np.repeat(cs[sess_first], sess_n)
    # A session that would run past the account's active window starts earlier instead
    # (no pile of requests at the end of the scenario or of a banned account's life).
    # One longer than the whole active window is compressed to fit it (its cv unchanged).
    avail = np.maximum((hi_h[sess_acc] - lo_h[sess_acc]) * HOUR - 1.0, 1e-3)
    dur = within[sess_first + sess_n - 1]
    squeeze = np.minimum(1.0, avail / np.maximum(dur, 1e-9))
    dur = dur * squeeze
    start_s = start_h * HOUR
    latest = hi_h[sess_acc] * HOUR - dur
    start_s = np.where(start_s > latest, np.maximum(latest, lo_h[sess_acc] * HOUR), start_s)
    t = start_s[sess] + within * squeeze[sess]
    return np.clip(t, 0.0, clock.hours * HOUR - 1e-3), sess


def account_latent(rng: np.random.Generator, keys: np.ndarray | None, n: int) -> np.ndarray:
    """Each account's persistent burstiness score (standard normal), stable per account key."""
    if keys is None:
        return rng.standard_normal(n)
    u = (mix64(np.asarray(keys, dtype=np.uint64) ^ np.uint64(0xB0257)) >> np.uint64(11)).astype(np.float64)
    return F.ndtri((u + 0.5) / 2.0**53)


def window_cv(
    rng: np.random.Generator,
    spec: TimingSpec,
    latent: np.ndarray,
    noise: np.ndarray,
    per_window: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Inter-arrival cv (and Weibull flag) for sessions/windows with ``per_window`` requests.

    Gaussian copula: score = CLIENT_RHO * account latent + sqrt(1 - CLIENT_RHO^2) * noise
    + burstiness, mapped through the ServeGen quantiles of the request-count bin.
    """
    m = len(latent)
    if spec.gap_shape is not None:
        return np.full(m, 1.0 / np.sqrt(spec.gap_shape)), np.zeros(m, dtype=bool)
    rho = F.CLIENT_RHO
    z = rho * latent + np.sqrt(1.0 - rho * rho) * noise + spec.burstiness
    bins = F.count_bin(per_window)
    cv = F.cv_from_uniform(F.ndtr(z), bins)
    return cv, rng.random(m) < np.array(F.WEIBULL_SHARE)[bins]


def steady_times(
    rng: np.random.Generator,
    clock: Clock,
    counts: np.ndarray,
    lo_h: np.ndarray,
    hi_h: np.ndarray,
    tz: np.ndarray,
    spec: TimingSpec,
    keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Always-on clients (product backends): requests in every 600 s window, all day.

    A window's expected volume follows the account's diurnal curve times an AR(1)
    log-rate wander (ServeGen steady clients: RATE_AR, RATE_INNOVATION_SD); counts are
    multinomial over the windows; inside a window, gaps follow the window's cv drawn as
    in :func:`window_cv` (with the within-client AR(1) of ServeGen, WINDOW_AR) and are
    laid out across the window. Session number = window number (a conversation batch).
    """
    a_n, per_h = len(counts), int(HOUR // F.WINDOW_S)
    n_win = clock.hours * per_h
    hourly = np.diff(clock.cdfs(spec.profile, spec.strength)[tz], axis=1)
    w = np.repeat(hourly, per_h, axis=1)
    start_h = np.arange(n_win) / per_h
    w[(start_h[None, :] + 1.0 / per_h <= lo_h[:, None]) | (start_h[None, :] >= hi_h[:, None])] = 0.0
    rate_x = _ar1(rng, a_n, n_win, F.RATE_AR, F.RATE_INNOVATION_SD)
    w *= np.exp(rate_x)
    empty = np.flatnonzero(w.sum(axis=1) <= 0)
    w[empty, np.clip(np.floor(lo_h[empty] * per_h).astype(np.int64), 0, n_win - 1)] = 1.0
    c = rng.multinomial(counts, w / w.sum(axis=1, keepdims=True))
    acc_i, win = np.nonzero(c)
    cw = c[acc_i, win]
    ar = F.WINDOW_AR
    noise = _ar1(rng, a_n, n_win, ar, float(np.sqrt(1.0 - ar * ar)))[acc_i, win]
    cv, weibull = window_cv(rng, spec, account_latent(rng, keys, a_n)[acc_i], noise, cw.astype(np.float64))
    # c requests per window: c + 1 gaps spread over the window (the last one is cut off).
    m = cw + 1
    gaps = F.unit_gaps(rng, np.repeat(cv, m), np.repeat(weibull, m))
    np.maximum(gaps, np.repeat(MIN_GAP_S * m / F.WINDOW_S, m), out=gaps)  # unit mean = window / m
    seg = segment_starts(m)
    cs = np.cumsum(gaps)
    base = np.repeat(cs[seg] - gaps[seg], m)
    total = np.repeat(np.add.reduceat(gaps, seg), m)
    frac = (cs - base) / np.maximum(total, 1e-300)
    keep = np.ones(len(gaps), dtype=bool)
    keep[seg + m - 1] = False
    t = (np.repeat(win, m) * F.WINDOW_S + frac * F.WINDOW_S)[keep]
    # Requests come out grouped by (account, window); the caller wants them grouped by account.
    return np.clip(t, 0.0, clock.hours * HOUR - 1e-3), np.repeat(win, cw)


def _ar1(rng: np.random.Generator, rows: int, cols: int, phi: float, innov_sd: float) -> np.ndarray:
    """``rows`` stationary AR(1) series of length ``cols`` (vectorized over rows)."""
    e = rng.standard_normal((rows, cols)) * innov_sd
    out = np.empty((rows, cols))
    out[:, 0] = e[:, 0] / np.sqrt(max(1.0 - phi * phi, 1e-9))
    for j in range(1, cols):
        out[:, j] = phi * out[:, j - 1] + e[:, j]
    return out


def load_balanced_times(
    rng: np.random.Generator,
    clock: Clock,
    counts: np.ndarray,
    lo_h: float,
    hi_h: float,
    spec: TimingSpec,
    jitter: float = 0.35,
    utc_offset: int = 0,
) -> np.ndarray:
    """One campaign timeline dealt across accounts in proportion to ``counts``.

    Each account's k-th request lands near fraction k/n_i of the campaign's stream, so
    accounts advance in lock-step like workers behind a load balancer. ``jitter`` (in
    units of one account slot) blurs the round-robin so it is not a perfect comb.
    """
    n = int(counts.sum())
    rank = np.arange(n) - np.repeat(segment_starts(counts), counts)
    key = (rank + 0.5 + jitter * rng.standard_normal(n)) / np.repeat(np.maximum(counts, 1), counts)
    order = np.argsort(key, kind="stable")
    tz = np.full(n, utc_offset + 11)  # the operator's clock drives the whole fleet
    u = np.sort(rng.random(n))
    timeline = clock.warp(u, np.full(n, lo_h), np.full(n, hi_h), tz, spec) * HOUR
    t = np.empty(n)
    t[order] = timeline
    return np.clip(t, 0.0, clock.hours * HOUR - 1e-3)
