"""Metadata-only older-model signup wave (``coordination._wave``).

``arbitrage_wave`` must fire on a thin fleet of unrelated payers opened over the same weeks
that sends most of its few requests to an older model, with or without prompt text, and must
stay quiet on long-standing customers who kept the older model (a cohort effect), on a class
told to use it behind one campus network, on recent customers who use it now and then, and on
ordinary recent signups. End to end without text, the fleet's members lift one another once
a few of them are proven on their own, while the customers stay below attack.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import DAY, T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

WAVE = T0 - dt.timedelta(days=30)


def _models(w: World, n: int, old_share: float) -> np.ndarray:
    return np.where(w.rng.random(n) < old_share, "m-old", "m-large")


def _fleet(w: World, k: int, rotate: int = 0) -> None:
    """Fresh accounts opened over ten days, one card each, five or six requests, mostly the old model;
    the first ``rotate`` of them send ten, each through another proxy network (their own
    automation evidence)."""
    for i in range(k):
        n = 10 if i < rotate else int(w.rng.integers(5, 7))
        models = _models(w, n, 0.8)
        models[:3] = "m-old"  # a majority on the old model, as the operator aims it
        ips = [f"{60 + j}.{i}.{j}.7" for j in range(n)] if i < rotate else f"71.{i}.2.3"
        w._add(
            f"wav{i:02d}",
            w.human_times(n),
            "attack_wave",
            model=models,
            account_created_at=WAVE + dt.timedelta(hours=float(w.rng.uniform(0, 240))),
            client_ip=ips,
        )


def _long_standing(w: World, k: int) -> None:
    """Customers of two years ago who kept the model of their signup year."""
    for i in range(k):
        n = 30
        times = w.human_times(n)
        times[0] = 60.0 * (i + 1)  # the old model is in use from the input's start
        w._add(
            f"old{i}",
            np.sort(times),
            "benign_legacy",
            model=_models(w, n, 0.9),
            account_created_at=T0 - dt.timedelta(days=700 + 3 * i),
            client_ip=f"82.{i}.5.6",
        )


def _class(w: World, k: int) -> None:
    """A class told to use the older, cheaper model, opened in one week behind the campus NAT."""
    for i in range(k):
        w._add(
            f"cls{i}",
            w.human_times(12),
            "benign_class",
            model=_models(w, 12, 0.9),
            account_created_at=WAVE + dt.timedelta(days=2, minutes=5 * i),
            client_ip="128.32.7.1",
        )


def _recent_customers(w: World, k: int) -> None:
    """Ordinary recent signups, a few of whom use the older model now and then."""
    for i in range(k):
        n = int(w.rng.integers(5, 30))
        w._add(
            f"new{i:02d}",
            w.human_times(n),
            "benign_new",
            model=_models(w, n, 0.1),
            account_created_at=WAVE + dt.timedelta(days=float(w.rng.uniform(-20, 25))),
            client_ip=f"66.{i}.3.4",
        )


def _world(seed: int, rotate: int = 0) -> World:
    w = World(seed=seed, span_s=3 * DAY)
    w.hobbyists(300)
    _fleet(w, 30, rotate)
    _long_standing(w, 12)
    _class(w, 12)
    _recent_customers(w, 40)
    return w


@pytest.fixture(scope="module", params=[True, False], ids=["text", "metadata-only"])
def signals(request):
    w = _world(31)
    return w, CoordinationDetector().detect(detection_context(w.table(), has_prompts=request.param))


def test_fires_on_a_thin_fleet_steering_to_the_old_model(signals) -> None:
    w, sig = signals
    assert w.accounts("wav") <= fired(sig, "arbitrage_wave")


def test_quiet_on_legacy_customers_a_class_and_recent_signups(signals) -> None:
    w, sig = signals
    hit = fired(sig, "arbitrage_wave")
    customers = w.accounts("old") | w.accounts("cls") | w.accounts("new") | w.accounts("hob")
    assert not hit & customers


def test_evidence_states_the_chance_and_the_rate(signals) -> None:
    _, sig = signals
    rows = [
        (e, v, t)
        for e, s, v, t in zip(
            sig["evidence"].to_pylist(),
            sig["signal"].to_pylist(),
            sig["value"].to_pylist(),
            sig["threshold"].to_pylist(),
            strict=True,
        )
        if s == "arbitrage_wave"
    ]
    assert rows and all("chance" in e and "rate" in e and v >= t for e, v, t in rows)


def test_without_a_wave_nothing_fires() -> None:
    """The same customers without the fleet: the older model's users are no wave."""
    w = World(seed=37, span_s=3 * DAY)
    w.hobbyists(300)
    _long_standing(w, 12)
    _class(w, 12)
    _recent_customers(w, 40)
    sig = CoordinationDetector().detect(detection_context(w.table(), has_prompts=False))
    assert not fired(sig, "arbitrage_wave")


def test_metadata_only_verdicts_lift_the_wave_not_the_customers() -> None:
    """End to end without prompt text: members proven on their own (the wave plus their own
    proxy rotation) lift the rest of the wave through its links; no customer is an attack."""
    from distillguard.campaigns import find_campaigns
    from distillguard.detectors import run_detectors

    w = _world(41, rotate=8)
    ctx = detection_context(w.table(), has_prompts=False)
    res = find_campaigns(ctx, run_detectors(ctx))
    verdict = dict(zip(res.scored["account_id"].tolist(), res.scored["verdict"].tolist(), strict=True))
    wave = w.accounts("wav")
    assert sum(verdict[a] == "attack" for a in wave) >= 0.9 * len(wave)
    customers = w.accounts("old") | w.accounts("cls") | w.accounts("new") | w.accounts("hob")
    assert not [a for a in customers if verdict[a] == "attack"]
