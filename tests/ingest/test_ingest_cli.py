"""The ``distillguard ingest`` command: summary output, exit status 2 on unreadable input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from distillguard.cli import app

DISTILLGUARD = Path(sys.executable).with_name("distillguard")


def test_cli_ingests_and_prints_a_summary(tmp_path, rows, write):
    src = write(tmp_path / "x.jsonl", [*rows(6), {**rows(1)[0], "event_id": "bad", "client_ip": "1.2.3.999"}])
    result = CliRunner().invoke(app, ["ingest", str(src), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output and "invalid_ip" in result.output
    summary = json.loads((tmp_path / "out" / "ingest_summary.json").read_text())
    assert (summary["rows_read"], summary["accepted"], summary["quarantined"]) == (7, 6, 1)


def test_cli_formats_and_mapping_options(tmp_path, write):
    spend = [
        {
            "request_id": "r1",
            "startTime": "2026-01-01T00:00:00Z",
            "api_key": "a" * 64,
            "team_id": "t",
            "model": "m",
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "status": "success",
        }
    ]
    src = write(tmp_path / "spend.jsonl", spend)
    result = CliRunner().invoke(
        app,
        [
            "ingest",
            str(src),
            "--out",
            str(tmp_path / "o"),
            "--format",
            "litellm",
            "--account-from",
            "team",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "ingest_summary.json").read_text())["accepted"] == 1


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DISTILLGUARD), *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_unreadable_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    proc = _run("ingest", str(bad), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "broken.parquet" in proc.stderr and "Traceback" not in proc.stderr


def test_user_mistakes_exit_2(tmp_path, rows, write):
    src = write(tmp_path / "x.csv", rows(2))
    for args in (
        ["ingest", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o1")],
        ["ingest", str(src), "--out", str(tmp_path / "o2"), "--format", "xml"],
        ["ingest", str(src), "--out", str(tmp_path / "o3"), "--mapping", str(tmp_path / "none.yaml")],
    ):
        proc = _run(*args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_permission_denied_is_unreadable(tmp_path, rows, write, monkeypatch):
    """Tests run as root here (root reads anything), so the OS answer is simulated."""
    import os

    import pytest

    from distillguard.errors import UnreadableInputError
    from distillguard.ingest import ingest

    src = write(tmp_path / "x.jsonl", rows(2))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == src else real_access(p, mode))
    with pytest.raises(UnreadableInputError, match="permission denied"):
        ingest(src, tmp_path / "o")
    assert not (tmp_path / "o").exists()
