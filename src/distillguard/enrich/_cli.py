"""``distillguard enrich``, ``ip-info`` and ``infra refresh|show``: the enrich stage on its own.

Import-light on purpose: pyarrow, numpy and the stage load inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard._cli_common import JsonOpt, Output, OverwriteOpt, QuietOpt, VerboseOpt, check_out_file

_INFRA_HELP = (
    "IP infrastructure files or directories (feeds, ASN tables, lists, .mmdb); default: the built-in "
    "floor, packaged cloud ranges and the `infra refresh` cache."
)

_CACHE_HELP = "Cache directory (default: $DISTILLGUARD_INFRA_DIR, else ~/.cache/distillguard/ip_infra)."

infra_app = typer.Typer(
    name="infra",
    help="IP infrastructure knowledge used without --infra: refresh the public feeds, show what is used.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach the enrich commands (and the ``infra`` group) to the main app."""
    app.add_typer(infra_app, name="infra")

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
        overwrite: OverwriteOpt = False,
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Add IP infrastructure, template/family/frame ids and prompt tags to events."""
        from distillguard.enrich._cli_run import run_enrich

        output = Output.of(quiet, verbose, json)
        check_out_file(out, overwrite=overwrite)
        summary = run_enrich(
            events, out, infra or None, seed=seed, batch_rows=batch_rows,
            progress=output.progress, show=output.human,
        )  # fmt: skip
        output.emit(summary)

    @app.command("ip-info")
    def ip_info_cmd(
        ips: list[str] = typer.Argument(..., help="IPv4/IPv6 addresses to look up."),
        infra: list[Path] = typer.Option(None, "--infra", help=_INFRA_HELP),
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Show ASN, organisation, kind, country and prefix for addresses (offline)."""
        from distillguard.enrich._cli_run import run_ip_info

        output = Output.of(quiet, verbose, json)
        rows = run_ip_info(ips, infra or None, show=output.human)
        output.emit({"addresses": rows})


@infra_app.command("refresh")
def infra_refresh_cmd(
    out: Path = typer.Option(None, "--out", "-o", help=_CACHE_HELP),
    source: list[str] = typer.Option(None, "--source", help="Only this feed (repeatable); see `infra show`."),
    mirror: str = typer.Option(
        None, "--mirror", help="Fetch every file by its cache name from this base URL (an internal mirror)."
    ),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="Seconds to wait for each server."),
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
) -> None:
    """Download the public cloud ranges, datacenter/VPN lists, Tor exits, relay egress and IP-to-ASN."""
    from distillguard.enrich._cli_run import run_infra_refresh

    output = Output.of(quiet, verbose, json)
    summary = run_infra_refresh(out, source or None, mirror, timeout, overwrite=overwrite, output=output)
    output.emit(summary)


@infra_app.command("show")
def infra_show_cmd(
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json: JsonOpt = False,
) -> None:
    """What a scan without --infra uses: layers, the feed cache (age, licence), table sizes."""
    from distillguard.enrich._cli_run import run_infra_show

    output = Output.of(quiet, verbose, json)
    output.emit(run_infra_show(output))
