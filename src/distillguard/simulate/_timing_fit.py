"""Arrival-process constants fitted once, offline, on real per-client API traffic.

Source: ServeGen (alibaba/ServeGen @f891d11, Apache-2.0), ``servegen/m_large_client_rates_3days.csv``
in ``shared/data``: 118 anonymised API clients of a large chat model, 21,533 windows of
600 s, each with the client's request rate, the coefficient of variation (cv) of its
inter-arrival gaps in that window and the best-fitting Gamma or Weibull. ServeGen keeps
windows with at least 10 requests. Refit with
``python -m distillguard.simulate._calibrate DATA`` (see that module for the method);
the package never reads the data at run time.

What the numbers say: inside a 600 s window real clients are close to Poisson on
average (median cv 1.16) but with a long bursty tail (p90 5.0, p99 13) that grows with
volume, and a client's burstiness is persistent (most of the variance of a window's cv
is between clients, and consecutive windows are correlated). Simulated sessions draw
their window cv from these quantiles through a Gaussian copula with the same
persistence; :func:`unit_gaps` turns a cv into Gamma or Weibull gaps.
"""

from __future__ import annotations

import math

import numpy as np

#: ServeGen's window length (seconds) and its minimum requests per window kept.
WINDOW_S = 600
MIN_WINDOW_REQUESTS = 10
#: Lower edges of the request-count bins (requests per 600 s window) the cv is fitted in.
COUNT_BINS: tuple[int, ...] = (10, 20, 40, 100, 300, 1000, 3000)
#: Probability levels of the stored quantiles (inverse-CDF sampling interpolates between).
# fmt: off
QUANTILE_LEVELS: tuple[float, ...] = (
    0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.94, 0.97, 0.99, 1.0,
)

# ---- fitted by _calibrate.fit() on m_large_client_rates_3days.csv (seed 20260302): ----
# 118 clients, 21,533 windows; 38 "steady" clients (>= 300 windows) for the rate AR(1).
#: ln(cv) quantiles per count bin as observed in ServeGen (rows: COUNT_BINS).
CV_LOG_QUANTILES_OBSERVED: list[list[float]] = [
    [
        -3.848, -1.748, -1.203, -0.872, -0.63, -0.486, -0.388, -0.226, -0.091, 0.026,
        0.149, 0.265, 0.429, 0.536, 0.678, 0.801, 0.963, 1.158, 1.35,
    ],
    [
        -1.892, -1.362, -1.238, -1.145, -1.038, -0.851, -0.484, -0.225, -0.063, 0.091,
        0.239, 0.413, 0.615, 0.77, 0.935, 1.154, 1.473, 1.604, 1.792,
    ],
    [
        -2.433, -1.314, -1.19, -0.946, -0.542, -0.407, -0.265, -0.097, 0.036, 0.217,
        0.387, 0.574, 0.813, 0.972, 1.153, 1.399, 1.625, 1.874, 2.16,
    ],
    [
        -2.453, -2.143, -1.884, -1.587, -1.325, -1.104, -0.598, -0.123, 0.003, 0.2,
        0.462, 0.71, 0.891, 1.084, 1.491, 1.932, 2.285, 2.632, 2.755,
    ],
    [
        -2.121, -0.938, -0.545, -0.414, -0.212, -0.117, -0.044, 0.026, 0.117, 0.244,
        0.436, 0.668, 1.215, 1.482, 1.89, 2.231, 2.424, 2.708, 3.016,
    ],
    [
        -1.068, -0.46, -0.283, -0.199, -0.132, -0.099, -0.074, -0.02, 0.029, 0.115,
        0.389, 0.669, 1.828, 2.259, 2.304, 2.329, 2.353, 2.628, 3.738,
    ],
    [
        -0.269, -0.138, -0.109, -0.093, -0.082, -0.07, -0.056, 0.009, 0.044, 0.1,
        0.296, 0.525, 0.769, 0.952, 1.305, 1.591, 1.994, 2.727, 5.001,
    ],
]
#: ln(cv) quantiles to *generate* with, so the sample cv of simulated windows matches the above.
CV_LOG_QUANTILES_GENERATOR: list[list[float]] = [
    [
        -2.996, -1.502, -1.04, -0.743, -0.365, -0.275, -0.241, -0.056, 0.099, 0.19,
        0.342, 0.353, 0.556, 0.713, 0.994, 1.022, 1.246, 1.633, 1.633,
    ],
    [
        -1.631, -1.051, -1.049, -1.049, -1.049, -0.927, -0.317, -0.144, -0.009, 0.184,
        0.301, 0.542, 0.675, 0.98, 1.049, 1.306, 2.248, 2.248, 2.248,
    ],
    [
        -2.364, -1.141, -1.141, -0.954, -0.405, -0.405, -0.2, -0.037, 0.017, 0.291,
        0.432, 0.621, 0.877, 1.105, 1.181, 1.636, 1.894, 2.277, 2.277,
    ],
    [
        -2.355, -2.113, -1.853, -1.542, -1.298, -1.111, -0.557, -0.034, -0.025, 0.221,
        0.497, 0.831, 0.847, 1.107, 1.694, 2.397, 2.844, 3.689, 3.689,
    ],
    [
        -2.115, -0.847, -0.51, -0.425, -0.188, -0.121, -0.011, 0.016, 0.12, 0.241,
        0.451, 0.659, 1.31, 1.534, 2.222, 2.662, 2.662, 3.023, 3.023,
    ],
    [
        -1.058, -0.429, -0.262, -0.191, -0.119, -0.09, -0.081, -0.012, 0.022, 0.1,
        0.395, 0.583, 1.898, 2.805, 2.805, 2.805, 2.805, 2.805, 3.689,
    ],
    [
        -0.252, -0.124, -0.104, -0.083, -0.077, -0.072, -0.068, 0.018, 0.039, 0.089,
        0.29, 0.525, 0.767, 0.947, 1.321, 1.594, 1.992, 2.826, 3.689,
    ],
]
# fmt: on
#: Share of windows per count bin whose best fit was Weibull (the rest Gamma).
WEIBULL_SHARE: list[float] = [0.0, 0.0, 0.0, 0.248, 0.34, 0.318, 0.268]
#: sqrt(between-client share of the variance) of the window cv's normal score.
CLIENT_RHO = 0.786
#: Lag-1 autocorrelation of the within-client part of the window cv's normal score.
WINDOW_AR = 0.498
#: AR(1) of a steady client's window log-rate after its own time-of-day profile is removed.
RATE_AR = 0.707
RATE_INNOVATION_SD = 0.598
#: Trough / peak of the median steady client's hourly rate profile (diurnal depth).
STEADY_TROUGH_TO_PEAK = 0.272
# ----------------------------------------------------------------------------------------


