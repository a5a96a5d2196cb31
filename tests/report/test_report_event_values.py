"""report.html names the card and the system prompt behind a campaign's links (from the events)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from distillguard.report import write_report
from distillguard.report._evidence import event_values
from distillguard.schema import TIMESTAMP

T0 = dt.datetime(2024, 5, 1, 1, tzinfo=dt.UTC)


def _events(root: Path) -> Path:
    rows = [
        ("h1", "pf_9", "You are a careful reasoner. Think step by step and show all work please"),
        ("h2", "pf_9", "You are a careful reasoner. Think step by step and show all work please"),
        ("p1", "pf_other", None),
    ]
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "timestamp": pa.array([T0] * len(rows), TIMESTAMP),
            "account_id": [r[0] for r in rows],
            "model": ["m"] * len(rows),
            "input_tokens": pa.array([10] * len(rows), pa.int64()),
            "output_tokens": pa.array([20] * len(rows), pa.int64()),
            "payment_fingerprint": [r[1] for r in rows],
            "system_prompt": [r[2] for r in rows],
        }
    )
    part = root / "events" / "day=2024-05-01"
    part.mkdir(parents=True)
    pq.write_table(table, part / "part-0.parquet")
    return root


def test_card_is_named_from_the_events(scan_dir: Path, tmp_path: Path) -> None:
    html = write_report(scan_dir, events=_events(tmp_path / "logs")).read_text()
    assert "card fingerprint shared by members, from the events" in html
    assert '<td class="mono">pf_9</td>' in html
    assert "pf_other" not in html  # one member alone shares nothing


def test_system_prompt_first_words_only(tmp_path: Path) -> None:
    root = _events(tmp_path / "logs")
    files = [str(p) for p in (root / "events").rglob("*.parquet")]
    values = event_values(files, {"CAMP-1": ["h1", "h2", "p1"]}, per_kind=3)
    assert values[("CAMP-1", "payment")] == [{"value": "pf_9", "accounts": 2}]
    [prompt] = values[("CAMP-1", "system_prompt")]
    assert prompt == {"value": "You are a careful reasoner. Think step by …", "accounts": 2}
    assert event_values([], {"C": ["a"]}, per_kind=3) == {}
