"""Fixtures of the console tests: a ``scan --state`` state of the ``tiny`` scenario."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dg_console_world import console_state, console_world

__all__ = ["console_state", "console_world"]
