"""The public surface is small and deliberate (httpx habit): changing it is a visible decision."""

from __future__ import annotations

import subprocess
import sys

import distillguard


def test_all_is_pinned() -> None:
    assert sorted(distillguard.__all__) == [
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


def test_lazy_functions_resolve() -> None:
    for name in ("ingest", "simulate", "evaluate", "scan"):
        assert callable(getattr(distillguard, name))


def test_import_is_light() -> None:
    """Importing the package or its CLI must not pull heavy engines (igraph, stix2, ibis, polars)."""
    code = (
        "import sys, distillguard, distillguard.cli; "
        "heavy = [m for m in ('igraph', 'leidenalg', 'stix2', 'ibis', 'polars', 'taxii2client', 'duckdb') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_schema_version_in_metadata() -> None:
    meta = distillguard.EVENT_SCHEMA.metadata
    assert meta[b"distillguard.schema_version"] == distillguard.SCHEMA_VERSION.encode()
