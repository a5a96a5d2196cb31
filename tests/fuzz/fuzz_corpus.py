"""The corpus of known-hostile inputs from issue #14, each run through the CLI in a subprocess.

A subprocess survives what an in-process test cannot: a segfault shows as a negative return
code (shell exit 139) instead of killing the test run. Every case is generated in a scratch
directory (nothing large is committed) and checked for:

- no crash (killed by a signal) and no Python traceback on stdout or stderr;
- an exit status the case allows (0 ok, 2 user error by default) and, on failure, a message;
- the case's own property (rows conserved, ids exact, a warning for skipped intel, ...).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
#: Longest a corpus command may run (the 100,000-indicator bundle took 86 s before a cap).
CASE_TIMEOUT_S = 300.0
#: The issue's nesting depth (segfaulted DuckDB's to_json) and id length (slowed scans 2.8x).
DEEP = 10_000
LONG_ID = "L" * 10_000
#: Indicators in the huge generated bundle (the issue's 138 MB case).
HUGE_INDICATORS = 100_000
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
#: First characters spreadsheets execute, including the issue's LF and full-width '='.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝")


@dataclass
class Run:
    """What one CLI command did."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


@dataclass(frozen=True)
class Case:
    """A hostile input, the command that reads it, and what must hold afterwards."""

    name: str
    #: Writes the input under the directory and returns the CLI argument lists to run, in order.
    build: Callable[[Path], list[list[str]]]
    #: Extra property on the last run; returns what broke, or None.
    expect: Callable[[Path, Run], str | None] | None = None
    allowed: tuple[int, ...] = (0, 2)
    #: Cases that take more than a few seconds run only in the slow suite and the bench.
    slow: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


def cli(args: list[str], cwd: Path, timeout: float = CASE_TIMEOUT_S) -> Run:
    """``distillguard ARGS`` in a fresh interpreter (the venv's), output captured."""
    # this checkout's code, whatever the environment's editable install points at
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": path}
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "distillguard", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        return Run(args, -9, "", f"timed out after {timeout:.0f} s", time.perf_counter() - started, True)
    return Run(args, code, out, err, time.perf_counter() - started)


def common_failure(run: Run, allowed: tuple[int, ...]) -> str | None:
    """The properties every command owes a hostile input."""
    where = " ".join(a if len(a) < 60 else a[:57] + "..." for a in run.argv)
    if run.timed_out:
        return f"`{where}` {run.stderr}"
    if run.returncode < 0:
        return f"`{where}` crashed: killed by signal {-run.returncode} (shell exit {128 - run.returncode})"
    if "Traceback (most recent call last)" in run.stderr + run.stdout:
        last = [line for line in run.stderr.strip().splitlines() if line.strip()][-1:] or [""]
        return f"`{where}` printed a traceback (exit {run.returncode}): {last[0][:200]}"
    if run.returncode not in allowed:
        return f"`{where}` exited {run.returncode}, expected one of {allowed}: {run.stderr.strip()[:200]}"
    if run.returncode != 0 and not run.stderr.strip():
        return f"`{where}` exited {run.returncode} without a message on stderr"
    return None


def run_case(case: Case, tmp: Path) -> str | None:
    """Build and run ``case`` under ``tmp``; what broke, or None."""
    runs = []
    for args in case.build(tmp):
        run = cli(args, tmp)
        runs.append(run)
        problem = common_failure(run, case.allowed)
        if problem:
            return problem
    return case.expect(tmp, runs[-1]) if case.expect is not None else None


# ---------------------------------------------------------------- input builders


def event(i: int, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": f"e{i}",
        "timestamp": BASE_MS + i * 60_000,
        "account_id": f"acct-{i % 3}",
        "model": "m1",
        "input_tokens": 10,
        "output_tokens": 20,
    }
    row.update(over)
    return row