def count_bin(n: np.ndarray) -> np.ndarray:
    """Index into COUNT_BINS for requests-per-window ``n`` (below 10 uses the first bin)."""
    return np.clip(np.searchsorted(np.array(COUNT_BINS), n, side="right") - 1, 0, len(COUNT_BINS) - 1)


def cv_from_uniform(u: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Generator cv for probability levels ``u`` in count bins ``bins`` (inverse CDF)."""
    levels = np.array(QUANTILE_LEVELS)
    table = np.array(CV_LOG_QUANTILES_GENERATOR)
    out = np.empty(len(u))
    for b in np.unique(bins):
        sel = bins == b
        out[sel] = np.interp(u[sel], levels, table[b])
    return np.exp(out)


# Weibull shape k <-> cv table: cv(k) = sqrt(G(1+2/k) / G(1+1/k)^2 - 1), mean G(1+1/k).
_K = np.exp(np.linspace(np.log(0.08), np.log(30.0), 400))
_LG1 = np.array([math.lgamma(1 + 1 / k) for k in _K])
_LG2 = np.array([math.lgamma(1 + 2 / k) for k in _K])
_LOG_CV = 0.5 * np.log(np.expm1(_LG2 - 2 * _LG1))  # decreasing in k


def weibull_shape(cv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weibull shape with coefficient of variation ``cv``, and the log of its mean."""
    lc = np.log(cv)
    k = np.exp(np.interp(-lc, -_LOG_CV, np.log(_K)))
    return k, np.interp(k, _K, _LG1)


def unit_gaps(rng: np.random.Generator, cv: np.ndarray, weibull: np.ndarray) -> np.ndarray:
    """Gaps with mean 1 and coefficient of variation ``cv`` (Gamma, or Weibull where flagged).

    Very bursty gaps (cv >> 1) are mostly near zero with rare long ones: requests fired
    together, as real batch submitters and fan-out backends do.
    """
    out = np.empty(len(cv))
    g = ~weibull
    if g.any():
        k = 1.0 / np.square(cv[g])
        out[g] = rng.standard_gamma(k) / k
    if weibull.any():
        k, log_mean = weibull_shape(cv[weibull])
        out[weibull] = rng.weibull(k) / np.exp(log_mean)
    return out


def ndtr(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


def ndtri(p: np.ndarray) -> np.ndarray:
    """Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9)."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716)
    a += (2.506628274631000,)
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
    c = (-7.784894002430293e-03, -0.3223964580411365, -2.400758277161838, -2.549732539343734)
    c += (4.374664141464968, 2.938163982698783)
    d = (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    out = np.empty_like(p)
    lo, hi = p < 0.02425, p > 1 - 0.02425
    mid = ~(lo | hi)
    q = p[mid] - 0.5
    r = q * q
    num = ((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]
    den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
    out[mid] = num * q / den
    for sel, sign in ((lo, 1.0), (hi, -1.0)):
        pp = p[sel] if sign > 0 else 1 - p[sel]
        q = np.sqrt(-2 * np.log(pp))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        den = (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        out[sel] = sign * num / den
    return out
