"""``distillguard ingest``: kept import-light; the work is imported inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach the ``ingest`` command to the main app."""

    @app.command("ingest")
    def ingest_command(
        inputs: Annotated[
            list[str], typer.Argument(help="Files, directories (recursive), globs or event directories.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output event directory.")],
        format: Annotated[
            str,
            typer.Option(
                "--format", "-f", help="auto|parquet|jsonl|csv|otel|litellm (auto: from extension)."
            ),
        ] = "auto",
        mapping: Annotated[
            Path | None, typer.Option("--mapping", "-m", help="Column-mapping file (YAML or TOML).")
        ] = None,
        account_from: Annotated[
            str | None,
            typer.Option(
                "--account-from",
                help="litellm: account_id from auto|organization|team|api_key|user (auto: org, team, key).",
            ),
        ] = None,
        overwrite: Annotated[
            bool, typer.Option("--overwrite", help="Replace existing ingest output.")
        ] = False,
        batch_rows: Annotated[
            int, typer.Option("--batch-rows", help="Rows per Parquet read batch.")
        ] = 131_072,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    ) -> None:
        """Read API logs, validate them against the event schema and write an event directory."""
        from distillguard.errors import DistillguardError
        from distillguard.ingest._summary import print_summary, progress_bar

        if batch_rows < 1:
            raise DistillguardError("--batch-rows must be at least 1")
        from distillguard.ingest import ingest

        with progress_bar(disabled=quiet) as on_rows:
            result = ingest(
                inputs,
                out,
                format=format,
                mapping=mapping,
                account_from=account_from,
                batch_rows=batch_rows,
                overwrite=overwrite,
                progress=on_rows,
            )
        if not quiet:
            print_summary(result)
