"""Fixtures for simulator tests: one tiny simulation shared by the module tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged ``tiny`` scenario simulated once (seed 0, one provider)."""
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("sim") / "tiny"
    simulate("tiny", out, seed=0, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_events(tiny_dir: Path):
    """All tiny events joined with their labels, as a polars DataFrame."""
    import polars as pl

    events = pl.read_parquet(str(tiny_dir / "events" / "**" / "*.parquet"), hive_partitioning=False)
    labels = pl.read_parquet(tiny_dir / "labels.parquet")
    return events.join(labels, on="account_id", how="left")
