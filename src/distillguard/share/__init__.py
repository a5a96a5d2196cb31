"""Sharing between providers: STIX 2.1 export, TAXII 2.1 push/pull, match, intel for scan.

Everything that leaves a provider is keyed under the sharing group's secret (see
``docs/sharing.md``). Heavy modules (stix2, taxii2client, duckdb) load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ExportParams",
    "IntelParams",
    "KeyRing",
    "SketchParams",
    "export_bundle",
    "generate_key",
    "intel_signals",
    "load_intel",
    "load_keyring",
    "match",
    "pull",
    "push",
]

_LAZY = {
    "ExportParams": "distillguard.share._export",
    "export_bundle": "distillguard.share._export",
    "IntelParams": "distillguard.share.intel",
    "intel_signals": "distillguard.share.intel",
    "load_intel": "distillguard.share._intel_io",
    "KeyRing": "distillguard.share._keys",
    "generate_key": "distillguard.share._keys",
    "load_keyring": "distillguard.share._keys",
    "SketchParams": "distillguard.share._sketch",
    "match": "distillguard.share._match",
    "pull": "distillguard.share._taxii",
    "push": "distillguard.share._taxii",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'distillguard.share' has no attribute {name!r}")
