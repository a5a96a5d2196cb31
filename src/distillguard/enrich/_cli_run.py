"""Bodies of the enrich commands (kept out of ``_cli`` so ``--help`` stays fast)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._enrich import enrich
from distillguard.enrich.ip_infra import IpInfra
from distillguard.errors import DistillguardError, UnreadableInputError


def load_infra(paths: Sequence[Path] | None) -> IpInfra:
    """``--infra`` paths, or the builtin floor when none were given."""
    return IpInfra.from_paths(list(paths)) if paths else IpInfra.builtin()


def _read_events(path: Path) -> pa.Table:
    if not path.exists():
        raise DistillguardError(f"input {path} does not exist")
    from distillguard import ingest

    if path.is_dir():
        if not ingest.is_event_dir(path):
            raise DistillguardError(f"{path} is not an event directory (run `distillguard ingest` first)")
        return ingest.open_events(path).to_table()
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise UnreadableInputError(path, str(err).splitlines()[0]) from err


def run_enrich(
    events_path: Path,
    out: Path,
    infra_paths: Sequence[Path] | None,
    *,
    seed: int,
    batch_rows: int,
    progress: bool = True,
    show: bool = True,
) -> dict[str, object]:
    """Read, enrich (one pass or in batches), write Parquet, print a summary (``show``), return it."""
    import pyarrow.parquet as pq
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    console = Console(stderr=True)
    infra = load_infra(infra_paths)
    events = _read_events(events_path)
    t0 = time.perf_counter()
    if batch_rows and batch_rows > 0 and events.num_rows > batch_rows:
        parts = []
        with Progress(console=console, transient=True, disable=not progress) as bar:
            task = bar.add_task("enriching", total=events.num_rows)
            for batch in events.to_batches(max_chunksize=batch_rows):
                parts.append(enrich(batch, infra, minhash_seed=seed))
                bar.advance(task, batch.num_rows)
        enriched = pa.Table.from_batches(parts)
    else:
        enriched = enrich(events, infra, minhash_seed=seed)
    elapsed = time.perf_counter() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(enriched, out)
    summary: dict[str, object] = {"out": str(out), "events": enriched.num_rows, "seconds": round(elapsed, 3)}
    if not show:
        return summary

    table = Table(title=f"enriched {enriched.num_rows:,} events in {elapsed:.2f} s -> {out}")
    table.add_column("column")
    table.add_column("value")
    table.add_column("events", justify="right")
    for col in ("ip_kind", "capability"):
        counts = pc.value_counts(enriched.column(col).combine_chunks())
        for item in sorted(counts.to_pylist(), key=lambda d: -d["counts"]):
            table.add_row(col, str(item["values"]), f"{item['counts']:,}")
    for col in ("template_id", "template_family", "frame_id"):
        distinct = pc.count_distinct(enriched.column(col)).as_py()
        table.add_row(col, "distinct", f"{distinct:,}")
    Console().print(table)
    return summary


def run_ip_info(
    ips: Sequence[str], infra_paths: Sequence[Path] | None, *, show: bool = True
) -> list[dict[str, object]]:
    """Look addresses up, print one row each (``show``) and return the rows."""
    from rich.console import Console
    from rich.table import Table

    infra = load_infra(infra_paths)
    result = infra.annotate(pa.array(list(ips), pa.string()))
    rows = [{"ip": ip, **row} for ip, row in zip(ips, result.to_pylist(), strict=True)]
    if not show:
        return rows
    table = Table()
    table.add_column("ip")
    for name in result.column_names:
        table.add_column(name)
    for ip, row in zip(ips, result.to_pylist(), strict=True):
        table.add_row(ip, *("" if v is None else str(v) for v in row.values()))
    Console().print(table)
    return rows
