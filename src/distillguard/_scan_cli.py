"""``distillguard scan``: logs or an event directory in, the scan directory out.

Import-light on purpose (the pipeline loads inside the command) so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def scan(
        inputs: list[Path] = typer.Argument(
            ..., help="Raw logs (any format ingest reads) or an event directory."
        ),
        out: Path = typer.Option(..., "--out", help="Scan directory to write."),
        infra: list[Path] = typer.Option(None, "--infra", help="IP infrastructure files (ASN, ranges)."),
        intel: Path = typer.Option(None, "--intel", help="Partner intel (STIX bundles) to match."),
        key_file: Path = typer.Option(None, "--key-file", help="Sharing group key for --intel."),
        share_config: Path = typer.Option(
            None, "--share-config", help="Sharing config (our identity, trusted partners) for --intel."
        ),
        strict_intel: bool = typer.Option(
            False, "--strict-intel", help="A skipped intel file or indicator is an error (exit 2)."
        ),
        as_of: str = typer.Option(None, "--as-of", help="Only events at or before this ISO 8601 time."),
        metadata_only: bool = typer.Option(False, "--metadata-only", help="Ignore prompt text."),
        no_replay: bool = typer.Option(False, "--no-replay", help="Skip the flagged_at replay (faster)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Score every account, group attacks into campaigns, write the scan directory."""
        from rich.console import Console
        from rich.table import Table

        from distillguard.scan import scan as run_scan

        if strict_intel:  # the scan reads strictness from the sharing config
            from dataclasses import replace

            from distillguard.share._config import load_config

            share_config = replace(load_config(share_config), strict_intel=True)

        console = Console()
        result = run_scan(
            inputs,
            out,
            infra=infra or None,
            intel=intel,
            key_file=key_file,
            share_config=share_config,
            as_of=as_of,
            metadata_only=metadata_only,
            progress=not quiet,
            replay=not no_replay,
        )
        counts = result.verdict_counts
        table = Table(title=f"scan -> {out}")
        for col in ("events", "accounts", "attack", "suspicious", "clear", "campaigns", "seconds"):
            table.add_column(col, justify="right")
        table.add_row(
            str(result.meta.get("events")),
            str(result.accounts.num_rows),
            str(counts["attack"]),
            str(counts["suspicious"]),
            str(counts["clear"]),
            str(len(result.campaigns)),
            f"{sum(result.meta.get('timings_s', {}).values()):.1f}",
        )
        console.print(table)
        if not result.meta.get("prompt_text_present"):
            console.print("[yellow]no prompt text: content signals were off (see scan_meta.json)[/yellow]")
