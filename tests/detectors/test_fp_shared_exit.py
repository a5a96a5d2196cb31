"""A commercial VPN exit on a datacenter range is no fleet's infrastructure.

Must not fire (``shared_infra``): customers of one VPN provider -- unrelated people on their
own cards who signed up whenever each did -- whose ordinary traffic leaves through the same
few exits the provider runs on a hosting range.
Must fire: a fleet opened within a few days calling from its operator's hosts (a signup
cohort); and a relay forwarding harvest prompts through its hosts for the stolen keys of
old, unrelated accounts (their signups spread, but the traffic is harvest).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector

EXITS = [f"146.70.{k}.{k + 10}" for k in range(3)]  # the VPN provider's exits (hosting range)
HOSTS = [f"45.9.0.{k}" for k in range(7, 10)]  # an operator's own hosts


def _vpn_customers(w: World, k: int, n: int = 40, signed_up: tuple[float, float] = (10, 700)) -> None:
    """Own cards, signups over two years (days ago), ordinary questions; half the traffic via
    the VPN."""
    for i in range(k):
        via = w.rng.random(n) < 0.5
        w._add(
            f"vpn{i:02d}",
            w.human_times(n),
            "benign_vpn_user",
            client_ip=[EXITS[(i + j) % 3] if v else f"174.{i}.{j % 4}.1" for j, v in enumerate(via)],
            ip_kind=["hosting" if v else "mobile" for v in via],
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(*signed_up))),
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=w.rng.random(n) < 0.05,
            prompt=[f"vpn{i} question {j}" for j in range(n)],
        )


def _from_hosts(
    w: World, k: int, prefix: str, *, cohort: bool, harvest: bool, n: int = 60, hosts: list[str] = HOSTS
) -> None:
    for i in range(k):
        age = w.rng.uniform(3, 5) if cohort else w.rng.uniform(10, 700)
        w._add(
            f"{prefix}{i:02d}",
            w.human_times(n),
            "attack_fleet",
            client_ip=[hosts[j % 3] for j in range(n)],
            ip_kind="hosting",
            account_created_at=T0 - dt.timedelta(days=float(age)),
            template_family=w.rng.integers(10_000, 10_000_000, n),
            tag_cot=harvest,
            prompt=[f"{prefix}{i} task {j}" for j in range(n)],
        )


def _world(seed: int) -> World:
    w = World(seed=seed)
    w.hobbyists(80)
    _vpn_customers(w, 15)
    return w


def test_strangers_on_a_vpn_exit_are_no_shared_infra() -> None:
    w = _world(71)
    ctx = detection_context(w.table())
    out = CoordinationDetector().detect(ctx)
    assert not w.accounts("vpn") & fired(out, "shared_infra")
    assert set(EXITS) <= set(ctx.cache["exit_ips"].to_pylist())
    assert not set(EXITS) & set(ctx.cache["hosting_ips"]["ip"].to_pylist()), "links nobody"
    # the signup spread is what clears them: judged as a cohort, the exit would be infra
    p = dataclasses.replace(CoordinationDetector.Params(), infra_exit_min_spread=1e6)
    out = CoordinationDetector(p).detect(detection_context(w.table()))
    assert w.accounts("vpn") <= fired(out, "shared_infra")


def test_strangers_who_signed_up_in_one_season_are_still_an_exit() -> None:
    """A dozen strangers on one exit whose signups happen to fall within one season (about a
    fifth of everyone's spread): strangers land that close now and then, a fleet is tighter."""
    w = World(seed=75)
    w.hobbyists(80)
    _vpn_customers(w, 12, signed_up=(300, 380))
    ctx = detection_context(w.table())
    out = CoordinationDetector().detect(ctx)
    assert not w.accounts("vpn") & fired(out, "shared_infra")
    p = dataclasses.replace(CoordinationDetector.Params(), infra_exit_min_spread=0.25)
    out = CoordinationDetector(p).detect(detection_context(w.table()))
    assert w.accounts("vpn") <= fired(out, "shared_infra"), "the old quarter-spread cut banned them"


def test_strangers_on_an_exit_a_fleet_harvests_through_are_still_strangers() -> None:
    """A fleet sends its harvest through the same commercial VPN exits as ordinary customers:
    the exits carry harvest, but a customer whose own prompts through them are ordinary is a
    stranger there; the fleet's accounts, whose own traffic through them is harvest, are not."""
    w = _world(76)
    _from_hosts(w, 8, "flt", cohort=True, harvest=True, hosts=EXITS)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("flt") <= fired(out, "shared_infra")
    assert not w.accounts("vpn") & fired(out, "shared_infra")


def test_a_cohort_on_its_operators_hosts_is_shared_infra() -> None:
    w = _world(72)
    _from_hosts(w, 12, "hyd", cohort=True, harvest=False)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("hyd") <= fired(out, "shared_infra"), "opened within two days"
    assert not w.accounts("vpn") & fired(out, "shared_infra")


def test_a_relay_forwarding_harvest_for_old_stolen_keys_is_shared_infra() -> None:
    w = _world(73)
    _from_hosts(w, 12, "rly", cohort=False, harvest=True)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("rly") <= fired(out, "shared_infra"), "harvest through the hosts"


def test_text_less_stolen_keys_on_a_relays_hosts_are_not_excused() -> None:
    """Stolen keys of old accounts whose relayed calls carry no prompt text (a log source
    without bodies): their own traffic through the relay's hosts cannot show it is ordinary,
    so the hosts' harvest still makes them shared infrastructure."""
    w = _world(77)
    _from_hosts(w, 6, "rly", cohort=False, harvest=True)
    for i in range(6):
        w._add(
            f"key{i:02d}",
            w.human_times(50),
            "attack_stolen_key",
            client_ip=[HOSTS[j % 3] for j in range(50)],
            ip_kind="hosting",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 700))),
        )
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert w.accounts("key") <= fired(out, "shared_infra")


def test_aged_accounts_with_ordinary_traffic_on_one_host_are_an_exit() -> None:
    """The documented limit: strangers by signup, ordinary traffic -- judged an exit."""
    w = _world(74)
    _from_hosts(w, 12, "old", cohort=False, harvest=False)
    out = CoordinationDetector().detect(detection_context(w.table()))
    assert not w.accounts("old") & fired(out, "shared_infra")
