"""Metadata-only wave test: payers opened in one signup week who steer to an older model.

The public record has fleets of fresh accounts opened for the campaign (abused signup paths,
thousands of accounts, each replaced when banned) that aim their harvest at an older, less
protected model ("defense arbitrage"). Low-and-slow fleets send a handful of requests per
account, under every per-account limit, and paraphrase every prompt: without the prompt text
nothing about one account stands out. But the operator opens its accounts over the same weeks
and points them at the same model, so a signup week of the fleet holds far more customers
who send most of their traffic to a model the population has mostly left than any week of
ordinary signups does.

``arbitrage_wave`` is a group test, as ``_meta_fleet``'s are: per signup window (a week, in
two phases so a wave straddling a boundary is whole) and per minority model (one the
population has mostly left, as the features count it), the trials are payers (one customer's
keys opened together count once) and the trait is focusing on that model (most of the
payer's traffic on it); the chance of so many trait holders is the binomial tail at the
population's own rate for that model. Keying on the model keeps members specific: a fleet
aims at one model, while the few ordinary customers of the window who prefer some other
niche model are not swept into its wave. That rate is
fitted like :mod:`distillguard.detectors._robust`'s baselines, refusing to learn from what
it flags: windows that fire are dropped and the rate refitted, so a large fleet cannot raise
the bar it is judged by. A window must also exceed that rate several times over (a lift),
so a huge population does not make a trivial excess significant.

Benign look-alikes kept out on purpose:

* long-standing customers kept the model that was current when they signed up (a cohort
  effect: a signup week two years ago is full of users of what is now the older model), so
  only windows opened within ``wave_max_age_days`` of the input's start are judged (fleets
  open accounts to harvest now; accounts bought aged escape this test, a documented limit);
* a class told to use the older, cheaper model opens its accounts together behind one campus
  network: accounts behind a shared non-datacenter network (a NAT of ``nat_min_accounts``
  or more) are never trials;
* a legacy integration is one heavy payer: it counts once, like any customer.

Members are only the trait holders of a fired window (a fleet week's other signups are
ordinary customers). Needs signup dates and the model of each request, no prompt text, so
it runs in every mode; it is coordination (cross-account) evidence and links its members in
the campaign graph (kind ``wave``, key ``<model> wave<phase>:<window>``).
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from distillguard.detectors._binomial import binomial_tail, log_surprise
from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination._meta_fleet import payer_index
from distillguard.detectors.coordination._network import behind_nat

FAMILY = "coordination"

#: Microseconds per day.
_DAY_US = 86_400e6


def minority_models(ctx: DetectionContext) -> list[str]:
    """The models the features counted as minority (older, mostly left) ones: kept on the
    timeline when it was built; recomputed with the default feature parameters otherwise."""
    tl = ctx.timeline
    if tl is not None and "minority_models" in tl.cache:
        return list(tl.cache["minority_models"])
    from distillguard.detectors.coordination import _partials
    from distillguard.features import FeatureParams
    from distillguard.features._ibis_exprs import minority_models as minority_expr

    key = "_wave_minority_models"
    if key not in ctx.shared:
        ev = _partials.table(ctx, "")
        ctx.shared[key] = minority_expr(ev, FeatureParams()).to_pyarrow()["model"].to_pylist()
    return list(ctx.shared[key])


def _model_counts(ctx: DetectionContext) -> None:
    """Partial ``model_n``: requests per (account, model, replay interval), built once."""
    from distillguard.detectors.coordination import _partials

    ev = _partials.table(ctx, "")
    ev = ev.filter(ev.model.notnull())
    keys = ["aid", "model", *(["cp"] if "cp" in ev.columns else [])]
    _partials._put(ctx, "model_n", ev.group_by(keys).aggregate(n=ev.count()))


def focus(ctx: DetectionContext, minor: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(model index into ``minor`` or -1, share) per account: the minority model carrying the
    largest share of the account's requests so far, and that share."""
    from distillguard.detectors.coordination import _partials

    nacc = ctx.features.num_rows
    idx = np.full(nacc, -1, dtype=np.int64)
    share = np.zeros(nacc)
    if not minor or not nacc:
        return idx, share
    _partials.ensure(ctx, "wave_models", _model_counts)
    mc: ir.Table = _partials.table(ctx, "model_n")
    if "cp" in mc.columns and ctx.k is not None:
        mc = mc.filter(mc.cp <= ctx.k)
    mc = mc.filter(mc.model.isin(minor))
    tab = mc.group_by(["aid", "model"]).aggregate(n=mc.n.sum()).to_pyarrow()
    if not tab.num_rows:
        return idx, share
    aid = tab["aid"].to_numpy(zero_copy_only=False).astype(np.int64)
    seen = np.isin(aid, ctx.col("aid").astype(np.int64))
    aid = aid[seen]
    model = np.asarray(tab["model"].to_pylist(), dtype=object)[seen]
    cnt = tab["n"].to_numpy(zero_copy_only=False).astype(float)[seen]
    pos = ctx.positions(aid)
    frac = cnt / np.maximum(ctx.col("n", 0.0)[pos], 1.0)
    order = np.lexsort((model.astype(str), -frac, pos))  # per account: largest share first
    first = np.r_[True, pos[order][1:] != pos[order][:-1]]
    top = order[first]
    lookup = {m: i for i, m in enumerate(minor)}
    idx[pos[top]] = [lookup[m] for m in model[top].tolist()]
    share[pos[top]] = frac[top]
    return idx, share


