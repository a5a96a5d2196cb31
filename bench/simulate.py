"""Simulator throughput: simulate a scenario into a temp dir, print events/s and peak RSS.

    .venv/bin/python bench/simulate.py [--scenario small] [--seed 0] [--providers 1] [--keep DIR]

Target (issue 3): >= 300K events/s on the 2-core reference machine; seed scale under 8 GB RSS.
Also prints the process CPU time (user + sys, all threads): on a shared, loaded machine
wall-clock events/s understates the simulator, CPU time does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
from pathlib import Path

from distillguard.simulate import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="small", help="packaged name or YAML path (default: small)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--providers", type=int, default=1)
    ap.add_argument("--corpus", default=None, help="optional corpus directory (like shared/data)")
    ap.add_argument("--keep", default=None, help="write here and keep the output instead of a temp dir")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()

    tmp = None if args.keep else tempfile.mkdtemp(prefix="dg-sim-bench-")
    out = Path(args.keep or tmp) / "out"
    try:
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        res = simulate(
            args.scenario,
            out,
            seed=args.seed,
            providers=args.providers,
            corpus=args.corpus,
            progress=not args.no_progress,
            overwrite=True,
        )
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        rss_mb = cpu1.ru_maxrss / 1024
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        load = os.getloadavg()[0]
        print(f"scenario        {res.scenario}")
        print(f"events          {res.events:,}")
        print(f"accounts        {res.accounts:,} ({res.attack_accounts:,} attack)")
        print(f"seconds         {res.seconds:.2f}")
        cpus = os.cpu_count()
        print(f"events/s        {res.events_per_s:,.0f} (wall; 1-min load average {load:.1f}, {cpus} CPUs)")
        print(f"CPU time        {cpu:.2f} s user+sys = {res.events / max(cpu, 1e-9):,.0f} events/CPU-s")
        print(f"peak RSS        {rss_mb:,.0f} MB")
        print(f"output size     {size / 2**20:,.1f} MiB ({size / max(res.events, 1):.0f} B/event)")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
