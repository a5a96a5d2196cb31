"""Realism of the simulated benign population against real traces (two-sample KS statistic).

    .venv/bin/python bench/realism.py [--scenario small | --events DIR] [--data ../shared/data]

Like with like: ServeGen publishes, per client and per 600 s window (aligned to the
trace start) with at least 10 requests, the request rate and the coefficient of
variation of the inter-arrival gaps inside the window. We cut the simulated benign
accounts the same way (600 s windows aligned to the scenario start, >= 10 requests,
cv = population sd / mean of the gaps inside the window) and compare:

* window cv, pooled over all windows, against ServeGen m-large (the calibration source)
  and DeepSeek-R1 (held out); then count-matched (ServeGen windows reweighted to the
  simulated requests-per-window mix, since cv grows with volume and ServeGen's clients
  are far bigger) and per request-count bin;
* each account's median window cv against each client's (both with >= 5 windows);
* requests per window (informational: simulated hobbyists are far smaller customers
  than ServeGen's clients, so this marginal is not expected to match);
* the aggregate stream of the chat personas, 600 s windows, against the Azure LLM
  conversation trace (a whole service's arrivals, no client ids);
* input and output tokens against the Azure LLM inference traces (conversation and code).

KS = max |F_sim - F_real|: 0 is identical, 1 disjoint.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

#: ServeGen's window (seconds) and its minimum requests per window.
WINDOW_S = 600
MIN_WINDOW_REQUESTS = 10
#: Request-count bins (lower edges) for the stratified comparison.
COUNT_BINS = (10, 40, 300, 3000)
#: Finer bins for the count-matched comparison (the cv fit's bins, ``simulate/_timing_fit``).
MATCH_BINS = (10, 20, 40, 100, 300, 1000, 3000)
#: Accounts / clients need this many qualifying windows for a per-account median.
MIN_WINDOWS = 5
#: Personas whose aggregate is compared with a chat service's arrivals.
CHAT_PERSONAS = ("benign_hobbyist", "benign_relay_users", "benign_developer", "benign_shared_card_team")


def ks(a: np.ndarray, b: np.ndarray, wb: np.ndarray | None = None) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (``wb``: optional weights of ``b``)."""
    wb = np.ones(len(b)) if wb is None else wb
    ok_a, ok_b = np.isfinite(a), np.isfinite(b)
    a, b, wb = np.sort(a[ok_a]), b[ok_b], wb[ok_b]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    order = np.argsort(b)
    b, cw = b[order], np.cumsum(wb[order]) / wb.sum()
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    ib = np.searchsorted(b, grid, side="right")
    fb = np.where(ib > 0, cw[np.maximum(ib - 1, 0)], 0.0)
    return float(np.max(np.abs(fa - fb)))


def count_matched_weights(sim_n: np.ndarray, real_n: np.ndarray) -> np.ndarray:
    """Weights on real windows that give them the simulated request-count mix (per bin)."""
    edges = np.array([*MATCH_BINS, np.inf])
    bs, br = np.searchsorted(edges, sim_n, "right") - 1, np.searchsorted(edges, real_n, "right") - 1
    share_s = np.bincount(bs, minlength=len(edges)) / len(bs)
    count_r = np.bincount(br, minlength=len(edges)).astype(float)
    return share_s[br] / np.maximum(count_r[br], 1.0)


