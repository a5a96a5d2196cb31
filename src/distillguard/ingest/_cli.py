"""``distillguard ingest``: kept import-light; the work is imported inside the command."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from distillguard._cli_common import JsonOpt, Output, OverwriteOpt, QuietOpt, VerboseOpt, check_out_dir

#: The file that marks a directory as a previous ingest's output (ingest._api.SUMMARY_NAME).
INGEST_MARKER = "ingest_summary.json"


@contextmanager
def _rows_progress(enabled: bool) -> Iterator[Callable[[str, int], None] | None]:
    """Rows read so far: a live counter on a terminal, periodic lines on stderr otherwise."""
    from distillguard._progress import make_progress

    with make_progress(enabled, counts=True) as bar:
        if not bar:
            yield None
            return
        task = bar.add_task("ingest rows", total=None)

        def on_rows(_source: str, rows: int) -> None:
            bar.update(task, advance=rows)

        yield on_rows


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
                "--format",
                "-f",
                help="auto|parquet|jsonl|csv|otel|delta|iceberg|litellm "
                "(auto: from extension; Delta Lake and Iceberg table directories are recognized).",
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
        overwrite: OverwriteOpt = False,
        batch_rows: Annotated[
            int, typer.Option("--batch-rows", help="Rows per Parquet read batch.")
        ] = 131_072,
        quiet: QuietOpt = False,
        verbose: VerboseOpt = False,
        json: JsonOpt = False,
    ) -> None:
        """Read API logs, validate them against the event schema and write an event directory."""
        from distillguard.errors import DistillguardError

        output = Output.of(quiet, verbose, json)
        if batch_rows < 1:
            raise DistillguardError("--batch-rows must be at least 1")
        check_out_dir(out, marker=INGEST_MARKER, what="ingest output", overwrite=overwrite)
        from distillguard.ingest import ingest
        from distillguard.ingest._summary import print_summary

        with _rows_progress(output.progress) as on_rows:
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
        output.emit({"out": str(result.out), **result.summary})
        if output.human:
            print_summary(result)
