"""Detector families: features (+ the event view) -> named signals (``SIGNALS_SCHEMA``).

One module per family, each a small :class:`~distillguard.detectors.base.Detector`:
``traffic`` (abnormal volume per signup path), ``extraction`` (harvest-shaped prompts),
``automation`` (machine timing, proxies), ``coordination`` (cross-account evidence).
Intel signals from partners come from the share stage with family ``intel``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from distillguard.detectors.automation import AutomationDetector
from distillguard.detectors.base import FAMILIES, DetectionContext, Detector, concat_signals, timed
from distillguard.detectors.coordination import CoordinationDetector
from distillguard.detectors.extraction import ExtractionDetector
from distillguard.detectors.traffic import TrafficDetector

__all__ = [
    "FAMILIES",
    "AutomationDetector",
    "CoordinationDetector",
    "DetectionContext",
    "Detector",
    "ExtractionDetector",
    "TrafficDetector",
    "default_detectors",
    "run_detectors",
]


def default_detectors() -> list[Detector]:
    """The four built-in families with their default (documented) thresholds."""
    return [TrafficDetector(), ExtractionDetector(), AutomationDetector(), CoordinationDetector()]


def run_detectors(ctx: DetectionContext, detectors: list[Detector] | None = None) -> pa.Table:
    """All signals of all detectors, in a stable order. Prompt-based detectors are skipped
    when the input has no prompt text (metadata-only), not run on empty columns."""
    tables = []
    for det in detectors or default_detectors():
        if det.needs_prompts and not ctx.has_prompts:
            continue
        with timed(ctx, det.family):
            tables.append(det.detect(ctx))
    return concat_signals(tables)


def all_thresholds(detectors: list[Detector] | None = None) -> dict[str, dict[str, Any]]:
    """Every detector threshold as ``{family.name: {value, doc}}`` (for scan_meta.json)."""
    out: dict[str, dict[str, Any]] = {}
    for det in detectors or default_detectors():
        out.update(det.thresholds())
    return out
