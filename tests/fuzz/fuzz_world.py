"""A tiny, real sharing world the share and evaluate fuzzers mutate: events, scan, key, bundle.

Fuzzing a bundle reader with random JSON mostly tests the JSON parser; mutating a bundle the
real exporter wrote reaches the indicator checks behind it. The world is built once per
process (a second or two) under a directory the caller owns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.schema import ACCOUNTS_SCHEMA, EVENT_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)
#: Accounts of the exported campaign, and everyday accounts next to them.
ATTACK_ACCOUNTS = [f"atk-{i}" for i in range(4)]
BENIGN_ACCOUNTS = [f"user-{i}" for i in range(4)]
EXPORTER = "fuzz exporter"
MATCHER = "fuzz matcher"
_HARVEST = (
    "Solve the following problem. Articulate the internal reasoning behind your answer step by step, "
    "showing every intermediate thought before the final result: {}"
)


@dataclass(frozen=True)
class World:
    """Paths of the world's parts."""

    root: Path
    events: Path
    scan: Path
    key_file: Path
    bundle: Path

    def bundle_doc(self) -> dict:
        return json.loads(self.bundle.read_text(encoding="utf-8"))


def _events(root: Path) -> Path:
    cols = (
        "event_id",
        "timestamp",
        "account_id",
        "model",
        "input_tokens",
        "output_tokens",
        "client_ip",
        "user_agent",
        "tls_fingerprint",
        "payment_fingerprint",
        "prompt",
    )
    rows: dict[str, list] = {c: [] for c in cols}

    def add(acc: str, ts: datetime, ip: str, ua: str, tls: str, pay: str, prompt: str) -> None:
        values = (f"ev-{len(rows['event_id'])}", ts, acc, "model-x", 100, 900, ip, ua, tls, pay, prompt)
        for c, v in zip(cols, values, strict=True):
            rows[c].append(v)

    for i, acc in enumerate(ATTACK_ACCOUNTS):
        for j in range(12):
            ip = "198.51.100.77" if j % 3 == 0 else f"203.0.113.{10 + i}"
            task = f"integral of x^{j % 5} times e^x from 0 to {i + j}"
            add(
                acc,
                T0 + timedelta(minutes=10 * j + i),
                ip,
                "python-httpx/0.27",
                "t13d_hydra",
                "pm_hydra_card",
                _HARVEST.format(task),
            )
    for i, acc in enumerate(BENIGN_ACCOUNTS):
        for j in range(4):
            add(
                acc,
                T0 + timedelta(hours=j + i),
                f"10.0.{i}.9",
                "Mozilla/5.0",
                f"t13d_b{i}",
                f"pm_b{i}",
                "why is the sky blue",
            )
    table = pa.Table.from_pydict(rows, schema=pa.schema([EVENT_SCHEMA.field(c) for c in cols]))
    day = root / "events" / "events" / "day=2026-03-01"
    day.mkdir(parents=True)
    pq.write_table(table, day / "part-0.parquet")
    pq.write_table(pa.table({"reason": pa.array([], pa.string())}), root / "events" / "quarantine.parquet")
    return root / "events"


def _scan(root: Path, events: Path) -> Path:
    scan = root / "scan"
    scan.mkdir()
    accounts = ATTACK_ACCOUNTS + BENIGN_ACCOUNTS
    n_atk, n = len(ATTACK_ACCOUNTS), len(accounts)
    campaign = {
        "campaign_id": "c-0001",
        "accounts": ATTACK_ACCOUNTS,
        "exchanges": 12 * n_atk,
        "score": 0.93,
        "first_seen": T0.isoformat(),
        "last_seen": (T0 + timedelta(hours=2)).isoformat(),
        "evidence": [
            {"kind": "payment", "detail": "shared card", "accounts": ATTACK_ACCOUNTS, "weight": 1.0}
        ],
        "capabilities": ["cot_elicitation"],
        "top_reasons": ["template_repetition"],
    }
    (scan / "campaigns.json").write_text(json.dumps([campaign]))
    table = pa.Table.from_pydict(
        {
            "account_id": accounts,
            "score": [0.93] * n_atk + [0.05] * (n - n_atk),
            "verdict": ["attack"] * n_atk + ["clear"] * (n - n_atk),
            "campaign_id": ["c-0001"] * n_atk + [None] * (n - n_atk),
            "reasons": [["template_repetition"]] * n_atk + [[]] * (n - n_atk),
            "flagged_at": [T0 + timedelta(hours=1)] * n_atk + [None] * (n - n_atk),
            "exchanges": [12] * n_atk + [4] * (n - n_atk),
            "first_seen": [T0] * n,
            "last_seen": [T0 + timedelta(hours=2)] * n,
        },
        schema=ACCOUNTS_SCHEMA,
    )
    pq.write_table(table, scan / "accounts.parquet")
    (scan / "scan_meta.json").write_text(json.dumps({"inputs": [str(events)]}))
    return scan


def build_world(root: Path) -> World:
    """Write the world under ``root`` and export its bundle (a world already there is reused)."""
    from distillguard.share import export_bundle, generate_key

    if (root / "bundle.json").is_file():
        return World(root, root / "events", root / "scan", root / "group.key.json", root / "bundle.json")
    root.mkdir(parents=True, exist_ok=True)
    events = _events(root)
    scan = _scan(root, events)
    key_file = root / "group.key.json"
    generate_key(key_file)
    bundle = root / "bundle.json"
    export_bundle(scan, key_file=key_file, out=bundle, events=events, identity=EXPORTER)
    return World(root, events, scan, key_file, bundle)


def write_labels(path: Path, accounts: list[str], attack: set[str]) -> Path:
    """Ground-truth labels for ``accounts`` (Parquet or CSV by suffix)."""
    table = pa.table(
        {
            "account_id": accounts,
            "is_attack": [a in attack for a in accounts],
            "campaign": ["c-true" if a in attack else None for a in accounts],
            "persona": ["fleet" if a in attack else "benign_hobbyist" for a in accounts],
        }
    )
    if path.suffix == ".csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path
