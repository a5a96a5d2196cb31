"""Fixtures shared by every stage's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Scans without --infra read the `distillguard infra refresh` cache (~/.cache/...): keep a
# developer's cache out of every test and its subprocesses (tests that need one set their own).
os.environ.setdefault("DISTILLGUARD_INFRA_DIR", "off")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public corpora in ``../shared/data`` (read in place, never copied)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged ``tiny`` scenario (seed 0), simulated once per test process and shared by
    every stage's tests: read only (each test writes under its own ``tmp_path``)."""
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("sim") / "tiny"
    simulate("tiny", out, seed=0, progress=False)
    return out
