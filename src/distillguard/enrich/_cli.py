"""``distillguard enrich`` and ``distillguard ip-info``: the enrich stage on its own.

Import-light on purpose: pyarrow, numpy and the stage load inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

_INFRA_HELP = "IP infrastructure files or directories (feeds, ASN tables, lists, .mmdb); default: builtin."


def register(app: typer.Typer) -> None:
    """Attach the enrich commands to the main app."""

    @app.command("enrich")
    def enrich_cmd(
        events: Path = typer.Argument(
            ..., help="Event directory (ingest/simulate output) or a Parquet file."
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write the enriched events to."),
        infra: list[Path] = typer.Option(None, "--infra", help=_INFRA_HELP),
        seed: int = typer.Option(0, "--seed", help="MinHash seed (template families)."),
        batch_rows: int = typer.Option(
            0,
            "--batch-rows",
            help="Enrich in batches of this many rows (0 = one pass; families span the input).",
        ),
    ) -> None:
        """Add IP infrastructure, template/family/frame ids and prompt tags to events."""
        from distillguard.enrich._cli_run import run_enrich

        run_enrich(events, out, infra or None, seed=seed, batch_rows=batch_rows)

    @app.command("ip-info")
    def ip_info_cmd(
        ips: list[str] = typer.Argument(..., help="IPv4/IPv6 addresses to look up."),
        infra: list[Path] = typer.Option(None, "--infra", help=_INFRA_HELP),
    ) -> None:
        """Show ASN, organisation, kind, country and prefix for addresses (offline)."""
        from distillguard.enrich._cli_run import run_ip_info

        run_ip_info(ips, infra or None)
