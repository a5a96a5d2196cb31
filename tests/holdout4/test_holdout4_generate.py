"""Hold-out-4 generator at tiny scale: schema-valid events, consistent labels, seeded."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

HERE = Path(__file__).resolve().parents[2] / "bench" / "holdout4"
SCALE = 0.01
PERSONAS = {
    "atk_hydra_fleet",
    "atk_adaptive",
    "atk_adaptive_metalight",
    "benign_chat_user",
    "benign_developer",
    "benign_power_user",
    "hardneg_eval_harness",
    "hardneg_agent_framework",
    "hardneg_university_nat",
    "hardneg_private_relay",
    "hardneg_enterprise_batch",
}


@pytest.fixture(scope="module")
def gen(shared_data: Path):
    sys.path.insert(0, str(HERE))
    try:
        # not ``import generate``: every held-out generator has one (see tests/holdout)
        spec = importlib.util.spec_from_file_location("h4_generate", HERE / "generate.py")
        generate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generate)
        world = importlib.import_module("_h4_world").World.load(shared_data)
        yield lambda out, seed: generate.generate(out, seed=seed, scale=SCALE, data=shared_data, world=world)
    finally:
        sys.path.remove(str(HERE))


@pytest.fixture(scope="module")
def runs(gen, tmp_path_factory):
    root = tmp_path_factory.mktemp("ho4")
    return {name: (root / name, gen(root / name, seed)) for name, seed in (("a", 0), ("b", 0), ("c", 1))}


def _events(path: Path):
    return ds.dataset(path / "events", format="parquet").to_table()


def test_events_match_event_schema_and_window(runs):
    from distillguard.schema import EVENT_SCHEMA

    path, manifest = runs["a"]
    t = _events(path)
    assert t.schema.equals(EVENT_SCHEMA, check_metadata=False)
    assert t.num_rows == manifest["events"] > 1000
    assert pc.count_distinct(t["event_id"]).as_py() == t.num_rows
    lo, hi = pc.min_max(t["timestamp"]).values()
    assert (hi.as_py() - lo.as_py()).days < manifest["days"]
    assert pc.min(t["input_tokens"]).as_py() >= 0 and pc.min(t["output_tokens"]).as_py() >= 0
    # The minimal log source leaves rows without text; relay users bring IPv6 exits.
    assert 0 < t["prompt"].null_count < t.num_rows
    ips = pc.unique(t["client_ip"].drop_null()).to_pylist()
    assert any(":" in x for x in ips) and any("." in x for x in ips)


def test_labels_are_consistent_with_events(runs):
    from distillguard.schema import LABELS_SCHEMA

    path, manifest = runs["a"]
    labels = pq.read_table(path / "labels.parquet")
    assert labels.schema.equals(LABELS_SCHEMA, check_metadata=False)
    ids = set(labels["account_id"].to_pylist())
    assert len(ids) == labels.num_rows == manifest["accounts"]
    assert ids == set(pc.unique(_events(path)["account_id"]).to_pylist())
    d = labels.to_pydict()
    for attack, campaign, persona in zip(d["is_attack"], d["campaign"], d["persona"], strict=True):
        assert attack == (campaign is not None), persona
        assert persona.startswith("atk_" if attack else ("benign_", "hardneg_")), persona
    personas = json.loads((path / "manifest.json").read_text())["personas"]
    assert set(personas) >= PERSONAS
    assert sum(c["accounts"] for c in personas.values()) == labels.num_rows


def test_adaptive_attacker_shares_no_template_and_one_card_per_account(runs):
    """The adaptive persona's defining properties hold in the output, not just in the docs."""
    path, _ = runs["c"]
    labels = pq.read_table(path / "labels.parquet").to_pydict()
    adaptive = {
        a for a, p in zip(labels["account_id"], labels["persona"], strict=True) if p == "atk_adaptive"
    }
    t = _events(path).to_pydict()
    rows = [i for i, a in enumerate(t["account_id"]) if a in adaptive]
    cards = {}
    for i in rows:
        cards.setdefault(t["payment_fingerprint"][i], set()).add(t["account_id"][i])
    assert all(len(v) == 1 for v in cards.values())
    harvest = [t["prompt"][i] for i in rows if t["reasoning_output_tokens"][i]]
    assert len(harvest) > 20 and len(set(harvest)) == len(harvest)
    # No wrapper line (the text around the item) repeats across many harvest prompts.
    first_lines = [p.splitlines()[0] for p in harvest]
    assert max(first_lines.count(x) for x in set(first_lines)) < max(3, len(harvest) // 10)


def test_same_seed_same_bytes_other_seed_differs(runs):
    a, b, c = (_events(runs[k][0]) for k in "abc")
    assert a.equals(b)
    assert pq.read_table(runs["a"][0] / "labels.parquet").equals(
        pq.read_table(runs["b"][0] / "labels.parquet")
    )
    assert not a.equals(c)


def test_ingest_validation_accepts_every_row(runs):
    """The scan's own reader and validator accept every generated row (no quarantine)."""
    from distillguard.ingest import is_event_dir, iter_event_batches

    path, manifest = runs["c"]
    assert is_event_dir(path)
    accepted = quarantined = 0
    for batch, bad in iter_event_batches(path / "events"):
        accepted += batch.num_rows
        quarantined += bad.num_rows
    assert (accepted, quarantined) == (manifest["events"], 0)
