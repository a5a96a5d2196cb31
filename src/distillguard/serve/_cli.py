"""``distillguard serve --state DIR`` and ``distillguard serve token create``.

Import-light: FastAPI, uvicorn and the pipeline load inside the commands, so
``distillguard --help`` does not pay for them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard.errors import DistillguardError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787

serve_app = typer.Typer(
    help="Serve verdicts to a gateway: live ingest (NDJSON, OTLP), risk lookups, webhooks.",
    invoke_without_command=True,
    no_args_is_help=False,
)
token_app = typer.Typer(help="Bearer tokens of the server (stored hashed).", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")


def _need_serve_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as err:
        raise DistillguardError(
            f"distillguard serve needs {err.name}: pip install 'distillguard[serve]'"
        ) from None


@serve_app.callback()
def serve(
    ctx: typer.Context,
    state: Path = typer.Option(None, "--state", help="State directory (created if new)."),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port."),
    config: Path = typer.Option(
        None, "--config", help="TOML file of ServeParams (actions, webhooks, limits)."
    ),
    interval: float = typer.Option(
        None, "--increment-interval", help="Seconds from one increment's start to the next's."
    ),
    tokens: Path = typer.Option(None, "--tokens", help="Tokens file (default DIR/serve/tokens.json)."),
    infra: Path = typer.Option(None, "--infra", help="Offline IP feeds for scoring (as scan --infra)."),
    lateness: float = typer.Option(None, "--allowed-lateness", help="Hours of lateness merged (state)."),
    webhook: list[str] = typer.Option(None, "--webhook", help="Webhook receiver URL (repeatable)."),
    decode_workers: int = typer.Option(
        None, "--decode-workers", help="Processes validating request bodies (default 0: threads)."
    ),
) -> None:
    """Run the server until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    if state is None:
        raise DistillguardError("--state DIR is required (the state directory to serve)")
    if state.exists() and not state.is_dir():
        raise DistillguardError(f"--state {state} is a file, not a directory")
    if not 0 < port < 65536:
        raise DistillguardError(f"--port {port} is not a TCP port")
    _need_serve_extra()
    from distillguard.serve._params import load_params
    from distillguard.serve._server import run_server

    params = load_params(
        config,
        increment_interval_s=interval,
        webhook_urls=tuple(webhook) if webhook else None,
        decode_workers=decode_workers,
    )
    run_server(
        state,
        params,
        host=host,
        port=port,
        tokens_path=tokens,
        scan_options={"infra": str(infra)} if infra else {},
        allowed_lateness_h=lateness,
    )


@token_app.command("create")
def token_create(
    state: Path = typer.Option(..., "--state", help="State directory the server runs on."),
    scope: list[str] = typer.Option(..., "--scope", help="ingest, read or admin (repeatable)."),
    name: str = typer.Option(None, "--name", help="A label for the token (shown in the tokens file)."),
    tokens: Path = typer.Option(None, "--tokens", help="Tokens file (default DIR/serve/tokens.json)."),
) -> None:
    """Create a token; prints it once (the file keeps only its SHA-256)."""
    from distillguard.serve._app import init_state, serve_paths
    from distillguard.serve._auth import TokenStore

    scopes = [s.strip() for item in scope for s in item.split(",") if s.strip()]
    if tokens is None:
        init_state(state)
        tokens = serve_paths(state)["tokens"]
    print(TokenStore(tokens).create(scopes, name))


def register(app: typer.Typer) -> None:
    """Attach ``distillguard serve`` to the main app."""
    app.add_typer(serve_app, name="serve")
