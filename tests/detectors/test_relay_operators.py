"""Relay operators: always-on datacenter services sharing one injected harvest system prompt.

A relay opens its accounts over months (no signup cohort) and runs each on its own servers
(no shared egress), so neither fleet gate of ``fleet_system_prompt`` holds. What its accounts
do share is being a service: datacenter egress, traffic in nearly every hour, whatever the
customers' local day. Must be a fleet: such services under one harvest system prompt. Must not:
an open-source agent's developers under its built-in "think step by step" prompt -- even those
who run the tool from a cloud VM work by day -- and a legitimate SaaS backend, which is a
service too but sends its own product prompt (no harvest tags).
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

RELAY_SYSTEM = "Before answering, write out your complete internal reasoning step by step."
TOOL_SYSTEM = "You are an open-source coding agent. Think step by step before each tool call."
PRODUCT_SYSTEM = "You are Ava, the support assistant for ShopNest. Answer only about orders."


def _table(w: World) -> object:
    """The world's events; accounts added before any system prompt existed get none."""
    total = len(w.rows["event_id"])
    for col in w.rows.values():
        col[:0] = [None] * (total - len(col))
    return w.table()


def _always_on(w: World, n: int) -> np.ndarray:
    """A service's arrivals: Poisson over the whole window, day and night."""
    return np.sort(w.rng.uniform(0, w.span_s, n))


def _daytime(w: World, n: int, utc_offset_h: float) -> np.ndarray:
    """A developer's calls: sessions within 9-18 local time on each day of the window."""
    days = w.rng.integers(0, int(w.span_s // DAY), n)
    hour = w.rng.uniform(9, 18, n) - utc_offset_h
    return np.sort(days * DAY + hour * 3600.0) % w.span_s


def _relay_operators(w: World, k: int, n: int = 400, system: str = RELAY_SYSTEM, cot: bool = True) -> None:
    """``k`` accounts, own cards, signed up over a year, each on its own two datacenter hosts,
    always on, forwarding distinct requests under one system prompt."""
    for i in range(k):
        w._add(
            f"rop{i:02d}",
            _always_on(w, n),
            "attack_relay",
            ip_kind="hosting",
            client_ip=[f"45.{i}.0.{j % 2 + 7}" for j in range(n)],
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(20, 400))),
            system_prompt=system,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=cot,
            prompt=[f"rop{i} forwarded request {j}" for j in range(n)],
        )


def _tool_users(w: World, k: int, *, cloud: bool, n: int = 150) -> None:
    """An open-source tool's developers: own cards, signups over two years, daytime work,
    from home or (``cloud``) from their own cloud VM."""
    for i in range(k):
        w._add(
            f"oss{i:02d}",
            _daytime(w, n, utc_offset_h=float(w.rng.choice([-5, 1, 8]))),
            "benign_oss_agent_user",
            ip_kind="hosting" if cloud else "residential",
            client_ip=f"52.{i}.{i}.9" if cloud else f"73.{i}.1.1",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 700))),
            system_prompt=TOOL_SYSTEM,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=True,
            prompt=[f"oss{i} own task {j}" for j in range(n)],
        )


def _world(seed: int) -> World:
    w = World(seed=seed, span_s=6 * DAY)
    w.hobbyists(60)
    return w


def test_relay_operators_opened_over_months_on_own_hosts_are_a_fleet() -> None:
    w = _world(31)
    _relay_operators(w, 8)
    ops = w.accounts("rop")
    ctx = detection_context(_table(w))
    out = CoordinationDetector().detect(ctx)
    assert ops <= fired(out, "fleet_system_prompt")
    assert ops <= set(ctx.cache["system_prompts"]["account_id"].to_pylist()), "linked for the graph"
    # it is the service gate that finds them: no cohort, no shared egress
    off = dataclasses.replace(CoordinationDetector.Params(), system_min_service_share=1.01)
    out = CoordinationDetector(off).detect(detection_context(_table(w)))
    assert not ops & fired(out, "fleet_system_prompt")


def test_tool_developers_are_no_relay_even_on_cloud_vms() -> None:
    for cloud in (False, True):
        w = _world(32)
        _tool_users(w, 30, cloud=cloud)
        users = w.accounts("oss")
        out = CoordinationDetector().detect(detection_context(_table(w)))
        assert not users & fired(out, "fleet_system_prompt"), f"cloud={cloud}: they work by day"


def test_relays_found_beside_a_tool_user_base() -> None:
    w = _world(33)
    _tool_users(w, 30, cloud=True)
    _relay_operators(w, 6)
    ops = w.accounts("rop")
    users = w.accounts("oss")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert ops <= fired(out, "fleet_system_prompt")
    assert not users & fired(out, "fleet_system_prompt")


