"""Replacement chains: accounts on one card opened as another account on it fell silent.

Must fire: a hydra slot on one card, each account opened minutes before the previous one's
last request and carrying on from there -- with or without prompt text. Must not fire: a
family card whose members all stay active, a team that replaced one departed member's seat
once, nor an account that merely stopped near the end of the input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import DAY, T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

HOUR = 3600.0


def _slot(w: World, prefix: str, card: str, cuts: list[float], opened_before_h: float = 0.3) -> None:
    """One account per interval between ``cuts`` (seconds), each opened ``opened_before_h``
    before it takes over (the previous account's last request)."""
    for i, (lo, hi) in enumerate(itertools.pairwise(cuts)):
        n = 60
        times = np.sort(w.rng.uniform(lo, hi, n))
        times[0], times[-1] = lo, hi  # starts where the last one stopped
        w._add(
            f"{prefix}{i}",
            times,
            "attack_hydra",
            payment_fingerprint=card,
            account_created_at=T0 + dt.timedelta(seconds=lo - opened_before_h * HOUR),
            client_ip=[f"73.{i}.{j % 200}.{j % 7 + 1}" for j in range(n)],
        )


def _family(w: World, k: int) -> None:
    """A family's accounts on one card, opened months apart, each active all along."""
    for i in range(k):
        w._add(
            f"fam{i}",
            w.human_times(50),
            "benign_family_card",
            payment_fingerprint="card-family",
            account_created_at=T0 - dt.timedelta(days=30.0 * (i + 1)),
        )


def _world() -> World:
    w = World(seed=71, span_s=6 * DAY)
    w.hobbyists(80)
    _family(w, 4)
    return w


def test_a_replacement_chain_on_one_card_fires_with_and_without_text() -> None:
    w = _world()
    _slot(w, "hyd", "card-hydra", [0.0, 1.1 * DAY, 2.0 * DAY, 3.4 * DAY, 6 * DAY - 1])
    hydra = w.accounts("hyd")
    for text in (True, False):
        out = fired(
            CoordinationDetector().detect(detection_context(w.table(), has_prompts=text)), "replacement_chain"
        )
        assert hydra <= out, f"has_prompts={text}"
        assert not w.accounts("fam") & out


def test_one_replaced_seat_is_a_customers_new_seat() -> None:
    """A team member leaves and a new seat is opened the same hour: one handoff, no chain."""
    w = _world()
    _slot(w, "seat", "card-team", [0.0, 2.5 * DAY, 6 * DAY - 1])
    out = fired(CoordinationDetector().detect(detection_context(w.table())), "replacement_chain")
    assert not w.accounts("seat") & out
    one = dataclasses.replace(CoordinationDetector.Params(), replacement_min_handoffs=1)
    out = fired(CoordinationDetector(one).detect(detection_context(w.table())), "replacement_chain")
    assert w.accounts("seat") <= out, "the handoff itself is found"


def test_accounts_opened_long_before_the_previous_one_stopped_are_no_replacement() -> None:
    """Same card, accounts opened a day before each took over: seats added ahead of need."""
    w = _world()
    _slot(w, "early", "card-early", [0.0, 1.1 * DAY, 2.2 * DAY, 3.4 * DAY, 6 * DAY - 1], opened_before_h=24.0)
    out = fired(CoordinationDetector().detect(detection_context(w.table())), "replacement_chain")
    assert not w.accounts("early") & out
