"""evaluate() over millions of events: DuckDB numbers agree with an in-memory numpy count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.evaluate import evaluate
from distillguard.schema import TIMESTAMP

N_ACCOUNTS = 5_000
N_EVENTS = 3_000_000
HOUR_US = 3_600_000_000


@pytest.mark.slow
def test_time_to_detection_matches_numpy_at_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    ids = np.array([f"acct-{i:05d}" for i in range(N_ACCOUNTS)])
    is_attack = rng.random(N_ACCOUNTS) < 0.1
    campaign_idx = rng.integers(0, 12, N_ACCOUNTS)
    campaign = np.where(is_attack, np.char.add("camp-", campaign_idx.astype(str)), None)
    pq.write_table(
        pa.table(
            {
                "account_id": ids,
                "is_attack": is_attack,
                "campaign": pa.array(campaign.tolist(), pa.string()),
                "persona": np.where(is_attack, "attacker", "benign"),
            }
        ),
        tmp_path / "labels.parquet",
    )
    account = rng.integers(0, N_ACCOUNTS, N_EVENTS)
    t = rng.integers(0, 72 * HOUR_US, N_EVENTS)
    for day in range(3):
        sel = (t // (24 * HOUR_US)) == day
        part = tmp_path / "events" / f"day=2024-01-0{day + 1}"
        part.mkdir(parents=True)
        pq.write_table(
            pa.table(
                {
                    "event_id": pa.array(np.flatnonzero(sel).astype(str)),
                    "timestamp": pa.array(t[sel], pa.int64()).cast(TIMESTAMP),
                    "account_id": pa.array(ids[account[sel]]),
                }
            ),
            part / "part-0.parquet",
        )
    verdict = np.where(is_attack & (rng.random(N_ACCOUNTS) < 0.7), "attack", "clear")
    flag_us = rng.integers(0, 72 * HOUR_US, N_ACCOUNTS)
    flagged_at = pa.array(np.where(verdict == "attack", flag_us, 0), pa.int64()).cast(TIMESTAMP)
    flagged_at = pa.array(
        [v if a == "attack" else None for v, a in zip(flagged_at.to_pylist(), verdict, strict=True)],
        TIMESTAMP,
    )
    scan = tmp_path / "scan"
    scan.mkdir()
    pq.write_table(
        pa.table(
            {
                "account_id": ids,
                "score": (verdict == "attack") * 0.9,
                "verdict": verdict,
                "flagged_at": flagged_at,
            }
        ),
        scan / "accounts.parquet",
    )
    report = evaluate(tmp_path / "labels.parquet", scan)
    assert report["inputs"]["events_total"] == N_EVENTS
    rows = {r["campaign"]: r for r in report["detector"]["time_to_detection"]["campaigns"]}
    for c in range(12):
        name = f"camp-{c}"
        members = is_attack & (campaign_idx == c)
        flagged = members & (verdict == "attack")
        first = flag_us[flagged].min()
        in_campaign = members[account]
        assert rows[name]["exchanges"] == int(in_campaign.sum())
        assert rows[name]["exchanges_before"] == int((in_campaign & (t < first)).sum())
