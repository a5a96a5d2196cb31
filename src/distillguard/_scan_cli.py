"""``distillguard scan``: logs or an event directory in, the scan directory out.

Import-light on purpose (the pipeline loads inside the command) so ``--help`` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from distillguard._cli_common import JsonOpt, Output, OverwriteOpt, QuietOpt, VerboseOpt, check_out_dir
from distillguard.errors import DistillguardError

#: The file that marks a directory as a previous scan's output.
SCAN_MARKER = "scan_meta.json"
#: What a scan (and ``evaluate``'s default output) writes into its directory; ``--overwrite``
#: removes these before a new scan so no stale report or evaluation survives next to it.
SCAN_FILES = (
    "accounts.parquet",
    "signals.parquet",
    "edges.parquet",
    "quarantine.parquet",
    "campaigns.json",
    "report.html",
    "enforcement.csv",
    "evaluation.json",
    "evaluation.md",
    SCAN_MARKER,
)
#: Verdicts from most to least severe; ``--fail-on V`` counts V and everything before it.
SEVERITY = ("attack", "suspicious")
#: Exit status when ``--fail-on`` finds accounts at or above its verdict.
EXIT_FINDINGS = 1


class FailOn(StrEnum):
    """The least severe verdict that makes ``--fail-on`` exit 1."""

    attack = "attack"
    suspicious = "suspicious"


def findings_at_or_above(counts: dict[str, int], fail_on: str) -> int:
    """Accounts whose verdict is ``fail_on`` or more severe."""
    return sum(counts.get(v, 0) for v in SEVERITY[: SEVERITY.index(fail_on) + 1])


def _summary(result: Any, out: Path) -> dict[str, Any]:
    counts = result.verdict_counts
    return {
        "out": str(out),
        "events": result.meta.get("events"),
        "accounts": result.accounts.num_rows,
        "verdicts": {k: counts[k] for k in ("attack", "suspicious", "clear")},
        "campaigns": len(result.campaigns),
        "seconds": round(sum(result.meta.get("timings_s", {}).values()), 3),
        "prompt_text_present": bool(result.meta.get("prompt_text_present")),
    }


def _print_table(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"scan -> {summary['out']}")
    for col in ("events", "accounts", "attack", "suspicious", "clear", "campaigns", "seconds"):
        table.add_column(col, justify="right")
    v = summary["verdicts"]
    table.add_row(
        str(summary["events"]),
        str(summary["accounts"]),
        str(v["attack"]),
        str(v["suspicious"]),
        str(v["clear"]),
        str(summary["campaigns"]),
        f"{summary['seconds']:.1f}",
    )
    console.print(table)


def prepare_scan_out(out: Path, overwrite: bool) -> None:
    """Check ``--out`` before scanning; with ``overwrite`` clear a previous scan's own files."""
    check_out_dir(out, marker=SCAN_MARKER, what="scan", overwrite=overwrite)
    if overwrite:
        for name in SCAN_FILES:
            path = out / name
            if path.is_file():
                path.unlink()


