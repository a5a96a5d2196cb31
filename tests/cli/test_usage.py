"""Usage errors and --version through the installed ``distillguard`` script: exit 2, no traceback."""

from __future__ import annotations

from importlib.metadata import version

import pytest
import typer

from distillguard import cli as cli_module


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_installed_version(cli, flag: str) -> None:
    proc = cli(flag)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"distillguard {version('distillguard')}\n"
    assert proc.stderr == ""


USAGE_MISTAKES = {
    "missing argument": ["scan"],
    "unknown option": ["scan", "x", "--bogus"],
    "unknown command": ["bogus"],
    "bad option value": ["simulate", "--out", "x", "--seed", "abc"],
    "bad --fail-on verdict": ["scan", "x", "--out", "y", "--fail-on", "bogus"],
    "missing option of a share command": ["share", "export"],
    "--quiet with --verbose": ["scan", "x", "--out", "y", "--quiet", "--verbose"],
}


@pytest.mark.parametrize("args", USAGE_MISTAKES.values(), ids=USAGE_MISTAKES.keys())
def test_usage_mistake_is_a_usage_line_and_an_error_line(cli, tmp_path, args: list[str]) -> None:
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("Usage: distillguard") and lines[1].startswith("error: ")
    assert not (tmp_path / "y").exists()


@pytest.mark.parametrize("args", [[], ["share"]], ids=["distillguard", "distillguard share"])
def test_bare_group_shows_help_on_stderr_and_exits_2(cli, args: list[str]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "Usage: distillguard" in proc.stderr and "Commands" in proc.stderr


def test_help_is_on_stdout_and_exits_0(cli) -> None:
    proc = cli("scan", "--help")
    assert proc.returncode == 0 and "--fail-on" in proc.stdout and "--json" in proc.stdout


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys) -> None:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise KeyboardInterrupt

    @app.command()
    def other() -> None:
        pass

    monkeypatch.setattr(cli_module, "app", app)
    assert cli_module.run(["boom"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_exit_status_of_a_command_is_returned(monkeypatch) -> None:
    app = typer.Typer()

    @app.command()
    def one() -> None:
        raise typer.Exit(1)

    @app.command()
    def other() -> None:
        pass

    monkeypatch.setattr(cli_module, "app", app)
    assert cli_module.run(["one"]) == 1
