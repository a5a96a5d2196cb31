"""The ``distillguard share`` commands end to end, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "distillguard", "share", *args], capture_output=True, text=True
    )


def test_keygen_export_match(providers, tmp_path: Path) -> None:
    alpha, beta = providers
    key = tmp_path / "k.json"
    r = _run("keygen", "--out", str(key))
    assert r.returncode == 0, r.stderr
    assert json.loads(key.read_text())["key_id"] in r.stdout
    cfg = tmp_path / "share.toml"
    cfg.write_text('identity = "Alpha AI"\ntlp = "green"\n')
    r = _run(
        "export",
        "--scan",
        str(alpha.scan),
        "--key-file",
        str(key),
        "--out",
        str(tmp_path / "b.json"),
        "--config",
        str(cfg),
    )
    assert r.returncode == 0, r.stderr
    assert "indicators" in r.stdout
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert any(o.get("name") == "TLP:GREEN" for o in bundle["objects"])
    r = _run(
        "match",
        str(beta.events),
        "--intel",
        str(tmp_path / "b.json"),
        "--key-file",
        str(key),
        "--out",
        str(tmp_path / "m"),
        "--identity",
        "Beta Labs",
    )
    assert r.returncode == 0, r.stderr
    assert "matched accounts" in r.stdout
    matches = pq.read_table(tmp_path / "m" / "matches.parquet")
    assert set(matches["account_id"].to_pylist()) >= set(beta.attack_accounts)


def test_user_mistakes_exit_2_with_one_line(providers, tmp_path: Path) -> None:
    alpha, _ = providers
    (tmp_path / "short.json").write_text(json.dumps({"key_id": "grp-1", "key": "abcd"}))
    r = _run(
        "export",
        "--scan",
        str(alpha.scan),
        "--key-file",
        str(tmp_path / "short.json"),
        "--out",
        str(tmp_path / "b.json"),
        "--identity",
        "A",
    )
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    r = _run("pull", "--out", str(tmp_path))
    assert r.returncode == 2 and "--server" in r.stderr


def test_export_share_ips_is_an_explicit_opt_in_with_a_warning(providers, tmp_path: Path) -> None:
    alpha, _ = providers
    key = tmp_path / "k.json"
    assert _run("keygen", "--out", str(key)).returncode == 0
    base = ["export", "--scan", str(alpha.scan), "--key-file", str(key), "--identity", "Alpha AI"]

    def kinds(path: Path) -> set[str]:
        objects = json.loads(path.read_text())["objects"]
        return {next(iter(o["extensions"].values()))["kind"] for o in objects if o["type"] == "indicator"}

    r = _run(*base, "--out", str(tmp_path / "default.json"))
    assert r.returncode == 0 and "warning" not in r.stderr
    assert not kinds(tmp_path / "default.json") & {"ip", "ip24"}
    r = _run(*base, "--out", str(tmp_path / "ips.json"), "--share-ips")
    assert r.returncode == 0 and "warning: exporting client IPs and /24s" in r.stderr
    assert kinds(tmp_path / "ips.json") >= {"ip", "ip24"}
