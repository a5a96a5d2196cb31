"""Shared harvest system prompts: one instruction block in the traffic of unrelated customers.

A relay operator injects one harvest system prompt into every call it forwards, whichever
customer's key it uses, and one operator's harness sends its system prompt from every fleet
account. A popular open-source evaluation tool does the same for its unrelated users -- but
those users run the tool's *benchmarks*: every account sends the same public questions, so
the prompts under the system prompt repeat across accounts. A fleet or a relay splits its
work (or forwards its own users' distinct requests), so its prompts do not repeat. Hence two
signals: ``shared_system_prompt`` (weak: one shared thing) for groups whose prompts repeat,
and ``fleet_system_prompt`` for groups of many unrelated accounts sending distinct prompts
under one harvest system prompt (the same rule as fleet template families, :mod:`._content`).

Distinct prompts under one CoT system prompt are not enough on their own: a popular
open-source agent or coding tool ships a built-in "think step by step" system prompt, and
its hundreds of unrelated developers each send their own distinct tasks under it. What a
tool's user base cannot fake is being a *cohort*: its accounts were opened whenever each
developer signed up (signup dates spread over months or years), and each calls from its own
network. A fleet's accounts are opened together (a tight signup spread), and a relay forwards
every customer's calls through its own few hosts. So ``fleet_system_prompt`` fires only for a
group that is a signup cohort (:func:`_cohort_spread_days`) or most of whose payers call
through datacenter IPs they share with other payers of the group (:func:`shared_egress_table`). A
diverse user base with its own egress gets no coordination signal from the system prompt.

A relay operator is neither: it opens its accounts over months and runs each on its own
servers. What its accounts share is what a relay *is* -- an always-on service on datacenter
hosts forwarding other people's traffic -- under a harvest system prompt it injects into
that traffic. A tool's developers call from their own machines during their own day, and a
legitimate SaaS backend is such a service too but sends its own product prompt, which no
group of unrelated payers shares as harvest instructions. So a group is also fleet-like when
most of its payers run an always-on datacenter service (:func:`_services`), or are either
such a service or call under the prompt through a datacenter IP other payers of it use (the
keys a relay hijacked, forwarded through its hosts): a relay whose operators and stolen keys
are each a minority of the group is still mostly relay. And a group is fleet-like when most
of its payers send their calls under the prompt through VPN or Tor exits: accounts bought
aged from an account shop (signups spread over years, each its own card) hide their origin,
a tool's user base calls from homes, offices and its own cloud machines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination import _partials, _queries
from distillguard.detectors.coordination._cohort import group_spread_days
from distillguard.detectors.coordination._network import ids

FAMILY = "coordination"


def shared_egress_table(ctx: DetectionContext, min_payers: int) -> pa.Table:
    """Per system prompt, as of checkpoint k: its payers (``p``) and, one row each, those that
    call through a datacenter IP at least ``min_payers`` of its payers use (``pay``; null when
    none): a relay's hosts carry some of every customer's calls, whatever else each uses.
    Only datacenter addresses count: residential, mobile and campus NATs are shared by
    strangers by design."""
    attr = _partials.table(ctx, "attr")
    s = _partials.table(ctx, "sysip")
    s = s.filter(s.cp <= ctx.k)
    xj = s.join(attr, "aid")
    x = xj.select("sh", "ip", pay=_partials.payer(xj)).distinct()
    g = x.group_by(["sh", "ip"]).aggregate(n=x.pay.nunique())
    ipg = g.filter(g.n >= min_payers).select("sh", "ip")
    linked = x.semi_join(ipg, ["sh", "ip"]).select("sh", "pay").distinct()
    sy = _partials.table(ctx, "sys")
    sy = sy.filter(sy.cp <= ctx.k)
    sj = sy.join(attr, "aid")
    tot = sj.group_by("sh").aggregate(p=_partials.payer(sj).nunique())
    j = tot.left_join(linked, "sh").select("sh", "p", "pay")
    return j.order_by(["sh", "pay"]).to_pyarrow()


def accounts_per_prompt(ctx: DetectionContext) -> pa.Table:
    """Mean number of accounts sending each prompt under a system prompt, as of checkpoint k
    (weighted by how often the prompt is sent): ``sh``, ``app``."""
    t = _partials.table(ctx, "sysph")
    t = t.filter(t.cp <= ctx.k)
    ph = t.group_by(["sh", "h"]).aggregate(a=t.aid.nunique(), c=t.c.sum())
    g = ph.group_by("sh").aggregate(app=(ph.a * ph.c).sum() / ph.c.sum())
    return g.order_by("sh").to_pyarrow()


def _per_group(keys: np.ndarray, vals: np.ndarray, uniq: np.ndarray, fill: float) -> np.ndarray:
    """``vals`` (keyed by sorted ``keys``) looked up for every group in ``uniq``."""
    out = np.full(len(uniq), fill)
    if len(keys):
        pos = np.searchsorted(keys, uniq)
        ok = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == uniq)
        out[ok] = vals[pos[ok]]
    return out


def _cohort_spread_days(ctx: DetectionContext, rows: pa.Table, min_known: int) -> np.ndarray:
    """Per row of ``rows``: inter-quartile range (days) of its group's account signup dates
    (:func:`._cohort.group_spread_days`); groups with fewer than ``min_known`` known signup
    dates get +inf: no evidence of a cohort."""
    pos = ctx.positions(rows["aid"].to_numpy())
    spread = group_spread_days(ctx, pos, rows["sh"].to_numpy(zero_copy_only=False), min_known)
    return np.where(np.isnan(spread), np.inf, spread)


def _shared_egress(
    ctx: DetectionContext, rows: pa.Table, pay: np.ndarray, min_payers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``rows``: (share of its group's payers behind a datacenter IP shared with
    other payers of it, does the row's own payer call through one)."""
    table = shared_egress_table(ctx, min_payers)
    sh = rows["sh"].to_numpy(zero_copy_only=False)
    uniq, inv = np.unique(sh, return_inverse=True)
    keys = table["sh"].to_numpy(zero_copy_only=False)
    linked_pay = table["pay"].cast(pa.string()).to_pylist()
    has = np.array([v is not None for v in linked_pay], dtype=bool)
    share = np.zeros(len(sh))
    if len(keys):  # rows come sorted by system prompt: count each one's linked payers
        groups, first = np.unique(keys, return_index=True)
        linked_n = np.add.reduceat(has.astype(float), first)
        payers = table["p"].cast(pa.float64()).to_numpy(zero_copy_only=False)[first]
        share = _per_group(groups, linked_n / np.maximum(payers, 1.0), uniq, 0.0)[inv]
    linked = {(g, a) for g, a, h in zip(keys.tolist(), linked_pay, has.tolist(), strict=True) if h}
    own = np.array([(g, a) in linked for g, a in zip(sh.tolist(), pay.tolist(), strict=True)], dtype=bool)
    return share, own


