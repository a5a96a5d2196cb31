"""Ingest throughput and memory: N synthetic events as Parquet and as JSON lines.

    .venv/bin/python bench/ingest.py [--events 5000000] [--seed 0] [--keep DIR]

Events are generated vectorized (numpy + pyarrow), written once as Parquet and once
as JSONL (DuckDB ``COPY ... FORMAT JSON``), then each file is ingested in a fresh
child process so its peak RSS (``VmHWM``) is the ingest's alone; CPU seconds are
printed too, since wall time on a shared machine depends on its load. Targets on the
2-core reference machine: Parquet >= 300K events/s, JSONL >= 100K events/s, and
peak RSS well under 2 GB. About 1% of rows are made bad (duplicate ids, negative
tokens, bad IPs) so the validation paths are exercised, not just the happy path.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"parquet": 300_000, "jsonl": 100_000}
_MODELS = ["frontier-large-2026", "frontier-small-2026", "reasoner-1", "coder-2"]
_AGENTS = ["python-httpx/0.27", "OpenAI/Python 1.40.0", "curl/8.5.0", "node-fetch/3.3"]
_PROMPTS = [
    "Explain step by step how you arrived at the answer.",
    "Write a Python function that parses RFC 3339 timestamps.",
    "Summarize the following article in three sentences.",
    "Grade this answer on a rubric from 1 to 10 and justify.",
]


def generate(n: int, seed: int):  # -> pa.Table
    """``n`` events, ~1% invalid, timestamps spread over two weeks (vectorized)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise("req-", pa.array(np.arange(n)).cast(pa.string()), "")
    dup = rng.random(n) < 0.003
    ids = pc.if_else(pa.array(dup), pa.scalar("req-0"), ids)
    start_ms = 1_767_225_600_000  # 2026-01-01
    ts_ms = np.sort(start_ms + rng.integers(0, 14 * 86_400_000, n))
    octets = rng.integers(1, 255, size=(4, 2_000))
    pool = pc.binary_join_element_wise(*[pa.array(o).cast(pa.string()) for o in octets], ".")
    ips = pool.take(pa.array(rng.integers(0, len(pool), n)))
    bad_ip = rng.random(n) < 0.003
    ips = pc.if_else(pa.array(bad_ip), pa.scalar("300.1.1.1"), ips)
    inp = rng.integers(5, 4_000, n)
    inp[rng.random(n) < 0.003] = -1
    accounts = pc.binary_join_element_wise("acct-", pa.array(rng.integers(0, 5_000, n)).cast(pa.string()), "")
    return pa.table(
        {
            "event_id": ids,
            "timestamp": pa.array(ts_ms * 1000, pa.timestamp("us", tz="UTC")),
            "account_id": accounts,
            "model": pa.array(_MODELS).take(pa.array(rng.integers(0, len(_MODELS), n))),
            "input_tokens": pa.array(inp),
            "output_tokens": pa.array(rng.integers(1, 8_000, n)),
            "client_ip": ips,
            "user_agent": pa.array(_AGENTS).take(pa.array(rng.integers(0, len(_AGENTS), n))),
            "prompt": pa.array(_PROMPTS).take(pa.array(rng.integers(0, len(_PROMPTS), n))),
            "temperature": pa.array(rng.random(n).round(2)),
            "stream": pa.array(rng.random(n) < 0.5),
            "status": pa.array(["ok", "error"]).take(pa.array((rng.random(n) < 0.02).astype(np.int64))),
        }
    )


def write_inputs(table, folder: Path) -> dict[str, Path]:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = folder / "events.parquet"
    pq.write_table(table, parquet, row_group_size=1 << 20)
    jsonl = folder / "events.jsonl"
    # JSONL carries timestamps as RFC 3339 text, as real logs do.
    as_text = table.set_column(
        1, "timestamp", pa.compute.strftime(table.column("timestamp"), format="%Y-%m-%dT%H:%M:%SZ")
    )
    con = duckdb.connect()
    con.register("events_src", as_text)
    con.execute(f"COPY events_src TO '{jsonl}' (FORMAT JSON)")
    con.close()
    return {"parquet": parquet, "jsonl": jsonl}


def peak_rss_kb() -> int:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives fork+exec (a child
    reports its parent's peak), so ``VmHWM`` (reset by exec) is read when present."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(kind: str, path: str, out: str) -> None:
    """Run one ingest and print its numbers as JSON (runs in a fresh process)."""
    from distillguard.ingest import ingest

    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    result = ingest([path], out, format=kind, overwrite=True)
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(
        json.dumps(
            {
                "kind": kind,
                "rows": result.rows_read,
                "accepted": result.accepted,
                "quarantined": result.quarantined,
                "seconds": seconds,
                "events_per_s": result.rows_read / seconds,
                "cpu_seconds": cpu,
                "peak_rss_mb": peak_rss_kb() / 1024,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write inputs/outputs here instead of a temp dir")
    parser.add_argument("--only", choices=sorted(TARGETS), help="bench one format")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="dg-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        inputs = write_inputs(generate(args.events, args.seed), folder)
        print(f"generated {args.events:,} events in {time.perf_counter() - t0:.1f} s", flush=True)
        failed = False
        for kind, path in inputs.items():
            if args.only and kind != args.only:
                continue
            size_mb = path.stat().st_size / 2**20
            proc = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(path), str(folder / f"out-{kind}")],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            ok = r["events_per_s"] >= TARGETS[kind]
            failed |= not ok
            verdict = "ok" if ok else "MISSED"
            print(
                f"{kind:8s} {size_mb:8.0f} MiB  {r['rows']:>10,} rows  {r['seconds']:6.1f} s  "
                f"{r['events_per_s']:>10,.0f} events/s (target {TARGETS[kind]:,}: {verdict})  "
                f"cpu {r['cpu_seconds']:.1f} s  peak RSS {r['peak_rss_mb']:,.0f} MB  "
                f"quarantined {r['quarantined']:,}",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
