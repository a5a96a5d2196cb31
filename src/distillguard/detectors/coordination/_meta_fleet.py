"""Metadata-only fleet evidence: groups whose members share a trait far beyond its base rate.

Many providers cannot read the prompts of zero-retention customers, and the public record
attributes campaigns from metadata alone (payment, infrastructure, request metadata,
timing). Two group tests here need no prompt text, and each is judged against how common
its trait is among accounts that are *not* in such a group, measured on the scan's own
population (a base rate), never against a fixed share:

* ``hiding_card``: several accounts on one payment instrument that each hop across many
  networks (rotating proxy egress). One customer's seats on one card are normal (a team, an
  enterprise's batch keys on its cloud egress); a customer whose accounts each hide their
  origin behind a rotating proxy pool is a reseller's fleet (the record's hydra clusters:
  proxy resellers, shared virtual cards, accounts replaced as they are banned). The chance
  of ``k`` of a card's ``m`` busy accounts rotating is the binomial tail at the rotation
  rate of accounts alone on their card.
* ``shaped_cohort``: accounts of several unrelated payers opened within the same hour whose
  token shape is a harvester's (long outputs per request, a large reasoning-token share).
  A harvest operator opens its accounts together and points them all at one job; a signup
  hour of ordinary customers holds whatever mix of shapes the population has. The shape is
  "unusual" relative to the quantiles of accounts outside any signup burst; the group's
  excess is again a binomial tail at the population's rate. Accounts opened together
  behind one campus network (a class) are left out, as for ``created_together``.

Neither test looks at prompt text, so both run in every mode; both emit coordination
(cross-account) evidence. A card is one customer, so ``hiding_card`` counts as the
cross-account evidence of an attack only when the account's automation family fires
(``scoring.CUSTOMER_ONLY``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors._binomial import binomial_tail, log_surprise
from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination._network import SYNC_KINDS

FAMILY = "coordination"


def _groups(keys: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index per account, group sizes); unknown keys get singleton groups."""
    labels = np.where(known, keys.astype(str), np.char.add("_solo_", np.arange(len(keys)).astype(str)))
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return inv, counts


def payer_index(ctx: DetectionContext) -> np.ndarray:
    """A dense payer number per account (its payment instrument, else the account itself): the
    trials of the group tests, so one customer's keys opened together count once."""
    pay = ctx.col("payment")
    known = np.array([v is not None for v in pay.tolist()], dtype=bool)
    payer = np.where(known, pay.astype(str), ctx.accounts.astype(str))
    return np.unique(payer, return_inverse=True)[1].astype(np.int64)


