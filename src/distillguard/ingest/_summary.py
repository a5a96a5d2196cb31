"""Rich progress and the end-of-run table for ``distillguard ingest``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from distillguard.ingest._api import IngestResult
from distillguard.ingest._run import Progress as ProgressCallback


@contextmanager
def progress_bar(*, disabled: bool = False) -> Iterator[ProgressCallback | None]:
    """A live rows-read counter (row totals are unknown before reading text files)."""
    if disabled:
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]ingest[/]"),
        TextColumn("{task.completed:,} rows"),
        TextColumn("[dim]{task.fields[source]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("ingest", total=None, source="")

        def on_rows(source: str, rows: int) -> None:
            progress.update(task, advance=rows, source=Path(source).name)

        yield on_rows


def print_summary(result: IngestResult, console: Console | None = None) -> None:
    """Rows read/accepted/quarantined by reason, span and accounts, as a table."""
    console = console or Console()
    table = Table(title=f"ingest -> {result.out}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{result.rows_read:,}")
    table.add_row("accepted", f"{result.accepted:,}")
    table.add_row("quarantined", f"{result.quarantined:,}")
    for reason, count in result.quarantined_by_reason.items():
        if count:
            table.add_row(f"  {reason}", f"{count:,}")
    for column, count in (result.summary.get("truncated") or {}).items():
        table.add_row(f"{column} truncated (length limit)", f"{count:,}")
    if result.skipped_non_genai_spans:
        table.add_row("non-GenAI spans skipped", f"{result.skipped_non_genai_spans:,}")
    if result.skipped_files:
        table.add_row("files skipped (unknown type)", f"{len(result.skipped_files):,}")
    table.add_row("accounts", f"{result.accounts:,}")
    table.add_row("first event", result.first_event or "-")
    table.add_row("last event", result.last_event or "-")
    table.add_row("days", f"{len(result.days):,}")
    rate = result.rows_read / result.seconds if result.seconds > 0 else 0.0
    table.add_row("time", f"{result.seconds:.2f} s ({rate:,.0f} rows/s)")
    console.print(table)