def _tests(
    window: np.ndarray, ok: np.ndarray, trait: np.ndarray, base: float, p: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per window of the payer units ``ok``: (window per unit, k, m, chance, fired)."""
    _, inv = np.unique(np.where(ok, window, np.iinfo(np.int64).min), return_inverse=True)
    m = np.bincount(inv, weights=ok.astype(float))
    k = np.bincount(inv, weights=(ok & trait).astype(float))
    tail = binomial_tail(k.astype(np.int64), m.astype(np.int64), base)
    fired = (
        (k >= p.wave_min_payers)
        & (k >= p.wave_min_lift * base * np.maximum(m, 1.0))
        & (tail <= p.wave_max_chance)
    )
    return inv, k, m, tail, fired


def arbitrage_waves(ctx: DetectionContext, p: Any) -> pa.Table:
    """``arbitrage_wave``: focused payers of a recent signup week, per minority model, far
    beyond the population's rate for that model."""
    acc = ctx.accounts
    nacc = len(acc)
    created = ctx.micros("created_at")
    first = ctx.micros("first_ts")
    best_tail = np.ones(nacc)
    best_k = np.zeros(nacc)
    best_m = np.zeros(nacc)
    best_base = np.zeros(nacc)
    best_key = np.full(nacc, "", dtype=object)
    links: list[tuple[np.ndarray, np.ndarray]] = []
    known = np.isfinite(created)
    minor = minority_models(ctx) if known.sum() >= 2 and np.isfinite(first).any() else []
    fidx, fshare = focus(ctx, minor)
    if minor:
        start = float(np.nanmin(first))
        eligible = known & (ctx.col("n", 0.0) >= p.wave_min_requests) & ~behind_nat(ctx, p)[2]
        recent = eligible & (created >= start - p.wave_max_age_days * _DAY_US)
        focused = np.where(eligible & (fshare > p.wave_minority_share), fidx, -1)
        pay_idx = payer_index(ctx)
        n_pay = int(pay_idx.max()) + 1
        for phase, offset in enumerate((0.0, 0.5)):
            b = np.floor(np.where(known, created, 0.0) / (p.wave_bucket_days * _DAY_US) + offset)
            b = b.astype(np.int64)
            # payer units (window, payer): one customer's keys opened together count once
            uniq, uinv = np.unique(np.where(eligible, b * n_pay + pay_idx, -1), return_inverse=True)
            ok = np.zeros(len(uniq), dtype=bool)
            ok[uinv[eligible]] = True
            u_recent = np.zeros(len(uniq), dtype=bool)
            u_recent[uinv[recent]] = True
            window = uniq // n_pay
            test = ok & u_recent
            tot = np.bincount(uinv, weights=eligible.astype(float), minlength=len(uniq))
            for mi, model in enumerate(minor):
                # a unit has the trait when most of its accounts focus on this model
                hit = np.bincount(uinv, weights=(focused == mi).astype(float), minlength=len(uniq))
                trait = ok & (hit >= 0.5 * np.maximum(tot, 1.0))
                # the population's rate for this model, refitted without the units of windows
                # that fire (an anomaly filter: a large fleet cannot raise its own bar)
                keep = ok.copy()
                for _ in range(p.wave_filter_rounds + 1):
                    base = max(p.wave_base_floor, float(trait[keep].mean()) if keep.any() else 0.0)
                    inv, k, m, tail, fired = _tests(window, test, trait, base, p)
                    new_keep = ok & ~(test & fired[inv])
                    if (new_keep == keep).all():
                        break
                    keep = new_keep
                win = inv[uinv]
                member = recent & (focused == mi) & trait[uinv] & test[uinv] & fired[win]
                better = member & (tail[win] < best_tail)
                best_tail = np.where(better, tail[win], best_tail)
                best_k = np.where(better, k[win], best_k)
                best_m = np.where(better, m[win], best_m)
                best_base = np.where(better, base, best_base)
                key = np.char.add(f"{model} wave{phase}:", b.astype(str)).astype(object)
                best_key = np.where(better, key, best_key)
                # every fired window of a member: the two phases overlap, so a wave spanning
                # weeks is one connected group in the campaign graph
                links.append((acc[member], key[member]))
    fired_acc = best_tail <= p.wave_max_chance
    ctx.cache["wave_members"] = pa.table(
        {
            "account_id": pa.array([a for a_s, _ in links for a in a_s.tolist()], pa.string()),
            "key": pa.array([k for _, k_s in links for k in k_s.tolist()], pa.string()),
        }
    )
    surprise = log_surprise(best_tail)
    strength = np.where(fired_acc, ramp(surprise, -np.log10(p.wave_max_chance), p.wave_full_surprise), 0.0)
    return signal_rows(
        acc,
        FAMILY,
        "arbitrage_wave",
        strength,
        best_k,
        p.wave_min_payers,
        (
            "one of {:.0f} of {:.0f} payers opened in one signup week who send most of their "
            "traffic to one older model the population has left; chance {:.1e} at the "
            "population's rate {:.2%} for that model",
            [best_k, best_m, best_tail, best_base],
        ),
    )