def write_jsonl(path: Path, rows: list[dict[str, object]], raw_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(raw_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def deep_line(i: int) -> str:
    """An event whose extra field ``x`` nests :data:`DEEP` lists (json.dumps cannot write it)."""
    head = json.dumps(event(i))[:-1]
    return head + ', "x": ' + "[" * DEEP + "0" + "]" * DEEP + "}"


def ingest_args(src: str, out: str = "out") -> list[str]:
    return ["ingest", src, "--out", out, "--quiet"]


def scan_args(src: str, out: str = "scan", *extra: str) -> list[str]:
    return ["scan", src, "--out", out, "--no-replay", *extra]


# ---------------------------------------------------------------- checks


def summary_of(tmp: Path, out: str = "out") -> dict | None:
    path = tmp / out / "ingest_summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def rows_conserved(expected_rows: int) -> Callable[[Path, Run], str | None]:
    """Ingest (exit 0) read exactly ``expected_rows`` and accepted + quarantined all of them."""

    def check(tmp: Path, run: Run) -> str | None:
        s = summary_of(tmp)
        if run.returncode != 0:
            return None
        if s is None:
            return "exit 0 but no ingest_summary.json"
        if s["accepted"] + s["quarantined"] != s["rows_read"]:
            return f"rows lost: {s['accepted']} accepted + {s['quarantined']} quarantined != {s['rows_read']}"
        if s["rows_read"] != expected_rows:
            return f"rows read {s['rows_read']} != {expected_rows} rows in the input"
        return None

    return check


def ids_exact(expected_rows: int, ids: dict[str, str]) -> Callable[[Path, Run], str | None]:
    """Rows conserved, and every accepted event keeps its account id byte for byte."""

    def check(tmp: Path, run: Run) -> str | None:
        problem = rows_conserved(expected_rows)(tmp, run)
        if problem or run.returncode != 0:
            return problem
        import pyarrow.dataset as ds

        table = ds.dataset(tmp / "out" / "events", format="parquet").to_table(
            columns=["event_id", "account_id"]
        )
        for event_id, account in zip(
            table["event_id"].to_pylist(), table["account_id"].to_pylist(), strict=True
        ):
            if event_id in ids and account != ids[event_id]:
                return f"account id of {event_id} changed: {ids[event_id][:40]!r} -> {account[:40]!r}"
        return None

    return check


def nothing_accepted_is_an_error(tmp: Path, run: Run) -> str | None:
    """Issue: an empty or all-garbage file exited 0 with nothing accepted."""
    if run.returncode == 0:
        s = summary_of(tmp) or {}
        accepted, read = s.get("accepted", "?"), s.get("rows_read", "?")
        return f"exit 0 with {accepted} rows accepted of {read} (expected exit 2)"
    return None


def mentions(words: tuple[str, ...], what: str) -> Callable[[Path, Run], str | None]:
    """The user is told: stdout, stderr or the quarantine's non-raw columns mention one of ``words``."""

    def check(tmp: Path, run: Run) -> str | None:
        text = (run.stdout + run.stderr).lower()
        q = tmp / "out" / "quarantine.parquet"
        if q.is_file():
            import pyarrow.parquet as pq

            table = pq.read_table(q)
            for name in table.column_names:
                if name != "raw":
                    text += " " + " ".join(str(v) for v in table[name].to_pylist()).lower()
        s = summary_of(tmp)
        if s is not None and s["accepted"] == s["rows_read"]:
            return None  # every row read correctly: nothing to explain
        if not any(w.lower() in text for w in words):
            return f"{what}: none of {words} in the output or quarantine"
        return None

    return check


def warned_about_intel(tmp: Path, run: Run) -> str | None:
    """Issue: a skipped intel file exited 0 silently; each skip must be a warning line (or an error)."""
    if run.returncode == 0 and not any(
        line.lower().startswith("warning") for line in run.stderr.splitlines()
    ):
        return "exit 0 and no `warning:` line on stderr for an unusable intel file"
    return None


def within(seconds: float, then: Callable[[Path, Run], str | None]) -> Callable[[Path, Run], str | None]:
    def check(tmp: Path, run: Run) -> str | None:
        if run.seconds > seconds:
            return f"took {run.seconds:.0f} s (limit {seconds:.0f} s)"
        return then(tmp, run)

    return check


def safe_enforcement_csv(ids: list[str]) -> Callable[[Path, Run], str | None]:
    """enforcement.csv: no cell starts a formula, one line per record, hex ids exact."""

    def check(tmp: Path, run: Run) -> str | None:
        path = tmp / "scan" / "enforcement.csv"
        text = path.read_text(encoding="utf-8-sig")
        records = list(csv.reader(text.splitlines(keepends=True)))
        header, rows = records[0], records[1:]
        for row in rows:
            for cell in row:
                if cell.startswith(FORMULA_STARTS):
                    return f"enforcement.csv cell starts a formula: {cell[:30]!r}"
        physical = len(text.rstrip("\r\n").splitlines())
        if physical != len(records):
            return f"enforcement.csv: {len(records)} records on {physical} lines (an id split a record)"
        hexes = {bytes.fromhex(r[header.index("account_id_hex")]).decode() for r in rows}
        if hexes != set(ids):
            return f"account_id_hex does not give back the {len(ids)} exact ids"
        return None

    return check


# ---------------------------------------------------------------- share builders


def _world(tmp: Path):
    import fuzz_world

    return fuzz_world.build_world(tmp / "world")


def _intel_case(tmp: Path, text: str, command: str) -> list[list[str]]:
    w = _world(tmp)
    bundle = tmp / "partner.json"
    bundle.write_text(text, encoding="utf-8")
    if command == "match":
        import fuzz_world

        return [
            [
                "share",
                "match",
                str(w.events),
                "--intel",
                str(bundle),
                "--key-file",
                str(w.key_file),
                "--out",
                "m",
                "--identity",
                fuzz_world.MATCHER,
            ]
        ]
    return [scan_args(str(w.events), "scan", "--intel", str(bundle), "--key-file", str(w.key_file))]


def _truncated(tmp: Path) -> str:
    return _world(tmp).bundle.read_text(encoding="utf-8")[:-200]


def _deep_bundle(tmp: Path) -> str:
    doc = _world(tmp).bundle_doc()
    text = json.dumps(doc)
    return text[:-1] + ', "x_deep": ' + '{"a":' * DEEP + "0" + "}" * DEEP + "}"


def _huge_bundle(tmp: Path) -> str:
    """The world's bundle with :data:`HUGE_INDICATORS` indicators (clones with fresh ids)."""
    import uuid

    doc = _world(tmp).bundle_doc()
    indicators = [o for o in doc["objects"] if o.get("type") == "indicator"]
    others = [o for o in doc["objects"] if o.get("type") != "indicator"]
    clones = []
    for i in range(HUGE_INDICATORS):
        clone = dict(indicators[i % len(indicators)])
        clone["id"] = f"indicator--{uuid.UUID(int=i + 1, version=4)}"
        clones.append(clone)
    doc["objects"] = others + clones
    return json.dumps(doc)


def _hostile_scan_dir(tmp: Path, ids: list[str]) -> Path:
    """A scan directory whose attack accounts carry hostile ids (for the report command)."""
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    from distillguard.schema import ACCOUNTS_SCHEMA

    scan = tmp / "scan"
    scan.mkdir()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n = len(ids)
    table = pa.Table.from_pydict(
        {
            "account_id": ids,
            "score": [0.9] * n,
            "verdict": ["attack"] * n,
            "campaign_id": ["=c1"] * n,
            "reasons": [["+reason", "@x"]] * n,
            "flagged_at": [t0] * n,
            "exchanges": [5] * n,
            "first_seen": [t0] * n,
            "last_seen": [t0] * n,
        },
        schema=ACCOUNTS_SCHEMA,
    )
    pq.write_table(table, scan / "accounts.parquet")
    (scan / "campaigns.json").write_text("[]")
    (scan / "scan_meta.json").write_text("{}")
    return scan


HOSTILE_IDS = ["=1+1", "\n=cmd", "＝1+1", "\r=x", "+1", "-1", "@SUM(A1)", "\t=1", "a\nb", "'q", LONG_ID]


# ---------------------------------------------------------------- the corpus


def _rows(n: int, **over: object) -> list[dict[str, object]]:
    return [event(i, **over) for i in range(n)]


CASES: list[Case] = [
    Case(
        "ingest_jsonl_nested_10000",
        lambda t: (write_jsonl(t / "deep.jsonl", _rows(2), (deep_line(9),)), [ingest_args("deep.jsonl")])[1],
        rows_conserved(3),
        tags=("nesting",),
    ),
    Case(
        "scan_jsonl_nested_10000",
        lambda t: (write_jsonl(t / "deep.jsonl", _rows(2), (deep_line(9),)), [scan_args("deep.jsonl")])[1],
        slow=True,
        tags=("nesting",),
    ),
    Case(
        "ingest_long_account_id",
        lambda t: (
            write_jsonl(t / "x.jsonl", [*_rows(2), event(5, account_id=LONG_ID)]),
            [ingest_args("x.jsonl")],
        )[1],
        ids_exact(3, {"e5": LONG_ID}),
        tags=("long_id",),
    ),
    Case(
        "ingest_hostile_ids_exact",
        lambda t: (
            write_jsonl(t / "x.jsonl", [event(i, account_id=a, prompt=a) for i, a in enumerate(HOSTILE_IDS)]),
            [ingest_args("x.jsonl")],
        )[1],
        ids_exact(len(HOSTILE_IDS), {f"e{i}": a for i, a in enumerate(HOSTILE_IDS) if a.strip()}),
        tags=("ids",),
    ),
    Case(
        "scan_long_and_hostile_ids",
        lambda t: (
            write_jsonl(
                t / "x.jsonl", [event(i, account_id=HOSTILE_IDS[i % len(HOSTILE_IDS)]) for i in range(40)]
            ),
            [ingest_args("x.jsonl"), scan_args("out")],
        )[1],
        slow=True,
        tags=("ids",),
    ),
    Case(
        "report_enforcement_csv_hostile_ids",
        lambda t: (_hostile_scan_dir(t, HOSTILE_IDS), [["report", "--scan", "scan"]])[1],
        safe_enforcement_csv(HOSTILE_IDS),
        tags=("csv_injection",),
    ),
    Case(
        "ingest_epoch_seconds",
        lambda t: (
            write_jsonl(
                t / "x.jsonl", [event(i, timestamp=(BASE_MS + i * 60_000) // 1000) for i in range(3)]
            ),
            [ingest_args("x.jsonl")],
        )[1],
        lambda t, r: rows_conserved(3)(t, r) or mentions(("second",), "epoch seconds")(t, r),
        tags=("timestamps",),
    ),
    Case(
        "ingest_fractional_tokens",
        lambda t: (
            write_jsonl(t / "x.jsonl", [event(0), event(1, input_tokens=12.5), event(2, output_tokens=0.25)]),
            [ingest_args("x.jsonl")],
        )[1],
        lambda t, r: rows_conserved(3)(t, r) or mentions(("input_tokens",), "fractional tokens")(t, r),
        tags=("tokens",),
    ),
    Case(
        "ingest_empty_file",
        lambda t: ((t / "empty.jsonl").write_text(""), [ingest_args("empty.jsonl")])[1],
        nothing_accepted_is_an_error,
        tags=("empty",),
    ),
    Case(
        "ingest_empty_csv",
        lambda t: ((t / "empty.csv").write_text(""), [ingest_args("empty.csv")])[1],
        nothing_accepted_is_an_error,
        tags=("empty",),
    ),
    Case(
        "ingest_all_garbage",
        lambda t: (
            (t / "junk.jsonl").write_bytes(b"not json\n\x00\xff\xfe\n{\n[1,2]\n"),
            [ingest_args("junk.jsonl")],
        )[1],
        nothing_accepted_is_an_error,
        tags=("empty",),
    ),
    Case(
        "ingest_escaped_lone_surrogate",
        lambda t: (
            write_jsonl(
                t / "x.jsonl",
                _rows(2),
                (
                    '{"event_id":"s","timestamp":1767225600000,"account_id":"\\ud800",'
                    '"model":"m","input_tokens":1,"output_tokens":1}',
                ),
            ),
            [ingest_args("x.jsonl")],
        )[1],
        rows_conserved(3),
        tags=("F1",),
    ),
    Case(
        "ingest_parquet_binary_column_rejected_row",
        lambda t: (_binary_parquet(t / "bin.parquet"), [ingest_args("bin.parquet")])[1],
        rows_conserved(2),
        tags=("F2",),
    ),
    Case(
        "ingest_csv_ragged_row_invalid_utf8",
        lambda t: (
            (t / "x.csv").write_bytes(
                b"event_id,timestamp,account_id,model,input_tokens,output_tokens\n"
                b"e1,1767225600000,a,m,1,2\ne2,1767225600000,a\xff,m,1,2,EXTRA\ne3,1767225600000,b,m,1,2\n"
            ),
            [ingest_args("x.csv")],
        )[1],
        rows_conserved(3),
        allowed=(0,),  # one bad record is quarantined, not the file (ingest/_readers.py read_csv)
        tags=("F4",),
    ),
    Case(
        "ingest_jsonl_two_objects_one_line",
        lambda t: (
            write_jsonl(t / "x.jsonl", [], ('{"":0}{"":0}', "", json.dumps(event(0)))),
            [ingest_args("x.jsonl")],
        )[1],
        rows_conserved(2),  # two non-blank lines: one malformed, one event
        tags=("F5",),
    ),
    Case(
        "ingest_jsonl_year_zero_timestamp",
        lambda t: (
            write_jsonl(
                t / "x.jsonl",
                [event(0, timestamp="0000-01-01T00:00:00Z"), event(1, timestamp="2026-01-01T00:00:00Z")],
            ),
            [ingest_args("x.jsonl")],
        )[1],
        rows_conserved(2),
        tags=("F7",),
    ),
    Case(
        "share_match_truncated_bundle",
        lambda t: _intel_case(t, _truncated(t), "match"),
        warned_about_intel,
        tags=("intel_warn",),
    ),
    Case(
        "scan_intel_truncated_bundle",
        lambda t: _intel_case(t, _truncated(t), "scan"),
        warned_about_intel,
        slow=True,
        tags=("intel_warn",),
    ),
    Case(
        "scan_intel_non_bundle_json",
        lambda t: _intel_case(t, json.dumps({"hello": "world", "objects": 3}), "scan"),
        warned_about_intel,
        tags=("intel_warn",),
    ),
    Case(
        "share_match_non_bundle_json",
        lambda t: _intel_case(t, json.dumps([{"type": "bundle"}]), "match"),
        warned_about_intel,
        tags=("intel_warn",),
    ),
    Case(
        "share_match_deep_bundle",
        lambda t: _intel_case(t, _deep_bundle(t), "match"),
        warned_about_intel,
        tags=("intel_nesting",),
    ),
    Case(
        "scan_intel_deep_bundle",
        lambda t: _intel_case(t, _deep_bundle(t), "scan"),
        warned_about_intel,
        slow=True,
        tags=("intel_nesting",),
    ),
    Case(
        "share_match_huge_indicator_count",
        lambda t: _intel_case(t, _huge_bundle(t), "match"),
        within(30.0, warned_about_intel),
        slow=True,
        tags=("intel_cap",),
    ),
    Case(
        "scan_out_is_a_file",
        lambda t: (
            write_jsonl(t / "x.jsonl", _rows(3)),
            (t / "taken").write_text("x"),
            [scan_args("x.jsonl", "taken")],
        )[2],
        lambda t, r: None if r.returncode == 2 else f"exit {r.returncode} for --out naming a file",
        tags=("cli",),
    ),
    Case(
        "evaluate_garbage_labels",
        lambda t: (
            (t / "labels.csv").write_bytes(b'\x00\xff,\n"unterminated\n'),
            _hostile_scan_dir(t, ["a"]),
            [["evaluate", "--labels", "labels.csv", "--scan", "scan", "--out", "e.json"]],
        )[2],
        lambda t, r: None if r.returncode == 2 else f"exit {r.returncode} for garbage labels",
        tags=("evaluate",),
    ),
    Case(
        "evaluate_hostile_ids",
        lambda t: (
            _labels_csv(t / "labels.csv", HOSTILE_IDS),
            _hostile_scan_dir(t, HOSTILE_IDS),
            [["evaluate", "--labels", "labels.csv", "--scan", "scan", "--out", "e.json"]],
        )[2],
        tags=("evaluate",),
    ),
    Case("cli_unknown_command", lambda t: [["no-such-command"]], allowed=(2,), tags=("cli",)),
    Case("cli_unknown_option", lambda t: [["ingest", "--no-such-option"]], allowed=(2,), tags=("cli",)),
    Case("cli_missing_argument", lambda t: [["evaluate"]], allowed=(2,), tags=("cli",)),
    Case("cli_version", lambda t: [["--version"]], allowed=(0,), tags=("cli",)),
]


def _binary_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "event_id": pa.array([b"ok", b"\x00\xff"], pa.binary()),
            "timestamp": pa.array([BASE_MS, BASE_MS], pa.timestamp("ms", tz="UTC")),
            "account_id": ["a", None],
            "model": ["m", "m"],
            "input_tokens": [1, 1],
            "output_tokens": [1, 1],
        }
    )
    pq.write_table(table, path)
    return path


def _labels_csv(path: Path, ids: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["account_id", "is_attack", "campaign", "persona"])
        for a in ids:
            writer.writerow([a, "true", "c1", "fleet"])
    return path


CASE_BY_NAME = {c.name: c for c in CASES}
