"""--json puts one JSON document and nothing else on stdout; --quiet leaves stdout and stderr empty."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest


def _only_json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)  # fails on any table, note or progress text on stdout


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--scan", "{scan}"],
        ["share", "keygen", "--out", "{tmp}/k.json"],
        ["evaluate", "--labels", "{sim}/labels.parquet", "--scan", "{scan}", "--out", "{tmp}/e.json"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_quiet_prints_nothing(cli, tiny_dir: Path, tiny_scan: Path, tmp_path: Path, command) -> None:
    args = [a.format(sim=tiny_dir, scan=tiny_scan, tmp=tmp_path) for a in command]
    proc = cli(*args, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")


def test_ingest_evaluate_report_json(cli, tiny_dir: Path, tiny_scan: Path, tmp_path: Path) -> None:
    ingest = _only_json(cli("ingest", tiny_dir, "--out", tmp_path / "i", "--json"))
    manifest = json.loads((tiny_dir / "manifest.json").read_text())
    assert ingest["accepted"] == ingest["rows_read"] == manifest["events"]

    ev = _only_json(
        cli("evaluate", "--labels", tiny_dir / "labels.parquet", "--scan", tiny_scan,
            "--out", tmp_path / "e.json", "--json")
    )  # fmt: skip
    assert ev == json.loads((tmp_path / "e.json").read_text()) | {"outputs": ev["outputs"]}

    report = _only_json(cli("report", "--scan", tiny_scan, "--json"))
    assert Path(report["report"]).is_file() and Path(report["enforcement"]).is_file()


@pytest.mark.slow
def test_share_keygen_export_match_json(cli, tiny_dir: Path, tiny_scan: Path, tmp_path: Path) -> None:
    key = _only_json(cli("share", "keygen", "--out", tmp_path / "k.json", "--json"))
    assert key["key_id"]
    bundle = tmp_path / "b.json"
    export = _only_json(
        cli("share", "export", "--scan", tiny_scan, "-k", tmp_path / "k.json", "--out", bundle,
            "--identity", "us", "--json")
    )  # fmt: skip
    objects = json.loads(bundle.read_text())["objects"]
    assert export["objects"] == len(objects) and export["indicators"] > 0
    match = _only_json(
        cli("share", "match", tiny_dir, "--intel", bundle, "-k", tmp_path / "k.json", "--out", tmp_path / "m",
            "--identity", "them", "--json")
    )  # fmt: skip
    assert match["matched accounts"] == len(
        pq.read_table(tmp_path / "m" / "matches.parquet")["account_id"].unique()
    )
