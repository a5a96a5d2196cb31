"""Hostile or broken intel: deep nesting, junk, oversized bundles never crash a scan or a match;
every skip is named on stderr, caps are reported, and --strict-intel makes a skip an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.share import ExportParams, export_bundle, intel_signals, match
from distillguard.share._intel_io import IntelLimits
from distillguard.share.intel import IntelParams


@pytest.fixture
def alpha_bundle(providers, key_file, tmp_path) -> Path:
    alpha, _ = providers
    return export_bundle(
        alpha.scan,
        key_file=key_file,
        out=tmp_path / "intel" / "alpha.json",
        identity="Alpha AI",
        params=ExportParams(share_ips=True),
    ).path


def _deep_bundle(path: Path, depth: int) -> Path:
    nested = "[" * depth + "]" * depth
    path.write_text(
        '{"type": "bundle", "id": "bundle--0b3d5bc6-41b8-4d5e-9d6e-2a1d3a6b1f00", "objects": '
        f'[{{"type": "indicator", "x": {nested}}}]}}'
    )
    return path


def _skipped(table) -> dict[str, int]:
    return json.loads(table.schema.metadata[b"distillguard.intel_skipped"])


@pytest.mark.parametrize("depth", [100_000, 500])
def test_deeply_nested_bundle_is_skipped_not_a_traceback(
    providers, key_file, tmp_path, capsys, depth
) -> None:
    """Past the JSON decoder's recursion limit (100,000) and below it but past max_depth (500)."""
    _, beta = providers
    deep = _deep_bundle(tmp_path / "deep.json", depth)
    sig = intel_signals(deep, beta.events, key_file=key_file)
    assert len(sig) == 0 and _skipped(sig) == {"bundle_too_deep": 1}
    err = capsys.readouterr().err
    assert f"warning: intel {deep}: skipped (bundle_too_deep)" in err
    res = match(deep, [beta.events], key_file=key_file, out=tmp_path / "m", identity="Beta")
    assert res.skipped == {"bundle_too_deep": 1}


def test_every_skip_is_a_warning_line_with_its_reason(
    providers, key_file, alpha_bundle, tmp_path, capsys
) -> None:
    _, beta = providers
    intel = alpha_bundle.parent
    text = alpha_bundle.read_text()
    (intel / "truncated.json").write_text(text[: len(text) // 2])
    (intel / "junk.json").write_bytes(b"\x00\xff junk")
    (intel / "list.json").write_text("[1, 2, 3]")
    bundle = json.loads(text)
    ind = next(o for o in bundle["objects"] if o["type"] == "indicator")
    ind = {**ind, "id": "indicator--6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"}
    del ind["extensions"]  # not ours to match: one indicator skipped
    (intel / "foreign.json").write_text(json.dumps({**bundle, "objects": [ind]}))
    intel_signals(intel, beta.events, key_file=key_file)
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("warning: intel ") for line in lines)
    for name, reason in (
        ("truncated.json", "malformed_bundle"),
        ("junk.json", "malformed_bundle"),
        ("list.json", "malformed_bundle"),
    ):
        assert [line for line in lines if f"{name}: skipped ({reason})" in line], (name, lines)
    # the indicator id of the foreign copy is named with the file it came from
    assert [line for line in lines if ind["id"] in line and "(foreign_indicator)" in line]

    with pytest.raises(DistillguardError, match=r"^--strict-intel: 4 intel file\(s\)/indicator\(s\) skipped"):
        intel_signals(intel, beta.events, key_file=key_file, strict=True)


def test_clean_intel_and_own_indicators_are_not_errors_under_strict(
    providers, key_file, alpha_bundle, tmp_path, capsys
) -> None:
    alpha, beta = providers
    assert len(intel_signals(alpha_bundle, beta.events, key_file=key_file, strict=True)) > 0
    assert capsys.readouterr().err == ""
    own = match(
        alpha_bundle,
        [alpha.events],
        key_file=key_file,
        out=tmp_path / "own",
        identity="Alpha AI",
        strict=True,
    )
    assert own.skipped == {"own_identity": 7}
    assert (
        capsys.readouterr().err.strip() == "warning: intel: 7 of our own indicator(s) ignored (own_identity)"
    )


def test_size_and_indicator_caps_skip_and_are_reported(providers, key_file, alpha_bundle, tmp_path) -> None:
    _, beta = providers
    size = alpha_bundle.stat().st_size
    small = IntelLimits(max_bundle_bytes=size - 1)
    sig = intel_signals(alpha_bundle, beta.events, key_file=key_file, params=IntelParams(limits=small))
    assert len(sig) == 0 and _skipped(sig) == {"bundle_too_large": 1}
    limits = json.loads(sig.schema.metadata[b"distillguard.intel_limits"])
    assert limits["max_bundle_bytes"] == size - 1 and limits["max_indicators"] == IntelLimits().max_indicators

    few = IntelLimits(max_indicators=6)  # the bundle holds 7
    res = match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "m", identity="B", limits=few)
    assert res.skipped == {"too_many_indicators": 1} and len(res.matches) == 0
    summary = json.loads((tmp_path / "m" / "match_summary.json").read_text())
    assert summary["limits"]["max_indicators"] == 6
    assert summary["skipped_detail"][0]["reason"] == "too_many_indicators"
    assert "7 indicators > max_indicators 6" in summary["skipped_detail"][0]["detail"]

    cfg = tmp_path / "share.toml"
    cfg.write_text('identity = "Beta"\n[intel]\nmax_indicators = 6\n')
    via_config = match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "c", config=cfg)
    assert via_config.skipped == {"too_many_indicators": 1}
    cfg.write_text('identity = "Beta"\n[intel]\nmax_indicators = 0\n')
    with pytest.raises(DistillguardError, match=r"\[intel\] takes positive integers"):
        match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "d", config=cfg)


