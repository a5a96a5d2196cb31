"""The state keeps each increment's enrichment: later scorings enrich only new events."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from dg_state_world import SCAN_OPTIONS, assert_same_verdicts, batch_scan, split, until

from distillguard.state import run_increment
from distillguard.state._enriched import ENRICHED


def _note(state) -> str:
    return json.loads((state / "scan" / "scan_meta.json").read_text())["enrich"]


def test_each_increment_is_enriched_once_and_texts_once(tiny_events, tmp_path):
    events = until(tiny_events, 36)
    files = split(events, 12, tmp_path / "parts")
    state = tmp_path / "state"
    for f in files:
        run_increment(state, [f], scan_options=SCAN_OPTIONS)
        assert "(1 of " in _note(state)  # only the new increment was enriched
        assert "IP knowledge: built-in floor" in _note(state)  # as a batch scan says it
    entries = sorted(p.name for p in (state / ENRICHED).glob("inc-*"))
    assert entries == [f"inc-{i:06d}" for i in range(1, len(files) + 1)]
    meta = json.loads((state / "scan" / "scan_meta.json").read_text())
    assert meta["timings_s"]["load+enrich"] > 0  # the cache's time, measured outside the scan
    # a scoring with no new input enriches nothing
    run_increment(state, [], scan_options=SCAN_OPTIONS)
    assert f"(0 of {len(files)} " in _note(state)
    # every distinct prompt's parts are kept once, in the increment that saw it first
    hashes = [
        pq.read_table(p / "prompts.parquet", columns=["prompt_hash"])[0].to_pylist()
        for p in sorted((state / ENRICHED).glob("inc-*"))
    ]
    flat = [h for part in hashes for h in part]
    assert len(flat) == len(set(flat))
    distinct = len(set(events.filter(events["prompt"].is_valid())["prompt"].to_pylist()))
    assert len(flat) == distinct
    # rows are numbered across increments (input order for the scan)
    rows = sum(json.loads((p / "done.json").read_text())["rows"] for p in (state / ENRICHED).glob("inc-*"))
    assert rows == events.num_rows
    assert_same_verdicts(state / "scan", batch_scan(events, tmp_path / "batch"))


def test_another_enrichment_key_rebuilds_the_cache(tiny_events, tmp_path):
    events = until(tiny_events, 24)
    files = split(events, 12, tmp_path / "parts")
    state = tmp_path / "state"
    for f in files:
        run_increment(state, [f], scan_options=SCAN_OPTIONS)
    key = json.loads((state / ENRICHED / "key.json").read_text())
    assert key["metadata_only"] is False
    stale = state / ENRICHED / ".tmp-killed"  # what a killed build leaves
    stale.mkdir()
    meta = {**SCAN_OPTIONS, "metadata_only": True}
    run_increment(state, [], scan_options=meta)
    assert json.loads((state / ENRICHED / "key.json").read_text())["metadata_only"] is True
    assert f"({len(files)} of {len(files)} " in _note(state)
    assert not stale.exists()
    from distillguard.scan import scan

    pq.write_table(events, tmp_path / "all.parquet")
    scan([tmp_path / "all.parquet"], tmp_path / "batch", replay=False, **meta)
    assert_same_verdicts(state / "scan", tmp_path / "batch")


def test_report_and_enforcement_show_the_analysts_decision(tiny_events, tmp_path):
    """report.html and enforcement.csv are written after decisions and flagged_at are applied."""
    import csv

    import duckdb
    import pyarrow.parquet as pq

    from distillguard.state import _decisions as d

    events = until(tiny_events, 30)
    pq.write_table(events, tmp_path / "first.parquet")
    state = tmp_path / "state"
    run_increment(state, [tmp_path / "first.parquet"], scan_options={"progress": False})
    accounts = pq.read_table(state / "scan" / "accounts.parquet").to_pylist()
    target = next(a for a in accounts if a["verdict"] == "attack")
    res = type("Res", (), {})()
    res.signals = pq.read_table(state / "scan" / "signals.parquet")
    res.edges = pq.read_table(state / "scan" / "edges.parquet")
    items = d.evidence_items(res.signals, res.edges, [target["account_id"]])
    con = duckdb.connect(str(state / "state.duckdb"))
    d.record(
        con,
        analyst="test",
        action="dismiss",
        scope="account",
        target=target["account_id"],
        accounts={
            target["account_id"]: {
                "verdict": "attack",
                "score": target["score"],
                "evidence": items.get(target["account_id"], []),
            }
        },
        note="our own load test",
    )
    con.close()
    run_increment(state, [], scan_options={"progress": False})
    with open(state / "scan" / "enforcement.csv", newline="") as fh:
        enforced = {r["account_id"] for r in csv.DictReader(fh)}
    assert target["account_id"] not in enforced
    after = pq.read_table(state / "scan" / "accounts.parquet").to_pylist()
    assert {a["account_id"] for a in after if a["verdict"] == "attack"} <= enforced
    html = (state / "scan" / "report.html").read_text()
    attacks = sum(a["verdict"] == "attack" for a in after)
    assert attacks == sum(a["verdict"] == "attack" for a in accounts) - 1
    assert f'class="value attack">{attacks}<' in html  # the report counts the decision in
    assert "<title>distillguard report – state, increment 1</title>" in html
