"""Benign look-alikes of the shared unusual profile (older model + off-hours clock).

Must not fire: always-on services on the older model (a flat round-the-clock clock puts a
third of any service's requests in a 23-07 night), and a heavy evaluation harness running
its nightly batch on the older model next to a real fleet. Must fire: the fleet itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, day_times, detection_context, fired, offshore_lowslow_fleet

from distillguard.detectors import CoordinationDetector


def _people(w: World, k: int) -> None:
    for i in range(k):
        n = int(w.rng.integers(25, 60))
        w._add(
            f"ppl{i:03d}",
            day_times(w, n, -6),
            "benign_people",
            model=np.where(w.rng.random(n) < 0.02, "m-old", "m-large"),
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"ppl{i} q{j}" for j in range(n)],
        )


def _always_on(w: World, k: int) -> None:
    """App backends on the older model serving their users round the clock (flat clock)."""
    for i in range(k):
        n = int(w.rng.integers(80, 160))
        w._add(
            f"svc{i:02d}",
            np.sort(w.rng.uniform(0, w.span_s, n)),
            "benign_app_backend",
            account_country=("US", "GB", "DE")[i % 3],
            model="m-old",
            ip_kind="hosting",
            client_ip=f"35.7.{i}.1",
            template_family=w.rng.integers(10_000, 10_000_000, n),
            prompt=[f"svc{i} q{j}" for j in range(n)],
        )


def test_always_on_services_on_an_older_model_are_no_operator_schedule() -> None:
    w = World(seed=11)
    _people(w, 600)  # the older model stays a minority one (< 10% of all traffic)
    _always_on(w, 14)
    svc = {a for a in w.labels if a.startswith("svc")}
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert not svc & fired(out, "shared_unusual_profile")


def test_heavy_nightly_harness_is_not_a_member_of_the_fleet_profile() -> None:
    w = World(seed=12)
    _people(w, 600)  # the older model stays a minority one (< 10% of all traffic)
    offshore_lowslow_fleet(w, 40)
    n = 900  # a nightly benchmark batch, ~28x a fleet member's volume, local 01-04
    w._add(
        "evl0",
        day_times(w, n, -6, 1, 4),
        "benign_eval_harness",
        model="m-old",
        ip_kind="hosting",
        client_ip="35.2.0.1",
        template_family=555,
        tag_cot=True,
        prompt=[f"gsm8k {j}" for j in range(n)],
    )
    out = CoordinationDetector().detect(detection_context(w.table()))
    prof = fired(out, "shared_unusual_profile")
    fleet = {a for a in w.labels if a.startswith("lsf")}
    assert len(fleet & prof) >= 0.9 * len(fleet), "the fleet still shares its profile"
    assert "evl0" not in prof
