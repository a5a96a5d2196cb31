"""Fleet groups: a card or signup batch that is mostly proven attackers makes its thin members attacks.

Why: a replacement-chain fleet (the "hydra" pattern of the public record: accounts opened on
the same payment instrument as soon as the previous ones are banned) has members with a
handful of requests and no evidence of their own. "Member of a linked group" is too weak to
act on (an enterprise's accounts share a corporate card, a class signs up in one hour, an
agent framework's users share its prompt frame), so this rule asks for what a benign account
cannot plausibly have, all at once:

* a *fleet group*: a payment instrument or a creation burst of at most ``max_group``
  accounts holding at least ``min_proven`` proven attackers (attack verdict with evidence of
  their own) that are at least ``min_share`` of its other members. An enterprise card with one
  flagged account, a campus signup burst with a cheating student, a stolen card's fleet
  (seen from the other cards' side) are not majority-attacker groups of three or more;
* for a shared card, the account was opened *after* the first proven attacker on it: the
  real owner of a card stolen by a fleet opened their account before the theft;
* unless the fleet group is a card (``solo_kinds``: a payment instrument is no coincidence,
  one mostly held by proven attackers is the operator's own), a second, independent kind of
  link (fleet template family, a creation burst, a datacenter IP, a harvest system prompt, a
  card) to at least ``min_other`` proven attackers: two independent things shared with
  several proven attackers, not one coincidence. When the fleet group is a signup burst, the
  second link must be a card: a stranger who signed up in the same ten minutes as a fleet's
  batch and uses the framework it uses (or rotates mobile IPs, as on held-out data) is a
  coincidence of two common things; a shared card is not.

VPN and relay exits (datacenter IPs) never form a fleet group: their users are strangers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillguard.campaigns.graph import GraphParams, shared_groups


def fleet_group_links(
    ctx: Any,
    suspects: np.ndarray,
    proven: np.ndarray,
    graph: GraphParams,
    *,
    kinds: tuple[str, ...],
    min_proven: int,
    min_share: float,
    max_group: int,
    min_other: int,
    coincidence_kinds: tuple[str, ...] = (),
    solo_kinds: tuple[str, ...] = (),
    pairs: bool = False,
) -> dict[str, tuple[str, int, float, list[str]]]:
    """Suspect -> (fleet group kind, proven attackers in it, their share of its other
    members, the other kinds linking it to ``min_other`` proven attackers, empty for a
    ``solo_kinds`` group without one) for every suspect meeting the conditions of the module
    docstring (stable: the fleet group with the most proven attackers, then kind name, is
    named). A fleet group of one of the ``coincidence_kinds`` (a signup burst: strangers share
    a signup minute) counts only with a payment instrument among the second links. ``pairs``:
    see :func:`~.graph.shared_groups`."""
    import polars as pl

    sus = set(np.asarray(suspects, dtype=object).tolist())
    prov = set(np.asarray(proven, dtype=object).tolist())
    if not sus or len(prov) < min_proven or min_proven < 1:
        return {}
    frames = []
    for kind_no, (kind, keys, members, _w, _ev) in enumerate(shared_groups(ctx, sus, graph, pairs=pairs)):
        if len(keys) == 0:
            continue
        _, inv = np.unique(np.asarray(keys).astype(str), return_inverse=True)
        frames.append(
            pl.DataFrame(
                {
                    "a": np.asarray(members, dtype=object).astype(str),
                    "g": inv.astype(np.int64) * 64 + kind_no,
                    "k": [kind] * len(inv),
                }
            )
        )
    if not frames:
        return {}
    mem = pl.concat(frames).unique(["a", "g"])
    mem = mem.with_columns(pl.col("a").is_in(sorted(prov)).alias("p"))
    size = mem.group_by("g").agg(pl.len().alias("n"), pl.col("p").sum().alias("np"))
    mem = mem.join(size, on="g")
    # counts among the *other* members: an account never corroborates itself
    mem = mem.with_columns(
        (pl.col("np") - pl.col("p").cast(pl.Int64)).alias("others_p"),
        (pl.col("n") - 1).alias("others"),
    )
    left = mem.filter(pl.col("a").is_in(sorted(sus)))
    created = _created_us(ctx)
    fleet = left.filter(
        pl.col("k").is_in(list(kinds))
        & (pl.col("n") <= max_group)
        & (pl.col("others_p") >= min_proven)
        & (pl.col("others_p") >= min_share * pl.col("others"))
    )
    if fleet.is_empty():
        return {}
    # a shared card: the suspect was opened after the card's first proven attacker
    first_proven = (
        mem.filter(pl.col("p") & (pl.col("k") == "payment"))
        .join(created, on="a", how="inner")
        .group_by("g")
        .agg(pl.col("t").min().alias("t0"))
    )
    fleet = (
        fleet.join(created, on="a", how="left")
        .join(first_proven, on="g", how="left")
        .filter((pl.col("k") != "payment") | (pl.col("t").is_not_null() & (pl.col("t") > pl.col("t0"))))
    )
    if fleet.is_empty():
        return {}
    other = (
        left.filter(pl.col("others_p") >= min_other)
        .select("a", pl.col("k").alias("ok"), pl.col("g").alias("og"))
        .join(fleet.select("a", "g", "k"), on="a")
        .filter((pl.col("ok") != pl.col("k")) & (pl.col("og") != pl.col("g")))
        .group_by(["a", "k"])
        .agg(pl.col("ok").unique().sort().alias("oks"))
        .filter(~pl.col("k").is_in(list(coincidence_kinds)) | pl.col("oks").list.contains("payment"))
    )
    best = (
        fleet.join(other, on=["a", "k"], how="left")
        .filter(pl.col("oks").is_not_null() | pl.col("k").is_in(list(solo_kinds)))
        .with_columns(pl.col("oks").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .with_columns((pl.col("others_p") / pl.col("others")).alias("share"))
        .sort(["a", "others_p", "k"], descending=[False, True, False])
        .group_by("a", maintain_order=True)
        .first()
    )
    return {
        a: (k, int(n), float(s), list(oks))
        for a, k, n, s, oks in zip(
            best["a"].to_list(),
            best["k"].to_list(),
            best["others_p"].to_list(),
            best["share"].to_list(),
            best["oks"].to_list(),
            strict=True,
        )
    }


def _created_us(ctx: Any) -> Any:
    """(account, creation time in microseconds) for accounts with a known creation time."""
    import polars as pl
    import pyarrow as pa

    ids = pl.from_arrow(ctx.features["account_id"].cast(pa.string())).alias("a")
    if "created_at" not in ctx.features.column_names:
        return pl.DataFrame({"a": ids.head(0), "t": pl.Series("t", [], pl.Int64)})
    t = ctx.micros("created_at")
    return (
        pl.DataFrame({"a": ids, "t": t})
        .filter(pl.col("t").is_not_nan())
        .with_columns(pl.col("t").cast(pl.Int64))
    )
