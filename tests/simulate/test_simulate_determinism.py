"""Same seed, same bytes; different seed, different traffic; --providers spreads actors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from distillguard.errors import DistillguardError
from distillguard.simulate import simulate


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tiny_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate("tiny", again, seed=0, progress=False)
    assert _digest(again) == _digest(tiny_dir)


def test_different_seed_different_events(tiny_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    simulate("tiny", other, seed=1, progress=False)
    a, b = _digest(tiny_dir), _digest(other)
    parts = [k for k in a if k.startswith("events/")]
    assert parts and all(a[k] != b.get(k) for k in parts)
    ids_a = set(pl.read_parquet(tiny_dir / "labels.parquet")["account_id"])
    ids_b = set(pl.read_parquet(other / "labels.parquet")["account_id"])
    assert not ids_a & ids_b


def test_providers_spread_every_campaign(tmp_path: Path) -> None:
    out = tmp_path / "p3"
    simulate("tiny", out, seed=0, providers=3, progress=False)
    ev = pl.read_parquet(str(out / "events" / "**" / "*.parquet")).join(
        pl.read_parquet(out / "labels.parquet"), on="account_id"
    )
    assert set(ev["provider"].unique()) == {"provider-01", "provider-02", "provider-03"}
    share = ev.group_by("provider").len()["len"] / ev.height
    assert share.min() > 0.1
    spread = ev.filter(pl.col("is_attack")).group_by("campaign").agg(pl.col("provider").n_unique().alias("n"))
    big = spread.join(
        ev.filter(pl.col("is_attack")).group_by("campaign").agg(pl.col("account_id").n_unique().alias("acc")),
        on="campaign",
    ).filter(pl.col("acc") >= 6)
    assert (big["n"] == 3).all()
    # An account lives at exactly one provider.
    assert (ev.group_by("account_id").agg(pl.col("provider").n_unique())["provider"] == 1).all()


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match="unknown scenario"):
        simulate("no_such_scenario", tmp_path / "x", progress=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ndays: 3\nmodels: [{name: m, role: flagship, release_day: -1}]\n"
        "personas: {benign_wizard: {accounts: 1, events: 5}}\n"
    )
    with pytest.raises(DistillguardError, match="unknown persona"):
        simulate(bad, tmp_path / "y", progress=False)
    bad.write_text(
        "name: bad\ndays: 3\nmodels: [{name: m, role: flagship, release_day: -1}]\n"
        "personas: {benign_hobbyist: {accounts: 2, events: 5, params: {colour: red}}}\n"
    )
    with pytest.raises(DistillguardError, match="unknown parameter"):
        simulate(bad, tmp_path / "z", progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(DistillguardError, match="not empty"):
        simulate("tiny", tmp_path / "full", progress=False)
    with pytest.raises(DistillguardError, match="seed"):
        simulate("tiny", tmp_path / "s", seed=-1, progress=False)


def test_custom_scenario_file(tmp_path: Path) -> None:
    sc = tmp_path / "mini.yaml"
    sc.write_text(
        "name: mini\ndays: 2\nmodels:\n  - {name: m1, role: flagship, release_day: -10}\n"
        "personas:\n  benign_hobbyist: {accounts: 5, events: 50}\n"
        "  lab_b: {persona: sync_reasoning_harvest, campaign: lab-b, accounts: 3, events: 30,"
        " params: {timing: {strength: 0.1}}}\n"
    )
    res = simulate(sc, tmp_path / "out", progress=False)
    assert res.events == 80 and res.accounts == 8 and res.attack_accounts == 3
    labels = pl.read_parquet(tmp_path / "out" / "labels.parquet")
    assert set(labels.filter(pl.col("is_attack"))["campaign"]) == {"lab-b"}
    assert set(labels.filter(pl.col("is_attack"))["persona"]) == {"sync_reasoning_harvest"}
