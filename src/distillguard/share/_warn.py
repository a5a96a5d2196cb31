"""Warning lines on stderr: what sharing dropped or risked, said where the operator sees it."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr (never stdout: summaries there stay machine-readable)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)
