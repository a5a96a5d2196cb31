"""Batch scan vs the same events fed as increments to a persistent state (``scan --state``).

Simulates a scenario (default ``seed``, 50M events; ``--scenario small`` or ``tiny`` to run in
minutes), then (a) one batch scan with the flagged_at replay and (b) the same events cut into
``--increment-h``-hour files fed in order to ``run_increment``. Prints, for both: seconds,
events/s, peak RSS, the ratio to one bare DuckDB group-by pass over the same Parquet; per
increment: seconds (median, p95, max) and the last increment's; whether final verdicts and
campaigns are identical; and time to detection from each run's ``flagged_at`` (campaigns
flagged before 5% of their exchanges), measured by ``evaluate``, with one row per campaign:
its deadline (hours from its first exchange until 5% of its exchanges had been sent) and the
hours to its first flag in the batch replay and in the increments. It also counts benign
accounts that some increment called ``attack`` (from the state's verdict history), whatever
the last increment says: a live run acts on every increment's verdicts, so a benign account
flagged for a few hours is a false positive the final FPR does not show.

``--increments N`` feeds only the first N files (say the first day of ``small`` hourly, where
every campaign's deadline falls): the per-campaign times are then exact for campaigns flagged
within them, final verdicts are not compared, and precision / recall are those of the state
after the N-th increment.

    .venv/bin/python bench/seed_scale.py --scenario tiny --increment-h 1
    .venv/bin/python bench/seed_scale.py --scenario small --increment-h 1 --increments 18
    .venv/bin/python bench/seed_scale.py --scenario small --increment-h 6 --work /tmp/ss
    .venv/bin/python bench/seed_scale.py                      # the issue's target: seed, hourly
    .venv/bin/python bench/seed_scale.py --logs LOGS --increments 33 --batch-no-replay

The last form answers time to detection at the ``seed`` scale without the batch's replay
(hours at that size): its campaigns' deadlines fall within the first 33 hours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from detect import _bare_groupby_seconds, _scan, _summary

_INCREMENTS = """
import json, resource, sys, time
from pathlib import Path
from distillguard.state import StateParams, run_increment
files = sorted(Path(sys.argv[2]).glob("part-*.parquet"))[: int(sys.argv[4]) or None]
params = StateParams(confirm_increments=int(sys.argv[5]))
for i, f in enumerate(files):
    t = time.perf_counter()
    r = run_increment(sys.argv[1], [f], sys.argv[3] if i == len(files) - 1 else None, params=params,
                      scan_options={"progress": False, "report": False})
    print(json.dumps({"increment": r.increment, "events": r.counts["events_new"],
                      "seconds": time.perf_counter() - t,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def _cut(logs: Path, hours: float, folder: Path) -> int:
    """Write the events as one Parquet file per ``hours`` window with DuckDB (bounded memory)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    src = f"read_parquet('{logs}/events/**/*.parquet', union_by_name = true)"
    lo, hi = con.execute(f"SELECT min(timestamp), max(timestamp) FROM {src}").fetchone()
    cur = lo.replace(minute=0, second=0, microsecond=0)
    n = 0
    while cur <= hi:
        nxt = cur + dt.timedelta(hours=hours)
        count = con.execute(
            f"SELECT count(*) FROM {src} WHERE timestamp >= ? AND timestamp < ?", [cur, nxt]
        ).fetchone()[0]
        if count:
            con.execute(
                f"COPY (SELECT * FROM {src} WHERE timestamp >= $1 AND timestamp < $2 ORDER BY timestamp)"
                f" TO '{folder}/part-{n:05d}.parquet' (FORMAT parquet)",
                [cur, nxt],
            )
            n += 1
        cur = nxt
    return n


def _same(a: Path, b: Path) -> dict:
    import pyarrow.parquet as pq

    cols = ["account_id", "score", "verdict", "campaign_id", "reasons"]
    ta = pq.read_table(a / "accounts.parquet", columns=cols).sort_by("account_id")
    tb = pq.read_table(b / "accounts.parquet", columns=cols).sort_by("account_id")
    differ = (
        {c: sum(x != y for x, y in zip(ta[c].to_pylist(), tb[c].to_pylist(), strict=False)) for c in cols}
        if ta.num_rows == tb.num_rows
        else {"rows": abs(ta.num_rows - tb.num_rows)}
    )

    def members(p: Path) -> list:
        return sorted(sorted(c["accounts"]) for c in json.loads((p / "campaigns.json").read_text()))

    return {"identical": not any(differ.values()) and members(a) == members(b), "differing": differ}


def _campaign_times(batch_dir: Path, state_out: Path, logs: Path, replayed: bool = True) -> list[dict]:
    """Per true campaign: deadline (hours to 5% of its exchanges) and hours to the first flag,
    batch replay against increments (``None``: not flagged, or the batch was not replayed)."""
    from distillguard.evaluate import evaluate

    def rows(scan_dir: Path) -> dict:
        ttd = evaluate(logs / "labels.parquet", scan_dir, events=logs)["detector"]["time_to_detection"]
        return {r["campaign"]: r for r in ttd.get("campaigns", [])}

    batch, inc = rows(batch_dir), rows(state_out)
    return [
        {
            "campaign": name,
            "deadline_h": r["hours_to_early_share"],
            "batch_replay_h": r["hours_before"] if replayed else None,
            "increments_h": inc.get(name, {}).get("hours_before"),
            "increments_share_before": inc.get(name, {}).get("share_before"),
        }
        for name, r in sorted(batch.items())
    ]


def _benign_ever_attack(state: Path, logs: Path) -> dict:
    """Benign accounts some increment called ``attack``, how many got a ``flagged_at`` (with
    ``confirm_increments`` > 1 a one-increment flicker does not), how many still are
    ``attack`` at the last increment, and how long they were: per persona, accounts and the
    longest spell in hours of the increments' watermarks (a spell still open at the last
    increment ends there). Also used by ``bench/serve.py`` on its live state."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{state / 'state.duckdb'}' AS s (READ_ONLY)")
    benign = f"""benign AS (SELECT account_id, persona FROM read_parquet('{logs / "labels.parquet"}')
                            WHERE NOT is_attack)"""
    ever, flagged, still, personas = con.execute(
        f"""
        WITH {benign},
             ever AS (SELECT DISTINCT account_id FROM s.verdict_changes WHERE new_verdict = 'attack')
        SELECT count(*), count(*) FILTER (WHERE v.flagged_at IS NOT NULL),
               count(*) FILTER (WHERE v.verdict = 'attack'),
               list(DISTINCT b.persona ORDER BY b.persona)
        FROM ever JOIN benign b USING (account_id) LEFT JOIN s.verdicts v USING (account_id)
        """
    ).fetchone()
    spells = con.execute(
        f"""
        WITH {benign},
             changes AS (
                SELECT c.account_id, c.new_verdict, i.watermark AS t,
                       lead(i.watermark) OVER (PARTITION BY c.account_id ORDER BY c.increment_id) AS t_next
                FROM s.verdict_changes c JOIN s.increments i ON i.id = c.increment_id),
             last AS (SELECT max(watermark) AS t_end FROM s.increments WHERE scored_at IS NOT NULL)
        SELECT b.persona, count(DISTINCT c.account_id),
               round(max(epoch(coalesce(c.t_next, last.t_end)) - epoch(c.t)) / 3600, 1)
        FROM changes c JOIN benign b USING (account_id), last
        WHERE c.new_verdict = 'attack' GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    return {
        "ever_attack": ever,
        "with_flagged_at": flagged,
        "attack_at_last_increment": still,
        "personas": personas or [],
        "accounts_and_longest_h_by_persona": {p: [n, h] for p, n, h in spells},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="seed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--increment-h", type=float, default=1.0)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--logs", type=Path, default=None, help="pre-generated logs of the scenario")
    ap.add_argument("--infra", type=Path, default=None)
    ap.add_argument("--increments", type=int, default=0, help="feed only the first N files (0: all)")
    ap.add_argument("--confirm-increments", type=int, default=1, help="StateParams.confirm_increments")
    ap.add_argument(
        "--batch-no-replay",
        action="store_true",
        help="batch scan without the flagged_at replay (its time-to-detection column is then empty)",
    )
    ap.add_argument(
        "--reuse-batch", action="store_true", help="keep WORK/batch and its figures from an earlier run"
    )
    args = ap.parse_args()
    from distillguard.simulate import simulate

    work = args.work or Path(tempfile.mkdtemp(prefix="dg-bench-seed-scale-"))
    logs = args.logs or work / "logs"
    if not (logs / "labels.parquet").is_file():
        t = time.perf_counter()
        simulate(args.scenario, logs, seed=args.seed)
        print(f"simulated {args.scenario} seed {args.seed} in {time.perf_counter() - t:.0f} s", flush=True)
    bare = _bare_groupby_seconds(logs)
    saved = work / "batch.json"
    if args.reuse_batch and saved.is_file() and (work / "batch" / "accounts.parquet").is_file():
        batch = json.loads(saved.read_text())
    else:
        batch = _scan(logs, work / "batch", False, args.infra, replay=not args.batch_no_replay)
        saved.write_text(json.dumps(batch))
    print(json.dumps({"batch": batch}), flush=True)
    parts = work / "parts"
    if not parts.is_dir():
        _cut(logs, args.increment_h, parts)
    state, out = work / "state", work / "state-scan"
    import shutil

    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    runs = []
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _INCREMENTS,
            str(state),
            str(parts),
            str(out),
            str(args.increments),
            str(args.confirm_increments),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if not line.startswith('{"increment"'):  # anything else a library printed
            print(f"  (increment process said: {line.rstrip()[:200]})", flush=True)
            continue
        runs.append(json.loads(line))
        if len(runs) % 10 == 0:
            print(f"  increment {len(runs)}: {runs[-1]['seconds']:.1f} s", flush=True)
    if proc.wait() != 0:
        raise SystemExit("increments failed")
    secs = [r["seconds"] for r in runs]
    events = batch["events"]
    judged = _summary(work / "batch", logs)
    report = {
        "scenario": args.scenario,
        "seed": args.seed,
        "events": events,
        "bare_groupby_s": round(bare, 2),
        "batch": {
            "replay": "no (--batch-no-replay)" if args.batch_no_replay else "yes",
            "seconds": round(batch["seconds"], 1),
            "events_per_s": round(events / batch["seconds"]),
            "peak_rss_gb": round(batch["peak_rss_mb"] / 1024, 2),
            "ratio_to_bare_groupby": round(batch["seconds"] / bare),
            "precision": judged["precision"],
            "recall": judged["recall"],
            "flagged_early": "not replayed" if args.batch_no_replay else judged["flagged_early"],
        },
        "increments": {
            "hours_each": args.increment_h,
            "confirm_increments": args.confirm_increments,
            "count": len(runs),
            "total_s": round(sum(secs), 1),
            "events_per_s": round(sum(r["events"] for r in runs) / sum(secs)),
            "median_s": round(statistics.median(secs), 2),
            "p95_s": round(sorted(secs)[int(0.95 * (len(secs) - 1))], 2),
            "max_s": round(max(secs), 2),
            "last_s": round(secs[-1], 2),
            "last_ratio_to_bare_groupby": round(secs[-1] / bare),
            "peak_rss_gb": round(max(r["peak_rss_mb"] for r in runs) / 1024, 2),
            **{k: _summary(out, logs)[k] for k in ("precision", "recall", "flagged_early")},
        },
        "final_verdicts": _same(work / "batch", out)
        if not args.increments
        else "not compared (--increments)",
        "benign_flagged_by_an_increment": _benign_ever_attack(state, logs),
        "campaigns": _campaign_times(work / "batch", out, logs, replayed=not args.batch_no_replay),
    }
    print(json.dumps(report, indent=1))
    print(f"work dir: {work}")


if __name__ == "__main__":
    main()
