"""scan_meta says where detection spent: the final pass and the flagged_at replay apart."""

from __future__ import annotations

import json
from pathlib import Path

from distillguard.scan import scan


def _meta(out: Path) -> dict:
    return json.loads((out / "scan_meta.json").read_text())


def test_replay_timings_apart_from_the_final_pass(tiny_dir: Path, tmp_path: Path) -> None:
    scan([tiny_dir], tmp_path / "replayed", progress=False, report=False)
    meta = _meta(tmp_path / "replayed")
    assert meta["replay_checkpoints"] > 0
    final, replay = meta["detect_timings_s"], meta["replay_timings_s"]
    # the synchronized-pairs partials are built once (final pass), their query runs per checkpoint
    # DuckDB queries take milliseconds; the checkpoint's features may round to 0 on tiny
    for step in ("coordination.sync.partials", "coordination.sync.partials.pair_cells"):
        assert final[step] > 0, step
    assert replay["coordination.sync.pairs"] > 0
    assert "checkpoint_features" in final
    assert replay["coordination.sync.partials.pair_cells"] == 0
    assert set(replay) == set(final)


def test_no_replay_no_replay_timings(tiny_dir: Path, tmp_path: Path) -> None:
    scan([tiny_dir], tmp_path / "once", progress=False, report=False, replay=False)
    meta = _meta(tmp_path / "once")
    assert meta["replay_timings_s"] == {}
    assert meta["detect_timings_s"]["coordination.sync.pairs"] > 0
