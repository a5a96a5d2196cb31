"""A hand-made scan with known answers (worked out by hand in test_evaluate_harness.py).

Ten labelled accounts: campaign C1 (a1-a4, persona sync_reasoning_harvest), campaign C2
(a5-a6, persona hydra_proxy), benign b1-b2 (benign_hobbyist) and b3-b4
(benign_batch_eval). The scan misses a6 and reports an unlabelled account x1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.schema import ACCOUNTS_SCHEMA, LABELS_SCHEMA, TIMESTAMP

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def hour(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


LABELS = [
    ("a1", True, "C1", "sync_reasoning_harvest"),
    ("a2", True, "C1", "sync_reasoning_harvest"),
    ("a3", True, "C1", "sync_reasoning_harvest"),
    ("a4", True, "C1", "sync_reasoning_harvest"),
    ("a5", True, "C2", "hydra_proxy"),
    ("a6", True, "C2", "hydra_proxy"),
    ("b1", False, None, "benign_hobbyist"),
    ("b2", False, None, "benign_hobbyist"),
    ("b3", False, None, "benign_batch_eval"),
    ("b4", False, None, "benign_batch_eval"),
]

# account_id, score, verdict, campaign_id, flagged_at (a3's is ignored: it is only suspicious)
ACCOUNTS = [
    ("a1", 0.9, "attack", "P1", hour(5)),
    ("a2", 0.8, "attack", "P1", hour(3)),
    ("a3", 0.5, "suspicious", None, hour(1)),
    ("a4", 0.7, "attack", "P2", hour(8)),
    ("a5", 0.95, "attack", "P2", hour(6)),
    ("b1", 0.1, "clear", None, None),
    ("b2", 0.8, "attack", "P2", hour(40)),
    ("b3", 0.2, "clear", None, None),
    ("b4", 0.05, "clear", None, None),
    ("x1", 0.3, "clear", None, None),
]

# account_id -> the hours at which it sent one request each
EVENT_HOURS: dict[str, list[float]] = {
    **{a: [float(h) for h in range(10)] for a in ("a1", "a2", "a3", "a4")},
    "a5": [float(h) for h in range(2, 12)],
    "a6": [float(h) for h in range(20)],
    "b1": [0.5, 1.5, 2.5, 3.5, 4.5],
    "b2": [h * 0.5 for h in range(50)],
    "b3": [1.0, 2.0],
    "b4": [3.0],
}


def labels_table() -> pa.Table:
    cols = list(zip(*LABELS, strict=True))
    return pa.table(
        {name: list(values) for name, values in zip(LABELS_SCHEMA.names, cols, strict=True)},
        schema=LABELS_SCHEMA,
    )


def accounts_table(rows: list[tuple] | None = None, *, with_flagged_at: bool = True) -> pa.Table:
    rows = ACCOUNTS if rows is None else rows
    table = pa.table(
        {
            "account_id": pa.array([r[0] for r in rows], pa.string()),
            "score": pa.array([r[1] for r in rows], pa.float64()),
            "verdict": pa.array([r[2] for r in rows], pa.string()),
            "campaign_id": pa.array([r[3] for r in rows], pa.string()),
            "reasons": pa.array([[] for _ in rows], pa.list_(pa.string())),
            "flagged_at": pa.array([r[4] for r in rows], TIMESTAMP),
            "exchanges": pa.array([len(EVENT_HOURS.get(r[0], [])) for r in rows], pa.int64()),
            "first_seen": pa.nulls(len(rows), TIMESTAMP),
            "last_seen": pa.nulls(len(rows), TIMESTAMP),
        },
        schema=ACCOUNTS_SCHEMA,
    )
    return table if with_flagged_at else table.drop_columns(["flagged_at"])


def events_table() -> pa.Table:
    ids, times = [], []
    for account, hours in EVENT_HOURS.items():
        ids += [account] * len(hours)
        times += [hour(h) for h in hours]
    n = len(ids)
    return pa.table(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "timestamp": pa.array(times, TIMESTAMP),
            "account_id": ids,
            "model": ["m1"] * n,
            "input_tokens": pa.array([100] * n, pa.int64()),
            "output_tokens": pa.array([200] * n, pa.int64()),
        }
    )


def write_events(root: Path) -> Path:
    """Write the events in the event-directory layout (events/day=YYYY-MM-DD/part-0.parquet)."""
    events = events_table()
    import pyarrow.compute as pc

    days = pc.strftime(events["timestamp"], format="%Y-%m-%d")
    for day in sorted(set(days.to_pylist())):
        part = root / "events" / f"day={day}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(events.filter(pc.equal(days, day)), part / "part-0.parquet")
    return root


@pytest.fixture()
def sim_dir(tmp_path: Path) -> Path:
    """Simulator layout: labels.parquet next to events/."""
    root = tmp_path / "sim"
    root.mkdir()
    pq.write_table(labels_table(), root / "labels.parquet")
    write_events(root)
    return root


@pytest.fixture()
def scan_dir(tmp_path: Path) -> Path:
    out = tmp_path / "scan"
    out.mkdir()
    pq.write_table(accounts_table(), out / "accounts.parquet")
    return out


@pytest.fixture()
def case() -> SimpleNamespace:
    """The builders above, for tests that need variants of the hand-made case."""
    return SimpleNamespace(
        accounts_table=accounts_table, labels_table=labels_table, write_events=write_events
    )