def rotating(ctx: DetectionContext, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """(judged, hiding): busy accounts, and those hopping across many networks (not relay egress)."""
    n = ctx.col("n", 0.0)
    nets = np.maximum(ctx.col("asns", 0.0), ctx.col("prefixes", 0.0))
    judged = n >= p.hide_min_requests
    hiding = (
        judged
        & (nets >= p.hide_min_networks)
        & (ctx.col("ips", 0.0) / np.maximum(n, 1.0) >= p.hide_ips_per_request)
        & (ctx.col("relay_share", 0.0) < p.hide_relay_exempt_share)
    )
    return judged, hiding


def hiding_cards(ctx: DetectionContext, p: Any) -> pa.Table:
    """``hiding_card``: every account of a card whose busy accounts rotate far beyond chance."""
    acc = ctx.accounts
    pay = ctx.col("payment")
    known = np.array([v is not None for v in pay.tolist()], dtype=bool)
    card, size = _groups(pay, known)
    judged, hiding = rotating(ctx, p)
    m = np.bincount(card, weights=judged.astype(float), minlength=len(size))
    k = np.bincount(card, weights=hiding.astype(float), minlength=len(size))
    solo = size[card] == 1
    base = float(hiding[solo & judged].mean()) if (solo & judged).any() else p.hide_base_floor
    base = max(base, p.hide_base_floor)
    tail = binomial_tail(k.astype(np.int64), m.astype(np.int64), base)
    ok = (
        (size >= p.hide_min_card_accounts)
        & (k >= p.hide_min_accounts)
        & (k >= p.hide_min_share * np.maximum(m, 1.0))
        & (tail <= p.hide_max_chance)
    )
    surprise = log_surprise(tail)
    strength = np.where(
        ok[card], ramp(surprise[card], -np.log10(p.hide_max_chance), p.hide_full_surprise), 0.0
    )
    ctx.cache["hiding_card_base"] = base
    return signal_rows(
        acc,
        FAMILY,
        "hiding_card",
        strength,
        k[card],
        p.hide_min_accounts,
        (
            "{:.0f} of the {:.0f} busy accounts on its card ({:.0f} accounts) hop across proxy "
            "networks; chance {:.1e} at the rotation rate {:.1%} of accounts alone on a card",
            [k[card], m[card], size[card], tail[card], np.full(len(acc), base)],
        ),
    )


def _shape_thresholds(
    ctx: DetectionContext, p: Any, eligible: np.ndarray, outside: np.ndarray
) -> tuple[float, float]:
    """Quantiles of output tokens per request and reasoning share among eligible accounts
    outside any group under test (the population's own benign-looking bulk)."""
    ref = eligible & outside
    if ref.sum() < p.shape_min_reference:
        ref = eligible
    if not ref.any():
        return np.inf, np.inf
    out = ctx.col("out_per_req", 0.0)[ref]
    rs = ctx.col("reasoning_share", 0.0)[ref]
    return float(np.quantile(out, p.shape_quantile)), float(np.quantile(rs, p.shape_quantile))


def shaped_cohorts(ctx: DetectionContext, p: Any) -> pa.Table:
    """``shaped_cohort``: accounts of a signup hour of unrelated payers that is mostly harvest-shaped."""
    acc = ctx.accounts
    nacc = len(acc)
    created = ctx.micros("created_at")
    known = np.isfinite(created)
    eligible = known & (ctx.col("n", 0.0) >= p.shape_min_requests)
    # opened together behind one campus network (a class): never a cohort member; the mask is
    # meaningful only inside a signup burst, so it is applied to the groups, not the reference
    colocated = ctx.cache.get("created_colocated")
    if colocated is None or len(colocated) != nacc:
        colocated = np.zeros(nacc, dtype=bool)
    best_tail = np.ones(nacc)
    best_k = np.zeros(nacc)
    best_m = np.zeros(nacc)
    best_key = np.full(nacc, "", dtype=object)
    if eligible.sum() >= 2:
        width = p.cohort_bucket_s * 1e6
        buckets = []
        for offset in (0.0, 0.5):  # two phases, so a burst straddling an hour boundary is whole
            b = np.floor(np.where(known, created, 0.0) / width + offset).astype(np.int64)
            buckets.append(b)
        # "outside": accounts in no busy signup bucket (more than cohort_min_accounts opened)
        busy = np.zeros(nacc, dtype=bool)
        for b in buckets:
            inv, counts = _groups(b, known)
            busy |= counts[inv] >= p.cohort_min_accounts
        out_thr, rs_thr = _shape_thresholds(ctx, p, eligible, ~busy)
        # strictly above: a population without reasoning tokens has a quantile of 0, and 0 is no shape
        shaped = eligible & (
            (ctx.col("out_per_req", 0.0) > out_thr) | (ctx.col("reasoning_share", 0.0) > rs_thr)
        )
        ref = eligible & ~busy
        base = (
            float(shaped[ref].mean())
            if ref.sum() >= p.shape_min_reference
            else float(shaped[eligible].mean())
        )
        base = min(max(base, 1e-3), 1.0 - 1e-3)
        shaped &= ~colocated
        grouped = eligible & ~colocated
        pay_idx = payer_index(ctx)
        for phase, b in enumerate(buckets):
            inv, counts = _groups(b, grouped)
            # trials are payers, not accounts: one customer's keys opened together count once
            unit = inv[grouped].astype(np.int64) * (int(pay_idx.max()) + 1) + pay_idx[grouped]
            uniq, uinv = np.unique(unit, return_inverse=True)
            share = np.bincount(uinv, weights=shaped[grouped].astype(float)) / np.bincount(uinv)
            ubucket = uniq // (int(pay_idx.max()) + 1)
            m = np.bincount(ubucket, minlength=len(counts)).astype(float)
            k = np.bincount(ubucket, weights=(share >= 0.5).astype(float), minlength=len(counts))
            tail = binomial_tail(k.astype(np.int64), m.astype(np.int64), base)
            ok = (
                (k >= p.cohort_min_shaped)
                & (k >= p.cohort_min_share * np.maximum(m, 1.0))
                & (tail <= p.cohort_max_chance)
            )
            member = shaped & ok[inv]
            better = member & (tail[inv] < best_tail)
            best_tail = np.where(better, tail[inv], best_tail)
            best_k = np.where(better, k[inv], best_k)
            best_m = np.where(better, m[inv], best_m)
            best_key = np.where(better, np.char.add(f"{phase}:", b.astype(str)).astype(object), best_key)
        ctx.cache["shaped_cohort_base"] = base
    fired = best_tail <= p.cohort_max_chance
    # the campaign graph links a cohort's members (kind ``cohort``), as it links a card's
    ctx.cache["cohort_members"] = pa.table(
        {
            "account_id": pa.array(acc[fired].tolist(), pa.string()),
            "key": pa.array(best_key[fired].tolist(), pa.string()),
        }
    )
    surprise = log_surprise(best_tail)
    strength = np.where(fired, ramp(surprise, -np.log10(p.cohort_max_chance), p.cohort_full_surprise), 0.0)
    return signal_rows(
        acc,
        FAMILY,
        "shaped_cohort",
        strength,
        best_k,
        p.cohort_min_shaped,
        (
            "one of {:.0f} of {:.0f} payers opening accounts in one hour with a harvester's "
            "token shape (long outputs or a large reasoning share); chance {:.1e}",
            [best_k, best_m, best_tail],
        ),
    )


def own_customer(ctx: DetectionContext, p: Any, tables: list[pa.Table]) -> list[pa.Table]:
    """Rename lockstep and signup-burst evidence that relates an account only to its own card.

    An enterprise splitting a batch job over many keys on its one card runs them in lockstep
    and may open them in one burst: that relates one customer's accounts to each other, not
    to other customers. ``synchronized`` and ``lockstep_timeline`` become ``card_lockstep``
    when fewer than ``sync_min_partners`` of the account's partners of that kind are on
    another card, and
    ``created_together`` becomes ``card_opened_together`` when the burst without the
    account's own card mates is below the burst threshold. Scoring counts these as the
    cross-account evidence of an attack only when the account hides its origin
    (``ScoringParams.own_customer_only``), as a card is one customer.
    """
    acc = ctx.accounts
    pay = ctx.col("payment")
    known = np.array([v is not None for v in pay.tolist()], dtype=bool)
    card, _ = _groups(pay, known)
    other_partners = {k: np.zeros(len(acc)) for k in SYNC_KINDS}
    sync = ctx.cache.get("sync_pairs")
    if sync is not None and sync.num_rows:
        s = _rows(ctx, sync["src"].to_pylist())
        d = _rows(ctx, sync["dst"].to_pylist())
        kinds = np.asarray(sync["kind"].to_pylist(), dtype=object)
        for k, count in other_partners.items():
            apart = (card[s] != card[d]) & (kinds == k)
            np.add.at(count, s[apart], 1)
            np.add.at(count, d[apart], 1)
    burst_own = np.zeros(len(acc), dtype=bool)
    thr = ctx.cache.get("created_threshold")
    created = ctx.micros("created_at")
    ok = np.isfinite(created)
    if thr is not None and ok.any():
        bucket = np.floor(np.where(ok, created, 0.0) / (ctx.cache.get("created_bucket_s", 3600) * 1e6))
        b_inv, b_counts = _groups(bucket.astype(np.int64), ok)
        pair = np.char.add(b_inv.astype(str), np.char.add("|", card.astype(str)))
        p_inv, p_counts = _groups(pair, ok)
        # accounts of the burst on other cards, plus the account itself
        burst_own = ok & (b_counts[b_inv] - p_counts[p_inv] + 1 < thr)
    renames = {
        **{k: ("card_lockstep", other_partners[k] < p.sync_min_partners) for k in SYNC_KINDS},
        "created_together": ("card_opened_together", burst_own),
    }
    out = []
    for t in tables:
        if t.num_rows:
            schema = t.schema
            names = np.asarray(t["signal"].to_pylist(), dtype=object)
            ev = np.asarray(t["evidence"].to_pylist(), dtype=object)
            rows = _rows(ctx, t["account_id"].to_pylist())
            for old, (new, mask) in renames.items():
                hit = (names == old) & mask[rows]
                names = np.where(hit, new, names)
                ev = np.where(hit, ev + " (all on its own card)", ev)
            t = t.set_column(
                t.schema.get_field_index("signal"), "signal", pa.array(names.tolist(), pa.string())
            )
            t = t.set_column(
                t.schema.get_field_index("evidence"), "evidence", pa.array(ev.tolist(), pa.string())
            ).cast(schema)
        out.append(t)
    return out


def _rows(ctx: DetectionContext, accounts: list[str]) -> np.ndarray:
    """Row positions in the features of the given account ids."""
    index = {a: i for i, a in enumerate(ctx.accounts.tolist())}
    return np.asarray([index[a] for a in accounts], dtype=np.int64)
