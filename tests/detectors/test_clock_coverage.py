"""Night shares need a full day of input.

Two hours of logs from 00:00 UTC are night in Europe for every European customer: an early
replay checkpoint or a short ``--as-of`` cut must not call them night owls (a membership
lift then turned such hobbyists into attacks at early checkpoints). Must fire: a real night
worker once the input spans days. Must not: the same evening users on a two-hour input.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import DAY, World, detection_context, fired

from distillguard.detectors import AutomationDetector

HOUR = 3600.0


def _world(span_s: float) -> World:
    """US customers in their evening and German customers at 01-02 local, every day of the
    span (00:00-01:00 UTC)."""
    w = World(seed=81, span_s=span_s)
    days = max(1, int(span_s // DAY))
    for i in range(80):
        n = 30
        t = w.rng.integers(0, days, n) * DAY + w.rng.uniform(0, min(span_s, 1 * HOUR), n)
        w._add(f"us{i:02d}", np.sort(t), "benign_evening", account_country="US", ip_country="US")
    for i in range(8):
        n = 30
        t = w.rng.integers(0, days, n) * DAY + w.rng.uniform(0, min(span_s, 1 * HOUR), n)
        w._add(f"de{i}", np.sort(t), "benign_night_owl", account_country="DE", ip_country="DE")
    return w


def _night(w: World, params: AutomationDetector.Params | None = None) -> set[str]:
    det = AutomationDetector(params) if params else AutomationDetector()
    return fired(det.detect(detection_context(w.table())), "off_hours_activity")


def test_two_hours_of_input_say_nothing_about_night_work() -> None:
    w = _world(2 * HOUR)
    assert not _night(w)
    # the same input judged regardless of its span: everyone in Germany is a night owl
    blind = dataclasses.replace(AutomationDetector.Params(), off_hours_min_input_h=0.0)
    assert w.accounts("de") <= _night(w, blind)


def test_night_workers_fire_once_the_input_spans_days() -> None:
    w = _world(3 * DAY)
    assert w.accounts("de") <= _night(w)
    assert not w.accounts("us") & _night(w)
