"""``distillguard demo``: the main job on embedded defaults, no server and no data to fetch.

Simulates a labelled scenario, scans it like real logs, evaluates the scan against the
ground truth, and says where the report is. Running it again replaces its own previous output
(a marker file says a directory is a demo's); any other non-empty directory is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from distillguard._cli_common import JsonOpt, Output, QuietOpt, VerboseOpt

#: Written first into a demo's --out: a later demo may replace that directory's contents.
DEMO_MARKER = "distillguard-demo.json"
#: Everything a demo writes at the top of --out.
DEMO_ENTRIES = frozenset({"logs", "scan", DEMO_MARKER})


def is_previous_demo(out: Path) -> bool:
    """``out`` holds only a demo's output: our marker, or (demos before the marker) a simulation
    in ``logs/`` and at most a scan in ``scan/``, with nothing else beside them."""
    names = {p.name for p in out.iterdir()}
    if not names <= DEMO_ENTRIES:
        return False
    if DEMO_MARKER in names:
        return True
    scan_ok = "scan" not in names or (out / "scan" / "scan_meta.json").is_file()
    return (out / "logs" / "manifest.json").is_file() and scan_ok


def prepare_demo_out(out: Path) -> bool:
    """Refuse before any work unless ``out`` is new, empty or a previous demo's; True when it
    held a previous demo (its files are replaced)."""
    from distillguard.errors import DistillguardError

    if out.exists() and not out.is_dir():
        raise DistillguardError(f"--out {out} is a file, not a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return False
    if not is_previous_demo(out):
        raise DistillguardError(
            f"--out {out} is not empty and is not a previous demo's output; choose another --out"
        )
    return True


def _replace_previous(out: Path) -> None:
    """Clear a previous demo's scan files (the simulation is replaced by simulate's overwrite)."""
    from distillguard._scan_cli import prepare_scan_out

    if (out / "scan").is_dir():
        prepare_scan_out(out / "scan", overwrite=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(
            Path("demo"), "--out", help="Where logs and scan go (a previous demo there is replaced)."
        ),
        scenario: str = typer.Option("small", "--scenario", help="Built-in scenario name or YAML file."),
        seed: int = typer.Option(0, "--seed", help="Simulator seed (same seed, same bytes)."),
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Simulate a labelled scenario, scan it, evaluate the scan, and point at the report."""
        output = Output.of(quiet, verbose, json_out)
        replacing = prepare_demo_out(out)
        from rich.console import Console

        from distillguard.evaluate import evaluate, print_report
        from distillguard.scan import scan
        from distillguard.simulate import simulate

        # human narration on stdout; with --json it moves to stderr so stdout holds only the JSON
        console: Any = Console(stderr=output.json, quiet=output.quiet)
        if replacing:
            output.note(f"replacing the previous demo in {out}")
            _replace_previous(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / DEMO_MARKER).write_text(json.dumps({"scenario": scenario, "seed": seed}) + "\n")
        logs = out / "logs"
        scan_dir = out / "scan"
        console.rule(f"1/3 simulate scenario {scenario!r} (seed {seed})")
        simulate(scenario, logs, seed=seed, progress=output.progress, overwrite=True)
        console.rule("2/3 scan")
        result = scan([logs], scan_dir, progress=output.progress)
        counts = result.verdict_counts
        console.print(
            f"accounts: {counts['attack']} attack, {counts['suspicious']} suspicious, "
            f"{counts['clear']} clear; campaigns: {len(result.campaigns)}"
        )
        console.rule("3/3 evaluate against the simulator's labels")
        report = evaluate(logs / "labels.parquet", scan_dir, events=logs, out=scan_dir / "evaluation.json")
        print_report(report, console=console)
        paths = {
            "report": (scan_dir / "report.html").resolve(),
            "enforcement": (scan_dir / "enforcement.csv").resolve(),
            "evaluation": (scan_dir / "evaluation.md").resolve(),
        }
        console.print(f"\nreport:      [bold]{paths['report']}[/bold]")
        console.print(f"enforcement: {paths['enforcement']}")
        console.print(f"evaluation:  {paths['evaluation']}")
        output.emit(
            {
                "out": str(out),
                "scenario": scenario,
                "seed": seed,
                "verdicts": {k: counts[k] for k in ("attack", "suspicious", "clear")},
                "campaigns": len(result.campaigns),
                "evaluation": report.get("detector"),
                **{k: str(v) for k, v in paths.items()},
            }
        )
