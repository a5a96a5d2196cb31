"""Standalone reasoning exchanges (an adaptive harvest's one-shot items under conversational cover).

Must fire: a fleet of unrelated accounts (own card, own network each) whose reasoning requests
each open a fresh conversation while their chat cover converses in threads -- per account
(``standalone_reasoning``, traffic) and as a cohort (``standalone_cohort``, coordination), so it
ends ``attack``. Must not fire: people who follow up on reasoning answers in the conversation,
one-shot pipelines that never converse, a couple of people with the habit (no cohort), and a
cohort too small to be more than habit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import CoordinationDetector, TrafficDetector, run_detectors
from distillguard.scoring import score_accounts


def _threads(n: int, per: int, prefix: str) -> list[str]:
    return [f"{prefix}-c{i // per}" for i in range(n)]


def _people(w: World, k: int) -> None:
    """Chat and reasoning in the same threads (people follow up on reasoning answers)."""
    for i in range(k):
        n = int(w.rng.integers(40, 90))
        w._add(
            f"ppl{i:03d}",
            w.human_times(n),
            "benign_people",
            reasoning_output_tokens=np.where(w.rng.random(n) < 0.4, w.rng.integers(100, 900, n), 0),
            conversation_id=_threads(n, 4, f"ppl{i}"),
        )


def _pipelines(w: World, k: int) -> None:
    """One-shot API pipelines: every request its own conversation, to every model."""
    for i in range(k):
        n = int(w.rng.integers(80, 150))
        w._add(
            f"pip{i:02d}",
            np.sort(w.rng.uniform(0, w.span_s, n)),
            "benign_pipeline",
            reasoning_output_tokens=np.where(w.rng.random(n) < 0.6, w.rng.integers(100, 900, n), 0),
            conversation_id=[f"pip{i}-{j}" for j in range(n)],
            ip_kind="hosting",
        )


def _split(w: World, prefix: str, k: int, persona: str) -> None:
    """Chat cover in threads of four, every reasoning request a fresh one-request conversation."""
    for i in range(k):
        cover, harvest = int(w.rng.integers(40, 60)), int(w.rng.integers(40, 60))
        n = cover + harvest
        is_h = np.zeros(n, dtype=bool)
        is_h[w.rng.permutation(n)[:harvest]] = True
        conv = np.array(_threads(n, 4, f"{prefix}{i}"), dtype=object)
        conv[is_h] = [f"{prefix}{i}-h{j}" for j in range(harvest)]
        w._add(
            f"{prefix}{i:03d}",
            w.human_times(n),
            persona,
            reasoning_output_tokens=np.where(is_h, w.rng.integers(300, 2000, n), 0),
            conversation_id=conv.tolist(),
            client_ip=f"73.{20 + i}.{i}.9",
            asn=7922 + i,
        )


def _world(fleet: int, habit: int = 2) -> World:
    w = World(seed=7)
    _people(w, 200)
    _pipelines(w, 12)
    _split(w, "hab", habit, "benign_habit")
    _split(w, "adf", fleet, "attack_adaptive")
    return w


def test_fleet_of_standalone_harvesters_is_an_attack_and_look_alikes_are_not() -> None:
    w = _world(fleet=30)
    ctx = detection_context(w.table())
    traffic = TrafficDetector().detect(ctx)
    coord = CoordinationDetector().detect(ctx)
    fleet, people, pipes = w.accounts("adf"), w.accounts("ppl"), w.accounts("pip")
    assert fleet <= fired(traffic, "standalone_reasoning")
    assert fleet <= fired(coord, "standalone_cohort")
    for benign in (people, pipes):
        assert not benign & fired(traffic, "standalone_reasoning")
        assert not benign & fired(coord, "standalone_cohort")
    scored = score_accounts(ctx.features, run_detectors(ctx))
    verdict = dict(zip(scored["account_id"].tolist(), scored["verdict"].tolist(), strict=True))
    assert all(verdict[a] == "attack" for a in fleet)
    assert not [a for a in people | pipes if verdict[a] == "attack"]


def test_a_handful_with_the_habit_is_no_cohort() -> None:
    w = _world(fleet=0, habit=4)
    ctx = detection_context(w.table())
    habit = w.accounts("hab")
    assert habit <= fired(TrafficDetector().detect(ctx), "standalone_reasoning")
    assert not fired(CoordinationDetector().detect(ctx), "standalone_cohort")
    scored = score_accounts(ctx.features, run_detectors(ctx))
    assert "attack" not in set(scored["verdict"].tolist())
