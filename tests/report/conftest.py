"""A hand-made scan directory (the scan output contract) with one hostile account id.

Campaign CAMP-1: three accounts sharing a card and lockstep timing, one of them named
like an XSS payload; CAMP-2: two accounts on shared infrastructure. Benign u1-u3.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.schema import ACCOUNTS_SCHEMA, EDGES_SCHEMA, QUARANTINE_SCHEMA, SIGNALS_SCHEMA, TIMESTAMP

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


# account_id, score, verdict, campaign_id, reasons, flagged_at, exchanges
ACCOUNTS = [
    ("h1", 0.97, "attack", "CAMP-1", ["shared_payment", "cot_elicitation_share"], at(2), 48),
    ("h2", 0.93, "attack", "CAMP-1", ["shared_payment", "sync_activity"], at(2.5), 48),
    (EVIL, 0.91, "attack", "CAMP-1", ["sync_activity"], at(3), 24),
    ("p1", 0.81, "attack", "CAMP-2", ["shared_infra", "template_family_spread"], at(10), 30),
    ("p2", 0.62, "suspicious", "CAMP-2", ["shared_infra"], None, 12),
    ("u1", 0.41, "suspicious", None, ["volume_robust_z"], None, 200),
    ("u2", 0.05, "clear", None, [], None, 10),
    ("u3", 0.01, "clear", None, [], None, 3),
]

EVENT_HOURS: dict[str, list[float]] = {
    "h1": [i * 0.5 for i in range(48)],
    "h2": [i * 0.5 + 0.01 for i in range(48)],
    EVIL: [i + 0.02 for i in range(24)],
    "p1": [5 + i * 0.7 for i in range(30)],
    "p2": [30 + i for i in range(12)],
    "u1": [i * 0.2 for i in range(200)],
    "u2": [3.0 * i for i in range(10)],
    "u3": [1.0, 2.0, 40.0],
}


def accounts_table() -> pa.Table:
    cols = list(zip(*ACCOUNTS, strict=True))
    firsts = [at(min(EVENT_HOURS[a])) for a in cols[0]]
    lasts = [at(max(EVENT_HOURS[a])) for a in cols[0]]
    return pa.table(
        [
            pa.array(cols[0], pa.string()),
            pa.array(cols[1], pa.float64()),
            pa.array(cols[2], pa.string()),
            pa.array(cols[3], pa.string()),
            pa.array(cols[4], pa.list_(pa.string())),
            pa.array(cols[5], TIMESTAMP),
            pa.array(cols[6], pa.int64()),
            pa.array(firsts, TIMESTAMP),
            pa.array(lasts, TIMESTAMP),
        ],
        schema=ACCOUNTS_SCHEMA,
    )


CAMPAIGNS = [
    {
        "campaign_id": "CAMP-2",
        "accounts": ["p1", "p2"],
        "exchanges": 42,
        "score": 0.74,
        "first_seen": "2024-05-01T05:00:00Z",
        "last_seen": "2024-05-02T17:00:00Z",
        "evidence": [
            {"kind": "infra", "detail": "same /24 hosting prefix", "accounts": ["p1", "p2"], "weight": 0.6}
        ],
        "capabilities": ["agentic_coding"],
        "top_reasons": ["shared_infra"],
    },
    {
        "campaign_id": "CAMP-1",
        "accounts": ["h1", "h2", EVIL],
        "exchanges": 120,
        "score": 0.95,
        "first_seen": "2024-05-01T00:00:00Z",
        "last_seen": "2024-05-01T23:30:00Z",
        "evidence": [
            {
                "kind": "payment",
                "detail": "payment fingerprint <b>pf_9</b> shared by 3 accounts",
                "accounts": ["h1", "h2", EVIL],
                "weight": 1.0,
            },
            {
                "kind": "sync",
                "detail": "lockstep requests in 46 of 48 half-hours",
                "accounts": ["h1", "h2"],
                "weight": 0.8,
            },
        ],
        "capabilities": ["cot_elicitation"],
        "top_reasons": ["shared_payment", "sync_activity"],
    },
]

META = {
    "inputs": ["/data/logs"],
    "counts": {"events": 374, "accounts": 8, "quarantined": 2},
    "prompt_text_present": True,
    "metadata_only": True,  # prompts present but ignored (scan --metadata-only)
    "metadata_only_recall_loss": 0.12,
    "timings": {"total_s": 1.25},
    "thresholds": {
        "attack_score": {"value": 0.8, "doc": "score at or above which an account is an attack"},
        "suspicious_score": {"value": 0.4, "doc": "score at or above which an account is reviewed"},
    },
}


def signals_table() -> pa.Table:
    rows = [
        ("h1", "coordination", "shared_payment", 0.9, 3.0, 2.0, "card pf_9 on 3 accounts"),
        (
            "h1",
            "extraction",
            "cot_elicitation_share",
            0.8,
            0.74,
            0.3,
            "74% of prompts ask for step-by-step reasoning",
        ),
        (EVIL, "coordination", "sync_activity", 0.7, 0.96, 0.5, f"lockstep with h1; id {EVIL}"),
        ("u1", "traffic", "volume_robust_z", 0.4, 4.2, 3.5, "robust z of log volume"),
    ]
    cols = list(zip(*rows, strict=True))
    return pa.table([pa.array(c) for c in cols], schema=SIGNALS_SCHEMA)


def edges_table() -> pa.Table:
    rows = [
        ("h1", "h2", "payment", 1.0, "pf_9"),
        ("h1", EVIL, "payment", 1.0, "pf_9"),
        ("h2", EVIL, "sync", 0.8, "46/48 buckets"),
        ("h1", "h2", "sync", 0.9, "47/48 buckets"),
        ("p1", "p2", "infra", 0.6, "203.0.113.0/24"),
        ("p1", "u2", "infra", 0.2, "unrelated edge leaving the campaign"),
    ]
    cols = list(zip(*rows, strict=True))
    return pa.table([pa.array(c) for c in cols], schema=EDGES_SCHEMA)


def write_scan(out: Path, *, meta: dict | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(accounts_table(), out / "accounts.parquet")
    (out / "campaigns.json").write_text(json.dumps(CAMPAIGNS))
    pq.write_table(signals_table(), out / "signals.parquet")
    pq.write_table(edges_table(), out / "edges.parquet")
    pq.write_table(QUARANTINE_SCHEMA.empty_table(), out / "quarantine.parquet")
    (out / "scan_meta.json").write_text(json.dumps(META if meta is None else meta))
    return out


def write_events(root: Path) -> Path:
    ids, times = [], []
    for account, hours in EVENT_HOURS.items():
        ids += [account] * len(hours)
        times += [at(h) for h in hours]
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(ids))],
            "timestamp": pa.array(times, TIMESTAMP),
            "account_id": ids,
            "model": ["m"] * len(ids),
            "input_tokens": pa.array([10] * len(ids), pa.int64()),
            "output_tokens": pa.array([20] * len(ids), pa.int64()),
        }
    )
    part = root / "events" / "day=2024-05-01"
    part.mkdir(parents=True)
    pq.write_table(table, part / "part-0.parquet")
    return root


@pytest.fixture()
def scan_dir(tmp_path: Path) -> Path:
    return write_scan(tmp_path / "scan")


@pytest.fixture()
def events_dir(tmp_path: Path) -> Path:
    return write_events(tmp_path / "logs")


@pytest.fixture()
def make_scan(tmp_path: Path):
    """Build a variant of the scan: ``make_scan(name, meta=...)``."""
    return lambda name, meta=None: write_scan(tmp_path / name, meta=meta)
