"""Offline fit of the arrival-process constants in ``_timing_fit`` (run once, by hand).

    .venv/bin/python -m distillguard.simulate._calibrate /work/shared/data > /tmp/fit.py

Reads ServeGen's per-client 600 s windows (``servegen/m_large_client_rates_3days.csv``:
``rate_rps, cv, arrival_dist, dist_param1, dist_param2`` per client and window) and
prints the constants ``_timing_fit`` stores, so the simulator never needs the data:

* per request-count bin: quantiles of the observed window cv (the target), the share
  of windows whose best fit was Weibull, and the *generator* cv quantiles. A window's
  observed cv is the sample cv of n-1 gaps, biased low and noisy for heavy-tailed gaps
  (it can never exceed sqrt(n-1)), so the generator quantiles are deconvolved: we
  simulate windows with the real request counts and rescale the generator quantiles
  until the simulated sample-cv quantiles match the observed ones;
* the copula correlations that keep a client's burstiness persistent: the share of the
  normal-score variance of window cv that sits between clients, and the lag-1
  autocorrelation of the within-client part;
* the window-to-window log-rate AR(1) (correlation, innovation sd) of steady clients
  after removing each client's mean and time-of-day profile, and the depth of the
  time-of-day swing (trough / peak of the median client's hourly profile).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from distillguard.simulate import _timing_fit as F

#: Windows sampled per count bin when deconvolving; requests per simulated window capped.
FIT_WINDOWS = 6000
FIT_MAX_N = 4000
FIT_ITERATIONS = 12
#: Damping of each deconvolution step and how many final iterates are averaged.
FIT_STEP = 0.7
FIT_AVERAGE_LAST = 5
#: Generator cv is kept inside this range (beyond it the sample cv no longer responds).
GEN_CV_RANGE = (0.05, 40.0)


def sample_cv(rng: np.random.Generator, n: np.ndarray, cv: np.ndarray, weibull: np.ndarray) -> np.ndarray:
    """Sample cv of ``n - 1`` gaps drawn with generator ``cv`` (vectorized over windows)."""
    gaps = F.unit_gaps(rng, np.repeat(cv, n - 1), np.repeat(weibull, n - 1))
    starts = np.concatenate([[0], np.cumsum(n - 1)[:-1]])
    s1 = np.add.reduceat(gaps, starts)
    s2 = np.add.reduceat(gaps * gaps, starts)
    mean = s1 / (n - 1)
    var = np.maximum(s2 / (n - 1) - mean**2, 0.0)
    return np.sqrt(var) / np.maximum(mean, 1e-300)


def fit(data: Path) -> dict[str, object]:
    import polars as pl

    rates = pl.read_csv(data / "servegen" / "m_large_client_rates_3days.csv").filter(
        pl.col("cv").is_finite() & (pl.col("cv") > 0)
    )
    rates = rates.with_columns((pl.col("rate_rps") * F.WINDOW_S).round().cast(pl.Int64).alias("n"))
    n_all = rates["n"].to_numpy()
    cv_all = rates["cv"].to_numpy()
    weib_all = (rates["arrival_dist"] == "Weibull").to_numpy()
    b_all = F.count_bin(n_all.astype(np.float64))
    rng = np.random.default_rng(20260302)
    levels = np.array(F.QUANTILE_LEVELS)
    target, gen, weib_share = [], [], []
    for b in range(len(F.COUNT_BINS)):
        sel = b_all == b
        tq = np.quantile(np.log(cv_all[sel]), levels)
        ws = float(weib_all[sel].mean())
        n = np.minimum(rng.choice(n_all[sel], FIT_WINDOWS), FIT_MAX_N)
        g = tq.copy()
        iterates = []
        for _ in range(FIT_ITERATIONS):
            u = rng.random(FIT_WINDOWS)
            cv = np.exp(np.interp(u, levels, g))
            s = sample_cv(rng, n, cv, rng.random(FIT_WINDOWS) < ws)
            sq = np.quantile(np.log(np.maximum(s, 1e-6)), levels)
            g = np.clip(g + FIT_STEP * (tq - sq), *np.log(GEN_CV_RANGE))
            g = np.maximum.accumulate(g)
            iterates.append(g)
        g = np.mean(iterates[-FIT_AVERAGE_LAST:], axis=0)
        target.append(np.round(tq, 3).tolist())
        gen.append(np.round(g, 3).tolist())
        weib_share.append(round(ws, 3))

    # Persistence of burstiness: normal scores of cv ranks within each count bin.
    z = np.empty(len(cv_all))
    for b in range(len(F.COUNT_BINS)):
        sel = np.flatnonzero(b_all == b)
        ranks = np.argsort(np.argsort(cv_all[sel]))
        z[sel] = F.ndtri((ranks + 0.5) / len(sel))
    df = rates.with_columns(pl.Series("z", z)).sort("client_id", "window_start_s")
    per = df.group_by("client_id").agg(pl.col("z").mean().alias("m"), pl.len().alias("w"))
    per = per.filter(pl.col("w") >= 5)
    within = df.join(per, on="client_id").with_columns((pl.col("z") - pl.col("m")).alias("r"))
    between_var = float(per["m"].var())
    within_var = float(within["r"].var())
    rho = float(np.sqrt(between_var / (between_var + within_var)))
    within = within.with_columns(
        pl.col("r").shift(1).over("client_id").alias("r1"),
        pl.col("window_start_s").diff().over("client_id").alias("dt"),
    ).filter(pl.col("dt") == F.WINDOW_S)
    ar_cv = float(np.corrcoef(within["r"], within["r1"])[0, 1])

    # Steady clients' rate: remove client mean and client x hour-of-day profile, then AR(1).
    lr = df.with_columns(
        pl.col("rate_rps").log().alias("lr"), ((pl.col("window_start_s") // 3600) % 24).alias("hod")
    )
    steady = lr.group_by("client_id").agg(pl.len().alias("w")).filter(pl.col("w") >= 300)["client_id"]
    lr = lr.filter(pl.col("client_id").is_in(steady.implode()))
    lr = lr.with_columns((pl.col("lr") - pl.col("lr").mean().over("client_id", "hod")).alias("res"))
    lr = lr.with_columns(
        pl.col("res").shift(1).over("client_id").alias("res1"),
        pl.col("window_start_s").diff().over("client_id").alias("dt"),
    )
    pairs = lr.filter(pl.col("dt") == F.WINDOW_S)
    phi = float(np.corrcoef(pairs["res"], pairs["res1"])[0, 1])
    innov = float((pairs["res"] - phi * pairs["res1"]).std())
    prof = lr.group_by("client_id", "hod").agg(pl.col("rate_rps").mean().alias("r"))
    prof = prof.with_columns((pl.col("r") / pl.col("r").max().over("client_id")).alias("rel"))
    hourly = prof.group_by("hod").agg(pl.col("rel").median()).sort("hod")["rel"].to_numpy()
    return {
        "CV_LOG_QUANTILES_OBSERVED": target,
        "CV_LOG_QUANTILES_GENERATOR": gen,
        "WEIBULL_SHARE": weib_share,
        "CLIENT_RHO": round(rho, 3),
        "WINDOW_AR": round(ar_cv, 3),
        "RATE_AR": round(phi, 3),
        "RATE_INNOVATION_SD": round(innov, 3),
        "STEADY_TROUGH_TO_PEAK": round(float(hourly.min() / hourly.max()), 3),
        "clients": int(rates["client_id"].n_unique()),
        "windows": int(rates.height),
        "steady_clients": len(steady),
    }


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
    for key, value in fit(data).items():
        print(f"{key} = {value!r}")


if __name__ == "__main__":
    main()
