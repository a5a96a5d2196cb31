"""``distillguard demo`` runs again over its own output and never over anything else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from distillguard import cli as cli_module


@pytest.fixture
def fast_demo(monkeypatch, fake_scan):
    """Real simulation; scan and evaluation replaced (they have their own tests)."""
    monkeypatch.setattr("distillguard.scan.scan", fake_scan({"attack": 1, "suspicious": 0, "clear": 2}))
    monkeypatch.setattr("distillguard.evaluate.evaluate", lambda *a, **k: {"detector": {}})
    monkeypatch.setattr("distillguard.evaluate.print_report", lambda *a, **k: None)


def test_demo_runs_twice_in_a_row(fast_demo, capsys, tmp_path: Path) -> None:
    args = ["demo", "--out", str(tmp_path / "demo"), "--scenario", "tiny", "--quiet"]
    assert cli_module.run(args) == 0, capsys.readouterr().err
    (tmp_path / "demo" / "scan" / "evaluation.json").write_text("stale")
    assert cli_module.run(args) == 0, capsys.readouterr().err
    assert (tmp_path / "demo" / "logs" / "manifest.json").is_file()
    assert not (tmp_path / "demo" / "scan" / "evaluation.json").exists()


def test_demo_accepts_a_demo_written_before_the_marker(fast_demo, capsys, tmp_path: Path) -> None:
    old = tmp_path / "demo"
    (old / "logs").mkdir(parents=True)
    (old / "logs" / "manifest.json").write_text("{}")
    (old / "scan").mkdir()
    (old / "scan" / "scan_meta.json").write_text("{}")
    assert cli_module.run(["demo", "--out", str(old), "--scenario", "tiny", "-q"]) == 0, capsys.readouterr()


@pytest.mark.parametrize("extra", ["notes.txt", "logs/notes.txt"])
def test_demo_refuses_a_directory_that_is_not_a_demo(monkeypatch, capsys, tmp_path: Path, extra) -> None:
    def never(*_a, **_k):
        raise AssertionError("demo ran over a foreign directory")

    monkeypatch.setattr("distillguard.simulate.simulate", never)
    out = tmp_path / "precious"
    (out / extra).parent.mkdir(parents=True, exist_ok=True)
    (out / extra).write_text("mine")
    assert cli_module.run(["demo", "--out", str(out)]) == 2
    assert "not a previous demo" in capsys.readouterr().err
    assert (out / extra).read_text() == "mine"


@pytest.mark.slow
def test_real_demo_twice(cli, tmp_path: Path) -> None:
    for _ in range(2):
        t0 = time.perf_counter()
        proc = cli("demo", "--out", tmp_path / "demo", "--scenario", "tiny", "--json", timeout=900)
        assert proc.returncode == 0, proc.stderr
        assert time.perf_counter() - t0 < 900
