"""An app wrapping its users' questions in a popular reasoning frame that a fleet also uses.

Must not be a fleet member: the app sends many times a fleet member's volume in the frame
(a heavy independent user). Must be: the fleet's many similar small members.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import CoordinationDetector

FRAME = 60_606


def test_heavy_app_in_a_fleet_frame_is_not_a_member() -> None:
    w = World(seed=41)
    w.hobbyists(150)
    for i in range(30):
        n = int(w.rng.integers(25, 40))
        w._add(
            f"flt{i:02d}",
            w.human_times(n),
            "attack_fleet",
            template_family=FRAME,
            tag_cot=True,
            prompt=[f"flt{i} task {j}" for j in range(n)],
            client_ip=f"73.{i}.{i}.9",
        )
    for i in range(4):
        n = 900
        framed = w.rng.random(n) < 0.5
        w._add(
            f"app{i}",
            w.regular_times(n, 60.0, 0.8),
            "benign_reasoning_app",
            ip_kind="hosting",
            client_ip=f"35.9.{i}.1",
            template_family=np.where(framed, FRAME, w.rng.integers(10_000, 10_000_000, n)),
            tag_cot=framed,
            prompt=[f"app{i} user question {j}" for j in range(n)],
        )
    out = CoordinationDetector().detect(detection_context(w.table()))
    members = fired(out, "shared_harvest_template") | fired(out, "shared_template")
    fleet = {a for a in w.labels if a.startswith("flt")}
    assert len(fleet & members) >= 0.9 * len(fleet)
    assert not {a for a in w.labels if a.startswith("app")} & members
