"""Generate hold-out-2 traffic, scan it with the CLI, evaluate, and diagnose every failure.

    .venv/bin/python bench/holdout2/run.py --seeds 0 1 --work /tmp/holdout2

Per seed: ``generate.py`` -> ``distillguard scan --infra ../shared/data/ip_infra`` ->
``distillguard evaluate``; then a per-persona table over all seeds and, per seed, the
reasons and signals behind every false positive (and every suspicious benign persona)
and the evidence each missed attack persona had.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parents[1]
DG = ROOT / ".venv" / "bin" / "distillguard"
INFRA = ROOT.parent / "shared" / "data" / "ip_infra"
#: A scan that crashes (the pipeline is being edited) is retried this often, this far apart.
SCAN_RETRIES = 3
RETRY_WAIT_S = 90


def _run(cmd: list[str], what: str, retries: int = 0) -> str:
    for attempt in range(retries + 1):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        print(f"  {what} failed (exit {p.returncode}, attempt {attempt + 1}): {' | '.join(tail)}", flush=True)
        if attempt < retries:
            time.sleep(RETRY_WAIT_S)
    raise SystemExit(f"{what} failed after {retries + 1} attempts")


def run_seed(seed: int, work: Path, scale: float, reuse: bool) -> tuple[Path, Path, dict]:
    from generate import generate

    data, scan = work / f"seed{seed}" / "data", work / f"seed{seed}" / "scan"
    manifest_path = data / "manifest.json"
    if reuse and manifest_path.exists() and json.loads(manifest_path.read_text()).get("scale") == scale:
        manifest = json.loads(manifest_path.read_text())
        print(f"seed {seed}: reusing {data}")
    else:
        t = time.time()
        manifest = generate(data, seed=seed, scale=scale)
        print(
            f"seed {seed}: generated {manifest['events']:,} events, {manifest['accounts']:,} accounts "
            f"({manifest['attack_accounts']:,} attack) in {time.time() - t:.0f}s",
            flush=True,
        )
    t = time.time()
    _run(
        [str(DG), "scan", str(data), "--out", str(scan), "--infra", str(INFRA), "--quiet"],
        "scan",
        SCAN_RETRIES,
    )
    meta = json.loads((scan / "scan_meta.json").read_text())
    print(
        f"seed {seed}: scanned {meta.get('events')} events in {time.time() - t:.0f}s; "
        f"quarantined {meta.get('quarantined')}",
        flush=True,
    )
    _run(
        [
            str(DG),
            "evaluate",
            "--labels",
            str(data / "labels.parquet"),
            "--scan",
            str(scan),
            "--events",
            str(data),
        ],
        "evaluate",
    )
    return data, scan, json.loads((scan / "evaluation.json").read_text())


def _headline(ev: dict) -> str:
    a = ev.get("detector", {}).get("accounts", {})
    keys = ("precision", "recall", "f1", "roc_auc", "pr_auc", "fpr")
    parts = [f"{k}={a[k]:.3f}" for k in keys if isinstance(a.get(k), int | float)]
    return " ".join(parts) or json.dumps({k: a[k] for k in list(a)[:8]}, default=str)[:300]


def main(argv: list[str] | None = None) -> int:
    from _h2_diagnose import campaign_mix, evidence_coverage, false_positives, misses, persona_rates

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--reuse", action="store_true", help="reuse generated data of the same scale")
    a = ap.parse_args(argv)
    results = {s: run_seed(s, a.work, a.scale, a.reuse) for s in a.seeds}

    print("\n== per persona: recall (attack) / FPR (benign); flagged = verdict attack, susp = suspicious ==")
    tables = {s: {r["persona"]: r for r in persona_rates(d, sc)} for s, (d, sc, _) in results.items()}
    names = sorted(
        {p for t in tables.values() for p in t},
        key=lambda p: (not next(t[p]["attack"] for t in tables.values() if p in t), p),
    )
    head = "".join(f" | s{s} n  rate  flag  susp" for s in a.seeds)
    print(f"{'persona':26s} kind  {head}")
    for p in names:
        kind = "ATK " if next(t[p]["attack"] for t in tables.values() if p in t) else "ben "
        cells = ""
        for s in a.seeds:
            r = tables[s].get(p)
            cells += (
                " |      -"
                if r is None
                else (f" | {r['accounts']:5d} {r['rate']:5.3f} {r['flagged']:5d} {r['suspicious']:5d}")
            )
        print(f"{p:26s} {kind}{cells}")
    for s, (_, _, ev) in results.items():
        print(f"seed {s} overall: {_headline(ev)}")

    for s, (data, scan, _) in results.items():
        print(f"\n== seed {s}: false positives (benign, verdict attack) ==")
        _print_fp(false_positives(data, scan))
        print(f"\n== seed {s}: benign accounts marked suspicious (review load) ==")
        _print_fp(false_positives(data, scan, "suspicious"), brief=True)
        print(f"\n== seed {s}: missed attack accounts (verdict not attack) ==")
        m = misses(data, scan)
        for p, n, susp, med, mx, exch, in_c in m["personas"]:
            print(
                f"  {p}: {n} missed ({susp} suspicious), score median {med} max {mx}, "
                f"median exchanges {exch}, {in_c} in a predicted campaign, "
                f"{m['no_signal'].get(p, 0)} with no signal at all"
            )
        _print_signals(m["signals"])
        print(f"\n== seed {s}: attack recall by the evidence the log source kept ==")
        for p, text, tls, n, flagged in evidence_coverage(data, scan):
            yn = {True: "yes", False: "no"}
            print(f"  {p:24s} text={yn[text]:3s} tls={yn[tls]:3s} {flagged}/{n} flagged")
        print(f"\n== seed {s}: predicted campaigns ==")
        for cid, n, holds, benign in campaign_mix(data, scan):
            print(f"  {cid}: {n} accounts ({benign} benign) <- {holds}")
    return 0


def _print_fp(fp: dict, brief: bool = False) -> None:
    if not fp["personas"]:
        print("  none")
        return
    for p, n, score, ncamp in fp["personas"]:
        rs = [f"{r}:{c}" for pp, r, c in fp["reasons"] if pp == p][:6]
        print(f"  {p}: {n} accounts, mean score {score}, in {ncamp} campaigns; reasons {', '.join(rs)}")
    if not brief:
        _print_signals(fp["signals"])


def _print_signals(rows: list[tuple]) -> None:
    for p, fam, sig, n, med, thr, strength, ex in rows:
        print(
            f"    {p:24s} {fam}/{sig}: {n} acc, median value {med} (threshold {thr}), strength {strength}; "
            f"e.g. {str(ex)[:110]}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
