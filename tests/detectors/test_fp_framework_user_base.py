"""A popular agent framework's users share its prompt frame; a fleet shares a frame too.

Must not fire (``shared_template``): unrelated developers of one agent framework, each on
its own card and network, each wrapping its own distinct tasks in the framework's (neutral)
frame, who signed up whenever each did (months to years apart, like everyone else).
Must fire: a fleet in the same kind of neutral frame whose accounts were opened within a few
days (a signup cohort); a fleet of aged accounts run from its operator's own few datacenter
hosts (shared egress); and a fleet of aged accounts in a harvest frame (CoT elicitation),
which no signup history excuses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

import pyarrow as pa
from dg_detect_world import T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

FRAME = 777_001  # the framework's tool-calling frame (one template family)


def _framework_users(w: World, k: int, n: int = 80) -> None:
    """Independent developers: own card, own home or own cloud VM, signed up over two years."""
    for i in range(k):
        own_vm = i % 3 == 0
        w._add(
            f"fwk{i:02d}",
            w.human_times(n),
            "benign_agent_framework",
            ip_kind="hosting" if own_vm else "residential",
            client_ip=f"52.{i}.{i}.9" if own_vm else f"73.{i}.1.1",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 700))),
            template_family=FRAME,
            capability="tool_use",
            prompt=[f"fwk{i} own task {j}" for j in range(n)],
        )


def _fleet(
    w: World,
    k: int,
    prefix: str,
    *,
    cohort: bool,
    own_hosts: bool = False,
    harvest: bool = False,
    n: int = 80,
) -> None:
    """A fleet splitting one task set in one frame: opened within days (``cohort``) or aged
    accounts; each on its own card; from its operator's three hosts (``own_hosts``) or from
    residential addresses of their own."""
    for i in range(k):
        age = w.rng.uniform(3, 5) if cohort else w.rng.uniform(10, 700)
        w._add(
            f"{prefix}{i:02d}",
            w.human_times(n),
            "attack_fleet",
            ip_kind="hosting" if own_hosts else "residential",
            client_ip=[f"45.9.0.{j % 3 + 7}" for j in range(n)] if own_hosts else f"98.{i}.7.7",
            account_created_at=T0 - dt.timedelta(days=float(age)),
            template_family=FRAME + 1 + int(harvest) + 2 * int(own_hosts) + 4 * int(cohort),
            tag_cot=harvest,
            capability="tool_use",
            prompt=[f"{prefix} shard task {i * n + j}" for j in range(n)],
        )


def _world(seed: int) -> World:
    w = World(seed=seed)
    w.hobbyists(80)
    _framework_users(w, 40)
    return w


def test_a_frameworks_user_base_is_no_fleet() -> None:
    w = _world(61)
    users = w.accounts("fwk")
    ctx = detection_context(w.table())
    out = CoordinationDetector().detect(ctx)
    assert not users & (fired(out, "shared_template") | fired(out, "shared_harvest_template"))
    assert not users & set(ctx.cache["fleet_members"]["account_id"].to_pylist()), "links nobody"
    assert FRAME in ctx.cache["user_base_families"]["fam"].to_pylist()
    # the signup spread is what clears them: judged as a cohort, they would be a fleet
    p = dataclasses.replace(CoordinationDetector.Params(), fleet_cohort_max_spread=1e6)
    out = CoordinationDetector(p).detect(detection_context(w.table()))
    assert users <= fired(out, "shared_template")


def test_a_signup_cohort_in_a_neutral_frame_is_a_fleet() -> None:
    w = _world(62)
    _fleet(w, 20, "coh", cohort=True)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("coh") <= fired(out, "shared_template"), "opened within two days"
    assert not w.accounts("fwk") & fired(out, "shared_template")


def test_aged_accounts_behind_their_operators_hosts_are_a_fleet() -> None:
    w = _world(63)
    _fleet(w, 20, "agd", cohort=False, own_hosts=True)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("agd") <= fired(out, "shared_template"), "shared datacenter egress"
    assert not w.accounts("fwk") & fired(out, "shared_template")


def test_aged_accounts_in_a_harvest_frame_are_still_a_fleet() -> None:
    w = _world(64)
    _fleet(w, 20, "hvf", cohort=False, harvest=True)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("hvf") <= fired(out, "shared_harvest_template"), "harvest frames are not excused"


def test_unknown_signup_dates_leave_the_family_judged_as_before() -> None:
    w = _world(65)
    t = w.table()
    t = t.set_column(
        t.schema.get_field_index("account_created_at"),
        "account_created_at",
        pa.nulls(t.num_rows, t.schema.field("account_created_at").type),
    )
    out = CoordinationDetector().detect(detection_context(t))
    assert w.accounts("fwk") <= fired(out, "shared_template"), "no dates: no cohort test, no excuse"
