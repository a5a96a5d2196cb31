"""The ``distillguard`` command line.

Each stage registers its own commands from a light ``_cli`` module (heavy imports
happen inside the commands), so ``distillguard --help`` stays fast and each stage
owns its command-line surface.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from distillguard.errors import DistillguardError

app = typer.Typer(
    name="distillguard",
    help="Detect LLM-API distillation campaigns in API logs, prove them, and share indicators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """Attach every stage's commands (each module's ``register(app)``)."""
    import importlib

    for name in (
        "distillguard.ingest._cli",
        "distillguard.enrich._cli",
        "distillguard.simulate._cli",
        "distillguard.evaluate._cli",
        "distillguard.report._cli",
        "distillguard._scan_cli",
        "distillguard.share._cli",
        "distillguard._demo_cli",
        "distillguard.serve._cli",
        "distillguard.console._cli",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:  # a stage not built yet
            if err.name != name:
                raise
            continue
        module.register(app)


_register()

#: Exit status after ctrl-C (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"distillguard {version('distillguard')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            print("distillguard (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Detect LLM-API distillation campaigns in API logs, prove them, and share indicators."""


def _bare_group_help(argv: list[str]) -> bool:
    """``distillguard`` or ``distillguard share`` alone: help on stderr (click >= 8.2 then exits 2).

    Handled before typer parses: its own no-args error prints the help on stdout.
    """
    import contextlib

    command: Any = typer.main.get_command(app)
    ctx = command.make_context("distillguard", [], resilient_parsing=True)
    for arg in argv:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            return False
        command = sub
        ctx = command.make_context(arg, [], parent=ctx, resilient_parsing=True)
    if not hasattr(command, "commands"):
        return False
    with contextlib.redirect_stdout(sys.stderr):  # typer's Rich help prints instead of returning
        text = ctx.get_help()
    if text:
        print(text, file=sys.stderr)
    return True


def _usage_error(err: Exception) -> int:
    """One usage line and one error line on stderr."""
    ctx = getattr(err, "ctx", None)
    message = err.format_message() if hasattr(err, "format_message") else str(err)
    if ctx is not None:
        print(ctx.get_usage().splitlines()[0].strip(), file=sys.stderr)
        print(f"error: {message} (see '{ctx.command_path} --help')", file=sys.stderr)
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


class _CtrlC:
    """Remembers a ctrl-C, because DuckDB turns it into its own ``RuntimeError`` (Query interrupted)."""

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def __enter__(self) -> _CtrlC:
        import signal
        import threading

        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not ignored/custom
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            import signal

            signal.signal(signal.SIGINT, self._previous)


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status (see README "CLI conventions")."""
    try:  # typer >= 0.20 ships its own click; older typer raises click's classes
        from typer._click import exceptions as click_errors
    except ImportError:  # pragma: no cover
        from click import exceptions as click_errors

    args = sys.argv[1:] if argv is None else list(argv)
    if _bare_group_help(args):
        return 2
    with _CtrlC() as ctrl_c:
        try:
            status = app(args=args, prog_name="distillguard", standalone_mode=False)
        except DistillguardError as err:
            print(f"error: {err}", file=sys.stderr)
            return err.exit_code
        except (KeyboardInterrupt, typer.Abort):
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except click_errors.UsageError as err:
            return _usage_error(err)
        except click_errors.ClickException as err:
            err.show()
            return err.exit_code
        except Exception:
            if ctrl_c.pressed:  # a library wrapped the interrupt in its own error
                print("interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED
            raise
    if status == EXIT_INTERRUPTED:  # typer turns ctrl-C inside a command into Exit(130)
        print("interrupted", file=sys.stderr)
    return status if isinstance(status, int) else 0


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit status 2."""
    sys.exit(run())


if __name__ == "__main__":
    main()
