"""``scan --fail-on``: exit 1 when accounts at or above the verdict exist, 0 otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.cli import app


@pytest.mark.parametrize(
    ("counts", "fail_on", "status"),
    [
        ({"attack": 0, "suspicious": 3, "clear": 5}, None, 0),
        ({"attack": 0, "suspicious": 3, "clear": 5}, "attack", 0),
        ({"attack": 0, "suspicious": 3, "clear": 5}, "suspicious", 1),
        ({"attack": 2, "suspicious": 0, "clear": 5}, "suspicious", 1),
        ({"attack": 2, "suspicious": 0, "clear": 5}, "attack", 1),
        ({"attack": 0, "suspicious": 0, "clear": 5}, "suspicious", 0),
    ],
)
def test_fail_on_exit_status(monkeypatch, fake_scan, tmp_path, counts, fail_on, status) -> None:
    monkeypatch.setattr("distillguard.scan.scan", fake_scan(counts))
    args = ["scan", str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, *(["--fail-on", fail_on] if fail_on else []), "--json"])
    assert result.exit_code == status, result.output


def test_fail_on_attack_on_a_real_scan_exits_1_quietly(cli, tiny_dir: Path, tmp_path: Path) -> None:
    proc = cli("scan", tiny_dir, "--out", tmp_path / "s", "--no-replay", "--fail-on", "attack", "--quiet")
    assert proc.returncode == 1, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")
    assert (tmp_path / "s" / "accounts.parquet").is_file()  # the scan is written before the exit
