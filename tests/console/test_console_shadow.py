"""Shadow mode: a scoring change re-scored on the stored history, the state untouched."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from distillguard.console._shadow import parse_changes
from distillguard.scoring import ScoringParams


def test_parse_changes_keeps_only_changed_valid_values() -> None:
    base = ScoringParams()
    assert parse_changes(base, {"attack_score": "0.8", "family_fire": str(base.family_fire)}) == {
        "attack_score": 0.8
    }
    assert parse_changes(base, {"require_cross_account": "false"}) == {"require_cross_account": False}
    with pytest.raises(ValueError):
        parse_changes(base, {"attack_score": "2"})
    with pytest.raises(ValueError):
        parse_changes(base, {"min_families": "-1"})


@pytest.mark.slow
def test_shadow_scan_lists_verdicts_a_higher_attack_line_moves(console_state: Path) -> None:
    from fastapi.testclient import TestClient

    from distillguard.console import create_app

    before = (console_state / "scan" / "accounts.parquet").read_bytes()
    app = create_app(console_state, analyst="tester")
    c = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/shadow").text).group(1)
    r = c.post("/shadow", data={"csrf": token, "attack_score": "0.95"}, follow_redirects=False)
    assert r.status_code == 303
    deadline = time.monotonic() + 600
    while app.state.shadow.running() and time.monotonic() < deadline:
        time.sleep(0.5)
    job = app.state.shadow.jobs[1]
    assert job.status == "done", job.error
    live = pq.read_table(console_state / "scan" / "accounts.parquet")
    assert job.counts["before"].get("attack", 0) == sum(v == "attack" for v in live["verdict"].to_pylist())
    assert job.counts["after"].get("attack", 0) < job.counts["before"]["attack"]
    assert any(m["before"] == "attack" and m["after"] != "attack" for m in job.moved)
    assert "would change" in c.get(r.headers["location"]).text
    assert (console_state / "scan" / "accounts.parquet").read_bytes() == before  # nothing applied
    assert "shadow" in c.get("/audit.csv").text
