"""End to end on the simulator's ``tiny`` world, judged by the evaluate stage (loose bars)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path: Path) -> None:
    simulate = pytest.importorskip("distillguard.simulate").simulate
    from distillguard.evaluate import evaluate
    from distillguard.scan import scan

    simulate("tiny", tmp_path / "logs", seed=0)
    scan([tmp_path / "logs"], tmp_path / "scan", progress=False)
    report = evaluate(tmp_path / "logs" / "labels.parquet", tmp_path / "scan", events=tmp_path / "logs")
    acc = report["detector"]["accounts"]
    assert acc["benign_fpr"] <= 0.01
    assert acc["precision"] >= 0.95
    assert acc["recall"] >= 0.7
