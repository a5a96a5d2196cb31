"""The verdict rules: corroboration across families, cross-account evidence, replay schedule."""

from __future__ import annotations

import datetime as dt

import numpy as np

from distillguard.detectors.base import FAMILIES
from distillguard.scoring import ReplaySchedule, ScoringParams, replay_schedule, verdicts


def _fam(**scores: float) -> np.ndarray:
    row = np.zeros((1, len(FAMILIES)))
    for k, v in scores.items():
        row[0, FAMILIES.index(k)] = v
    return row


def test_single_family_never_attack() -> None:
    p = ScoringParams()
    for fam in FAMILIES:
        score, verdict = verdicts(_fam(**{fam: 1.0}), p)
        assert verdict[0] != "attack", fam
        assert score[0] <= p.family_cap + 1e-9


def test_two_families_without_cross_account_evidence_is_not_attack() -> None:
    """Batch jobs: abnormal traffic + automation, but nothing shared with other customers."""
    _, verdict = verdicts(_fam(traffic=1.0, automation=1.0, extraction=1.0), ScoringParams())
    assert verdict[0] == "suspicious"


def test_corroborated_cross_account_is_attack() -> None:
    score, verdict = verdicts(_fam(coordination=0.9, extraction=0.8), ScoringParams())
    assert verdict[0] == "attack" and 0.7 <= score[0] <= 1.0


def test_campaign_member_needs_its_own_suspicion() -> None:
    p = ScoringParams()
    member = np.array([True])
    _, v_weak = verdicts(_fam(automation=0.3), p, member)
    _, v_susp = verdicts(_fam(coordination=0.8), p, member)
    assert v_weak[0] != "attack" and v_susp[0] == "attack"


def test_replay_schedule_dense_early_and_bounded() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cps = replay_schedule(start, start + dt.timedelta(days=8), ReplaySchedule())
    steps = np.diff([c.timestamp() for c in cps]) / 3600
    assert steps[0] == 2.0 and steps[-1] == 12.0
    assert all(start < c < start + dt.timedelta(days=8) for c in cps)
    assert len(replay_schedule(start, start + dt.timedelta(days=400), ReplaySchedule())) == 64


def test_benchmark_tool_system_prompt_is_not_alone_cross_account_evidence() -> None:
    """An evaluation harness: a shared harvest-style system prompt whose prompts repeat across
    accounts (``shared_system_prompt``), CoT on every request, no think time. It shares one
    benign-explainable thing, so it scores but stays below attack until a second,
    independent cross-account signal (a card shared by accounts running one job here)
    corroborates it."""
    import pyarrow as pa

    from distillguard.detectors.base import concat_signals, signal_rows
    from distillguard.scoring import score_accounts

    acc = np.array(["harness"], dtype=object)
    one = np.ones(1)
    base = [
        signal_rows(acc, "coordination", "shared_system_prompt", one, one * 27, 3, "shared"),
        signal_rows(acc, "extraction", "cot_elicitation_share", one, one, 0.3, "cot"),
        signal_rows(acc, "automation", "machine_timing", one, one, 0.5, "timing"),
        # a weak lockstep with two other harness accounts (both run the nightly suite)
        signal_rows(acc, "coordination", "synchronized", one * 0.5, one * 2, 2, "lockstep"),
    ]
    features = pa.table({"account_id": pa.array(acc.tolist(), pa.string())})
    alone = score_accounts(features, concat_signals(base))
    coordination = alone["families"][0, FAMILIES.index("coordination")]
    assert coordination >= ScoringParams().family_fire  # it does count in the score
    assert alone["verdict"][0] == "suspicious"
    card = signal_rows(acc, "coordination", "shared_payment", one, one * 6, 3, "card")
    assert score_accounts(features, concat_signals([*base, card]))["verdict"][0] == "attack"
