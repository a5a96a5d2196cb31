"""The ``distillguard`` command line.

Each stage registers its own commands from a light ``_cli`` module (heavy imports
happen inside the commands), so ``distillguard --help`` stays fast and each stage
owns its command-line surface.
"""

from __future__ import annotations

import sys

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
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:  # a stage not built yet
            if err.name != name:
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    """Console entry point: user mistakes become one line on stderr and exit status 2."""
    try:
        app(standalone_mode=False)
    except DistillguardError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as err:  # click usage errors and the like
        import click

        if isinstance(err, click.ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise


if __name__ == "__main__":
    main()
