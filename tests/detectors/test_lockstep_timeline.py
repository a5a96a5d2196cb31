"""Lockstep request timelines (``coordination._lockstep``): one stream dealt among accounts.

Must fire (``lockstep_timeline``), with no prompt text: a fleet whose operator deals one
request stream round-robin over accounts on their own cards and proxy exits, opened within
days of each other. Must not fire: busy customers drawn independently from the very same
daily rhythm (the hard case: only the fleet's *coupling* differs), strangers on a common
heartbeat (signups spread like everyone's: cleared by the signup-cohort rule, and
found without it), and one customer's keys sharing a job (one card: ``card_lockstep``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "detect"))

from dg_detect_world import DAY, T0, World, detection_context, fired

from distillguard.detectors import CoordinationDetector
from distillguard.detectors.coordination import _lockstep

PER_ACCOUNT = 150


def _rhythm(w: World, n: int) -> np.ndarray:
    """``n`` request times from one daily rhythm (busy 08-20 UTC, quiet at night)."""
    days = w.rng.integers(0, int(w.span_s // DAY), n)
    busy = w.rng.random(n) < 0.85
    hour = np.where(busy, w.rng.uniform(8, 20, n), w.rng.uniform(0, 24, n))
    return np.sort(days * DAY + hour * 3600)


def _dealt(w: World, k: int, prefix: str, persona: str, *, one_card: bool) -> None:
    """One stream of ``k * PER_ACCOUNT`` requests dealt to ``k`` accounts opened within four
    days of each other by a usage-balancing router: each request to a least-used account,
    ties broken at random (a shuffled round-robin)."""
    stream = _rhythm(w, k * PER_ACCOUNT)
    slot = np.concatenate([w.rng.permutation(k) for _ in range(PER_ACCOUNT)])
    for i in range(k):
        w._add(
            f"{prefix}{i:02d}",
            stream[slot == i],
            persona,
            payment_fingerprint="card-one-customer" if one_card else f"card-{prefix}{i}",
            client_ip=f"185.{40 + i}.{i * 3}.7",
            ip_kind="hosting" if one_card else "residential",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 14))),
        )


def _independent(w: World, k: int) -> None:
    for i in range(k):
        w._add(f"ind{i:02d}", _rhythm(w, PER_ACCOUNT), "benign_backend", client_ip=f"73.{i}.8.1")


def _heartbeat(w: World, k: int) -> None:
    """A popular tool's heartbeat: a request every half hour at the user's own minute."""
    ticks = np.arange(int(w.span_s // 1800)) * 1800.0
    for i in range(k):
        w._add(
            f"hb{i:02d}",
            ticks + w.rng.uniform(0, 1800),
            "benign_agent_framework",
            client_ip=f"81.{i}.5.1",
            account_created_at=T0 - dt.timedelta(days=float(w.rng.uniform(10, 700))),
        )


def _world(seed: int) -> World:
    w = World(seed=seed)
    w.hobbyists(60)
    _independent(w, 30)
    _heartbeat(w, 10)
    _dealt(w, 8, "fleet", "attack_load_balanced", one_card=False)
    _dealt(w, 6, "keys", "benign_enterprise_batch", one_card=True)
    return w


@pytest.mark.parametrize("seed", [3, 4])
def test_a_dealt_stream_is_lockstep_and_independent_lookalikes_are_not(seed: int) -> None:
    w = _world(seed)
    out = CoordinationDetector().detect(detection_context(w.table(), has_prompts=False))
    lock = fired(out, "lockstep_timeline")
    assert w.accounts("fleet") <= lock
    assert not lock & (w.accounts("ind") | w.accounts("hb") | w.accounts("keys") | w.accounts("hob"))
    assert w.accounts("keys") <= fired(out, "card_lockstep")


def test_strangers_on_one_heartbeat_are_cleared_by_their_signup_spread() -> None:
    w = _world(5)
    p = dataclasses.replace(CoordinationDetector.Params(), sync_cohort_max_spread=1e6)
    out = CoordinationDetector(p).detect(detection_context(w.table(), has_prompts=False))
    # judged as a cohort, one schedule is one stream: the rule, not the test, clears them
    assert w.accounts("hb") <= fired(out, "lockstep_timeline")


def test_x_is_the_largest_gap_on_the_smaller_accounts_grid() -> None:
    """The query's ``x`` against a direct computation on the same buckets: both accounts'
    cumulative shares at the buckets where the smaller one reaches 5%, ..., 95%."""
    w = _world(6)
    ctx = detection_context(w.table(), has_prompts=False)
    CoordinationDetector().detect(ctx)
    p = CoordinationDetector.Params()
    pairs = _lockstep.pairs(ctx, p, max_p=1.0)  # every candidate pair
    t = w.table()
    acc = np.asarray(t["account_id"].to_pylist())
    secs = np.asarray([x.timestamp() for x in t["timestamp"].to_pylist()])
    bucket = np.floor(secs / p.lockstep_bucket_s)
    checked = 0
    for s, d, got in zip(
        pairs["src"].to_pylist(), pairs["dst"].to_pylist(), pairs["x"].to_pylist(), strict=True
    ):
        xa, xb = (np.sort(bucket[acc == a]) for a in ctx.accounts[ctx.positions(np.asarray([s, d]))])
        na, nb = (min(len(v), len(np.unique(v))) for v in (xa, xb))
        small, big = (xa, xb) if (na, s) < (nb, d) else (xb, xa)
        grid = np.asarray([small[int(np.ceil(lv * len(small))) - 1] for lv in _lockstep.LEVELS])
        fs = np.searchsorted(small, grid, side="right") / len(small)
        fb = np.searchsorted(big, grid, side="right") / len(big)
        assert got == pytest.approx(np.abs(fs - fb).max() * np.sqrt(na * nb / (na + nb)), rel=1e-9)
        checked += 1
    assert checked >= 28  # the fleet's 8 * 7 / 2 pairs at least


def test_chance_bound_against_simulated_bridges() -> None:
    """The bound is above the frequency of bridges staying within +-x on the grid (and not
    far above it: the test keeps its power)."""
    rng = np.random.default_rng(0)
    u = np.asarray(_lockstep.LEVELS)
    n, m = 50_000, 200  # bridges x steps (80 MB a matrix)
    walk = np.cumsum(rng.normal(size=(n, m)) / np.sqrt(m), axis=1)
    bridge = walk - np.linspace(1 / m, 1, m) * walk[:, -1:]
    at = bridge[:, np.round(u * m).astype(int) - 1]
    for x in (0.15, 0.25):
        seen = float((np.abs(at).max(axis=1) <= x).mean())
        assert seen <= _lockstep.chance(x) <= 50 * max(seen, 2e-5)
    x = _lockstep.max_scaled_distance(1e-12)
    assert _lockstep.chance(x) == pytest.approx(1e-12, rel=1e-6)
