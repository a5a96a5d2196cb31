"""Fixtures for simulator tests (the tiny simulation itself is ``tiny_dir``, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_events(tiny_dir: Path):
    """All tiny events joined with their labels, as a polars DataFrame."""
    import polars as pl

    events = pl.read_parquet(str(tiny_dir / "events" / "**" / "*.parquet"), hive_partitioning=False)
    labels = pl.read_parquet(tiny_dir / "labels.parquet")
    return events.join(labels, on="account_id", how="left")
