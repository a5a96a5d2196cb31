"""Standalone reasoning exchanges: an account that converses, except when it asks for reasoning.

Why this shape: a distillation harvest wants clean (prompt, reasoning, answer) samples, so each
harvest item goes out as its own exchange -- a fresh conversation per item, no history -- while
an adaptive operator's cover traffic imitates people chatting in threads. People who use a
reasoning model talk to it the way they talk to the chat models: they follow up on its answers
in the same conversation. So the trait is the *split*: at least ``standalone_conversational`` of
the account's other requests sit in multi-request conversations, while at least a population-
calibrated share of its reasoning requests (``reasoning_output_tokens > 0``) are the only
request of their conversation. Metadata only (conversation ids and reasoning-token counts), no
prompt text: it holds in ``--metadata-only`` scans of logs that keep conversation ids.

Benign look-alikes kept out on purpose: API pipelines and evaluation harnesses send one-shot
requests to every model (they do not converse elsewhere, or carry no conversation id at all, and
an unknown conversation is no evidence); a person who starts a new chat for one question does so
a few times, not dozens (``standalone_min``). The share threshold is the larger of a floor and
the robust baseline (median + z * MAD after the anomaly filter) of the scan's own reasoning
users, so a product whose users all open one chat per reasoning question does not light up.

Known limits, measured: the cohort (:func:`cohort`) adds a cross-account fact -- many unrelated
payers on many networks -- but not a second behaviour: both signals stand on the same split, so
an attack verdict here rests on one trait seen in a crowd, judged against a prior habit rate.
Harvest sent *inside* the cover conversations, or through logs without conversation ids, shows
no split at all (bench/holdout5: its three adaptive variants stay 0 with these signals).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors._robust import filtered_baseline
from distillguard.detectors.base import DetectionContext

_CACHE = "standalone_counts"
_NEEDED = ("aid", "conversation_id", "reasoning_tokens")


def counts(ctx: DetectionContext) -> dict[str, np.ndarray]:
    """Per account (aligned to ``ctx.features``): reasoning requests with a known conversation
    (``r_n``), of which alone in their conversation (``r_single``), other requests with a known
    conversation (``o_n``), of which in a multi-request conversation (``o_multi``)."""
    if _CACHE in ctx.cache:
        return ctx.cache[_CACHE]
    from distillguard.detectors.coordination import _partials

    names = ("r_n", "r_single", "o_n", "o_multi")
    out = {c: np.zeros(ctx.features.num_rows) for c in names}
    ev = _partials.table(ctx, "")
    if ctx.features.num_rows and all(c in ev.columns for c in _NEEDED):
        _partials.ensure(ctx, "standalone_conv", _conversations)
        conv = _partials.table(ctx, "conv")
        if "cp" in conv.columns and ctx.k is not None:
            conv = conv.filter(conv.cp <= ctx.k)
        # each conversation so far: requests (cn) and reasoning requests (rn) among them
        c = conv.group_by(["aid", "conversation_id"]).aggregate(cn=conv.n.sum(), rn=conv.r.sum())
        agg = c.group_by("aid").aggregate(
            r_n=c.rn.sum(),
            r_single=(c.rn * (c.cn == 1).cast("int64")).sum(),
            o_n=(c.cn - c.rn).sum(),
            o_multi=((c.cn - c.rn) * (c.cn > 1).cast("int64")).sum(),
        )
        tab: pa.Table = agg.to_pyarrow()
        seen = set(ctx.col("aid").astype(np.int64).tolist())
        if tab.num_rows:
            keep = np.isin(tab["aid"].to_numpy(zero_copy_only=False).astype(np.int64), list(seen))
            tab = tab.filter(pa.array(keep))
        for c in names:
            out[c] = ctx.aligned(tab, c)
    ctx.cache[_CACHE] = out
    return out


def _conversations(ctx: DetectionContext) -> None:
    """Partial ``conv``: per (account, conversation, replay interval) its requests (``n``) and
    reasoning requests (``r``), built once per timeline; each checkpoint sums it up to itself
    (a conversation may span intervals) instead of reading every event again."""
    from distillguard.detectors.coordination import _partials

    ev = _partials.table(ctx, "")
    ev = ev.filter(ev.conversation_id.notnull())
    keys = ["aid", "conversation_id", *(["cp"] if "cp" in ev.columns else [])]
    reason = (ev.reasoning_tokens.fill_null(0) > 0).cast("int64")
    _partials._put(ctx, "conv", ev.group_by(keys).aggregate(n=ev.count(), r=reason.sum()))


def trait(ctx: DetectionContext, p: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """``(share, fired, threshold)``: each account's standalone share of its reasoning requests,
    whether it shows the trait, and the share threshold calibrated on this scan's reasoning
    users. ``p`` carries ``standalone_min``, ``standalone_conversational``, ``standalone_floor``,
    ``standalone_z``, ``standalone_mad_floor``, ``standalone_baseline_min`` and ``filter_rounds``."""
    c = counts(ctx)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(c["r_n"] > 0, c["r_single"] / np.maximum(c["r_n"], 1), 0.0)
        conversational = np.where(c["o_n"] > 0, c["o_multi"] / np.maximum(c["o_n"], 1), 0.0)
    users = c["r_n"] >= p.standalone_baseline_min
    med, scale, _ = filtered_baseline(
        np.where(users, share, np.nan), p.standalone_z, p.standalone_mad_floor, p.filter_rounds
    )
    thr = (
        p.standalone_floor if not np.isfinite(med) else max(p.standalone_floor, med + p.standalone_z * scale)
    )
    thr = float(min(thr, 1.0))
    fired = (
        (c["r_single"] >= p.standalone_min) & (conversational >= p.standalone_conversational) & (share >= thr)
    )
    return share, fired, thr


def cohort(ctx: DetectionContext, p: Any, family: str) -> pa.Table:
    """``standalone_cohort``: the trait shared by many unrelated payers on many networks, far
    more often than independent habit explains.

    The trait rate of independent users is bounded by ``standalone_cohort_habit_rate`` (a
    documented prior: at most this share of heavy reasoning users would split their traffic this
    way by habit); the cohort fires when the binomial chance of seeing at least as many trait
    holders among the scan's heavy reasoning users (known conversation, at least
    ``standalone_min`` reasoning requests) is below ``standalone_cohort_alpha``, and the holders
    are at least ``standalone_cohort_min_payers`` payers on ``standalone_cohort_min_sites``
    networks (/24): one customer's seats or one office are not a cohort. The trait itself comes
    from the traffic detector of this pass (its thresholds), or its defaults when it did not run.
    """
    from distillguard.detectors._binomial import binomial_tail
    from distillguard.detectors.base import ramp, signal_rows
    from distillguard.detectors.coordination import _partials, _queries
    from distillguard.detectors.traffic import TrafficDetector

    tp = TrafficDetector.Params()
    if "standalone_trait" in ctx.cache:
        held, _ = ctx.cache["standalone_trait"]
    else:
        _, held, _ = trait(ctx, tp)
    n = len(held)
    idx = np.flatnonzero(held)
    strength = np.zeros(n)
    payers = sites = 0
    chance = 1.0
    if len(idx) >= p.standalone_cohort_min_payers:
        pay = ctx.col("payment")
        aid = ctx.col("aid").astype(np.int64)
        payers = len({pay[i] if pay[i] is not None else f"acct:{aid[i]}" for i in idx})
        _partials.ensure(ctx, "sites", _partials.sites)
        st = _queries.sites(ctx)
        site_of = dict(
            zip(
                st["aid"].to_numpy(zero_copy_only=False).astype(np.int64).tolist(),
                st["site"].to_pylist(),
                strict=True,
            )
        )
        sites = len({site_of.get(int(aid[i])) for i in idx} - {None})
        users = int((counts(ctx)["r_n"] >= tp.standalone_min).sum())
        chance = float(
            binomial_tail(np.array([len(idx)]), np.array([users]), p.standalone_cohort_habit_rate)[0]
        )
        if (
            payers >= p.standalone_cohort_min_payers
            and sites >= p.standalone_cohort_min_sites
            and chance < p.standalone_cohort_alpha
        ):
            strength[idx] = ramp(
                np.array([payers]), p.standalone_cohort_min_payers, 3 * p.standalone_cohort_min_payers
            )[0]
    return signal_rows(
        ctx.accounts,
        family,
        "standalone_cohort",
        strength,
        np.full(n, float(payers)),
        p.standalone_cohort_min_payers,
        (
            "one of {:.0f} accounts ({:.0f} payers, {:.0f} networks) whose reasoning requests stand "
            "alone while their other traffic converses (chance {:.1e} at a habit rate of {:.0%})",
            [
                np.full(n, len(idx)),
                np.full(n, payers),
                np.full(n, sites),
                np.full(n, chance),
                np.full(n, p.standalone_cohort_habit_rate),
            ],
        ),
    )
