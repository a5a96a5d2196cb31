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
