"""distillguard: find distillation campaigns in LLM API logs.

The public Python surface is small and pinned by a test (``tests/test_public_api.py``);
heavy modules load only when a function is called.
"""

from __future__ import annotations

from typing import Any

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.schema import EVENT_SCHEMA, SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = [
    "EVENT_SCHEMA",
    "SCHEMA_VERSION",
    "DistillguardError",
    "UnreadableInputError",
    "__version__",
    "evaluate",
    "ingest",
    "scan",
    "simulate",
]

_LAZY = {
    "ingest": ("distillguard.ingest", "ingest"),
    "simulate": ("distillguard.simulate", "simulate"),
    "evaluate": ("distillguard.evaluate", "evaluate"),
    "scan": ("distillguard.scan", "scan"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'distillguard' has no attribute {name!r}")
