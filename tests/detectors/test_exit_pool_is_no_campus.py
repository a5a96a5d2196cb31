"""A fleet hopping through one pool of VPN exits is not a campus behind one NAT.

Must fire: fleet members that each send their requests through a random exit of a shared
VPN pool (so each account's busiest exit is one of the same few) while splitting one task
set in one template family. Must not fire: a class behind one campus address sending the
assignment's questions (the campus rule must still hold).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import World, detection_context, fired

from distillguard.detectors import CoordinationDetector

POOL = [f"185.{40 + k}.3" for k in range(30)]  # thirty exit /24s, the first one busiest
WEIGHTS = [3.0] + [1.0] * (len(POOL) - 1)


def _pool_fleet(w: World, k: int) -> None:
    for i in range(k):
        n = int(w.rng.integers(60, 90))
        exits = w.rng.choice(len(POOL), n, p=[x / sum(WEIGHTS) for x in WEIGHTS])
        w._add(
            f"vpf{i:02d}",
            w.human_times(n),
            "attack_pool_fleet",
            client_ip=[f"{POOL[e]}.{w.rng.integers(2, 250)}" for e in exits],
            ip_kind="vpn",
            template_family=4711,
            tag_cot=True,
            prompt=[f"vpf{i} task {j}" for j in range(n)],
        )


def test_fleet_rotating_through_a_vpn_pool_is_not_excused_as_a_campus() -> None:
    w = World(seed=51)
    w.hobbyists(150)
    _pool_fleet(w, 20)
    w.university(25)
    out = CoordinationDetector().detect(detection_context(w.table()))
    members = fired(out, "shared_harvest_template") | fired(out, "shared_template")
    fleet = {a for a in w.labels if a.startswith("vpf")}
    assert len(fleet & members) >= 0.9 * len(fleet)
    assert not {a for a in w.labels if a.startswith("edu")} & members
