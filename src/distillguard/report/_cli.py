"""``distillguard report``: (re)write report.html and enforcement.csv for a scan directory."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        scan: Path = typer.Option(..., "--scan", help="Scan output directory."),
        events: Path | None = typer.Option(
            None, "--events", help="Event directory: per-hour timelines (otherwise activity spans)."
        ),
    ) -> None:
        """Write SCAN/report.html (self-contained, offline) and SCAN/enforcement.csv."""
        from rich.console import Console

        from distillguard.report import write_enforcement_csv, write_report

        console = Console()
        with console.status("rendering report"):
            html = write_report(scan, events=events)
            csv = write_enforcement_csv(scan)
        console.print(f"report:      {html}")
        console.print(f"enforcement: {csv}")
