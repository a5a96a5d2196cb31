"""Upper binomial tail for small samples (no SciPy dependency; vectorized over accounts)."""

from __future__ import annotations

import math

import numpy as np


def binomial_tail(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, elementwise. Meant for small integer ``n``
    (thin accounts): the sum runs over ``max(n) + 1`` terms, each vectorized."""
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros(k.shape)
    if not k.size:
        return out
    p = float(min(max(p, 1e-12), 1 - 1e-12))
    top = int(n.max())
    # log j! for j = 0..top
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1, dtype=np.float64)))])
    for j in range(top + 1):
        ok = (j >= k) & (j <= n)
        rest = np.clip(n - j, 0, top)
        log_term = log_fact[n] - log_fact[j] - log_fact[rest] + j * math.log(p) + (n - j) * math.log1p(-p)
        out += np.where(ok, np.exp(np.where(ok, log_term, 0.0)), 0.0)
    return np.clip(out, 0.0, 1.0)


def log_surprise(chance: np.ndarray) -> np.ndarray:
    """``-log10`` of a chance under the null (floored at 1e-300): the scale the binomial
    detectors ramp their strength on, from their ``max_chance`` to a full-strength surprise."""
    return -np.log10(np.maximum(np.asarray(chance, dtype=np.float64), 1e-300))
