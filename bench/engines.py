"""Each Ibis backend on one events directory: seconds per stage, and agreement with DuckDB.

The features are Ibis expressions (``distillguard.features``); the detectors and scoring run
on each backend's feature table. For every backend this prints the seconds of each stage
(the per-text enrichment kernels over the input's distinct prompts and system prompts: in
this process for DuckDB, on the executors through ``mapInArrow`` for PySpark; clustering
those texts into families on the driver; the feature build steps, materializing the
features, each detector family, scoring and the campaign step), then whether its per-text
tables, its features and its verdicts (``account_id``, ``score``, ``verdict``,
``campaign_id``) are identical to DuckDB's:

    .venv/bin/python bench/engines.py                          # simulate tiny into a temp dir
    .venv/bin/python bench/engines.py --scenario small         # simulate small (seed 0)
    .venv/bin/python bench/engines.py /tmp/s2/small-0 --backends duckdb,pyspark

It exits 1 when a backend fails at any stage (the error is printed) or disagrees with DuckDB:
a stage that does not run on a backend is a failure, not a footnote. DuckDB runs as in a
scan (the events are registered on the scan's connection). PySpark builds its own event table
from the same loaded events as ``scan --engine pyspark`` does (``register_events`` on the
backend: the raw columns streamed to Parquet, normalized by Spark; the ``load`` stage);
Polars gets DuckDB's normalized rows as Arrow.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

BACKENDS = ("duckdb", "pyspark", "polars")
#: Backends run when ``--backends`` is not given (Polars cannot compile the features: see
#: docs/engines.md; ask for it explicitly to see why).
DEFAULT_BACKENDS = ("duckdb", "pyspark")
#: Columns of the verdicts compared across backends (as in accounts.parquet).
VERDICT_COLUMNS = ("account_id", "score", "verdict", "campaign_id")


def _events(path: Path | None, scenario: str, seed: int, tmp: str) -> Path:
    if path is not None:
        return path
    out = Path(tmp) / f"{scenario}-{seed}"
    exe = Path(sys.executable).with_name("distillguard")
    cmd = [str(exe), "simulate", "-s", scenario, "--seed", str(seed), "-o", str(out), "-q"]
    subprocess.run(cmd, check=True)
    return out


def _spark() -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("distillguard-bench-engines")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _backend(name: str, con: Any, events: Any, cps_ms: list[int], scratch: str) -> Any:
    """An Ibis backend of ``name`` holding the normalized events as table ``ev``: on PySpark
    built there by ``register_events`` as in ``scan --engine pyspark`` (the raw columns
    streamed from DuckDB ``con`` to Parquet in ``scratch``), on Polars the DuckDB rows."""
    import ibis

    from distillguard.features import register_events

    if name == "polars":  # DuckDB's event table (run() registered it on ``con``)
        polars = ibis.polars.connect()
        polars.create_table("ev", con.sql("SELECT * FROM ev").to_arrow_table())
        return polars
    target = ibis.pyspark.connect(_spark())
    register_events(con, events, "ev", checkpoints_ms=cps_ms, backend=target, scratch=scratch)
    return target


def distinct_texts(events_dir: Path) -> dict[str, tuple[Any, Any]]:
    """Per text field, (hashes, texts) of its distinct non-null values: what a scan's loader
    hands the per-text kernels (one field's column in memory at a time)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from distillguard.enrich._stream import HASHED_TEXT, text_hashes
    from distillguard.ingest import open_events

    events = open_events(events_dir)
    con = duckdb.connect()
    out = {}
    for field in HASHED_TEXT:
        uniq = pa.array([], pa.string())  # a field the events lack: no texts
        if field in events.schema.names:
            uniq = pc.dictionary_encode(events.to_table(columns=[field])[field].combine_chunks()).dictionary
        out[field] = (text_hashes(con, uniq), uniq)
    con.close()
    return out


def _per_text(name: str, target: Any, texts: dict[str, tuple[Any, Any]], timed: Any) -> Any:
    """The per-text tables of ``texts`` with the kernels where backend ``name`` runs them
    (stage "enrich: text kernels"), clustered on the driver (stage "enrich: families")."""
    from distillguard import _engine
    from distillguard.enrich._enrich import EnrichParams
    from distillguard.enrich._stream import per_text_tables, text_parts

    params = EnrichParams()
    kernel = (_engine.text_kernel(target) if name == "pyspark" else None) or text_parts

    def parts() -> dict[str, Any]:
        return {f: kernel(f, h, t, params, 0) for f, (h, t) in texts.items()}

    got = timed("enrich: text kernels", parts)
    tables = timed(
        "enrich: families", lambda: per_text_tables(got["prompt"], got["system_prompt"], params, 0)
    )
    return tables[0]


def run_backend(
    name: str, con: Any, events: Any, cps: list, has_prompts: bool, texts: dict[str, Any], scratch: str
) -> dict[str, Any]:
    """Run every stage on backend ``name``; ``{"stages": {stage: s}, "text", "features",
    "verdicts", "error"}`` (``error`` is the traceback of the stage that failed, stages after
    it not run)."""
    from distillguard.campaigns import find_campaigns
    from distillguard.detectors import DetectionContext, default_detectors
    from distillguard.detectors.base import concat_signals
    from distillguard.features import FeatureParams, build_timeline
    from distillguard.scan import DetectionParams
    from distillguard.scoring import accounts_table, score_accounts

    out: dict[str, Any] = {"stages": {}, "text": None, "features": None, "verdicts": None, "error": None}
    stage = "load"

    def timed(label: str, fn: Any) -> Any:
        nonlocal stage
        stage = label
        started = time.perf_counter()
        value = fn()
        out["stages"][label] = time.perf_counter() - started
        return value

    try:
        cps_ms = [int(c.timestamp() * 1000) for c in cps]
        if name == "duckdb":
            target = con
        else:
            target = timed("load", lambda: _backend(name, con, events, cps_ms, scratch))
        if texts and name in ("duckdb", "pyspark"):
            out["text"] = _per_text(name, target, texts, timed)
        p = DetectionParams().resolved()
        tl = timed("features: build", lambda: build_timeline(target, "ev", cps, FeatureParams()))
        for step, seconds in tl.timings.items():
            out["stages"][f"  features: {step}"] = seconds
        ctx = timed("features: collect", lambda: DetectionContext.at(tl, None, has_prompts=has_prompts))
        out["features"] = ctx.features
        tables = []
        for det in p.detectors or default_detectors():
            if det.needs_prompts and not ctx.has_prompts:
                continue
            tables.append(timed(f"detect: {det.family}", lambda det=det: det.detect(ctx)))
        signals = concat_signals(tables)
        first = timed("scoring", lambda: score_accounts(ctx.features, signals, p.scoring))
        result = timed("campaigns", lambda: find_campaigns(ctx, signals, p.scoring, p.campaigns, first=first))
        acc = accounts_table(ctx.features, result.scored, result.campaign_of, {})
        out["verdicts"] = acc.select(list(VERDICT_COLUMNS))
    except Exception:
        out["error"] = f"{stage}: " + traceback.format_exc()
    return out


def _differs(a: Any, b: Any, rtol: float = 0.0) -> str:
    """'' when the two Arrow tables hold the same values (floats within ``rtol``), else a short
    description (with the largest relative gap of each differing float column)."""
    if a is None or b is None:
        return "not computed"
    import numpy as np
    import pyarrow as pa

    from distillguard.features._timeline import utc_micros

    a, b = utc_micros(a), utc_micros(b)
    if a.column_names != b.column_names:
        return f"columns differ: {sorted(set(a.column_names) ^ set(b.column_names))}"
    if a.num_rows != b.num_rows:
        return f"{a.num_rows:,} rows vs {b.num_rows:,}"
    bad = []
    for c in a.column_names:
        if a[c].to_pylist() == b[c].to_pylist():
            continue
        if pa.types.is_floating(a[c].type) and pa.types.is_floating(b[c].type):
            x = a[c].to_numpy(zero_copy_only=False).astype(float)
            y = b[c].to_numpy(zero_copy_only=False).astype(float)
            same_nan = np.isnan(x) == np.isnan(y)
            gap = np.abs(x - y) / np.maximum(np.abs(x), 1e-300)
            worst = float(np.nanmax(gap)) if len(gap) else 0.0
            if same_nan.all() and worst <= rtol:
                continue
            bad.append(f"{c} (max relative gap {worst:.1e}, {int((gap > rtol).sum())} rows)")
        else:
            bad.append(c)
    return f"values differ in {bad}" if bad else ""


#: Relative gap allowed between two backends' float features: a parallel sum (a variance, a
#: coefficient of variation) adds in a different order on each engine, and the last bits can
#: survive the timeline's rounding. Verdicts (score, verdict, campaign) are compared exactly.
FEATURE_RTOL: float = 1e-9


def run(events_dir: Path, backends: list[str], replay: bool) -> int:
    """Run and print the tables; the exit status (1 when a backend failed or disagreed)."""
    from distillguard.features import register_events
    from distillguard.features._source import load_events
    from distillguard.scan import _checkpoints, connect
    from distillguard.scoring import ReplaySchedule

    loaded = load_events([events_dir], compact=True)
    texts = distinct_texts(events_dir)
    cps = _checkpoints(loaded.events, ReplaySchedule()) if replay else []
    con = connect()
    started = time.perf_counter()
    cps_ms = [int(c.timestamp() * 1000) for c in cps]
    n_events = register_events(con, loaded.events, "ev", checkpoints_ms=cps_ms)
    register_s = time.perf_counter() - started
    results = {}
    with tempfile.TemporaryDirectory(prefix="dg-bench-engines-") as scratch:
        for name in backends:
            results[name] = run_backend(name, con, loaded.events, cps, loaded.has_prompts, texts, scratch)
            if name == "duckdb":
                results[name]["stages"] = {"load": register_s, **results[name]["stages"]}
    print(f"\n{n_events:,} events from {events_dir}, {len(cps)} replay checkpoints\n")
    stages = list(dict.fromkeys(s for r in results.values() for s in r["stages"]))
    print("| stage | " + " | ".join(f"{b} s" for b in backends) + " |")
    print("|---|" + "---:|" * len(backends))
    for s in stages:
        cells = [f"{results[b]['stages'][s]:.2f}" if s in results[b]["stages"] else "-" for b in backends]
        print(f"| {s} | " + " | ".join(cells) + " |")
    status = 0
    base = results.get("duckdb")
    print()
    for name in backends:
        r = results[name]
        if r["error"]:
            status = 1
            print(f"{name}: FAILED at {r['error']}")
        elif name == "duckdb" or base is None:
            print(f"{name}: ran every stage")
        if name == "duckdb" or base is None:
            continue
        for what in ("text", "features", "verdicts"):
            if r[what] is None and (r["error"] or what == "text"):
                continue
            if what == "text":
                same = base["text"] is not None and base["text"].equals(r["text"])
                status |= not same
                print(f"{name}: per-text tables {'identical to' if same else 'DIFFER from'} duckdb's")
                continue
            diff = _differs(base[what], r[what], FEATURE_RTOL if what == "features" else 0.0)
            status |= bool(diff)
            same = "identical to duckdb"
            if what == "features":
                same = f"equal to duckdb's (floats within {FEATURE_RTOL:g} relative)"
            print(f"{name}: {what} {'DIFFER from duckdb: ' + diff if diff else same}")
    if base is not None and base["verdicts"] is not None:
        counts: dict[str, int] = {}
        for v in base["verdicts"]["verdict"].to_pylist():
            counts[v] = counts.get(v, 0) + 1
        print(f"duckdb verdicts: {counts}")
    return status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", nargs="?", type=Path, help="event directory (default: simulate --scenario)")
    ap.add_argument("--scenario", default="tiny", help="scenario to simulate when no directory is given")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated scenario")
    ap.add_argument(
        "--backends",
        default=",".join(DEFAULT_BACKENDS),
        help="comma-separated subset of " + ",".join(BACKENDS),
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
        status = run(_events(args.events, args.scenario, args.seed, tmp), backends, args.replay)
    sys.exit(status)


if __name__ == "__main__":
    main()
