"""Detection benchmark: simulate -> scan -> evaluate, on several scenarios and seeds.

Prints, per (scenario, seed): precision, recall, benign FPR, worst hard-negative FPR,
per-attack-persona recall, campaign purity / cohesion, campaigns flagged before 5% of
their exchanges, the same for a metadata-only scan, and speed: events/s, peak RSS of the
scan process, and the ratio of scan time to one bare DuckDB group-by pass over the events.

    .venv/bin/python bench/detect.py --scenarios small --seeds 0 1 2
    .venv/bin/python bench/detect.py --scenarios medium --seeds 0 --no-metadata-only
    (add ``--infra /work/shared/data/ip_infra`` to scan with real IP infrastructure)

Simulated logs are reused when ``WORK/SCENARIO-SEED/logs/labels.parquet`` exists (a symlink to
a pre-generated directory will do), or pass ``--logs DIR`` for a single scenario and seed.
The scan's per-stage seconds and peak RSS (``scan_meta.json``) are printed with each row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SCAN = """
import json, resource, sys, time
from distillguard.scan import scan
t = time.perf_counter()
infra = [sys.argv[4]] if len(sys.argv) > 4 and sys.argv[4] else None
replay = len(sys.argv) <= 5 or sys.argv[5] == "1"
r = scan([sys.argv[1]], sys.argv[2], progress=False, metadata_only=sys.argv[3] == "1", infra=infra,
         replay=replay)
print(json.dumps({"seconds": time.perf_counter() - t, "events": r.meta["events"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _scan(logs: Path, out: Path, metadata_only: bool, infra: Path | None = None, replay: bool = True) -> dict:
    args = [str(logs), str(out), "1" if metadata_only else "0", str(infra or ""), "1" if replay else "0"]
    res = subprocess.run(
        [sys.executable, "-c", _SCAN, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def _bare_groupby_seconds(logs: Path) -> float:
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(
        "SELECT account_id, count(*), sum(output_tokens) "
        "FROM read_parquet(?, hive_partitioning=true) GROUP BY 1",
        [str(logs / "events" / "**" / "*.parquet")],
    ).fetchall()
    return time.perf_counter() - t


def _stages(scan_dir: Path) -> dict:
    """Seconds and peak RSS (GB, cumulative) after each scan stage, from scan_meta.json."""
    meta = json.loads((scan_dir / "scan_meta.json").read_text())
    return {"stage_s": meta.get("timings_s"), "stage_peak_rss_gb": meta.get("peak_rss_gb")}


def _summary(scan_dir: Path, logs: Path) -> dict:
    from distillguard.evaluate import evaluate

    rep = evaluate(logs / "labels.parquet", scan_dir, events=logs)["detector"]
    acc = rep["accounts"]
    personas = acc["personas"]
    benign = [p for p in personas if not p["is_attack"]]
    attack = {p["persona"]: p["rate"] for p in personas if p["is_attack"]}
    camp = rep["campaigns"]["summary"]
    ttd = rep["time_to_detection"].get("summary", {})
    return {
        "precision": acc["precision"],
        "recall": acc["recall"],
        "benign_fpr": acc["benign_fpr"],
        "worst_benign_persona": max(benign, key=lambda p: p["rate"] or 0.0) if benign else None,
        "recall_by_persona": attack,
        "weighted_purity": camp.get("weighted_purity"),
        "min_purity": camp.get("min_purity"),
        "mean_in_best_share": camp.get("mean_in_best_share"),
        "flagged_early": f"{ttd.get('flagged_early')}/{ttd.get('campaigns')}",
        "median_share_before_flag": ttd.get("median_share_before"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["small"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--work", type=Path, default=None, help="keep simulated logs and scans here")
    ap.add_argument("--no-metadata-only", action="store_true", help="skip the metadata-only scan")
    ap.add_argument("--infra", type=Path, default=None, help="IP infrastructure files for scan --infra")
    ap.add_argument("--logs", type=Path, default=None, help="pre-generated logs (one scenario and seed)")
    args = ap.parse_args()
    if args.logs is not None and len(args.scenarios) * len(args.seeds) != 1:
        ap.error("--logs needs exactly one scenario and one seed")
    from distillguard.simulate import simulate

    work = args.work or Path(tempfile.mkdtemp(prefix="dg-bench-detect-"))
    rows = []
    for scenario in args.scenarios:
        for seed in args.seeds:
            logs = args.logs or work / f"{scenario}-{seed}" / "logs"
            if not (logs / "labels.parquet").is_file():
                simulate(scenario, logs, seed=seed)
            row = {"scenario": scenario, "seed": seed}
            run = _scan(logs, work / f"{scenario}-{seed}" / "scan", False, args.infra)
            bare = _bare_groupby_seconds(logs)
            row.update(
                events=run["events"],
                scan_s=round(run["seconds"], 1),
                events_per_s=round(run["events"] / run["seconds"]),
                peak_rss_mb=round(run["peak_rss_mb"]),
                ratio_to_bare_groupby=round(run["seconds"] / bare, 1),
                **_stages(work / f"{scenario}-{seed}" / "scan"),
                full=_summary(work / f"{scenario}-{seed}" / "scan", logs),
            )
            if not args.no_metadata_only:
                _scan(logs, work / f"{scenario}-{seed}" / "scan-meta", True, args.infra)
                row["metadata_only"] = _summary(work / f"{scenario}-{seed}" / "scan-meta", logs)
            rows.append(row)
            print(json.dumps(row, indent=1, default=str), flush=True)
    print(_table(rows))
    print(f"work dir: {work}")


def _table(rows: list[dict]) -> str:
    """The rows as one Markdown table (the README's benchmark table)."""
    cols = [
        "scenario",
        "seed",
        "scan",
        "events/s",
        "scan time",
        "peak RSS",
        "vs bare group-by",
        "precision",
        "recall",
        "benign FPR",
        "purity",
        "flagged before 5%",
        "recall by persona",
    ]
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        for variant in ("full", "metadata_only"):
            s = r.get(variant)
            if not s:
                continue
            speed = ["", "", "", ""]
            if variant == "full":
                speed = [
                    f"{r['events_per_s']:,}",
                    f"{r['scan_s']} s",
                    f"{r['peak_rss_mb'] / 1024:.1f} GB",
                    f"{r['ratio_to_bare_groupby']:.0f}x",
                ]
            personas = ", ".join(f"{k} {v:.3f}" for k, v in s["recall_by_persona"].items())
            cells = [
                r["scenario"],
                str(r["seed"]),
                variant.replace("_", "-"),
                *speed,
                f"{s['precision']:.3f}",
                f"{s['recall']:.3f}",
                f"{s['benign_fpr']:.5f}",
                f"{s['weighted_purity'] or 0:.3f}",
                s["flagged_early"],
                personas,
            ]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