def window_stats(events: pl.DataFrame, start_us: int, by: tuple[str, ...]) -> pl.DataFrame:
    """Per (``by``, 600 s window): requests ``n`` and inter-arrival ``cv`` (windows with >= 10)."""
    us = pl.col("timestamp").dt.epoch("us")
    keys = [*by, "window"]
    return (
        events.with_columns(((us - start_us) // (WINDOW_S * 1_000_000)).alias("window"), us.alias("us"))
        .sort([*keys, "us"])
        .with_columns(pl.col("us").diff().over(keys).alias("gap"))
        .group_by(keys)
        .agg(
            pl.len().alias("n"),
            (pl.col("gap").drop_nulls().std(ddof=0) / pl.col("gap").drop_nulls().mean()).alias("cv"),
        )
        .filter(pl.col("n") >= MIN_WINDOW_REQUESTS)
    )


def trace_window_cv(t_s: np.ndarray) -> np.ndarray:
    """Window cv of one aggregate arrival trace (seconds), 600 s windows from its start."""
    t = np.sort(t_s) - np.min(t_s)
    w = (t // WINDOW_S).astype(np.int64)
    out = []
    for k in np.unique(w):
        g = np.diff(t[w == k])
        if len(g) + 1 >= MIN_WINDOW_REQUESTS and g.mean() > 0:
            out.append(g.std() / g.mean())
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
        start = json.loads((sim / "manifest.json").read_text())["start"]
        ev = pl.scan_parquet(str(sim / "events" / "**" / "*.parquet"), hive_partitioning=False).select(
            "account_id", "timestamp", "input_tokens", "output_tokens", "status"
        )
        labels = pl.scan_parquet(sim / "labels.parquet").filter(~pl.col("is_attack"))
        benign = ev.join(labels, on="account_id").collect()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    start_us = int(pl.Series([start]).str.to_datetime(time_zone="UTC").dt.epoch("us")[0])

    win = window_stats(benign, start_us, ("account_id", "persona"))
    acc_med = (
        win.group_by("account_id")
        .agg(pl.col("cv").median(), pl.len().alias("w"))
        .filter(pl.col("w") >= MIN_WINDOWS)["cv"]
        .to_numpy()
    )
    m_large = pl.read_csv(data / "servegen" / "m_large_client_rates_3days.csv").filter(pl.col("cv") > 0)
    r1 = pl.read_csv(data / "servegen" / "deepseek_r1_client_rates.csv").filter(pl.col("cv") > 0)
    real_med = (
        m_large.group_by("client_id")
        .agg(pl.col("cv").median(), pl.len().alias("w"))
        .filter(pl.col("w") >= MIN_WINDOWS)["cv"]
        .to_numpy()
    )
    m_n = (m_large["rate_rps"] * WINDOW_S).round().to_numpy()

    chat = benign.filter(pl.col("persona").is_in(CHAT_PERSONAS)).sort("timestamp")
    chat_t = chat["timestamp"].dt.epoch("us").to_numpy() / 1e6
    agg = window_stats(chat.with_columns(pl.lit(0).alias("all")), start_us, ("all",))
    conv = pl.read_csv(data / "llm_traces" / "AzureLLMInferenceTrace_conv.csv", try_parse_dates=True)
    code = pl.read_csv(data / "llm_traces" / "AzureLLMInferenceTrace_code.csv", try_parse_dates=True)
    conv_cv = trace_window_cv(conv["TIMESTAMP"].dt.epoch("us").to_numpy() / 1e6)
    azure = pl.concat([conv, code])
    ok = benign.filter(pl.col("status") == "ok")

    def q(x: np.ndarray) -> str:
        x = x[np.isfinite(x)]
        return " / ".join(f"{v:,.2f}" if v < 100 else f"{v:,.0f}" for v in np.percentile(x, [10, 50, 90]))

    sim_cv, sim_n = win["cv"].to_numpy(), win["n"].to_numpy()
    n_acc = win["account_id"].n_unique()
    print(
        f"benign events {benign.height:,}; 600 s account-windows with >= {MIN_WINDOW_REQUESTS} requests: "
        f"{win.height:,} from {n_acc:,} accounts (ServeGen m-large: {m_large.height:,})"
    )
    print(f"{'marginal':46s} {'KS':>6s}   sim p10/p50/p90  |  real p10/p50/p90")
    rows = [
        ("window cv vs ServeGen m-large windows", sim_cv, m_large["cv"].to_numpy()),
        ("window cv vs ServeGen DeepSeek-R1 (held out)", sim_cv, r1["cv"].to_numpy()),
        (f"account median window cv (>= {MIN_WINDOWS} windows)", acc_med, real_med),
        ("requests/window vs ServeGen (scale, info)", sim_n.astype(float), m_n),
        ("chat aggregate window cv vs Azure conv", agg["cv"].to_numpy(), conv_cv),
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
        print(f"{name:46s} {ks(s, r):6.3f}   {q(s)}  |  {q(r)}")
        if name.startswith("window cv vs ServeGen m-large"):
            w = count_matched_weights(sim_n, m_n)
            print(f"{'  ... same, ServeGen reweighted to sim counts':46s} {ks(s, r, w):6.3f}")
    print(f"(chat aggregate: {len(chat_t):,} requests; Azure conv: {len(conv_cv)} windows of one hour)")

    print("\nwindow cv by requests per window (like-for-like strata)")
    edges = [*COUNT_BINS, np.inf]
    for lo, hi in itertools.pairwise(edges):
        s = sim_cv[(sim_n >= lo) & (sim_n < hi)]
        r = m_large["cv"].to_numpy()[(m_n >= lo) & (m_n < hi)]
        k = ks(s, r) if len(s) >= 20 else float("nan")
        print(f"  n in [{lo:>5}, {hi:>5}): sim {len(s):7,d} real {len(r):6,d}  KS {k:6.3f}")

    whole = (
        benign.sort("account_id", "timestamp")
        .with_columns(pl.col("timestamp").diff().over("account_id").dt.total_microseconds().alias("gap"))
        .group_by("account_id", "persona")
        .agg(pl.len().alias("n"), (pl.col("gap").std() / pl.col("gap").mean()).alias("whole_cv"))
        .filter(pl.col("n") >= 20)
    )
    per = (
        win.group_by("persona")
        .agg(pl.len().alias("windows"), pl.col("cv").median().alias("window_cv"))
        .join(whole.group_by("persona").agg(pl.col("whole_cv").median()), on="persona", how="full")
        .sort("persona")
    )
    print("\nper persona: windows (>= 10 req), median window cv, median whole-trace cv (accounts >= 20 req)")
    for p, w, c, _, wc in per.iter_rows():
        print(f"  {p or '-':28s} {w or 0:7,d} {c or float('nan'):6.2f} {wc or float('nan'):7.2f}")


if __name__ == "__main__":
    main()
