"""Running out of DuckDB's memory budget is one line naming the stage and the knob, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard import cli
from distillguard import scan as scan_mod
from distillguard.errors import DistillguardError


def test_api_out_of_memory_names_stage_and_budget(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match=r"0\.01 GB memory budget during features.*--memory-gb"):
        scan_mod.scan(
            [tiny_dir], tmp_path / "out", progress=False, report=False, replay=False, memory_gb=0.01
        )


def test_cli_out_of_memory_is_one_line(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scan_mod, "DUCKDB_MEMORY_GB", 0.01)
    status = cli.run(["scan", str(tiny_dir), "--out", str(tmp_path / "out"), "--no-replay", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith("error: DuckDB ran out of its 0.01 GB memory budget"), err


def test_cli_memory_gb_reaches_the_scan(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scan_mod, "DUCKDB_MEMORY_GB", 0.01)  # would run out without the option
    args = ["scan", str(tiny_dir), "--out", str(tmp_path / "out"), "--no-replay", "-q", "--memory-gb", "2"]
    assert cli.run(args) == 0, capsys.readouterr().err
    assert cli.run([*args[:-1], "0.1", "--overwrite"]) == 2  # below the option's minimum: usage error
    assert "--memory-gb" in capsys.readouterr().err
