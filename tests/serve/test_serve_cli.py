"""``distillguard serve`` usage errors are one line and exit 2; ``token create`` stores a hash."""

from __future__ import annotations

import json

from distillguard.cli import run


def _err_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_serve_without_state_is_a_one_line_error(capsys):
    assert run(["serve"]) == 2  # a bare group: its help on stderr
    capsys.readouterr()
    assert run(["serve", "--port", "8787"]) == 2
    assert _err_lines(capsys) == ["error: --state DIR is required (the state directory to serve)"]


def test_bad_config_and_port_are_one_line_errors(tmp_path, capsys):
    assert run(["serve", "--state", str(tmp_path / "s"), "--config", str(tmp_path / "none.toml")]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: cannot read --config")
    assert run(["serve", "--state", str(tmp_path / "s"), "--port", "70000"]) == 2
    assert _err_lines(capsys) == ["error: --port 70000 is not a TCP port"]


def test_token_create_prints_the_token_once_and_stores_its_hash(tmp_path, capsys):
    state = tmp_path / "state"
    assert run(["serve", "token", "create", "--state", str(state), "--scope", "read,ingest"]) == 0
    token = capsys.readouterr().out.strip()
    stored = json.loads((state / "serve" / "tokens.json").read_text())
    assert token.startswith("dgt_") and token not in json.dumps(stored)
    assert stored[0]["scopes"] == ["read", "ingest"]
    assert run(["serve", "token", "create", "--state", str(state), "--scope", "root"]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and "--scope must be one or more of ingest, read, admin" in lines[0]
