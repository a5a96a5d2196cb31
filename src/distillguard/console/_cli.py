"""``distillguard console --state DIR``: the analyst console (import-light: FastAPI inside)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import typer

from distillguard.errors import DistillguardError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8788
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def console(
    state: Path = typer.Option(..., "--state", help="State directory of `scan --state`."),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to listen on (no login: keep loopback)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port."),
    analyst: str = typer.Option(None, "--analyst", help="Name written to the audit log (default: OS user)."),
    infra: list[Path] = typer.Option(
        None, "--infra", help="Offline IP feeds for ASN / kind (as scan --infra)."
    ),
) -> None:
    """Review queue, account and campaign pages, confirm / dismiss / escalate (audit-logged)."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ModuleNotFoundError as err:
        raise DistillguardError(
            f"distillguard console needs {err.name}: pip install 'distillguard[serve]'"
        ) from None
    from distillguard.console import create_app

    if not (1 <= port <= 65535):
        raise DistillguardError(f"--port {port} is not a TCP port (1-65535)")
    name = analyst or _user()
    app = create_app(state, analyst=name, infra=list(infra or []))
    if host not in LOOPBACK:
        print(
            f"warning: the console has no login; listening on {host} lets anyone who reaches it decide",
            file=sys.stderr,
        )
    print(f"distillguard console: http://{host}:{port}/ (state {state}, analyst {name})", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


def register(app: typer.Typer) -> None:
    app.command("console")(console)
