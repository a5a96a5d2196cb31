"""Account-level coordination: shared payment instruments and account-creation bursts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination import _partials, _queries
from distillguard.detectors.coordination._network import sites

FAMILY = "coordination"


def payment(ctx: DetectionContext, p: Any) -> pa.Table:
    """Shared card: evidence only when the card's accounts all run one job.

    A card shared by many accounts is one customer (a family, a team, a startup giving each
    service its own key): it links the accounts for grouping, but size alone is no abuse.
    What a fleet on one card shows and a team does not is cohesion -- every account spends
    its traffic on the same templates. Without prompt text cohesion cannot be judged, and
    the signal stays silent (metadata-only loses this evidence).

    Within an input that has prompt text, some accounts may still come without it (a source
    that does not log prompts, or traffic sent with logging off). The card identifies the
    customer; when most of the card's accounts that do show their prompts run one job, the
    card's text-less accounts are judged by them (the job is the customer's, not the key's).
    """
    acc = ctx.accounts
    pay = ctx.col("payment")
    known = np.array([v is not None for v in pay.tolist()], dtype=bool)
    keys = np.where(known, pay, "").astype(str)
    _, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
    size = np.where(known, counts[inv], 1).astype(float)
    ctx.cache["payment_size"] = size
    strength = np.zeros(len(acc))
    cohesion = np.zeros(len(acc))
    if ctx.has_prompts:
        _partials.ensure(ctx, "cohesion", _partials.cohesion, min_accounts=p.cohesive_min_accounts)
        coh = _queries.cohesion(ctx, p.cohesive_min_accounts, p.cohesion_frac)
        cohesion = ctx.aligned(coh, "cohesion")
        cohesion = _textless_cohesion(inv, known, ctx.col("tmpl_n", 0.0), cohesion, p)
        cohesive = cohesion >= p.cohesion_min
        strength = np.where(cohesive, ramp(size, p.cohesive_min_accounts, p.cohesive_full_accounts), 0.0)
    return signal_rows(
        acc,
        FAMILY,
        "shared_payment",
        strength,
        size,
        p.cohesive_min_accounts,
        (
            "payment instrument shared by {:.0f} accounts ({:.0%} of prompts in their common templates)",
            [size, cohesion],
        ),
    )


def _textless_cohesion(
    card: np.ndarray, known: np.ndarray, tmpl_n: np.ndarray, cohesion: np.ndarray, p: Any
) -> np.ndarray:
    """Cohesion of text-less accounts on a card = the mean cohesion of the card's accounts
    with prompt text, when at least ``textless_min_witnesses`` of them show it and at least
    ``textless_card_share`` of them are cohesive; unchanged otherwise."""
    text = known & (tmpl_n > 0)
    witnesses = np.bincount(card, weights=text.astype(float))
    agree = np.bincount(card, weights=(text & (cohesion >= p.cohesion_min)).astype(float))
    total = np.bincount(card, weights=np.where(text, cohesion, 0.0))
    ok = (witnesses >= p.textless_min_witnesses) & (agree >= p.textless_card_share * witnesses)
    card_mean = np.divide(total, witnesses, out=np.zeros(len(witnesses)), where=witnesses > 0)
    textless = known & (tmpl_n <= 0)
    return np.where(textless & ok[card], card_mean[card], cohesion)


def created(ctx: DetectionContext, p: Any) -> pa.Table:
    """Accounts created in a burst far above the input's typical creation rate.

    NAT-aware: a class signing up together behind one campus address is no fleet.
    """
    acc = ctx.accounts
    created_us = ctx.micros("created_at")
    known = np.isfinite(created_us)
    size = np.ones(len(acc))
    threshold = float(p.created_min_accounts)
    colocated = np.zeros(len(acc), dtype=bool)
    if known.sum() >= 2:
        bucket = np.floor(created_us[known] / (p.created_bucket_s * 1e6)).astype(np.int64)
        uniq, inv, counts = np.unique(bucket, return_inverse=True, return_counts=True)
        span = max(int(uniq.max() - uniq.min()) + 1, 1)
        # typical rate: the mean of buckets after dropping the top 1% (bursts) of busy ones
        trimmed = np.sort(counts)[: max(1, int(np.ceil(len(counts) * 0.99)))]
        rate = float(trimmed.sum()) / span
        threshold = max(float(p.created_min_accounts), p.created_burst_factor * rate)
        size[known] = counts[inv]
        site = sites(ctx, p)[known]
        keyed = np.char.add(bucket.astype(str), np.char.add("|", site.astype(str)))
        _, kinv, kcounts = np.unique(keyed, return_inverse=True, return_counts=True)
        same_site = np.where(site != None, kcounts[kinv], 0)  # noqa: E711
        colocated[known] = same_site >= p.fleet_max_colocated * counts[inv]
    size = np.where(colocated, 1.0, size)
    ctx.cache["created_threshold"] = threshold
    ctx.cache["created_bucket_s"] = p.created_bucket_s
    ctx.cache["created_colocated"] = colocated
    return signal_rows(
        acc,
        FAMILY,
        "created_together",
        ramp(size, threshold, 3 * threshold),
        size,
        threshold,
        ("created with {:.0f} other accounts in one burst", [size - 1]),
    )


def replacements(ctx: DetectionContext, p: Any) -> pa.Table:
    """Replacement chains on one card: accounts opened as another account on the card fell silent.

    The record's hydra clusters replace each banned account at once. A ban is not in the API
    log, but its trace is: one account's traffic stops for good, and within the hour a new
    account on the same payment instrument is opened and carries on where it stopped. A
    family, team or company adds a seat whenever someone joins and keeps the old ones; it does
    not open a new account at the hour another went quiet, again and again. So a card with at
    least ``replacement_min_handoffs`` such handoffs marks the accounts in them. It needs only
    signup and activity times, so it holds without prompt text. One card is one customer:
    scoring counts this as cross-account evidence only when the accounts also hide or run as
    bots (``ScoringParams.customer_only``).
    """
    import polars as pl

    acc = ctx.accounts
    n = len(acc)
    handoffs = np.zeros(n)
    pay = ctx.col("payment")
    if "created_at" in ctx.features.column_names and n:
        created, first, last = (ctx.micros(c) for c in ("created_at", "first_ts", "last_ts"))
        known = np.array([v is not None for v in pay.tolist()], dtype=bool) & np.isfinite(created)
        window = p.replacement_window_h * 3600e6
        # "for good": silent for at least the window before the end of what has been seen
        settled = last <= np.nanmax(last) - window if np.isfinite(last).any() else np.zeros(n, bool)
        df = pl.DataFrame(
            {"i": np.arange(n)[known], "card": pay[known].astype(str), "cr": created[known]}
            | {"f": first[known], "l": last[known], "settled": settled[known]}
        )
        sizes = df.group_by("card").len()
        df = df.join(
            sizes.filter(pl.col("len").is_between(2, p.replacement_max_card_accounts)), on="card"
        ).drop("len")
        pairs = df.join(df, on="card", suffix="_b").filter(
            (pl.col("i") != pl.col("i_b"))
            & pl.col("settled")
            & ((pl.col("cr_b") - pl.col("l")).abs() <= window)
            & (pl.col("l") < pl.col("l_b"))
            & (pl.col("f_b") >= pl.col("l") - window)
        )
        per_card = pairs.group_by("card").len().rename({"len": "h"})
        ends = [pairs.select("i", "card"), pairs.select(pl.col("i_b").alias("i"), "card")]
        involved = pl.concat(ends).unique()
        hit = involved.join(per_card, on="card")
        handoffs[hit["i"].to_numpy()] = hit["h"].to_numpy().astype(np.float64)
    return signal_rows(
        acc,
        FAMILY,
        "replacement_chain",
        ramp(handoffs, p.replacement_min_handoffs, p.replacement_full_handoffs),
        handoffs,
        p.replacement_min_handoffs,
        ("one of {:.0f} accounts on its card opened as another on the card fell silent for good", [handoffs]),
    )