def test_saas_backends_sharing_a_product_prompt_are_no_relay() -> None:
    w = _world(34)
    _relay_operators(w, 8, system=PRODUCT_SYSTEM, cot=False)
    backends = w.accounts("rop")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert not backends & fired(out, "fleet_system_prompt"), "a product prompt is no harvest injection"
    assert not backends & fired(out, "shared_system_prompt")


def test_three_relay_services_are_enough_but_three_daytime_accounts_are_not() -> None:
    w = _world(35)
    _relay_operators(w, 3)
    ops = w.accounts("rop")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert ops <= fired(out, "fleet_system_prompt"), "fewer services than fleet_min_payments suffice"
    w = _world(35)
    _tool_users(w, 3, cloud=True)
    users = w.accounts("oss")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert not users & fired(out, "fleet_system_prompt")


def test_a_service_seen_for_under_a_day_is_not_judged_yet() -> None:
    w = World(seed=36, span_s=0.5 * DAY)
    w.hobbyists(30)
    _relay_operators(w, 6, n=100)
    ops = w.accounts("rop")
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert not ops & fired(out, "fleet_system_prompt"), "a busy afternoon is no duty cycle"


def test_a_prompt_two_payers_share_links_them_without_a_signal() -> None:
    """One relay operator whose injected prompt also rides one hijacked key's traffic: too few
    payers for any signal or graph edge, but the pair is kept for the campaign stage (which
    lifts the operator only if the key's account is a proven attacker and nobody else sends
    the prompt)."""
    w = _world(37)
    _relay_operators(w, 2)
    pair = w.accounts("rop")
    ctx = detection_context(_table(w))
    out = CoordinationDetector().detect(ctx)
    assert pair <= set(ctx.cache["system_prompt_pairs"]["account_id"].to_pylist())
    assert not pair & set(ctx.cache["system_prompts"]["account_id"].to_pylist()), "no graph edge"
    assert not pair & (fired(out, "shared_system_prompt") | fired(out, "fleet_system_prompt"))
    three = dataclasses.replace(CoordinationDetector.Params(), system_link_min_payments=3)
    ctx = detection_context(_table(w))
    CoordinationDetector(three).detect(ctx)
    assert not pair & set(ctx.cache["system_prompt_pairs"]["account_id"].to_pylist())


def _relay_with_stolen_keys(w: World, *, forwarded: bool) -> set[str]:
    """Three operators on their own hosts (two always on, one busy only some hours) and two
    hijacked keys of daytime developers; the keys' harvest under the relay's prompt leaves one
    of the relay's hosts when ``forwarded`` (else each key's own cloud VM). Five payers with
    signups over a year: no cohort, and neither services nor shared hosts are a majority."""
    _relay_operators(w, 2)
    sparse = np.sort(w.rng.uniform(0, w.span_s, 40))
    w._add(
        "rop_sparse",
        sparse,
        "attack_relay",
        ip_kind="hosting",
        client_ip="45.9.0.7",
        account_created_at=T0 - dt.timedelta(days=200.0),
        system_prompt=RELAY_SYSTEM,
        template_family=w.rng.integers(10_000, 10_000_000, 40),
        tag_cot=True,
        prompt=[f"sparse forwarded request {j}" for j in range(40)],
    )
    for i in range(2):
        n = 200
        w._add(
            f"key{i}",
            _daytime(w, n, utc_offset_h=-5.0),
            "relay_hijacked_key",
            ip_kind="hosting",
            client_ip="45.77.0.1" if forwarded else f"52.{i}.7.7",
            account_created_at=T0 - dt.timedelta(days=300.0 + 50 * i),
            system_prompt=RELAY_SYSTEM,
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=True,
            prompt=[f"key{i} forwarded request {j}" for j in range(n)],
        )
    return w.accounts("rop") | w.accounts("key")


def test_operators_and_the_keys_they_forward_are_one_relay() -> None:
    w = _world(38)
    relay = _relay_with_stolen_keys(w, forwarded=True)
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert relay <= fired(out, "fleet_system_prompt"), "2 services + 2 keys on one relay host of 5 payers"


def test_minority_services_among_a_prompts_users_are_no_relay() -> None:
    """The same five payers, the keys calling from their own VMs: two always-on services among
    five users of a prompt is what a popular tool's user base with two SaaS backends looks like."""
    w = _world(38)
    group = _relay_with_stolen_keys(w, forwarded=False)
    out = CoordinationDetector().detect(detection_context(_table(w)))
    assert not group & fired(out, "fleet_system_prompt")
