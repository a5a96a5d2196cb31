"""``distillguard report``: (re)write report.html and enforcement.csv for a scan directory."""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard._cli_common import JsonOpt, Output, QuietOpt, VerboseOpt


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        scan: Path = typer.Option(
            ..., "--scan", help="Scan output directory (its report files are replaced)."
        ),
        events: Path | None = typer.Option(
            None, "--events", help="Event directory: per-hour timelines (otherwise activity spans)."
        ),
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Write SCAN/report.html (self-contained, offline) and SCAN/enforcement.csv."""
        from rich.console import Console

        from distillguard.report import write_enforcement_csv, write_report

        output = Output.of(quiet, verbose, json)
        with Console(stderr=True, quiet=not output.progress).status("rendering report"):
            html = write_report(scan, events=events)
            csv = write_enforcement_csv(scan)
        output.emit({"report": str(html), "enforcement": str(csv)})
        if output.human:
            console = Console()
            console.print(f"report:      {html}")
            console.print(f"enforcement: {csv}")
