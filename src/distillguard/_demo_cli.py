"""``distillguard demo``: the main job on embedded defaults, no server and no data to fetch.

Simulates a labelled scenario, scans it like real logs, evaluates the scan against the
ground truth, and says where the report is.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo"), "--out", help="Where logs and scan go."),
        scenario: str = typer.Option("small", "--scenario", help="Built-in scenario name or YAML file."),
        seed: int = typer.Option(0, "--seed", help="Simulator seed (same seed, same bytes)."),
    ) -> None:
        """Simulate a labelled scenario, scan it, evaluate the scan, and point at the report."""
        from rich.console import Console

        from distillguard.evaluate import evaluate, print_report
        from distillguard.scan import scan
        from distillguard.simulate import simulate

        console = Console()
        logs = out / "logs"
        scan_dir = out / "scan"
        console.rule(f"1/3 simulate scenario {scenario!r} (seed {seed})")
        simulate(scenario, logs, seed=seed)
        console.rule("2/3 scan")
        result = scan([logs], scan_dir)
        counts = result.verdict_counts
        console.print(
            f"accounts: {counts['attack']} attack, {counts['suspicious']} suspicious, "
            f"{counts['clear']} clear; campaigns: {len(result.campaigns)}"
        )
        console.rule("3/3 evaluate against the simulator's labels")
        result = evaluate(logs / "labels.parquet", scan_dir, events=logs, out=scan_dir / "evaluation.json")
        print_report(result, console=console)
        console.print(f"\nreport:      [bold]{(scan_dir / 'report.html').resolve()}[/bold]")
        console.print(f"enforcement: {(scan_dir / 'enforcement.csv').resolve()}")
        console.print(f"evaluation:  {(scan_dir / 'evaluation.md').resolve()}")
