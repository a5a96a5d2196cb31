"""Feature-stage speed of each Ibis backend on one events directory (a Markdown table).

The features are written once as Ibis expressions (``distillguard.features``); this runs the
same ``build_timeline`` on every backend that is installed and can compile it, and prints
seconds and rows (accounts at the final checkpoint, and all (account, checkpoint) rows):

    .venv/bin/python bench/engines.py                       # simulate tiny into a temp dir
    .venv/bin/python bench/engines.py /tmp/s2/small-0 --backends duckdb --replay

DuckDB runs as in a scan: the normalized events are registered on the scan's connection
(that time is reported apart). The other backends get the same normalized rows as Arrow
(loading them is not timed). A backend that cannot run the expressions gets a row saying why.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BACKENDS = ("duckdb", "polars", "pyspark")


def _events(path: Path | None, tmp: str) -> Path:
    if path is not None:
        return path
    out = Path(tmp) / "tiny"
    exe = Path(sys.executable).with_name("distillguard")
    subprocess.run([str(exe), "simulate", "-s", "tiny", "-o", str(out), "-q"], check=True)
    return out


def _spark() -> Any:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("distillguard-bench-engines")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def _backend(name: str, normalized: Any) -> Any:
    """An Ibis backend of ``name`` holding the normalized events as table ``ev``."""
    import ibis
    import pyarrow as pa

    if name == "polars":
        con = ibis.polars.connect()
        con.create_table("ev", normalized)
        return con
    spark = _spark()
    signed = pa.schema([f.with_type(pa.int64()) if f.type == pa.uint64() else f for f in normalized.schema])
    spark.createDataFrame(normalized.cast(signed)).createOrReplaceTempView("ev")
    return ibis.pyspark.connect(spark)


def run(events_dir: Path, backends: list[str], replay: bool) -> list[tuple[str, str, str, str, str]]:
    from distillguard.features import FeatureParams, build_timeline, register_events
    from distillguard.features._source import load_events
    from distillguard.scan import _checkpoints, connect
    from distillguard.scoring import ReplaySchedule

    loaded = load_events([events_dir], compact=True)
    cps = _checkpoints(loaded.events, ReplaySchedule()) if replay else []
    con = connect()
    started = time.perf_counter()
    n_events = register_events(
        con, loaded.events, "ev", checkpoints_ms=[int(c.timestamp() * 1000) for c in cps]
    )
    register_s = time.perf_counter() - started
    normalized = con.sql("SELECT * FROM ev").to_arrow_table() if set(backends) - {"duckdb"} else None
    rows = []
    for name in backends:
        try:
            target = con if name == "duckdb" else _backend(name, normalized)
            started = time.perf_counter()
            tl = build_timeline(target, "ev", cps, FeatureParams())
            accounts = tl.at().num_rows
            seconds = time.perf_counter() - started
            all_rows = tl.expr.count().to_pyarrow().as_py()
            note = f"+{register_s:.2f} s register_events" if name == "duckdb" else "Arrow input not timed"
            rows.append((name, f"{seconds:.2f}", f"{accounts:,}", f"{all_rows:,}", note))
        except Exception as exc:  # a backend that cannot run is reported, not fatal
            rows.append((name, "-", "-", "-", f"unavailable: {type(exc).__name__}: {str(exc)[:90]}"))
    print(f"\n{n_events:,} events from {events_dir}, {len(cps)} replay checkpoints\n")
    print("| backend | features s | accounts | (account, checkpoint) rows | note |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", nargs="?", type=Path, help="event directory (default: simulate tiny)")
    ap.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated subset of " + ",".join(BACKENDS)
    )
    ap.add_argument(
        "--replay", action="store_true", help="with the replay checkpoints (default: whole input only)"
    )
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        ap.error(f"unknown backends {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="dg-bench-engines-") as tmp:
        run(_events(args.events, tmp), backends, args.replay)


if __name__ == "__main__":
    main()