def _services(ctx: DetectionContext, rows: pa.Table, p: Any) -> np.ndarray:
    """Per row of ``rows``: is its account an always-on datacenter service?

    An account is a service when most of its traffic leaves datacenter hosts and it was active
    in most of the hours it has been seen in (over at least ``system_service_min_span_h``): a
    backend answers whenever its users call, a developer works by day and sleeps at night.
    """
    pos = ctx.positions(rows["aid"].to_numpy())
    span = ctx.col("span_h", 0.0)[pos]
    duty = ctx.col("active_hour_buckets", 0.0)[pos] / np.maximum(span, 1.0)
    return (
        (ctx.col("hosting_share", 0.0)[pos] >= p.system_service_min_hosting)
        & (span >= p.system_service_min_span_h)
        & (duty >= p.system_service_min_duty)
    )


def _payers(ctx: DetectionContext, rows: pa.Table) -> np.ndarray:
    """Per row of ``rows``: its account's payer (card, else the account itself)."""
    take = pa.array(ctx.positions(rows["aid"].to_numpy()))
    return (
        pc.coalesce(
            ctx.features.column("payment").take(take).cast(pa.string()),
            ctx.features.column("account_id").take(take).cast(pa.string()),
        )
        .to_numpy(zero_copy_only=False)
        .astype(str)
    )


def _payer_share(rows: pa.Table, pay: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Per row of ``rows``: share of its group's payers with ``flag`` on any of their accounts."""
    sh = rows["sh"].to_numpy(zero_copy_only=False)
    # one row per (group, payer): a payer counts if any of its accounts does
    keys = np.char.add(np.char.add(sh.astype(str), "|"), pay)
    ukeys, kinv = np.unique(keys, return_inverse=True)
    payer_flag = np.zeros(len(ukeys))
    np.maximum.at(payer_flag, kinv, flag.astype(float))
    payer_group = np.zeros(len(ukeys), dtype=sh.dtype)
    payer_group[kinv] = sh
    uniq, ginv = np.unique(payer_group, return_inverse=True)
    share = np.bincount(ginv, weights=payer_flag) / np.maximum(np.bincount(ginv), 1)
    return share[np.searchsorted(uniq, sh)]


def _repeat_ratio(ctx: DetectionContext, rows: pa.Table) -> np.ndarray:
    """Per row of ``rows``: accounts-per-prompt of its system prompt / the group's accounts."""
    if not rows.num_rows:
        return np.zeros(0)
    app = accounts_per_prompt(ctx)
    sh = rows["sh"].to_numpy(zero_copy_only=False)
    uniq, inv, members = np.unique(sh, return_inverse=True, return_counts=True)
    per = np.ones(len(uniq))
    if app.num_rows:
        keys = app["sh"].to_numpy(zero_copy_only=False)
        vals = app["app"].to_numpy(zero_copy_only=False).astype(float)
        pos = np.searchsorted(keys, uniq)
        ok = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == uniq)
        per[ok] = vals[pos[ok]]
    return (per / np.maximum(members, 1))[inv]


