"""evaluate: score a scan output against ground-truth labels, next to a volume baseline.

``evaluate(labels, scan_dir, events=..., out=...)`` reports account-level precision,
recall, F1, ROC-AUC and PR-AUC, benign false-positive rates per persona, campaign
recovery, purity and adjusted Rand index, and time to detection; the metric functions
are plain numpy (no scikit-learn) and exported for reuse by benchmarks. Names load
lazily so that ``distillguard --help`` (which imports this package's ``_cli``) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The pinned public surface (tests/test_public_api.py). The helpers in ``_LAZY`` below
#: (baseline config, numpy metrics, renderers) are importable from here too, for benches.
__all__ = ["evaluate"]

_LAZY = {
    "BaselineConfig": "distillguard.evaluate._baseline",
    "evaluate": "distillguard.evaluate._harness",
    "adjusted_rand_index": "distillguard.evaluate._metrics",
    "average_precision": "distillguard.evaluate._metrics",
    "confusion": "distillguard.evaluate._metrics",
    "roc_auc": "distillguard.evaluate._metrics",
    "print_report": "distillguard.evaluate._render",
    "to_markdown": "distillguard.evaluate._render",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'distillguard.evaluate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(_LAZY)
