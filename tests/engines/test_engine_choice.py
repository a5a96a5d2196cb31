"""``scan --engine``: a missing PySpark or Java, an unknown engine, or ``--state`` with
another engine is one line on stderr and exit 2, before any work (no Spark needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from distillguard import _engine
from distillguard.cli import run
from distillguard.errors import DistillguardError


def test_unknown_engine_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["scan", str(tmp_path), "--out", str(tmp_path / "out"), "--engine", "sqlite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --engine 'sqlite': expected one of duckdb, pyspark"]
    assert not (tmp_path / "out").exists()


def test_state_with_pyspark_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["scan", "--state", str(tmp_path / "st"), "--engine", "pyspark"]) == 2
    assert "--state runs on DuckDB only" in capsys.readouterr().err
    assert not (tmp_path / "st").exists()


def test_pyspark_without_java_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DistillguardError, match="needs Java"):
        _engine.connect_engine("pyspark")


def test_duckdb_engine_is_the_scans_own_connection() -> None:
    assert _engine.connect_engine("duckdb") is None