def register(app: typer.Typer) -> None:
    @app.command()
    def scan(
        inputs: list[Path] = typer.Argument(
            None, help="Raw logs (any format ingest reads) or an event directory.", show_default=False
        ),
        out: Path = typer.Option(None, "--out", help="Scan directory to write (optional with --state)."),
        state: Path = typer.Option(
            None,
            "--state",
            help="Continuous mode: add only the events newer than this state's watermark, score, record "
            "verdicts (flagged_at = first increment that flagged). See docs/continuous.md.",
        ),
        allowed_lateness: float = typer.Option(
            None, "--allowed-lateness", help="With --state: hours an event may be older than the watermark."
        ),
        replay_from: str = typer.Option(
            None, "--replay-from", help="With --state: re-score the increments after this ISO 8601 time."
        ),
        confirm_increments: int = typer.Option(
            None,
            "--confirm-increments",
            help="With --state: consecutive increments that must call an account an attack before it "
            "gets a flagged_at (default 1). docs/continuous.md.",
        ),
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
        engine: str = typer.Option(
            "duckdb",
            "--engine",
            help="Where features, coordination and the per-text enrichment kernels run: duckdb "
            "(embedded) or pyspark (a local Spark session, or the spark-submit one; needs the spark "
            "extra and Java). docs/engines.md.",
        ),
        memory_gb: float = typer.Option(
            None,
            "--memory-gb",
            min=0.25,
            help="Memory budget (GiB) of the embedded DuckDB; past it the scan spills to disk (default 2).",
        ),
        fail_on: FailOn = typer.Option(
            None,
            "--fail-on",
            help="Exit 1 when any account is at or above this verdict (attack, or suspicious and attack).",
        ),
        overwrite: OverwriteOpt = False,
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Score every account, group attacks into campaigns, write the scan directory."""
        output = Output.of(quiet, verbose, json)
        if engine != "duckdb" and state is not None:
            raise DistillguardError(
                "--engine: --state runs on DuckDB only (its state store is a DuckDB file)"
            )
        if state is not None:
            _state_scan(
                state,
                inputs or [],
                out,
                allowed_lateness,
                replay_from,
                confirm_increments,
                as_of,
                no_replay,
                overwrite,
                fail_on,
                output,
                infra=infra or None,
                intel=intel,
                key_file=key_file,
                share_config=share_config,
                metadata_only=metadata_only,
                strict_intel=strict_intel,
                memory_gb=memory_gb,
            )
            return
        if not inputs:
            raise typer.BadParameter(
                "give the logs to scan (or --state DIR to re-score a state)", param_hint="INPUTS"
            )
        if out is None:
            raise typer.BadParameter("--out is required without --state", param_hint="--out")
        prepare_scan_out(out, overwrite)

        from distillguard._engine import connect_engine
        from distillguard.scan import scan as run_scan

        backend = connect_engine(engine)  # a one-line error (exit 2) without PySpark or Java
        share_config = _strict(share_config, strict_intel)
        result = run_scan(
            inputs,
            out,
            infra=infra or None,
            intel=intel,
            key_file=key_file,
            share_config=share_config,
            as_of=as_of,
            metadata_only=metadata_only,
            progress=output.progress,
            replay=not no_replay,
            backend=backend,
            memory_gb=memory_gb,
        )
        summary = _summary(result, out)
        if not summary["prompt_text_present"]:
            output.note("note: no prompt text: content signals were off (see scan_meta.json)")
        _finish(summary, summary["verdicts"], fail_on, output, _print_table)


def _state_scan(
    state: Path,
    inputs: list[Path],
    out: Path | None,
    allowed_lateness: float | None,
    replay_from: str | None,
    confirm_increments: int | None,
    as_of: str | None,
    no_replay: bool,
    overwrite: bool,
    fail_on: FailOn | None,
    output: Output,
    *,
    strict_intel: bool,
    **scan_options: Any,
) -> None:
    """``scan --state``: one increment of the continuous mode (distillguard.state)."""
    from distillguard.state._cli import check_incompatible, print_increment, run_state_scan

    check_incompatible(**{"--as-of": as_of, "--no-replay": no_replay})
    scan_options["share_config"] = _strict(scan_options["share_config"], strict_intel)
    _, summary = run_state_scan(
        state,
        inputs,
        out,
        allowed_lateness_h=allowed_lateness,
        replay_from=replay_from,
        confirm_increments=confirm_increments,
        overwrite=overwrite,
        scan_options={**scan_options, "progress": output.progress},
    )
    _finish(summary, summary.get("verdicts") or {}, fail_on, output, print_increment)


def _strict(share_config: Any, strict_intel: bool) -> Any:
    """The sharing config with ``strict_intel`` set when asked (the scan reads it from there)."""
    if not strict_intel:
        return share_config
    from dataclasses import replace

    from distillguard.share._config import load_config

    return replace(load_config(share_config), strict_intel=True)


def _finish(
    summary: dict[str, Any], counts: dict[str, int], fail_on: FailOn | None, output: Output, show: Any
) -> None:
    """Emit the summary (JSON or ``show``'s table) and exit 1 when ``--fail-on`` finds accounts."""
    findings = findings_at_or_above(counts, fail_on.value) if fail_on else 0
    if fail_on:
        summary["fail_on"] = {"verdict": fail_on.value, "accounts": findings}
    output.emit(summary)
    if output.human:
        show(summary, output.console())
    if fail_on and findings:
        output.note(f"{findings} account(s) at or above '{fail_on.value}': exit {EXIT_FINDINGS}")
        raise typer.Exit(EXIT_FINDINGS)
