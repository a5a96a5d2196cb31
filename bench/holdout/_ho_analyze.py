"""Failure analysis of one scan against the hold-out labels: which signals made the false
positives, and what evidence the missed attack accounts had (signals below the verdict line).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

#: A signal is reported for a persona when it fired on at least this share of the accounts analysed.
MIN_SHARE = 0.15
#: At most this many signals per persona in the report.
TOP_SIGNALS = 5


def _load(scan: Path, labels: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    acc = pl.read_parquet(scan / "accounts.parquet").join(
        pl.read_parquet(labels), on="account_id", how="right"
    )
    acc = acc.with_columns(pl.col("verdict").fill_null("clear"), pl.col("score").fill_null(0.0))
    sig = pl.read_parquet(scan / "signals.parquet")
    return acc, sig


def _signal_summary(sig: pl.DataFrame, accounts: pl.DataFrame) -> str:
    """'name share% (median strength, first evidence)' for the signals on these accounts."""
    n = accounts.height
    if n == 0:
        return ""
    s = (
        sig.join(accounts.select("account_id"), on="account_id")
        .group_by("signal")
        .agg(
            pl.len().alias("k"),
            pl.col("strength").median().alias("st"),
            pl.col("evidence").first().alias("ev"),
        )
        .filter(pl.col("k") >= MIN_SHARE * n)
        .sort("k", descending=True)
        .head(TOP_SIGNALS)
    )
    return "; ".join(
        f"{r['signal']} {r['k'] / n:.0%} (s={r['st']:.2f}: {r['ev']})" for r in s.iter_rows(named=True)
    )


def _first_reasons(accounts: pl.DataFrame) -> str:
    """The most common top reason among these accounts."""
    if accounts.height == 0:
        return ""
    top = accounts.select(pl.col("reasons").list.first().fill_null("-").alias("r"))["r"].value_counts(
        sort=True
    )
    return ", ".join(f"{r['r']} x{r['count']}" for r in top.head(3).iter_rows(named=True))


def analyze(scan: Path, labels: Path) -> list[str]:
    """Lines of diagnosis: false positives per benign persona, misses per attack persona."""
    acc, sig = _load(Path(scan), Path(labels))
    lines: list[str] = []
    for (persona,), g in sorted(acc.group_by("persona"), key=lambda x: x[0][0]):
        attack = bool(g["is_attack"][0])
        if attack:
            miss = g.filter(pl.col("verdict") != "attack")
            if miss.height == 0:
                continue
            lines.append(
                f"MISS {persona}: {miss.height}/{g.height} missed "
                f"(median score {miss['score'].median():.2f}, "
                f"{(miss['verdict'] == 'suspicious').sum()} suspicious); signals on missed: "
                f"{_signal_summary(sig, miss) or 'none'}"
            )
            caught = g.filter(pl.col("verdict") == "attack")
            if caught.height:
                lines.append(f"     caught ones by: {_signal_summary(sig, caught)}")
        else:
            fp = g.filter(pl.col("verdict") == "attack")
            if fp.height == 0:
                continue
            camp = fp["campaign_id"].drop_nulls().value_counts(sort=True).head(2)
            camps = ", ".join(f"{r['campaign_id']} x{r['count']}" for r in camp.iter_rows(named=True))
            lines.append(
                f"FP   {persona}: {fp.height}/{g.height} flagged; top reason {_first_reasons(fp)}; "
                f"campaigns {camps or '-'}; signals: {_signal_summary(sig, fp)}"
            )
    return lines


def campaign_purity(scan: Path, labels: Path) -> list[str]:
    """Per predicted campaign: size and the persona mix (shows benign accounts merged into attacks)."""
    acc, _ = _load(Path(scan), Path(labels))
    out = []
    for (cid,), g in sorted(acc.filter(pl.col("campaign_id").is_not_null()).group_by("campaign_id")):
        mix = g["persona"].value_counts(sort=True).head(4)
        out.append(
            f"{cid}: {g.height} accounts: "
            + ", ".join(f"{r['persona']} {r['count']}" for r in mix.iter_rows(named=True))
        )
    return out