def system_prompts(ctx: DetectionContext, p: Any) -> list[pa.Table]:
    """``shared_system_prompt`` (prompts repeat: a benchmark tool) and ``fleet_system_prompt``
    (many unrelated accounts, distinct prompts, one harvest system prompt)."""
    # groups from system_link_min_payments payers link accounts; signals need system_min_payments
    link_min = min(p.system_link_min_payments, p.system_min_payments)
    _partials.ensure(ctx, "system", _partials.system, min_payments=link_min)
    _partials.ensure(ctx, "system_prompts", _partials.system_prompts, min_payments=link_min)
    _partials.ensure(ctx, "system_egress", _partials.system_egress, min_payments=link_min)
    rows = _queries.system(ctx, p.devoted_share, p.harvest_family_share, link_min)
    n = ctx.features.num_rows
    weak = np.zeros(n)
    fleet = np.zeros(n)
    strength = np.zeros(n)
    threshold = np.full(n, float(p.fleet_min_payments))
    repeat = np.zeros(n)
    services = np.zeros(n)
    linking = np.ones(rows.num_rows, dtype=bool)
    if rows.num_rows:
        pos = ctx.positions(rows["aid"].to_numpy())
        pays = rows["payments"].to_numpy(zero_copy_only=False).astype(float)
        ratio = _repeat_ratio(ctx, rows)
        pay = _payers(ctx, rows)
        is_service = _services(ctx, rows, p)
        service = _payer_share(rows, pay, is_service)
        relays = service >= p.system_min_service_share
        # a relay's payers are its operators' services and the keys it forwards through its
        # shared hosts: together most of the group, even when neither kind alone is
        egress, forwarded = _shared_egress(ctx, rows, pay, p.system_egress_min_payers)
        relayed = _payer_share(rows, pay, is_service | forwarded)
        anonymized = rows["anonymized"].to_numpy(zero_copy_only=False).astype(float)
        hidden = _payer_share(rows, pay, anonymized >= p.system_hidden_min_traffic)
        # always-on services under one harvest prompt are several shared things at once:
        # fewer of them make a group than of ordinary accounts
        need = np.where(relays, p.system_service_min_payments, p.fleet_min_payments).astype(float)
        distinct = (ratio <= p.system_max_repeat) & (pays >= need)
        spread = _cohort_spread_days(ctx, rows, p.system_cohort_min_known)
        fleetlike = (
            (spread <= p.system_cohort_max_iqr_days)
            | (egress >= p.system_min_shared_egress)
            | relays
            | (relayed >= p.system_min_service_share)
            | (hidden >= p.system_min_hidden_payers)
        )
        hit = distinct & fleetlike
        np.maximum.at(fleet, pos, np.where(hit, pays, 0.0))
        np.maximum.at(strength, pos, np.where(hit, ramp(pays, need, p.fleet_full_payments), 0.0))
        np.minimum.at(threshold, pos, np.where(hit, need, p.fleet_min_payments))
        # a diverse user base sending distinct prompts under a tool's system prompt: nothing
        np.maximum.at(weak, pos, np.where(distinct, 0.0, pays))
        np.maximum.at(repeat, pos, np.where(distinct, ratio, 0.0))
        np.maximum.at(services, pos, np.where(hit, service, 0.0))
        linking = ~(distinct & ~fleetlike)
    # the campaign graph links accounts by these groups: a tool's user base links nobody
    # groups of fewer payers than a signal needs are kept apart: they tie an operator to the
    # keys it hijacked (the campaign stage's injected-prompt lift, the campaign list's
    # similarity), never chain accounts into a group whose membership lifts verdicts
    few = pc.less(rows["payments"], p.system_min_payments) if rows.num_rows else pa.array([], pa.bool_())
    for key, mask in (("system_prompts", pc.invert(few)), ("system_prompt_pairs", few)):
        kept = rows.filter(pc.and_(pa.array(linking), mask))
        ctx.cache[key] = pa.table(
            {"account_id": pa.array(ids(ctx, kept["aid"]).tolist(), pa.string()), "sh": kept["sh"]}
        )
    weak = np.where(fleet > 0, 0.0, weak)
    return [
        signal_rows(
            ctx.accounts,
            FAMILY,
            "shared_system_prompt",
            ramp(weak, p.system_min_payments, p.system_full_payments),
            weak,
            p.system_min_payments,
            ("harvest system prompt shared with {:.0f} unrelated customers", [weak]),
        ),
        signal_rows(
            ctx.accounts,
            FAMILY,
            "fleet_system_prompt",
            strength,
            fleet,
            threshold,
            (
                "harvest system prompt over {:.0f} unrelated accounts sending distinct prompts "
                "(repeat ratio {:.2f}; {:.0%} of them always-on datacenter services)",
                [fleet, repeat, services],
            ),
        ),
    ]
