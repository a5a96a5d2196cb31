"""``distillguard evaluate``: score a scan directory against labels (import-light)."""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard._cli_common import JsonOpt, Output, OverwriteOpt, QuietOpt, VerboseOpt, check_out_file


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
            help="Report JSON path; a .md twin is written next to it (default: SCAN/evaluation.json, "
            "replaced on each run; an existing --out needs --overwrite).",
        ),
        baseline_quantile: float = typer.Option(
            0.99, "--baseline-quantile", help="Benign request-count quantile the volume baseline cuts at."
        ),
        overwrite: OverwriteOpt = False,
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Score a scan against ground-truth labels: accounts, campaigns, time to detection, baseline."""
        from distillguard.errors import DistillguardError

        output = Output.of(quiet, verbose, json)
        if not 0.0 < baseline_quantile < 1.0:
            raise DistillguardError("--baseline-quantile must be between 0 and 1")
        if out is not None:
            check_out_file(out, overwrite=overwrite)
            check_out_file(out.with_suffix(".md"), overwrite=overwrite)
        from rich.console import Console

        from distillguard.evaluate import BaselineConfig, evaluate, print_report

        with Console(stderr=True, quiet=not output.progress).status("evaluating"):
            report = evaluate(
                labels, scan, events=events, out=out, baseline=BaselineConfig(quantile=baseline_quantile)
            )
        output.emit(report)
        if output.human:
            console = Console()
            print_report(report, console)
            console.print(f"written: {report['outputs']['json']}, {report['outputs']['markdown']}")
