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
through datacenter IPs they share with other payers of the group (:data:`SHARED_EGRESS`). A
diverse user base with its own egress gets no coordination signal from the system prompt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from distillguard.detectors.base import DetectionContext, ramp, signal_rows
from distillguard.detectors.coordination import _partials, _queries
from distillguard.detectors.coordination._network import ids

FAMILY = "coordination"

#: (system prompt, prompt, account, interval) counts of the candidate groups (system prompts
#: several payers use, already pruned by ``_partials.SYSTEM``), built once per input.
PROMPTS_PARTIAL = """
CREATE OR REPLACE TEMP TABLE {src}_sysph AS
SELECT system_hash AS sh, prompt_hash AS h, aid, cp, count(*) AS c FROM {src} e
SEMI JOIN (SELECT DISTINCT sh FROM {src}_sys) k ON e.system_hash = k.sh
WHERE e.prompt_hash IS NOT NULL GROUP BY ALL
"""

#: Mean number of accounts sending each prompt under a system prompt, as of checkpoint k
#: (weighted by how often the prompt is sent).
ACCOUNTS_PER_PROMPT = """
WITH ph AS (
  SELECT sh, h, count(DISTINCT aid) AS a, sum(c) AS c FROM {src}_sysph WHERE cp <= {k} GROUP BY sh, h
)
SELECT sh, sum(a * c) / sum(c) AS app FROM ph GROUP BY sh ORDER BY sh
"""


#: (system prompt, datacenter IP, account, interval) counts of the candidate groups.
EGRESS_PARTIAL = """
CREATE OR REPLACE TEMP TABLE {src}_sysip AS
SELECT system_hash AS sh, client_ip AS ip, aid, cp, count(*) AS c FROM {src} e
SEMI JOIN (SELECT DISTINCT sh FROM {src}_sys) k ON e.system_hash = k.sh
WHERE e.client_ip IS NOT NULL AND e.ip_kind = 'hosting' GROUP BY ALL
"""

#: Per system prompt, as of checkpoint k: the share of its payers that call through a
#: datacenter IP at least {min_payers} of its payers use (a relay's hosts carry some of every
#: customer's calls, whatever else each customer uses). Only datacenter addresses count:
#: residential, mobile and campus NATs are shared by strangers by design.
SHARED_EGRESS = """
WITH x AS (
  SELECT s.sh, s.ip, coalesce(a.payment, a.account_id) AS pay
  FROM {src}_sysip s JOIN {src}_attr a USING (aid) WHERE s.cp <= {k} GROUP BY ALL
), ipg AS (SELECT sh, ip FROM x GROUP BY sh, ip HAVING count(DISTINCT pay) >= {min_payers}),
linked AS (SELECT x.sh, count(DISTINCT x.pay) AS lp FROM x SEMI JOIN ipg USING (sh, ip) GROUP BY x.sh),
tot AS (
  SELECT s.sh, count(DISTINCT coalesce(a.payment, a.account_id)) AS p
  FROM {src}_sys s JOIN {src}_attr a USING (aid) WHERE s.cp <= {k} GROUP BY s.sh
)
SELECT tot.sh, coalesce(linked.lp, 0) / tot.p AS shared FROM tot LEFT JOIN linked USING (sh) ORDER BY tot.sh
"""


def _per_group(keys: np.ndarray, vals: np.ndarray, uniq: np.ndarray, fill: float) -> np.ndarray:
    """``vals`` (keyed by sorted ``keys``) looked up for every group in ``uniq``."""
    out = np.full(len(uniq), fill)
    if len(keys):
        pos = np.searchsorted(keys, uniq)
        ok = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == uniq)
        out[ok] = vals[pos[ok]]
    return out


