"""Thin accounts (a handful of requests) judged by chance at the population's own rate.

Must fire: a few-request account whose prompts are nearly all step-by-step elicitation in a
population where such prompts are rare. Must not fire: thin hobbyists with an occasional
"explain step by step", and thin students in a population where reasoning requests are
everyday traffic (the rate comes from the input, so the same count is unremarkable there).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import ExtractionDetector
from distillguard.detectors._binomial import binomial_tail


def _thin(w: World, prefix: str, k: int, n: int, cot: int, persona: str) -> None:
    for i in range(k):
        w._add(
            f"{prefix}{i:03d}",
            w.human_times(n, sessions=1),
            persona,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"{prefix}{i} q{j}" for j in range(n)],
            tag_cot=np.arange(n) < cot,
        )


def test_binomial_tail_matches_closed_forms() -> None:
    got = binomial_tail(np.array([0, 1, 5, 3]), np.array([5, 5, 5, 3]), 0.1)
    assert np.allclose(got, [1.0, 1 - 0.9**5, 0.1**5, 0.1**3])


def test_thin_accounts_asking_mostly_for_reasoning_fire_where_it_is_rare() -> None:
    w = World(seed=31)
    w.hobbyists(300)  # ~5% of their prompts ask for step-by-step reasoning
    _thin(w, "thn", 20, 4, 3, "attack_thin_member")
    _thin(w, "hob1x", 30, 5, 1, "benign_thin_hobbyist")
    out = ExtractionDetector().detect(detection_context(w.table()))
    cot = fired(out, "cot_elicitation_share")
    thin = {a for a in w.labels if a.startswith("thn")}
    assert thin <= cot
    assert not {a for a in w.labels if a.startswith("hob1x")} & cot, "one in five is chance"


def test_the_same_count_is_unremarkable_where_reasoning_is_everyday_traffic() -> None:
    w = World(seed=32)
    for i in range(300):  # a course: every student asks for worked solutions half the time
        n = int(w.rng.integers(10, 30))
        w._add(
            f"stu{i:03d}",
            w.human_times(n),
            "benign_student",
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"stu{i} q{j}" for j in range(n)],
            tag_cot=w.rng.random(n) < 0.25,
        )
    _thin(w, "new", 20, 4, 2, "benign_thin_student")
    out = ExtractionDetector().detect(detection_context(w.table()))
    assert not {a for a in w.labels if a.startswith("new")} & fired(out, "cot_elicitation_share")
