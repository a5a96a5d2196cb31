"""Bodies of the enrich commands (kept out of ``_cli`` so ``--help`` stays fast)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from distillguard.enrich._enrich import enrich
from distillguard.enrich.ip_infra import IpInfra
from distillguard.errors import DistillguardError, UnreadableInputError


def load_infra(paths: Sequence[Path] | None) -> IpInfra:
    """``--infra`` paths, or the default knowledge (:meth:`IpInfra.default`) when none were given."""
    from distillguard.enrich.ip_infra import default_infra

    return IpInfra.from_paths(list(paths)) if paths else default_infra()


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


def run_infra_refresh(
    out: Path | None,
    names: Sequence[str] | None,
    mirror: str | None,
    timeout: float,
    *,
    overwrite: bool,
    output: Any,
) -> dict[str, object]:
    """``infra refresh``: check ``--out``, fetch, print one row per source, return the summary."""
    from distillguard._cli_common import check_out_dir
    from distillguard.enrich import _infra_cache, _infra_refresh

    if out is None:
        out = _infra_cache.cache_dir()
        if out is None:
            raise DistillguardError(f"{_infra_cache.ENV_VAR}=off disables the cache; pass --out DIR")
    if not (out / _infra_cache.MANIFEST_NAME).is_file():  # our own cache is updated in place
        check_out_dir(out, marker=_infra_cache.MANIFEST_NAME, what="IP feed cache", overwrite=overwrite)

    def show(name: str, entry: dict[str, Any]) -> None:
        if entry.get("error"):
            output.warn(f"{name}: {entry['error']}")
        else:
            output.detail(f"{name}: {entry['bytes']:,} bytes ({entry['detected']})")

    summary = _infra_refresh.refresh(out, names=names, mirror=mirror, timeout=timeout, on_source=show)
    if output.human:
        from rich.table import Table

        n_ok, n_failed = len(summary["ok"]), len(summary["failed"])
        table = Table(title=f"IP feeds in {out}: {n_ok} fetched, {n_failed} failed")
        for col in ("source", "status", "bytes", "licence"):
            table.add_column(col)
        for name, entry in summary["sources"].items():
            status = (
                "failed (previous copy kept)"
                if entry.get("error") and entry.get("ok_at")
                else ("failed" if entry.get("error") else "ok")
            )
            table.add_row(name, status, f"{entry.get('bytes', 0):,}", entry["licence"])
        output.console().print(table)
    return summary


def run_infra_show(output: Any) -> dict[str, object]:
    """``infra show``: the layers of :meth:`IpInfra.default` and the cache manifest."""
    from distillguard.enrich import _infra_cache
    from distillguard.enrich.ip_infra import default_infra

    directory = _infra_cache.cache_dir()
    t0 = time.perf_counter()
    infra = default_infra()
    seconds = time.perf_counter() - t0
    manifest = _infra_cache.read_manifest(directory) if directory and directory.is_dir() else None
    summary: dict[str, object] = {
        "cache_dir": str(directory) if directory else None,
        "cache": manifest,
        "load_seconds": round(seconds, 3),
        **infra.describe(),
    }
    if output.human:
        from rich.table import Table

        table = Table(title=f"IP knowledge used without --infra (loaded in {seconds:.2f} s)")
        table.add_column("layer")
        table.add_column("detail")
        for src, kind in infra.sources:
            table.add_row(kind, src)
        table.add_row("cache", str(directory) if directory else f"off ({_infra_cache.ENV_VAR})")
        if manifest is None:
            table.add_row("", "no refreshed feeds: run `distillguard infra refresh`")
        else:
            for name, entry in manifest["sources"].items():
                state = f"fetched {entry['ok_at']}" if entry.get("ok_at") else "never fetched"
                if entry.get("error"):
                    state += f"; last attempt failed: {entry['error'][:80]}"
                table.add_row(name, f"{state}; {entry.get('licence', '')}")
        for kind, n in infra.describe()["ipv4_ranges_by_kind"].items():
            table.add_row(f"ipv4 {kind}", f"{n:,} merged ranges")
        output.console().print(table)
    return summary
