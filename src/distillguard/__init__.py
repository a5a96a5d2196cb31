"""distillguard: find distillation campaigns in LLM API logs.

The public surface is small and pinned by a test (``tests/test_public_api.py``). Each stage
is a subpackage with its own ``__all__``; its functions are imported from there, e.g.
``from distillguard.scan import scan``. Heavy modules load only when a function runs.
"""

from __future__ import annotations

from distillguard.errors import DistillguardError, UnreadableInputError
from distillguard.schema import EVENT_SCHEMA, SCHEMA_VERSION

__version__ = "0.1.0"

__all__ = [
    "EVENT_SCHEMA",
    "SCHEMA_VERSION",
    "DistillguardError",
    "UnreadableInputError",
    "__version__",
]
