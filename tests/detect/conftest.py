"""Fixtures of the detection tests; the worlds themselves live in ``dg_detect_world``."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dg_detect_world import World, standard_world


@pytest.fixture
def world() -> World:
    return World(seed=0)


@pytest.fixture(scope="session")
def standard_events() -> tuple[pa.Table, dict[str, str]]:
    w = standard_world(0)
    return w.table(), w.labels
