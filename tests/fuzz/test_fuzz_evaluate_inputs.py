"""Evaluate inputs the fuzzer broke: each was a traceback, each is now a one-line user error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.errors import DistillguardError
from distillguard.evaluate import evaluate
from distillguard.schema import EVENT_SCHEMA

GOOD_LABELS = {
    "account_id": ["a", "b"],
    "is_attack": [True, False],
    "campaign": ["c1", None],
    "persona": ["fleet", "benign_hobbyist"],
}
GOOD_ACCOUNTS = {
    "account_id": ["a", "b"],
    "score": [0.9, 0.1],
    "verdict": ["attack", "clear"],
    "campaign_id": ["k1", None],
}


def _events(root: Path) -> Path:
    """Three events per labelled account, so time to detection is computed."""
    cols = ["event_id", "timestamp", "account_id", "model", "input_tokens", "output_tokens"]
    n = 6
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "timestamp": [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(n)],
            "account_id": ["a", "b"] * 3,
            "model": ["m"] * n,
            "input_tokens": [1] * n,
            "output_tokens": [1] * n,
        },
        schema=pa.schema([EVENT_SCHEMA.field(c) for c in cols]),
    )
    day = root / "events" / "day=2026-01-01"
    day.mkdir(parents=True)
    pq.write_table(table, day / "part-0.parquet")
    return root


def _run(tmp_path: Path, labels: dict, accounts: dict) -> dict:
    scan = tmp_path / "scan"
    scan.mkdir()
    pq.write_table(pa.table(accounts), scan / "accounts.parquet")
    pq.write_table(pa.table(labels), tmp_path / "labels.parquet")
    events = _events(tmp_path / "ev")
    return evaluate(tmp_path / "labels.parquet", scan, events=events, out=tmp_path / "eval.json")


def test_good_inputs_still_evaluate(tmp_path: Path) -> None:
    flagged = {**GOOD_ACCOUNTS, "flagged_at": [datetime(2026, 1, 1, 0, 3, tzinfo=UTC), None]}
    report = _run(tmp_path, GOOD_LABELS, flagged)
    assert report["coverage"]["labelled_accounts"] == 2
    assert report["detector"]["time_to_detection"]["available"]


@pytest.mark.parametrize(
    ("labels", "accounts", "message"),
    [
        # score written as text by another tool: was ArrowInvalid from a cast
        (GOOD_LABELS, {**GOOD_ACCOUNTS, "score": ["0.9", "high"]}, "column score"),
        # a null is_attack in a Parquet bool column: was ValueError casting to non-nullable
        ({**GOOD_LABELS, "is_attack": pa.array([True, None])}, GOOD_ACCOUNTS, "is_attack"),
        # campaign ids as lists: was ArrowNotImplementedError
        (GOOD_LABELS, {**GOOD_ACCOUNTS, "campaign_id": [["k1"], []]}, "column campaign_id"),
        ({**GOOD_LABELS, "persona": [[1], [2]]}, GOOD_ACCOUNTS, "column persona"),
        # flagged_at as booleans: was ArrowNotImplementedError
        (GOOD_LABELS, {**GOOD_ACCOUNTS, "flagged_at": [True, False]}, "column flagged_at"),
        # flagged_at in year ~148,000: was OverflowError printing it as ISO 8601
        (
            GOOD_LABELS,
            {
                **GOOD_ACCOUNTS,
                "flagged_at": pa.array([2**62, None], pa.int64()).view(pa.timestamp("us", "UTC")),
            },
            "flagged_at outside",
        ),
    ],
)
def test_bad_columns_are_one_line_errors(tmp_path: Path, labels: dict, accounts: dict, message: str) -> None:
    with pytest.raises(DistillguardError, match=message) as info:
        _run(tmp_path, labels, accounts)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        # a hand-made --events dir with text timestamps: was a DuckDB BinderException (epoch_us(VARCHAR))
        ("timestamp", ["2026-01-01", "x"], "events column timestamp is string"),
        ("account_id", [1, 2], "events column account_id is int64"),
    ],
)
def test_event_columns_of_the_wrong_kind(tmp_path: Path, column: str, values: list, message: str) -> None:
    scan = tmp_path / "scan"
    scan.mkdir()
    pq.write_table(pa.table(GOOD_ACCOUNTS), scan / "accounts.parquet")
    pq.write_table(pa.table(GOOD_LABELS), tmp_path / "labels.parquet")
    day = tmp_path / "ev" / "events" / "day=2026-01-01"
    day.mkdir(parents=True)
    events = {
        "event_id": ["e1", "e2"],
        "timestamp": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
        "account_id": ["a", "b"],
        "model": ["m", "m"],
        "input_tokens": [1, 1],
        "output_tokens": [1, 1],
    }
    pq.write_table(pa.table({**events, column: values}), day / "part-0.parquet")
    with pytest.raises(DistillguardError, match=message) as info:
        evaluate(tmp_path / "labels.parquet", scan, events=tmp_path / "ev", out=tmp_path / "eval.json")
    assert "\n" not in str(info.value)