def test_warning_lines_are_capped_and_the_rest_summed_up(providers, key_file, tmp_path, capsys) -> None:
    _, beta = providers
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(5):
        (inbox / f"junk{i}.json").write_text("nope")
    params = IntelParams(limits=IntelLimits(max_warning_lines=2))
    sig = intel_signals(inbox, beta.events, key_file=key_file, params=params)
    assert _skipped(sig) == {"malformed_bundle": 5}
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == "warning: intel: 3 more skipped, not listed (malformed_bundle=3)"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "distillguard", *args], capture_output=True, text=True)


def test_cli_match_and_scan_warn_and_strict_intel_exits_2(providers, key_file, tmp_path) -> None:
    _, beta = providers
    deep = _deep_bundle(tmp_path / "deep.json", 100_000)
    base = ["--intel", str(deep), "--key-file", str(key_file)]
    r = _cli("share", "match", str(beta.events), *base, "--out", str(tmp_path / "m"), "--identity", "B")
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "skipped (bundle_too_deep)" in r.stderr
    r = _cli(
        "share", "match", str(beta.events), *base, "--out", str(tmp_path / "m2"), "--identity", "B",
        "--strict-intel",
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: --strict-intel: 1 ")
    assert "Traceback" not in r.stderr
    r = _cli("scan", str(beta.events), *base, "--out", str(tmp_path / "s"), "--no-replay", "--quiet")
    assert r.returncode == 0 and "skipped (bundle_too_deep)" in r.stderr and "Traceback" not in r.stderr
    meta = json.loads((tmp_path / "s" / "scan_meta.json").read_text())
    assert meta["intel"]["distillguard.intel_skipped"] == {"bundle_too_deep": 1}
    assert meta["intel"]["distillguard.intel_limits"] == IntelLimits().documented()
    r = _cli(
        "scan", str(beta.events), *base, "--out", str(tmp_path / "s2"), "--no-replay", "--quiet",
        "--strict-intel",
    )  # fmt: skip
    assert r.returncode == 2 and "error: --strict-intel" in r.stderr and "Traceback" not in r.stderr


def test_push_and_pull_of_deeply_nested_json_are_one_line_errors(tmp_path, monkeypatch) -> None:
    from distillguard.share import _taxii, pull, push

    deep = _deep_bundle(tmp_path / "deep.json", 100_000)
    with pytest.raises(DistillguardError, match="nested too deeply"):
        push(deep, server="http://127.0.0.1:9/taxii2/", collection="c")

    def hostile_server(*_args, **_kwargs):  # what taxii2client raises decoding such a response
        return json.loads("[" * 100_000 + "]" * 100_000)

    monkeypatch.setattr(_taxii, "_connect", hostile_server)
    with pytest.raises(DistillguardError, match="nested too deeply"):
        pull(server="http://127.0.0.1:9/taxii2/", collection="c", out=tmp_path / "in")
