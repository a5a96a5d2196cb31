"""Fixtures of the state tests (helpers live in dg_state_world, importable from the tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dg_state_world import tiny_events

__all__ = ["tiny_events"]
