"""Evaluators in a fleet's frame: membership of a convincing campaign lifts an account whose own
evidence is only a business backend's profile (cloud egress, unusual traffic shape) only when
a card, an IP, a burst... ties it to a proven attacker -- not through a shared template family.

Evaluation companies replay public benchmark items ("... put your final answer within
\\boxed{}") from their cloud backends; a fleet harvesting the same public sets shares that frame.
Must not fire: the evaluators (template + their own org card), nor users of an agent framework
whose only own signal is one capability (tool calls) in the framework's frame. Must fire: a fleet account on a
card shared with an attacker, whatever its own evidence, and a member with harvest evidence;
a member with no signal of its own keeps its membership signal (review, as before).
"""

from __future__ import annotations

import numpy as np

from distillguard.campaigns import CampaignParams, find_campaigns
from distillguard.detectors.base import concat_signals, signal_rows

FLEET = [f"f{i:02d}" for i in range(20)]
EVALS = [f"org{o}-{a}" for o in range(4) for a in range(4)]
AGENTS = [f"agent{i}" for i in range(6)]  #: users of an agent framework (tool calls only)


def _case(make_ctx):
    payment = {a: f"card-{a}" for a in FLEET} | {a: f"card-{a[:4]}" for a in EVALS}
    payment |= {"thin": "card-f00", "thin_cot": "card-thin_cot", "quiet": "card-quiet"}
    members = [*FLEET, *EVALS, *AGENTS, "thin", "thin_cot", "quiet"]
    ctx = make_ctx(members, payment, [(a, "frame") for a in members], 3000)
    acc = np.asarray(ctx.features["account_id"].to_pylist(), dtype=object)

    def rows(family: str, signal: str, who: list[str], strength: float = 1.0):
        s = np.where(np.isin(acc, who), strength, 0.0)
        return signal_rows(acc, family, signal, s, s, 0.5, signal)

    signals = concat_signals(
        [
            rows("extraction", "cot_elicitation_share", [*FLEET, "thin_cot"]),
            rows("coordination", "shared_harvest_template", FLEET),
            rows("automation", "hosting_egress", [*EVALS, "thin"]),
            rows("traffic", "output_ratio_outlier", EVALS[:5], 0.9),
            rows("extraction", "narrow_capability", AGENTS),
            # two orgs' seats share their company card: a weak shared_payment of their own
            rows("coordination", "shared_payment", EVALS[:8], 0.5),
        ]
    )
    return ctx, signals


def _verdicts(ctx, signals, params: CampaignParams | None = None) -> dict[str, str]:
    acc = ctx.features["account_id"].to_pylist()
    out = find_campaigns(ctx, signals, params=params, only=set(acc))
    return dict(zip(out.scored["account_id"].tolist(), out.scored["verdict"].tolist(), strict=True))


def test_evaluators_in_a_fleet_frame_are_not_lifted(make_ctx) -> None:
    ctx, signals = _case(make_ctx)
    v = _verdicts(ctx, signals)
    assert all(v[a] == "attack" for a in FLEET)
    assert {v[a] for a in EVALS} == {"suspicious"}, "cloud egress (+ its own card) + a public frame is no ban"
    assert "attack" not in {v[a] for a in AGENTS}, "one capability + a popular frame is no ban"
    assert v["thin"] == "attack", "cloud egress only, but on an attacker's card: one customer"
    assert v["thin_cot"] == "attack", "harvest evidence of its own: the membership lift applies"
    assert v["quiet"] == "suspicious", "no signal of its own: membership still sends it to review"


def test_rule_off_lifts_the_evaluators(make_ctx) -> None:
    ctx, signals = _case(make_ctx)
    off = CampaignParams(backend_families=(), backend_signals=())
    v = _verdicts(ctx, signals, off)
    assert {v[a] for a in EVALS} == {"attack"}
    assert {v[a] for a in AGENTS} == {"attack"}


def test_seats_on_the_company_card_are_a_backend_profile_too(make_ctx) -> None:
    """Without ``shared_payment`` among the backend signals, the evaluators whose seats share
    their company card are lifted through the fleet's frame (3 of 327 on holdout3 seed 1)."""
    ctx, signals = _case(make_ctx)
    old = CampaignParams(backend_signals=("hosting_egress", "narrow_capability"))
    v = _verdicts(ctx, signals, old)
    assert {v[a] for a in EVALS[:8]} == {"attack"}
    assert {v[a] for a in EVALS[8:]} == {"suspicious"}
