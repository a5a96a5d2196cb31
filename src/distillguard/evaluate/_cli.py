"""``distillguard evaluate``: score a scan directory against labels (import-light)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        labels: Path = typer.Option(..., "--labels", help="labels.parquet or .csv (ground truth)."),
        scan: Path = typer.Option(..., "--scan", help="Scan output directory (accounts.parquet ...)."),
        events: Path | None = typer.Option(
            None,
            "--events",
            help="Event directory, for time to detection and the baseline "
            "(default: events/ next to the labels file).",
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Report JSON path; a .md twin is written next to it (default: SCAN/evaluation.json).",
        ),
        baseline_quantile: float = typer.Option(
            0.99, "--baseline-quantile", help="Benign request-count quantile the volume baseline cuts at."
        ),
    ) -> None:
        """Score a scan against ground-truth labels: accounts, campaigns, time to detection, baseline."""
        from rich.console import Console

        from distillguard.errors import DistillguardError
        from distillguard.evaluate import BaselineConfig, evaluate, print_report

        if not 0.0 < baseline_quantile < 1.0:
            raise DistillguardError("--baseline-quantile must be between 0 and 1")
        console = Console()
        with console.status("evaluating"):
            report = evaluate(
                labels, scan, events=events, out=out, baseline=BaselineConfig(quantile=baseline_quantile)
            )
        print_report(report, console)
        console.print(f"written: {report['outputs']['json']}, {report['outputs']['markdown']}")
