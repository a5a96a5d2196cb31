"""Inputs the scan tests share (read only: every scan writes under its own tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``tiny`` scenario, seed 0, simulated once per test process."""
    from distillguard.simulate import simulate

    out = tmp_path_factory.mktemp("tiny")
    simulate("tiny", out, seed=0, progress=False)
    return out
