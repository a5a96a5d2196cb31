"""Strangers on a common schedule are not a fleet in lockstep.

Must not fire (``synchronized``): unrelated users of one agent framework, each on its own
card and network, signed up whenever each did, whose jobs happen to run in the same two
windows (the framework tutorial's cron example), on the framework's popular step templates.
Must fire: the same co-activity from accounts opened within a few days (a fleet's
orchestrator dispatching one batch to its accounts at once).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import DAY, T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

STEPS = np.arange(880_001, 880_009)  # the framework's step templates (popular)
WINDOWS = (0.4 * DAY, 1.4 * DAY)  # two windows everyone in the group runs in


def _framework_users(w: World, k: int, n: int = 60) -> None:
    """The popular templates' everyday users: own times, own cards, signups over two years."""
    for i in range(k):
        w._add(
            f"fwk{i:02d}",
            w.human_times(n),
            "benign_agent_framework",
            client_ip=f"73.{i}.2.1",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 700))),
            template_family=w.rng.choice(STEPS, n),
            prompt=[f"fwk{i} task {j}" for j in range(n)],
        )


def _co_timed(w: World, k: int, prefix: str, *, cohort: bool, per_window: int = 12) -> None:
    """``k`` accounts each active only in the two shared windows, over the step templates."""
    for i in range(k):
        times = np.concatenate([t + np.sort(w.rng.uniform(0, 240, per_window)) for t in WINDOWS])
        age = w.rng.uniform(3, 5) if cohort else w.rng.uniform(10, 700)
        w._add(
            f"{prefix}{i:02d}",
            times,
            "attack_fleet" if cohort else "benign_agent_framework",
            client_ip=f"98.{i}.3.3",
            account_created_at=T0 - dt.timedelta(days=float(age)),
            template_family=np.resize(STEPS, len(times)),
            prompt=[f"{prefix}{i} job {j}" for j in range(len(times))],
        )


def _world(seed: int, *, cohort: bool) -> World:
    w = World(seed=seed)
    w.hobbyists(80)
    _framework_users(w, 60)
    _co_timed(w, 8, "grp", cohort=cohort)
    return w


def _group(w: World) -> set[str]:
    return w.accounts("grp")


def test_strangers_on_a_common_schedule_are_not_in_lockstep() -> None:
    w = _world(81, cohort=False)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert not _group(w) & fired(out, "synchronized")
    # the signup spread is what clears them: judged as a cohort, they would be in lockstep
    p = dataclasses.replace(CoordinationDetector.Params(), sync_cohort_max_spread=1e6)
    out = CoordinationDetector(p).detect(detection_context(w.table()))
    assert _group(w) <= fired(out, "synchronized")


def test_a_cohort_dispatched_together_is_in_lockstep() -> None:
    w = _world(82, cohort=True)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert _group(w) <= fired(out, "synchronized")
