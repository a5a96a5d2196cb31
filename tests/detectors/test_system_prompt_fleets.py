"""Shared harvest system prompts: a benchmark tool's users versus a relay or fleet.

Must not be fleet evidence: unrelated users of one evaluation tool, whose system prompt asks
for step-by-step reasoning and whose accounts all send the same public benchmark questions.
Must be: one harvest system prompt over many unrelated accounts, each sending its own
distinct prompts (a relay injecting it into forwarded calls, a fleet's harness).
Must not be either: the user base of a popular open-source agent whose built-in system prompt
says "think step by step": distinct prompts too, but accounts opened months apart, each calling
from its own network. A fleet is a signup cohort; a relay forwards from its own few hosts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

HARVEST_SYSTEM = "Before answering, write out your complete internal reasoning step by step."
RELAY_SYSTEM = "Reason in full detail, step by step, before giving the final answer."
TOOL_SYSTEM = "You are an open-source coding agent. Think step by step before each tool call."


def _table(w: World) -> object:
    """The world's events; accounts added before any system prompt existed get none.
    (Add the system-prompt personas last.)"""
    total = len(w.rows["event_id"])
    for col in w.rows.values():
        col[:0] = [None] * (total - len(col))
    return w.table()


def _bench_tool_users(w: World, k: int, n: int = 200) -> None:
    for i in range(k):
        w._add(
            f"evl{i:02d}",
            w.regular_times(n, 30.0, 0.5, start=i * 600.0),
            "benign_eval_tool_user",
            ip_kind="hosting",
            client_ip=f"35.2.{i}.1",
            system_prompt=HARVEST_SYSTEM,
            template_family=555,
            tag_cot=True,
            prompt=[f"gsm8k question {j}" for j in range(n)],
        )


def _relay_customers(w: World, k: int, n: int = 150) -> None:
    """Customers (old accounts, signed up over a year) whose calls one relay forwards from its
    own three hosts."""
    for i in range(k):
        w._add(
            f"rly{i:02d}",
            w.human_times(n),
            "attack_relay",
            ip_kind="hosting",
            client_ip=[f"45.9.0.{j % 3 + 7}" for j in range(n)],
            system_prompt=RELAY_SYSTEM,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=True,
            prompt=[f"rly{i} own request {j}" for j in range(n)],
        )


def test_benchmark_tool_users_share_a_system_prompt_but_are_no_fleet() -> None:
    w = World(seed=21)
    w.hobbyists(60)
    _bench_tool_users(w, 8)
    users = {a for a in w.labels if a.startswith("evl")}
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert users <= fired(out, "shared_system_prompt"), "the weak, one-shared-thing evidence stays"
    assert not users & fired(out, "fleet_system_prompt")


def test_distinct_prompts_under_one_harvest_system_prompt_are_a_fleet() -> None:
    w = World(seed=22)
    w.hobbyists(60)
    _bench_tool_users(w, 8)
    _relay_customers(w, 8)
    relays = {a for a in w.labels if a.startswith("rly")}
    users = {a for a in w.labels if a.startswith("evl")}
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert relays <= fired(out, "fleet_system_prompt")
    assert not relays & fired(out, "shared_system_prompt"), "one piece of evidence counted once"
    assert not users & fired(out, "fleet_system_prompt")


def test_a_few_customers_on_one_system_prompt_are_not_a_fleet() -> None:
    w = World(seed=23)
    w.hobbyists(60)
    _relay_customers(w, 3)
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert not fired(out, "fleet_system_prompt")


def _tool_users(
    w: World,
    k: int,
    *,
    cohort: bool,
    prefix: str,
    system: str = TOOL_SYSTEM,
    n: int = 120,
    vpn_share: float = 0.0,
) -> None:
    """``k`` accounts, each on its own card and network, sending its own tasks under one CoT
    system prompt: opened within two days (a fleet) or over two years (a tool's developers).
    The first ``vpn_share`` of them call through their own VPN exit."""
    age = w.rng.uniform(3, 5, k) if cohort else w.rng.uniform(10, 700, k)
    for i in range(k):
        vpn = i < vpn_share * k
        kind = "vpn" if vpn else "hosting" if i % 3 == 0 else "residential"
        w._add(
            f"{prefix}{i:02d}",
            w.human_times(n),
            "attack_fleet" if cohort else "benign_oss_agent_user",
            ip_kind=kind,
            client_ip={"vpn": f"185.{i}.3.3", "hosting": f"52.{i}.{i}.9"}.get(kind, f"73.{i}.1.1"),
            account_created_at=T0 - dt.timedelta(days=float(age[i])),
            system_prompt=system,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=True,
            prompt=[f"{prefix}{i} own task {j}" for j in range(n)],
        )


def test_an_open_source_agents_user_base_is_no_fleet() -> None:
    w = World(seed=24)
    w.hobbyists(60)
    _tool_users(w, 30, cohort=False, prefix="oss")
    users = {a for a in w.labels if a.startswith("oss")}
    ctx = detection_context(_table(w))
    out = CoordinationDetector().detect(ctx)
    assert not users & fired(out, "fleet_system_prompt"), "diverse signups, own networks"
    assert not users & set(ctx.cache["system_prompts"]["account_id"].to_pylist()), "links nobody"
    assert not users & fired(out, "shared_system_prompt"), "distinct prompts: no benchmark tool either"
    # the signup spread is what clears them: judged as a cohort, they would be a fleet
    p = dataclasses.replace(CoordinationDetector.Params(), system_cohort_max_iqr_days=1e6)
    out = CoordinationDetector(p).detect(detection_context(_table(w)))
    assert users <= fired(out, "fleet_system_prompt")


def test_a_signup_cohort_under_one_harvest_system_prompt_is_a_fleet() -> None:
    w = World(seed=25)
    w.hobbyists(60)
    _tool_users(w, 30, cohort=False, prefix="oss")
    _tool_users(w, 12, cohort=True, prefix="flt", system=HARVEST_SYSTEM)
    fleet = {a for a in w.labels if a.startswith("flt")}
    users = {a for a in w.labels if a.startswith("oss")}
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert fleet <= fired(out, "fleet_system_prompt"), "opened within two days, own cards and IPs"
    assert not users & fired(out, "fleet_system_prompt")


def test_bought_aged_accounts_behind_vpn_exits_are_a_fleet() -> None:
    """Accounts bought aged (signups over two years, each its own card) harvesting under one
    harvest system prompt, each through its own VPN exit: no cohort, no shared host, but a
    user base does not hide its origin; a tool's user base with a quarter on VPNs stays clear."""
    w = World(seed=26)
    w.hobbyists(60)
    _tool_users(w, 30, cohort=False, prefix="oss", vpn_share=0.25)
    _tool_users(w, 20, cohort=False, prefix="aged", system=HARVEST_SYSTEM, vpn_share=0.9)
    aged = w.accounts("aged")
    users = w.accounts("oss")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert aged <= fired(out, "fleet_system_prompt")
    assert not users & fired(out, "fleet_system_prompt"), "a quarter of a user base on VPNs"
    off = dataclasses.replace(CoordinationDetector.Params(), system_min_hidden_payers=1.01)
    out = CoordinationDetector(off).detect(detection_context(_table(w)))
    assert not aged & fired(out, "fleet_system_prompt"), "the hidden-origin gate is what finds them"
