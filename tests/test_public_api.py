"""The public surface is small and deliberate (httpx habit): changing it is a visible decision."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import distillguard

#: Each public module and the names it promises. Adding or removing one is an API change.
PUBLIC = {
    "distillguard": [
        "DistillguardError",
        "EVENT_SCHEMA",
        "SCHEMA_VERSION",
        "UnreadableInputError",
        "__version__",
    ],
    "distillguard.ingest": [
        "IngestResult",
        "Mapping",
        "ValidationOptions",
        "WriterOptions",
        "ingest",
        "is_event_dir",
        "iter_event_batches",
        "load_mapping",
        "open_events",
    ],
    "distillguard.enrich": [
        "EnrichParams",
        "IP_COLUMNS",
        "IpInfra",
        "TEMPLATE_COLUMNS",
        "enrich",
        "enriched_schema",
    ],
    "distillguard.simulate": ["SimulationResult", "available_scenarios", "load_scenario", "simulate"],
    "distillguard.evaluate": ["evaluate"],
    "distillguard.scan": ["ScanResult", "scan"],
    "distillguard.report": ["ReportConfig", "render_report", "write_enforcement_csv", "write_report"],
    "distillguard.share": [
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
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert getattr(mod, name) is not None


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
