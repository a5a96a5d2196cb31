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
    if rows.num_rows:
        pos = ctx.positions(rows["aid"].to_numpy())
        pays = rows["payments"].to_numpy(zero_copy_only=False).astype(float)
        ratio = _repeat_ratio(ctx, rows)
        distinct = (ratio <= p.system_max_repeat) & (pays >= p.fleet_min_payments)
        np.maximum.at(fleet, pos, np.where(distinct, pays, 0.0))
        np.maximum.at(weak, pos, np.where(distinct, 0.0, pays))
        np.maximum.at(repeat, pos, np.where(distinct, ratio, 0.0))
    ctx.cache["system_prompts"] = pa.table(
        {"account_id": pa.array(ids(ctx, rows["aid"]).tolist(), pa.string()), "sh": rows["sh"]}
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