def _cohort_spread_days(ctx: DetectionContext, rows: pa.Table, min_known: int) -> np.ndarray:
    """Per row of ``rows``: inter-quartile range (days) of its group's account signup dates.

    The IQR, not the range, so a fleet that adds a few aged accounts is still a cohort and a
    user base with a few fresh signups is still spread. Groups with fewer than ``min_known``
    known signup dates get +inf: no evidence of a cohort.
    """
    sh = rows["sh"].to_numpy(zero_copy_only=False)
    created = ctx.features.column("created_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
    created = np.asarray(created, dtype=np.float64)[ctx.positions(rows["aid"].to_numpy())]
    uniq, inv = np.unique(sh, return_inverse=True)
    spread = np.full(len(uniq), np.inf)
    for g in range(len(uniq)):  # one iteration per candidate system prompt (a handful)
        c = created[(inv == g) & np.isfinite(created)]
        if len(c) >= min_known:
            q1, q3 = np.percentile(c, [25, 75])
            spread[g] = (q3 - q1) / 86_400e6
    return spread[inv]


def _shared_egress(ctx: DetectionContext, rows: pa.Table, min_payers: int) -> np.ndarray:
    """Per row of ``rows``: share of its group's payers behind a datacenter IP shared with others."""
    table = _queries.run(ctx, SHARED_EGRESS, min_payers=min_payers)
    sh = rows["sh"].to_numpy(zero_copy_only=False)
    uniq, inv = np.unique(sh, return_inverse=True)
    keys = table["sh"].to_numpy(zero_copy_only=False)
    vals = table["shared"].cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
    return _per_group(keys, vals, uniq, 0.0)[inv]


def _repeat_ratio(ctx: DetectionContext, rows: pa.Table) -> np.ndarray:
    """Per row of ``rows``: accounts-per-prompt of its system prompt / the group's accounts."""
    if not rows.num_rows:
        return np.zeros(0)
    app = _queries.run(ctx, ACCOUNTS_PER_PROMPT)
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
    _partials.ensure(ctx, "system", _partials.SYSTEM, min_payments=p.system_min_payments)
    _partials.ensure(ctx, "system_prompts", PROMPTS_PARTIAL, min_payments=p.system_min_payments)
    _partials.ensure(ctx, "system_egress", EGRESS_PARTIAL, min_payments=p.system_min_payments)
    rows = _queries.run(
        ctx,
        _queries.SYSTEM,
        devoted_share=p.devoted_share,
        harvest_share=p.harvest_family_share,
        min_payments=p.system_min_payments,
    )
    n = ctx.features.num_rows
    weak = np.zeros(n)
    fleet = np.zeros(n)
    repeat = np.zeros(n)
    linking = np.ones(rows.num_rows, dtype=bool)
    if rows.num_rows:
        pos = ctx.positions(rows["aid"].to_numpy())
        pays = rows["payments"].to_numpy(zero_copy_only=False).astype(float)
        ratio = _repeat_ratio(ctx, rows)
        distinct = (ratio <= p.system_max_repeat) & (pays >= p.fleet_min_payments)
        spread = _cohort_spread_days(ctx, rows, p.system_cohort_min_known)
        egress = _shared_egress(ctx, rows, p.system_egress_min_payers)
        fleetlike = (spread <= p.system_cohort_max_iqr_days) | (egress >= p.system_min_shared_egress)
        np.maximum.at(fleet, pos, np.where(distinct & fleetlike, pays, 0.0))
        # a diverse user base sending distinct prompts under a tool's system prompt: nothing
        np.maximum.at(weak, pos, np.where(distinct, 0.0, pays))
        np.maximum.at(repeat, pos, np.where(distinct, ratio, 0.0))
        linking = ~(distinct & ~fleetlike)
    # the campaign graph links accounts by these groups: a tool's user base links nobody
    kept = rows.filter(pa.array(linking))
    ctx.cache["system_prompts"] = pa.table(
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
            ramp(fleet, p.fleet_min_payments, p.fleet_full_payments),
            fleet,
            p.fleet_min_payments,
            (
                "harvest system prompt over {:.0f} unrelated accounts sending distinct prompts "
                "(repeat ratio {:.2f})",
                [fleet, repeat],
            ),
        ),
    ]
