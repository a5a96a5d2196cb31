"""Fuzz campaign over ingest, scan, share import and evaluate, outside pytest.

    .venv/bin/python bench/fuzz.py --examples 10000        # generated inputs, spread by weight
    .venv/bin/python bench/fuzz.py --examples 500 --targets ingest_jsonl,evaluate --no-corpus

Each target runs in its own child process (a segfault in native code is reported as a crash
with the input being tried, and the campaign goes on); every failing input is counted and
failures are grouped by signature (exception type and where it was raised, or the broken
property). Then the corpus of the issue's hostile inputs runs through the CLI. Prints inputs
tried, failures and seconds per target and per corpus case; exits 1 on any failure.
Strategies, checks and the corpus live in ``tests/fuzz/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "src"))  # this checkout's code, not whatever the venv points at

#: How often a crashed target's child is restarted (with a new seed) for the rest of its budget.
MAX_RESTARTS = 3
#: Characters of a failing input kept in the report.
EXAMPLE_CHARS = 400


def child(name: str, examples: int, seed: int, state: Path) -> None:
    """Run one target for ``examples`` inputs; write the tally to ``state`` as JSON after each input."""
    import shutil

    from fuzz_targets import TARGETS, Finding, run_one
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hyp_seed

    target = TARGETS[name]
    tally: dict = {"tried": 0, "failing": 0, "failures": {}, "current": None}
    scratch = Path(tempfile.mkdtemp(prefix=f"dg-fuzz-{name}-"))

    def save() -> None:
        state.write_text(json.dumps(tally))

    @hyp_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count every input; nothing is raised, so nothing shrinks
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def one(value: object) -> None:
        tally["tried"] += 1
        tally["current"] = repr(value)[:EXAMPLE_CHARS]
        if tally["tried"] % 25 == 1:
            save()  # a crash loses at most the last few counts, never the input that crashed
        case_dir = scratch / f"case-{tally['tried']}"
        case_dir.mkdir()
        try:
            run_one(target, value, case_dir)
        except Finding as found:
            tally["failing"] += 1
            entry = tally["failures"].setdefault(
                found.signature, {"count": 0, "message": str(found)[:300], "example": tally["current"]}
            )
            entry["count"] += 1
            save()
        finally:
            shutil.rmtree(case_dir, ignore_errors=True)

    one()
    tally["current"] = None
    save()
    shutil.rmtree(scratch, ignore_errors=True)


def run_target(name: str, examples: int, seed: int) -> dict:
    """The target's tally from child processes (restarted after a crash)."""
    total: dict = {"tried": 0, "failing": 0, "failures": {}, "crashes": [], "seconds": 0.0}
    started = time.perf_counter()
    left, attempt = examples, 0
    while left > 0 and attempt <= MAX_RESTARTS:
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state.json"
            cmd = [sys.executable, __file__, "--child", name, "--examples", str(left)]
            cmd += ["--seed", str(seed + attempt), "--state", str(state)]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace")
            tally = json.loads(state.read_text()) if state.is_file() else {"tried": 0, "failures": {}}
        total["tried"] += tally["tried"]
        total["failing"] += tally.get("failing", 0)
        for sig, entry in tally["failures"].items():
            into = total["failures"].setdefault(sig, {**entry, "count": 0})
            into["count"] += entry["count"]
        if proc.returncode == 0:
            break
        why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:200]
        total["crashes"].append({"why": why, "input": tally.get("current"), "stderr": tail})
        total["failing"] += 1
        left = examples - total["tried"]
        attempt += 1
    total["seconds"] = round(time.perf_counter() - started, 1)
    return total


def budget(examples: int, names: list[str]) -> dict[str, int]:
    """Examples per target in proportion to the targets' weights (at least one each)."""
    from fuzz_targets import TARGETS

    weights = {n: TARGETS[n].weight for n in names}
    scale = sum(weights.values())
    return {n: max(1, round(examples * w / scale)) for n, w in weights.items()}


def run_corpus(include_slow: bool) -> list[dict]:
    from fuzz_corpus import CASES, run_case

    results = []
    for case in CASES:
        if case.slow and not include_slow:
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                problem = run_case(case, Path(tmp))
            except Exception as err:  # building the input failed: the tree itself is broken
                problem = f"could not build the case: {type(err).__name__}: {err}"
        results.append(
            {"case": case.name, "problem": problem, "seconds": round(time.perf_counter() - started, 1)}
        )
        print(f"  {case.name:45s} {results[-1]['seconds']:7.1f} s  {problem or 'ok'}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="generated inputs in all (default 1000)")
    parser.add_argument("--targets", default="", help="comma-separated targets (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-corpus", action="store_true", help="skip the corpus of the issue's cases")
    parser.add_argument("--corpus-slow", action="store_true", help="also the slow corpus cases (huge bundle)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.examples, args.seed, args.state)
        return 0

    from fuzz_targets import TARGETS

    names = [n for n in args.targets.split(",") if n] or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    started = time.perf_counter()
    results = {}
    print(f"fuzz campaign: {args.examples} generated inputs over {len(names)} targets, seed {args.seed}")
    print(f"  {'target':16s} {'inputs':>7s} {'failing':>8s} {'distinct':>9s} {'crashes':>8s} {'seconds':>8s}")
    for name, n in budget(args.examples, names).items():
        r = run_target(name, n, args.seed)
        results[name] = r
        print(
            f"  {name:16s} {r['tried']:7d} {r['failing']:8d} {len(r['failures']):9d} {len(r['crashes']):8d}"
            f" {r['seconds']:8.1f}",
            flush=True,
        )
    tried = sum(r["tried"] for r in results.values())
    failing = sum(r["failing"] for r in results.values())
    print(f"  {'total':16s} {tried:7d} {failing:8d}")
    for name, r in results.items():
        for sig, entry in r["failures"].items():
            print(f"\nFAIL {name}: {sig} ({entry['count']} inputs)\n  {entry['message']}")
            print(f"  input: {entry['example']}")
        for crash in r["crashes"]:
            print(f"\nCRASH {name}: {crash['why']} {crash['stderr']}\n  input: {crash['input']}")
    corpus: list[dict] = []
    if not args.no_corpus:
        print("\ncorpus (CLI in a subprocess):")
        corpus = run_corpus(args.corpus_slow)
        bad = sum(1 for c in corpus if c["problem"])
        print(f"  corpus: {len(corpus)} cases, {bad} failing")
    seconds = round(time.perf_counter() - started, 1)
    print(f"\n{tried} generated inputs, {failing} failing; {len(corpus)} corpus cases; {seconds} s")
    if args.json:
        args.json.write_text(json.dumps({"targets": results, "corpus": corpus, "seconds": seconds}, indent=2))
    return 1 if failing or any(c["problem"] for c in corpus) else 0


if __name__ == "__main__":
    sys.exit(main())
