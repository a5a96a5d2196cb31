"""The injected-prompt lift: a relay operator whose own traffic is an attack but for
cross-account evidence, and whose harvest system prompt shows up in a hijacked key's traffic
and nobody else's, is an attack.

Must fire: the operator (datacenter egress + CoT share of its own, its prompt sent otherwise
only by a proven attacker). Must not: a tutoring backend with the same own profile whose
prompt is its own; one whose prompt a benign customer sends too; an account with only one
family of its own evidence; anyone when the rule is off.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from distillguard.campaigns import CampaignParams, find_campaigns
from distillguard.detectors.base import concat_signals, signal_rows

#: system prompt hash -> accounts whose traffic carries it
PROMPTS = {
    0x51: ["relay_op", "victim"],  # the operator's injection, seen in one stolen key's traffic
    0x52: ["tutor"],  # a tutoring app's own "explain step by step" prompt
    0x53: ["tutor_shared", "victim2", "customer"],  # a prompt a benign customer sends too
    0x54: ["thin", "victim3"],  # shared with a proven attacker, but thin own evidence
}
SERVICE = ["relay_op", "tutor", "tutor_shared"]  #: own evidence: cloud service asking for CoT


def _case(make_ctx):
    names = sorted({a for v in PROMPTS.values() for a in v})
    ctx = make_ctx(names, {}, [], 3000)
    # as the coordination detector caches them: groups of 3+ payers link accounts in the
    # graph, smaller ones are kept apart for this lift only
    for key, big in (("system_prompts", True), ("system_prompt_pairs", False)):
        rows = [(a, sh) for sh, accs in PROMPTS.items() if (len(accs) >= 3) == big for a in accs]
        ctx.cache[key] = pa.table(
            {
                "account_id": pa.array([a for a, _ in rows], pa.string()),
                "sh": pa.array([sh for _, sh in rows], pa.uint64()),
            }
        )
    acc = np.asarray(ctx.features["account_id"].to_pylist(), dtype=object)

    def sig(family: str, signal: str, who: list[str], strength: float = 1.0):
        s = np.where(np.isin(acc, who), strength, 0.0)
        return signal_rows(acc, family, signal, s, s, 0.5, signal)

    victims = ["victim", "victim2", "victim3"]
    signals = concat_signals(
        [
            # hijacked keys: harvest through the relay's hosts, shared with its other keys
            sig("coordination", "shared_infra", victims),
            sig("extraction", "cot_elicitation_share", [*victims, *SERVICE, "thin"]),
            sig("automation", "hosting_egress", SERVICE),
        ]
    )
    return ctx, signals


def _run(ctx, signals, params: CampaignParams | None = None):
    acc = ctx.features["account_id"].to_pylist()
    out = find_campaigns(ctx, signals, params=params, only=set(acc))
    verdict = dict(zip(out.scored["account_id"].tolist(), out.scored["verdict"].tolist(), strict=True))
    reasons = dict(zip(out.scored["account_id"].tolist(), out.scored["reasons"], strict=True))
    return verdict, reasons


def test_operator_whose_prompt_only_a_proven_attacker_sends_is_lifted(make_ctx) -> None:
    v, reasons = _run(*_case(make_ctx))
    assert {v[a] for a in ("victim", "victim2", "victim3")} == {"attack"}
    assert v["relay_op"] == "attack" and reasons["relay_op"][-1] == "injected_prompt"


def test_lookalikes_stay_in_review(make_ctx) -> None:
    v, _ = _run(*_case(make_ctx))
    assert v["tutor"] == "suspicious", "same own profile, its prompt is its own"
    assert v["tutor_shared"] == "suspicious", "a benign customer sends its prompt too"
    assert v["thin"] == "suspicious", "one family of its own: the prompt is no substitute"
    assert v["customer"] == "clear"


def test_rule_off_leaves_the_operator_in_review(make_ctx) -> None:
    v, _ = _run(*_case(make_ctx), CampaignParams(prompt_kinds=()))
    assert v["relay_op"] == "suspicious"
