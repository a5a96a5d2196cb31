"""Realism of the simulated benign population against real traces (two-sample KS statistic).

    .venv/bin/python bench/realism.py [--scenario small | --events DIR] [--data ../shared/data]

Compares, for benign accounts only (labels.parquet):
* per-account inter-arrival coefficient of variation (accounts with >= MIN_EVENTS requests)
  against ServeGen clients (m-large, 3 days): (a) each client's median per-window cv, and
  (b) the whole-trace cv of each client, rebuilt from its 10/20-minute windows (Gamma gaps with
  the window's rate and cv) - the like-for-like counterpart of a per-account CV over days;
* input and output tokens against the Azure LLM inference traces (conversation and code).
KS = max |F_sim - F_real|: 0 is identical, 1 disjoint.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

#: Accounts with fewer requests give too noisy a CV to compare.
MIN_EVENTS = 20
#: Reconstructed arrivals per client are capped (per window) to bound the work.
MAX_PER_WINDOW = 2000


def ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic."""
    a, b = np.sort(a[np.isfinite(a)]), np.sort(b[np.isfinite(b)])
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def servegen_whole_trace_cv(rates: pl.DataFrame, seed: int = 0) -> np.ndarray:
    """Per-client CV of inter-arrivals over the whole trace, rebuilt from window statistics."""
    rng = np.random.default_rng(seed)
    win = float(np.median(np.diff(np.unique(rates["window_start_s"].to_numpy()))))
    out = []
    for (_cid,), g in rates.sort("window_start_s").group_by(["client_id"], maintain_order=True):
        times = []
        for start, rate, cv in g.select("window_start_s", "rate_rps", "cv").iter_rows():
            n = min(int(rng.poisson(rate * win)), MAX_PER_WINDOW)
            if n == 0 or not np.isfinite(cv) or cv <= 0:
                continue
            shape = 1.0 / cv**2
            gaps = rng.gamma(shape, 1.0 / (rate * shape), n)
            t = start + np.cumsum(gaps)
            times.append(t[t < start + win])
        if times:
            t = np.sort(np.concatenate(times))
            d = np.diff(t)
            if len(d) >= MIN_EVENTS:
                out.append(d.std() / d.mean())
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="small")
    ap.add_argument("--events", default=None, help="an existing simulation directory instead")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "servegen").is_dir():
        raise SystemExit(f"real data not found under {data}")

    tmp = None
    sim = Path(args.events) if args.events else None
    if sim is None:
        from distillguard.simulate import simulate

        tmp = tempfile.mkdtemp(prefix="dg-realism-")
        sim = Path(tmp) / "sim"
        simulate(args.scenario, sim, progress=False)
    try:
        ev = pl.scan_parquet(str(sim / "events" / "**" / "*.parquet")).select(
            "account_id", "timestamp", "input_tokens", "output_tokens", "status"
        )
        labels = pl.scan_parquet(sim / "labels.parquet").filter(~pl.col("is_attack"))
        benign = ev.join(labels, on="account_id").collect()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    cv = (
        benign.sort("account_id", "timestamp")
        .with_columns(pl.col("timestamp").diff().over("account_id").dt.total_microseconds().alias("gap"))
        .drop_nulls("gap")
        .group_by("account_id", "persona")
        .agg(pl.len().alias("n"), (pl.col("gap").std() / pl.col("gap").mean()).alias("cv"))
        .filter(pl.col("n") >= MIN_EVENTS)
    )
    rates = pl.read_csv(data / "servegen" / "m_large_client_rates_3days.csv")
    window_cv = rates.group_by("client_id").agg(pl.col("cv").median())["cv"].to_numpy()
    whole_cv = servegen_whole_trace_cv(rates)
    sim_cv = cv["cv"].to_numpy()

    ok = benign.filter(pl.col("status") == "ok")
    conv = pl.read_csv(data / "llm_traces" / "AzureLLMInferenceTrace_conv.csv")
    code = pl.read_csv(data / "llm_traces" / "AzureLLMInferenceTrace_code.csv")
    azure = pl.concat([conv, code])

    def q(x: np.ndarray) -> str:
        return " / ".join(f"{v:,.1f}" for v in np.percentile(x, [10, 50, 90]))

    print(f"benign events {benign.height:,}; accounts with >= {MIN_EVENTS} requests: {cv.height:,}")
    print(f"{'marginal':44s} {'KS':>6s}   sim p10/p50/p90  |  real p10/p50/p90")
    rows = [
        ("inter-arrival CV vs ServeGen whole-trace cv", sim_cv, whole_cv),
        ("inter-arrival CV vs ServeGen per-window cv", sim_cv, window_cv),
        ("input tokens vs Azure conv", ok["input_tokens"].to_numpy(), conv["ContextTokens"].to_numpy()),
        ("output tokens vs Azure conv", ok["output_tokens"].to_numpy(), conv["GeneratedTokens"].to_numpy()),
        ("input tokens vs Azure conv+code", ok["input_tokens"].to_numpy(), azure["ContextTokens"].to_numpy()),
        (
            "output tokens vs Azure conv+code",
            ok["output_tokens"].to_numpy(),
            azure["GeneratedTokens"].to_numpy(),
        ),
    ]
    for name, s, r in rows:
        print(f"{name:44s} {ks(s, r):6.3f}   {q(s)}  |  {q(r)}")
    print("\nper persona: median inter-arrival CV")
    for persona, med in cv.group_by("persona").agg(pl.col("cv").median()).sort("persona").iter_rows():
        print(f"  {persona:28s} {med:6.2f}")


if __name__ == "__main__":
    main()
