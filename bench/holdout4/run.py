"""Generate hold-out-4 traffic, scan it four ways, evaluate, print per-persona recall and FPR.

    .venv/bin/python bench/holdout4/run.py --seeds 0 1 --work /tmp/holdout4 [--reuse] [--replay]
    PYTHONPATH=/tmp/h4base/src .venv/bin/python bench/holdout4/run.py ...   # a fixed revision

Per seed: ``generate.py`` -> ``distillguard scan`` in four modes (full, ``--metadata-only``, each
with and without ``--infra ../shared/data/ip_infra``) -> ``distillguard evaluate``. The scans run
as ``python -m distillguard`` under this interpreter, so ``PYTHONPATH`` picks the revision
measured. Scans skip the ``flagged_at`` replay unless ``--replay`` (verdicts do not depend on it).
Prints one Markdown table (rows: personas; columns: seed x mode), then per seed and mode the
overall benign FPR, precision, recall and the adaptive attacker's recall drop against the
classic fleet.
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
INFRA = ROOT.parent / "shared" / "data" / "ip_infra"
#: Scan modes: name -> extra flags.
MODES: dict[str, list[str]] = {
    "full": [],
    "full+infra": ["--infra", str(INFRA)],
    "meta": ["--metadata-only"],
    "meta+infra": ["--metadata-only", "--infra", str(INFRA)],
}
CLASSIC, ADAPTIVE = "atk_hydra_fleet", ("atk_adaptive", "atk_adaptive_metalight")
#: A scan that crashes is retried this often (others may be editing the tree).
SCAN_RETRIES = 1


def _run(cmd: list[str], what: str, retries: int = 0) -> None:
    for attempt in range(retries + 1):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode == 0:
            return
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        print(f"  {what} failed (exit {p.returncode}, attempt {attempt + 1}): {' | '.join(tail)}", flush=True)
    raise SystemExit(f"{what} failed after {retries + 1} attempts")


def scan_and_evaluate(data: Path, scan: Path, flags: list[str], replay: bool, reuse: bool) -> dict:
    ev_path = scan / "evaluation.json"
    if reuse and ev_path.exists():
        return json.loads(ev_path.read_text())
    dg = [sys.executable, "-m", "distillguard"]
    extra = [] if replay else ["--no-replay"]
    _run(
        [*dg, "scan", str(data), "--out", str(scan), "--overwrite", "--quiet", *extra, *flags],
        "scan",
        SCAN_RETRIES,
    )
    _run(
        [*dg, "evaluate", "--labels", str(data / "labels.parquet"), "--scan", str(scan), "--quiet"],
        "evaluate",
    )
    return json.loads(ev_path.read_text())


def main(argv: list[str] | None = None) -> int:
    from generate import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--reuse", action="store_true", help="reuse generated data and finished scans")
    ap.add_argument("--replay", action="store_true", help="run the flagged_at replay (slower)")
    a = ap.parse_args(argv)
    if not INFRA.is_dir():
        print(f"error: {INFRA} not found (the shared corpora)", file=sys.stderr)
        return 2
    import distillguard

    print(f"distillguard from {Path(distillguard.__file__).parent}", flush=True)
    results: dict[tuple[int, str], dict] = {}
    for s in a.seeds:
        data = a.work / f"seed{s}" / "data"
        mpath = data / "manifest.json"
        if a.reuse and mpath.exists() and json.loads(mpath.read_text()).get("scale") == a.scale:
            print(f"seed {s}: reusing {data}", flush=True)
        else:
            t = time.time()
            m = generate(data, seed=s, scale=a.scale)
            print(
                f"seed {s}: {m['events']:,} events, {m['accounts']:,} accounts in {time.time() - t:.0f}s",
                flush=True,
            )
        for mode in a.modes:
            t = time.time()
            results[s, mode] = scan_and_evaluate(
                data, a.work / f"seed{s}" / f"scan-{mode}", MODES[mode], a.replay, a.reuse
            )
            print(f"seed {s} {mode}: scanned and evaluated in {time.time() - t:.0f}s", flush=True)
    print()
    print(render(results, a.seeds, a.modes))
    return 0


def _personas(ev: dict) -> dict[str, dict]:
    return {r["persona"]: r for r in ev["detector"]["accounts"]["personas"]}


def render(results: dict[tuple[int, str], dict], seeds: list[int], modes: list[str]) -> str:
    """The Markdown tables: per persona rate (attack verdicts / accounts, and how many went to
    review as ``suspicious``), then the summary rows."""
    cols = [(s, m) for s in seeds for m in modes]
    per = {k: _personas(v) for k, v in results.items()}
    names = sorted({p for t in per.values() for p in t}, key=lambda p: (not p.startswith("atk_"), p))
    head = "| persona | kind | " + " | ".join(f"s{s} {m}" for s, m in cols) + " |"
    lines = [head, "|---|---|" + "---|" * len(cols)]
    for p in names:
        cells = []
        for k in cols:
            r = per[k].get(p)
            cells.append(
                "-"
                if r is None
                else f"{r['rate']:.3f} ({r['flagged']}/{r['accounts']}, {r['suspicious']} susp)"
            )
        kind = "recall" if p.startswith("atk_") else "FPR"
        lines.append(f"| {p} | {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| seed | mode | precision | recall | benign FPR | hard-neg FPR | "
        + " | ".join(f"{p[4:]} drop" for p in ADAPTIVE)
        + " |",
    ]
    lines.append("|---|---|---|---|---|---|" + "---|" * len(ADAPTIVE))
    for s, m in cols:
        acc = results[s, m]["detector"]["accounts"]
        t = per[s, m]
        hn = [r for p, r in t.items() if p.startswith("hardneg_")]
        hn_fpr = sum(r["flagged"] for r in hn) / max(1, sum(r["accounts"] for r in hn))
        base = t.get(CLASSIC, {}).get("rate")
        drops = [
            "-" if base is None or p not in t else f"{100 * (base - t[p]['rate']):.1f} pts" for p in ADAPTIVE
        ]
        lines.append(
            f"| {s} | {m} | {_f3(acc.get('precision'))} | {_f3(acc.get('recall'))} "
            f"| {100 * acc['benign_fpr']:.3f}% "
            f"| {100 * hn_fpr:.3f}% | " + " | ".join(drops) + " |"
        )
    return "\n".join(lines)


def _f3(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
