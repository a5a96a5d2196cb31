"""When requests happen: people, machines and 24/7 services, and how big they are.

Three clocks, because the populations differ most in *how* time is used:
- people (benign users, and the adaptive attacker who imitates them): sessions started on a
  local-time diurnal curve, a few requests each with lognormal think time between them;
- machines (evaluation harnesses, batch jobs, the classic fleet): a fixed number of workers,
  each sending its next item as soon as the previous answer is back, so the rate is set by
  concurrency and response time, not by a person;
- services (agent deployments running all day): a real ServeGen client's per-window arrival
  process (Gamma or Weibull gaps, the recorded parameters), rescaled to the account's volume.

Token sizes come from the real traces (Azure chat and code, Mooncake, ServeGen DeepSeek-R1
per-client output percentiles and reasoning shares).
"""

from __future__ import annotations

import numpy as np

#: Share of a person's sessions starting in each local hour (standard consumer-web curve:
#: quiet 01-06, rising through the morning, peaks mid-morning and evening). Not measured:
#: none of the real traces carries a user id with a timezone.
HUMAN_HOURS = np.array(
    [1.2, 0.6, 0.3, 0.2, 0.2, 0.4, 1.0, 2.2, 3.6, 4.6, 5.0, 5.0,
     4.6, 4.8, 5.0, 5.0, 4.8, 4.6, 4.6, 5.0, 5.2, 4.8, 3.6, 2.2]
)  # fmt: skip
HUMAN_HOURS = HUMAN_HOURS / HUMAN_HOURS.sum()
#: Weekend days get this share of a weekday's sessions (people use work tools less).
WEEKEND_FACTOR = 0.6
#: Output tokens per second a worker waits for (sets a machine clock's pace).
DECODE_TPS = 60.0
#: Fixed overhead per request (network, queueing, time to first token), seconds.
REQUEST_OVERHEAD_S = 0.8


def human_times(
    rng: np.random.Generator,
    t0: float,
    days: int,
    tz_h: float,
    sessions_per_day: float,
    reqs_per_session: float,
    think_median_s: float,
    hours: np.ndarray = HUMAN_HOURS,
    active_from: float | None = None,
) -> list[list[float]]:
    """Sessions (lists of epoch seconds) of one person over ``days`` days from ``t0`` (UTC midnight)."""
    sessions = []
    for d in range(days):
        local_midnight = t0 + d * 86_400 - tz_h * 3600
        weekday = (int((t0 / 86_400) + 3) + d) % 7  # 1970-01-01 was a Thursday: 0 = Monday
        lam = sessions_per_day * (WEEKEND_FACTOR if weekday >= 5 else 1.0)
        for _ in range(rng.poisson(lam)):
            start = local_midnight + (rng.choice(24, p=hours) + rng.random()) * 3600
            if active_from is not None and start < active_from:
                continue
            k = int(rng.geometric(1.0 / max(reqs_per_session, 1.0)))
            gaps = rng.lognormal(np.log(think_median_s), 0.9, size=k - 1)
            ts = start + np.concatenate([[0.0], np.cumsum(gaps)])
            sessions.append([float(x) for x in ts])
    return sessions


def machine_times(
    rng: np.random.Generator, t0: float, out_tokens: np.ndarray, concurrency: int, jitter_s: float = 0.05
) -> np.ndarray:
    """Start times of ``len(out_tokens)`` requests run by ``concurrency`` workers back to back."""
    n = len(out_tokens)
    service = REQUEST_OVERHEAD_S + out_tokens / DECODE_TPS + rng.exponential(jitter_s, n)
    starts = np.empty(n)
    free = np.full(concurrency, t0, dtype=float)
    for i in range(n):
        w = int(np.argmin(free))
        starts[i] = free[w]
        free[w] += service[i]
    return starts


def service_times(
    rng: np.random.Generator, curve: np.ndarray, t0: float, days: int, per_day: float, phase_s: float
) -> np.ndarray:
    """Arrivals of a 24/7 service: the ServeGen client's windows (repeated daily), volume rescaled.

    Gaps inside a window follow the recorded distribution (Gamma(k, theta) or Weibull(k, lam));
    the time axis is stretched so the day holds ``per_day`` requests, which keeps each window's
    burstiness (coefficient of variation) and the day's shape.
    """
    real_per_day = float((curve[:, 1] * 1200.0).sum())
    stretch = max(real_per_day / max(per_day, 1e-9), 1e-9)
    out = []
    for d in range(days):
        for start, rate, kind, p1, p2 in curve:
            expect = rate * 1200.0 / stretch
            n = rng.poisson(expect)
            if n == 0:
                continue
            if kind == 1.0:
                gaps = p2 * rng.weibull(max(p1, 0.05), n)
            else:
                gaps = rng.gamma(max(p1, 0.01), max(p2, 1e-6), n)
            ts = np.cumsum(gaps * stretch)
            ts = ts[ts < 1200.0] if ts[-1] > 1200.0 else ts
            if len(ts) == 0:
                ts = rng.random(1) * 1200.0
            out.append(t0 + d * 86_400 + (start + phase_s) % 86_400 + ts)
    return np.sort(np.concatenate(out)) if out else np.empty(0)


def trace_tokens(rng: np.random.Generator, trace: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (input, output) pairs drawn from a real trace's rows."""
    idx = rng.integers(0, len(trace), n)
    return trace[idx, 0].astype(np.int64), np.maximum(trace[idx, 1], 1).astype(np.int64)


def reasoning_tokens(rng: np.random.Generator, r1_row: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(output, reasoning) tokens of a reasoning model: lognormal fitted to one real R1 client's p50/p90."""
    p50, p90, ratio = max(r1_row[0], 50.0), max(r1_row[1], r1_row[0] * 1.2), r1_row[2]
    sigma = max(np.log(p90 / p50) / 1.2816, 0.1)
    out = np.clip(rng.lognormal(np.log(p50), sigma, n), 40, 32_000).astype(np.int64)
    share = np.clip(rng.normal(ratio, 0.08, n), 0.05, 0.97)
    return out, (out * share).astype(np.int64)


def est_tokens(text: str | None) -> int:
    """Rough token count of a text (4 characters a token)."""
    return 0 if not text else max(1, len(text) // 4)
