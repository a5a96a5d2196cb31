"""Hold-out red-team run: generate independent traffic, scan it with and without IP infra,
evaluate, print the per-persona table and the failure diagnosis.

    .venv/bin/python bench/holdout/run.py [--seeds 0 1] [--scale 1.0] [--work /tmp/holdout]

Everything goes through the installed CLI (``.venv/bin/distillguard scan`` / ``evaluate``),
exactly as a user would run it. If ``scan`` is not available yet the run polls for it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _ho_analyze import analyze, campaign_purity  # noqa: E402
from generate import DEFAULT_DATA, generate  # noqa: E402

CLI = HERE.parents[1] / ".venv" / "bin" / "distillguard"
#: Seconds between two checks that ``distillguard scan`` exists, and how long to keep trying.
POLL_S = 180
POLL_MAX_S = 3 * 3600


def _run(args: list[str]) -> float:
    started = time.perf_counter()
    res = subprocess.run([str(CLI), *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(
            f"error: distillguard {args[0]} failed ({res.returncode}): {res.stderr.strip()[-2000:]}"
        )
    return time.perf_counter() - started


def wait_for_scan() -> None:
    """Block until ``distillguard scan --help`` works (the command is built in parallel)."""
    waited = 0
    while subprocess.run([str(CLI), "scan", "--help"], capture_output=True).returncode != 0:
        if waited >= POLL_MAX_S:
            raise SystemExit("error: distillguard scan still unavailable")
        print(f"scan not ready; retrying in {POLL_S} s", flush=True)
        time.sleep(POLL_S)
        waited += POLL_S


def one_seed(seed: int, scale: float, work: Path, data: Path, infra: Path) -> dict[str, dict]:
    """Generate, scan (infra / no infra), evaluate; returns per-variant evaluation JSON."""
    d = work / f"seed{seed}"
    ev = d / "events"
    if not (ev / "manifest.json").is_file():
        m = generate(ev, seed=seed, scale=scale, data=data)
        print(
            f"seed {seed}: {m['events']:,} events, {m['accounts']:,} accounts ({m['attack_accounts']} attack)"
        )
    out = {}
    for variant, extra in (("infra", ["--infra", str(infra)]), ("noinfra", [])):
        scan = d / f"scan_{variant}"
        secs = _run(["scan", str(ev), "--out", str(scan), "--quiet", *extra])
        _run(
            [
                "evaluate",
                "--labels",
                str(ev / "labels.parquet"),
                "--scan",
                str(scan),
                "--events",
                str(ev),
                "--out",
                str(scan / "evaluation.json"),
            ]
        )
        rep = json.loads((scan / "evaluation.json").read_text())
        rep["scan_seconds"] = secs
        out[variant] = rep
    return out


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def print_table(results: dict[int, dict[str, dict]]) -> None:
    cols = [(s, v) for s in results for v in ("infra", "noinfra")]
    rows: dict[tuple[str, bool], dict] = {}
    for s, v in cols:
        for r in results[s][v]["detector"]["accounts"]["personas"]:
            rows.setdefault((r["persona"], r["is_attack"]), {"n": r["accounts"]})[(s, v)] = r["rate"]
    head = " ".join(f"s{s}/{v[:5]:5s}" for s, v in cols)
    print(f"\n{'persona':26s} {'kind':7s} {'accts':>5s}  {head}")
    for (p, attack), r in sorted(rows.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
        vals = " ".join(f"{_fmt(r.get(c)):>11s}" for c in cols)
        print(f"{p:26s} {'recall' if attack else 'FPR':7s} {r['n']:5d}  {vals}")
    print()
    for s, v in cols:
        a = results[s][v]["detector"]["accounts"]
        print(
            f"seed {s} {v:7s}: precision {a['precision']:.3f} recall {a['recall']:.3f} F1 {a['f1']:.3f} "
            f"benign FPR {a['benign_fpr']:.4f} ROC-AUC {a['roc_auc']:.3f} TP/FP {a['tp']}/{a['fp']} "
            f"scan {results[s][v]['scan_seconds']:.0f} s"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/holdout"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    wait_for_scan()
    infra = args.data / "ip_infra"
    results = {s: one_seed(s, args.scale, args.work, args.data, infra) for s in args.seeds}
    print_table(results)
    for s in args.seeds:
        for v in ("infra", "noinfra"):
            scan = args.work / f"seed{s}" / f"scan_{v}"
            print(f"\n== diagnosis seed {s}, scan {v}")
            for line in analyze(scan, args.work / f"seed{s}" / "events" / "labels.parquet"):
                print(line)
            for line in campaign_purity(scan, args.work / f"seed{s}" / "events" / "labels.parquet"):
                print("   campaign", line)


if __name__ == "__main__":
    main()
