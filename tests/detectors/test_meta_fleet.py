"""Metadata-only fleet evidence (``coordination._meta_fleet``): group traits beyond their base rate.

``hiding_card`` must fire on a card whose busy accounts each hop across proxy networks (a
reseller's hydra slot), with or without prompt text, and must not fire on a team at one
office, an enterprise's keys on its cloud egress, or two family phones on mobile networks.
``shaped_cohort`` must fire on accounts of unrelated payers opened in one hour that all
harvest long reasoning outputs, and must not fire on one customer's keys opened together
(one card), on a signup hour of ordinary users, or on a class behind one campus network.
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

SIGNUP = T0 - dt.timedelta(days=20)


def _rotating_ips(prefix: int, n: int) -> list[str]:
    """One address per request, each on its own /24 (a rotating proxy pool)."""
    return [f"{prefix}.{j % 250}.{(j * 7) % 250}.9" for j in range(n)]


def _hydra_card(w: World, k: int) -> None:
    for i in range(k):
        w._add(
            f"hyd{i}",
            w.human_times(20),
            "attack_hydra",
            payment_fingerprint="card-hydra",
            client_ip=_rotating_ips(80 + i, 20),
            ip_kind="residential",
        )


def _office_team(w: World, k: int) -> None:
    for i in range(k):
        w._add(
            f"team{i}",
            w.human_times(30),
            "benign_team",
            payment_fingerprint="card-team",
            client_ip="93.184.1.10",
        )


def _enterprise_keys(w: World, k: int) -> None:
    for i in range(k):
        w._add(
            f"ent{i}",
            w.regular_times(200, 60.0, 0.3),
            "benign_enterprise",
            payment_fingerprint="card-ent",
            client_ip=f"34.1.{i % 2}.5",
            ip_kind="hosting",
            account_tier="enterprise",
            account_created_at=SIGNUP + dt.timedelta(days=3),
            output_tokens=w.rng.integers(2000, 4000, 200),
            reasoning_output_tokens=w.rng.integers(1000, 2000, 200),
        )


def _family_phones(w: World) -> None:
    for i in range(2):
        w._add(
            f"phone{i}",
            w.human_times(20),
            "benign_family",
            payment_fingerprint="card-family",
            client_ip=_rotating_ips(100 + i, 20),
            ip_kind="mobile",
        )
    w._add("phone2", w.human_times(20), "benign_family", payment_fingerprint="card-family")


def _cohort(w: World, k: int) -> None:
    """A harvest operator's accounts: opened within one hour, one card each, long reasoning outputs."""
    for i in range(k):
        w._add(
            f"coh{i}",
            w.human_times(30),
            "attack_cohort",
            payment_fingerprint=f"card-coh{i}",
            account_created_at=SIGNUP + dt.timedelta(minutes=3 * i),
            output_tokens=w.rng.integers(2500, 4000, 30),
            reasoning_output_tokens=w.rng.integers(1500, 2500, 30),
            client_ip=f"77.{i}.3.4",
        )


def _signup_hour(w: World, k: int) -> None:
    """Ordinary users who happened to sign up in one hour."""
    for i in range(k):
        w._add(
            f"new{i}",
            w.human_times(30),
            "benign_new",
            account_created_at=SIGNUP + dt.timedelta(days=5, minutes=4 * i),
            client_ip=f"66.{i}.3.4",
        )


def _class(w: World, k: int) -> None:
    """A class opening accounts in one lab session behind the campus NAT, asking for worked solutions."""
    for i in range(k):
        w._add(
            f"cls{i}",
            w.human_times(30),
            "benign_class",
            payment_fingerprint=f"card-cls{i}",
            account_created_at=SIGNUP + dt.timedelta(days=9, minutes=2 * i),
            client_ip="128.32.7.1",
            output_tokens=w.rng.integers(2500, 4000, 30),
            reasoning_output_tokens=w.rng.integers(1500, 2500, 30),
        )


@pytest.fixture(scope="module", params=[True, False], ids=["text", "metadata-only"])
def signals(request):
    w = World(seed=17, span_s=3 * DAY)
    w.hobbyists(150)
    _hydra_card(w, 6)
    _office_team(w, 6)
    _enterprise_keys(w, 12)
    _family_phones(w)
    _cohort(w, 10)
    _signup_hour(w, 10)
    _class(w, 10)
    return w, CoordinationDetector().detect(detection_context(w.table(), has_prompts=request.param))


def test_hiding_card_fires_on_a_rotating_fleet_card(signals) -> None:
    w, sig = signals
    assert w.accounts("hyd") <= fired(sig, "hiding_card")


def test_hiding_card_quiet_on_customers(signals) -> None:
    w, sig = signals
    hit = fired(sig, "hiding_card")
    assert not hit & (w.accounts("team") | w.accounts("ent") | w.accounts("phone") | w.accounts("hob"))


def test_shaped_cohort_fires_on_unrelated_payers_opened_together(signals) -> None:
    w, sig = signals
    assert w.accounts("coh") <= fired(sig, "shaped_cohort")


def test_shaped_cohort_quiet_on_one_customer_ordinary_signups_and_a_class(signals) -> None:
    w, sig = signals
    hit = fired(sig, "shaped_cohort")
    assert not hit & (w.accounts("ent") | w.accounts("new") | w.accounts("cls") | w.accounts("hob"))


def test_evidence_states_the_base_rate(signals) -> None:
    _, sig = signals
    ev = [
        e
        for e, s in zip(sig["evidence"].to_pylist(), sig["signal"].to_pylist(), strict=True)
        if s == "hiding_card"
    ]
    assert ev and all("chance" in e and "rate" in e for e in ev)
    assert np.all(np.asarray(sig["strength"].to_pylist()) > 0)


def test_metadata_only_verdicts_ban_the_hiding_card_not_the_customers() -> None:
    """End to end without prompt text: the rotating card's accounts are attacks (hiding card +
    their own rotation), while one customer's keys opened together on cloud egress, a team at
    one office and ordinary signups stay below attack."""
    from distillguard.campaigns import find_campaigns
    from distillguard.detectors import run_detectors

    w = World(seed=23, span_s=3 * DAY)
    w.hobbyists(150)
    _hydra_card(w, 6)
    _office_team(w, 6)
    _enterprise_keys(w, 12)
    _signup_hour(w, 10)
    ctx = detection_context(w.table(), has_prompts=False)
    res = find_campaigns(ctx, run_detectors(ctx))
    verdict = dict(zip(res.scored["account_id"].tolist(), res.scored["verdict"].tolist(), strict=True))
    assert all(verdict[a] == "attack" for a in w.accounts("hyd"))
    customers = w.accounts("team") | w.accounts("ent") | w.accounts("new") | w.accounts("hob")
    assert not [a for a in customers if verdict[a] == "attack"]
