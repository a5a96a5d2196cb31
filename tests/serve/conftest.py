"""Fixtures of the serve tests (helpers live in dg_serve_world, importable from the tests)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
