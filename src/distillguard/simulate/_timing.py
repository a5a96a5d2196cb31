"""Request arrival times, vectorized over all events of many accounts at once.

Legitimate API clients are bursty, not Poisson: ServeGen's per-client 10-minute
windows are Gamma/Weibull with shape mostly 0.2-1.2, and across a day their
inter-arrival coefficient of variation is mostly 3-16 because activity comes in
sessions separated by idle hours that follow the clock. We model exactly that:

* session starts follow a diurnal (and weekly) intensity in the account's own time
  zone, via an inverse-CDF time warp of uniform draws inside the account's active
  window (vectorized with ``np.interp`` per time-zone group);
* inside a session, gaps are Gamma(shape, mean/shape) seconds;
* session lengths are geometric with a persona-specific mean.

Coordinated fleets use :func:`load_balanced_times`: one campaign-wide timeline whose
events are dealt round-robin (with jitter) to the accounts, the "load balancing"
pattern in the public record. University classes use shared ``slots``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR = 3600.0

# Relative hourly intensity by local hour (0-23). "human" is the familiar
# evening-heavy consumer curve; "work" is office hours; "night_batch" is cron-like.
_PROFILES: dict[str, np.ndarray] = {
    "human": np.array(
        [
            0.30,
            0.18,
            0.10,
            0.06,
            0.05,
            0.07,
            0.15,
            0.35,
            0.60,
            0.80,
            0.90,
            0.95,
            0.90,
            0.90,
            0.92,
            0.92,
            0.90,
            0.88,
            0.90,
            0.95,
            1.00,
            0.95,
            0.75,
            0.50,
        ]
    ),
    "work": np.array(
        [
            0.03,
            0.02,
            0.02,
            0.02,
            0.02,
            0.03,
            0.08,
            0.30,
            0.75,
            1.00,
            1.00,
            0.95,
            0.70,
            0.90,
            1.00,
            1.00,
            0.90,
            0.60,
            0.30,
            0.15,
            0.10,
            0.07,
            0.05,
            0.04,
        ]
    ),
    "night_batch": np.array(
        [
            0.60,
            1.00,
            1.00,
            0.90,
            0.50,
            0.15,
            0.05,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.03,
            0.05,
            0.10,
            0.30,
        ]
    ),
    "flat": np.ones(24),
}
#: Weekend activity relative to weekdays, per profile (office work drops, hobby does not).
_WEEKEND: dict[str, float] = {"human": 1.05, "work": 0.25, "night_batch": 1.0, "flat": 1.0}


@dataclass(frozen=True)
class TimingSpec:
    """How one persona's requests arrive.

    Defaults are calibrated on ServeGen m-large clients (``servegen/m_large_client_rates_3days.csv``):
    within-window Gamma shape median 0.92 (we use 0.6 for the burstier chat users) and
    per-client overall CV 3-16 once idle gaps between sessions are included.
    """

    profile: str = "human"  # key of _PROFILES: shape of the daily curve
    strength: float = 0.8  # 0 = flat around the clock, 1 = full diurnal swing
    session_len: float = 8.0  # mean requests per session (geometric)
    gap_s: float = 45.0  # mean seconds between requests inside a session
    gap_shape: float = 0.6  # Gamma shape of in-session gaps (<1 = bursty, >1 = regular)
    mode: str = "sessions"  # sessions | load_balanced | slots

    def __post_init__(self) -> None:
        if self.profile not in _PROFILES:
            raise ValueError(f"unknown timing profile {self.profile!r}; one of {sorted(_PROFILES)}")
        if self.mode not in ("sessions", "load_balanced", "slots"):
            raise ValueError(f"unknown timing mode {self.mode!r}")


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
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from scenario start per event (grouped by account), and its session number.

    With ``slot_start_h`` (one per account), sessions start inside that account's shared
    slot instead of following the clock: a class doing its assignment in the same hour.
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
    sess_acc = acc[brk]
    n_sess = len(sess_acc)
    if slot_start_h is not None:
        start_h = slot_start_h[sess_acc] + rng.random(n_sess) * slot_len_h
    else:
        start_h = clock.warp(rng.random(n_sess), lo_h[sess_acc], hi_h[sess_acc], tz[sess_acc], spec)
    gaps = rng.gamma(spec.gap_shape, spec.gap_s / spec.gap_shape, size=n)
    gaps[brk] = 0.0
    cs = np.cumsum(gaps)
    sess_first = np.flatnonzero(brk)
    within = cs - np.repeat(cs[sess_first], np.diff(np.append(sess_first, n)))
    t = start_h[sess] * HOUR + within
    return np.clip(t, 0.0, clock.hours * HOUR - 1e-3), sess


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
