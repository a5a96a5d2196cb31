"""Peak memory of a scan's load + features stages as the input grows over the same accounts.

The issue's bar: peak RSS independent of input size at a fixed account count. This makes
the input grow that way - the events of one simulation repeated ``k`` times, each copy
shifted by whole multiples of the input's span in days, with fresh ``event_id`` /
``conversation_id`` - and runs the scan's own stages (``load_events`` + ``register_events``
+ ``build_timeline``, through ``distillguard.scan.scan``) in a fresh process per run, which
stops right after the features stage. It prints a Markdown table of events, seconds and
peak RSS (``ru_maxrss``) after loading and after the features:

    .venv/bin/python bench/memory.py --scenario small --seed 0 --factors 1 2 4
    .venv/bin/python bench/memory.py --tree before=/tmp/old/src --tree after=src

``--tree LABEL=SRC`` runs the scan from another source tree (its ``src`` directory, put first
on PYTHONPATH), so two versions can be compared on the same inputs; default: this checkout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Runs in the child process: the scan up to its features stage, then stop (detection,
#: replay and the report are not what this measures). Prints one JSON line.
_CHILD = r"""
import json, sys, time
import distillguard.scan as scan_mod
import distillguard.features._source as source

class _Stop(Exception):
    pass

marks = {}
t0 = time.perf_counter()
load = source.load_events

def timed_load(*args, **kwargs):
    out = load(*args, **kwargs)
    marks["load_s"], marks["load_rss_gb"] = time.perf_counter() - t0, scan_mod._peak_rss_gb()
    return out

def stop(*args, **kwargs):
    raise _Stop

source.load_events = timed_load
scan_mod.detect_at = stop
try:
    scan_mod.scan([sys.argv[1]], sys.argv[2], replay=False, progress=False, report=False)
except _Stop:
    pass
marks["features_s"], marks["features_rss_gb"] = time.perf_counter() - t0, scan_mod._peak_rss_gb()
print(json.dumps(marks))
"""


def _simulate(scenario: str, seed: int, out: Path) -> Path:
    if not (out / "events").is_dir():
        exe = Path(sys.executable).with_name("distillguard")
        cmd = [str(exe), "simulate", "-s", scenario, "--seed", str(seed), "-o", str(out), "-q"]
        subprocess.run(cmd, check=True)
    return out


def _replicate(base: Path, factor: int, out: Path) -> tuple[Path, int]:
    """``base``'s events ``factor`` times, copy ``i`` shifted by ``i`` spans (whole days)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from distillguard.ingest import open_events

    files = sorted((base / "events").rglob("*.parquet"))
    ts = open_events(base).to_table(columns=["timestamp"])["timestamp"]
    mm = pc.min_max(ts).as_py()
    span = dt.timedelta(days=(mm["max"] - mm["min"]).days + 1)
    rows = 0
    if (out / "events").is_dir():
        return out, sum(pq.read_metadata(f).num_rows for f in (out / "events").rglob("*.parquet"))
    for i in range(factor):
        for j, f in enumerate(files):
            table = pq.read_table(f)
            shift = pa.scalar(span * i, pa.duration("us"))
            table = table.set_column(
                table.schema.get_field_index("timestamp"), "timestamp", pc.add(table["timestamp"], shift)
            )
            for col in ("event_id", "conversation_id"):
                idx = table.schema.get_field_index(col)
                table = table.set_column(idx, col, pc.binary_join_element_wise(table[col], f"r{i}", "-"))
            day = (pc.min(table["timestamp"]).as_py()).date().isoformat()
            target = out / "events" / f"day={day}" / f"part-{j:05d}-r{i}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target)
            rows += table.num_rows
    return out, rows


def _run(src: Path | None, events: Path, out: Path) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve()) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(events), str(out)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"scan of {events} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--tree", action="append", default=[], help="LABEL=SRC_DIR (repeatable)")
    ap.add_argument("--work", type=Path, help="keep simulated/replicated inputs here (default: temp)")
    args = ap.parse_args(argv)
    trees: list[tuple[str, Path | None]] = [
        (t.split("=", 1)[0], Path(t.split("=", 1)[1])) for t in args.tree
    ] or [("this", None)]
    with tempfile.TemporaryDirectory(prefix="dg-bench-memory-") as tmp:
        work = args.work or Path(tmp)
        base = _simulate(args.scenario, args.seed, work / f"{args.scenario}-{args.seed}")
        inputs = [(k, *_replicate(base, k, work / f"{args.scenario}-{args.seed}-x{k}")) for k in args.factors]
        print("| tree | input | events | load s | load peak RSS GB | load+features s | peak RSS GB |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, src in trees:
            for k, events, rows in inputs:
                got = _run(src, events, Path(tmp) / f"scan-{label}-{k}")
                print(
                    f"| {label} | {args.scenario} {args.seed} x{k} | {rows:,} | {got['load_s']:.1f} | "
                    f"{got['load_rss_gb']:.2f} | {got['features_s']:.1f} | {got['features_rss_gb']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
