"""Diagnostics over one scanned hold-out-3 dataset: per-persona rates, and for every benign
account with verdict ``attack`` the reasons, signals and link kinds behind it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq


def _joined(data: Path, scan: Path) -> pl.DataFrame:
    acc = pl.from_arrow(pq.read_table(scan / "accounts.parquet"))
    lab = pl.from_arrow(pq.read_table(data / "labels.parquet"))
    return lab.join(
        acc.select("account_id", "verdict", "score", "campaign_id", "reasons"), on="account_id", how="left"
    )


def persona_rates(data: Path, scan: Path) -> pl.DataFrame:
    """One row per persona: accounts, flagged (verdict attack), suspicious, and the rate
    that matters (recall for attack personas, false-positive rate for benign ones)."""
    d = _joined(data, scan)
    return (
        d.group_by("persona")
        .agg(
            pl.col("is_attack").first().alias("attack"),
            pl.len().alias("accounts"),
            (pl.col("verdict") == "attack").sum().alias("flagged"),
            (pl.col("verdict") == "suspicious").sum().alias("suspicious"),
        )
        .with_columns((pl.col("flagged") / pl.col("accounts")).alias("rate"))
        .sort(["attack", "persona"], descending=[True, False])
    )


def false_positives(data: Path, scan: Path, top: int = 8) -> list[dict]:
    """Per benign persona with verdict-``attack`` accounts: count, campaigns, top reasons,
    top leading-reason triples, the link kinds (within persona / across) and signals."""
    d = _joined(data, scan)
    fp = d.filter(~pl.col("is_attack") & (pl.col("verdict") == "attack"))
    if fp.is_empty():
        return []
    sig = pl.from_arrow(pq.read_table(scan / "signals.parquet")).join(
        fp.select("account_id", "persona"), on="account_id"
    )
    lab = d.select("account_id", "persona")
    edges = pl.from_arrow(pq.read_table(scan / "edges.parquet"))
    edges = edges.join(lab.rename({"account_id": "src", "persona": "ps"}), on="src").join(
        lab.rename({"account_id": "dst", "persona": "pd"}), on="dst"
    )
    out = []
    for p in sorted(fp["persona"].unique().to_list()):
        sub = fp.filter(pl.col("persona") == p)
        ids = set(sub["account_id"].to_list())
        reasons = sub.explode("reasons").group_by("reasons").len().sort("len", descending=True).head(top)
        lead = (
            sub.select(pl.col("reasons").list.slice(0, 3).list.join(" > ").alias("lead"))
            .group_by("lead")
            .len()
            .sort("len", descending=True)
            .head(4)
        )
        e = edges.filter(pl.col("src").is_in(ids) | pl.col("dst").is_in(ids))
        kinds = (
            e.with_columns(
                pl.when(pl.col("ps") == pl.col("pd"))
                .then(pl.lit("same persona"))
                .otherwise(pl.col("ps") + "~" + pl.col("pd"))
                .alias("peer")
            )
            .group_by("kind", "peer")
            .agg(pl.len(), pl.col("evidence").first())
            .sort("len", descending=True)
            .head(top)
        )
        s = (
            sig.filter(pl.col("persona") == p)
            .group_by("family", "signal")
            .agg(pl.len(), pl.col("value").median(), pl.col("threshold").first(), pl.col("evidence").first())
            .sort("len", descending=True)
            .head(top)
        )
        out.append(
            {
                "persona": p,
                "accounts": sub.height,
                "campaigns": sub["campaign_id"].n_unique(),
                "score_median": round(float(sub["score"].median()), 3),
                "reasons": reasons.rows(),
                "lead": lead.rows(),
                "links": kinds.rows(),
                "signals": s.rows(),
            }
        )
    return out


def misses(data: Path, scan: Path) -> pl.DataFrame:
    """Per attack persona: missed accounts, how many are suspicious, and their top reasons."""
    d = _joined(data, scan).filter(pl.col("is_attack") & (pl.col("verdict") != "attack"))
    return (
        d.group_by("persona")
        .agg(
            pl.len().alias("missed"),
            (pl.col("verdict") == "suspicious").sum().alias("suspicious"),
            pl.col("score").median().alias("score_median"),
            pl.col("reasons")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .value_counts(sort=True)
            .head(4)
            .alias("top_reasons"),
        )
        .sort("persona")
    )
