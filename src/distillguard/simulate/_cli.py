"""``distillguard simulate``: write a labelled scenario as an event directory."""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard._cli_common import JsonOpt, Output, QuietOpt, VerboseOpt


def register(app: typer.Typer) -> None:
    """Attach the ``simulate`` command to the main CLI (imports stay inside the command)."""

    @app.command("simulate")
    def simulate_cmd(
        scenario: str = typer.Option(
            "tiny", "--scenario", "-s", help="tiny|small|medium|seed or a YAML file"
        ),
        out: Path = typer.Option(..., "--out", "-o", help="output event directory"),
        seed: int = typer.Option(0, "--seed", help="random seed: same seed, same bytes"),
        providers: int = typer.Option(1, "--providers", help="spread every actor's traffic over N providers"),
        corpus: Path | None = typer.Option(
            None, "--corpus", help="real corpora laid out like shared/data (prompts, ip_infra)"
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace a previous simulation in --out"),
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Simulate benign, hard-negative and attack traffic with ground-truth labels."""
        from distillguard.simulate import simulate

        output = Output.of(quiet, verbose, json)
        result = simulate(
            scenario,
            out,
            seed=seed,
            providers=providers,
            corpus=corpus,
            progress=output.progress,
            overwrite=overwrite,
        )
        output.emit(
            {
                "out": str(result.out),
                "scenario": result.scenario,
                "seed": result.seed,
                "events": result.events,
                "accounts": result.accounts,
                "attack_accounts": result.attack_accounts,
                "campaigns": len(result.manifest["campaigns"]),
                "seconds": round(result.seconds, 3),
            }
        )
        if not output.human:
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{result.scenario}: {result.events:,} events, {result.accounts:,} accounts")
        for col in ("entry", "persona", "attack", "accounts", "events"):
            table.add_column(col, justify="right" if col in ("accounts", "events") else "left")
        for key, s in result.manifest["personas"].items():
            table.add_row(
                key, s["persona"], "yes" if s["is_attack"] else "", f"{s['accounts']:,}", f"{s['events']:,}"
            )
        console = Console()
        console.print(table)
        console.print(
            f"wrote {result.out} in {result.seconds:.1f} s ({result.events_per_s:,.0f} events/s); "
            f"{result.attack_accounts:,} attack accounts in {len(result.manifest['campaigns'])} campaigns"
        )
