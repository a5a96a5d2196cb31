"""Hold-out-3 generator at tiny scale: schema-valid events, consistent labels, seeded."""

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

HERE = Path(__file__).resolve().parents[2] / "bench" / "holdout3"
SCALE = 0.01


@pytest.fixture(scope="module")
def gen(shared_data: Path):
    sys.path.insert(0, str(HERE))
    try:
        # not ``import generate``: every held-out generator has one (see tests/holdout)
        spec = importlib.util.spec_from_file_location("h3_generate", HERE / "generate.py")
        generate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generate)
        world = importlib.import_module("_h3_world").World.load(shared_data)
        yield lambda out, seed: generate.generate(out, seed=seed, scale=SCALE, data=shared_data, world=world)
    finally:
        sys.path.remove(str(HERE))


@pytest.fixture(scope="module")
def runs(gen, tmp_path_factory):
    root = tmp_path_factory.mktemp("ho3")
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
    assert (hi.as_py() - lo.as_py()).days <= manifest["days"]
    assert pc.min(t["input_tokens"]).as_py() >= 0 and pc.min(t["output_tokens"]).as_py() >= 0
    # Rows without text exist (log sources differ), and both IPv4 and IPv6 clients appear.
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
        assert persona.startswith("atk_" if attack else "benign_"), persona
    personas = json.loads((path / "manifest.json").read_text())["personas"]
    assert {p for p, c in personas.items() if c["attack"]} >= {
        "atk_hydra_chain",
        "atk_metadata_light",
        "atk_sync_fleet",
    }
    assert sum(c["accounts"] for c in personas.values()) == labels.num_rows


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
