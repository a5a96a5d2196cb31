"""``--out`` is checked before any work: a file where a directory belongs, or earlier output, is one
error line and exit 2; ``--overwrite`` replaces a previous output's own files and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard import cli as cli_module


def _never(*_args, **_kwargs):
    raise AssertionError("the work ran although --out was unusable")


def _run(capsys, *args: object) -> tuple[int, str]:
    status = cli_module.run([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.err


def test_scan_into_an_existing_file_fails_before_scanning(cli, tiny_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    proc = cli("scan", tiny_dir, "--out", target)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "is a file" in proc.stderr
    assert target.read_text() == "keep me"


def test_scan_refuses_a_non_empty_directory(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setattr("distillguard.scan.scan", _never)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    status, err = _run(capsys, "scan", tmp_path, "--out", tmp_path / "out")
    assert status == 2 and "not empty" in err and "--overwrite" in err


def test_scan_refuses_a_previous_scan_without_overwrite(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setattr("distillguard.scan.scan", _never)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "scan_meta.json").write_text("{}")
    status, err = _run(capsys, "scan", tmp_path, "--out", tmp_path / "out")
    assert status == 2 and "holds a previous scan; use --overwrite" in err


def test_scan_overwrite_clears_only_the_previous_scans_files(
    monkeypatch, fake_scan, capsys, tmp_path: Path
) -> None:

    out = tmp_path / "out"
    out.mkdir()
    for name in ("scan_meta.json", "evaluation.json", "report.html"):
        (out / name).write_text("old")
    (out / "notes.txt").write_text("mine")
    monkeypatch.setattr("distillguard.scan.scan", fake_scan({"attack": 0, "suspicious": 0, "clear": 1}))
    status, err = _run(capsys, "scan", tmp_path, "--out", out, "--overwrite", "--quiet")
    assert status == 0, err
    assert not (out / "evaluation.json").exists() and not (out / "report.html").exists()
    assert (out / "notes.txt").read_text() == "mine" and (out / "scan_meta.json").read_text() == "{}"


def test_ingest_refuses_a_non_empty_directory_unless_overwrite(cli, tiny_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused = cli("ingest", tiny_dir, "--out", out, "-q")
    assert refused.returncode == 2 and "not empty" in refused.stderr and not (out / "events").exists()
    ok = cli("ingest", tiny_dir, "--out", out, "-q", "--overwrite")
    assert ok.returncode == 0, ok.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "ingest_summary.json").is_file()


@pytest.mark.parametrize(
    ("target", "work", "args"),
    [
        ("file", "distillguard.share._match.match",
         ["share", "match", "{tmp}", "--intel", "{tmp}", "-k", "{tmp}/k", "--out", "{out}"]),
        ("file", "distillguard.share._export.export_bundle",
         ["share", "export", "--scan", "{tmp}", "-k", "{tmp}/k", "--out", "{out}"]),
        ("dir", "distillguard.share._export.export_bundle",
         ["share", "export", "--scan", "{tmp}", "-k", "{tmp}/k", "--out", "{out}"]),
        ("file", "distillguard.evaluate.evaluate",
         ["evaluate", "--labels", "{tmp}/l.parquet", "--scan", "{tmp}", "--out", "{out}"]),
        ("dir", "distillguard.evaluate.evaluate",
         ["evaluate", "--labels", "{tmp}/l.parquet", "--scan", "{tmp}", "--out", "{out}"]),
        ("file", "distillguard.enrich._cli_run.run_enrich", ["enrich", "{tmp}", "--out", "{out}"]),
    ],
    ids=["match-file", "export-file", "export-dir", "evaluate-file", "evaluate-dir", "enrich-file"],
)  # fmt: skip
def test_other_outputs_fail_up_front(monkeypatch, capsys, tmp_path: Path, target, work, args) -> None:
    monkeypatch.setattr(work, _never)
    out = tmp_path / "taken.json"
    if target == "file":
        out.write_text("keep me")
    else:
        out.mkdir()
    status, err = _run(capsys, *(a.format(tmp=tmp_path, out=out) for a in args))
    assert status == 2, err
    assert err.count("\n") == 1 and str(out) in err
    assert target == "dir" or out.read_text() == "keep me"


def test_share_match_refuses_previous_output_without_overwrite(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setattr("distillguard.share._match.match", _never)
    out = tmp_path / "m"
    out.mkdir()
    (out / "matches.parquet").write_text("old")
    status, err = _run(capsys, "share", "match", tmp_path, "--intel", tmp_path, "-k", tmp_path, "--out", out)
    assert status == 2 and "use --overwrite" in err
