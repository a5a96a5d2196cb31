"""The fuzz suite's helpers live beside its tests (``bench/fuzz.py`` imports them too)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
