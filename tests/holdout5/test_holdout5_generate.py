"""Hold-out-5 generator at tiny scale: rows the scan's reader accepts, consistent labels, seeded,
and the adaptive variants' defining tactics present in the output."""

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

HERE = Path(__file__).resolve().parents[2] / "bench" / "holdout5"
SCALE = 0.02
#: ~40 s on the shared machine (loading the corpora and IP ranges dominates).
pytestmark = pytest.mark.slow
PERSONAS = {
    "atk_classic_fleet",
    "atk_adaptive_aged",
    "atk_adaptive_math",
    "atk_adaptive_lowshare",
    "benign_chat_user",
    "benign_developer",
    "benign_power_user",
    "hardneg_eval_harness",
    "hardneg_agent_framework",
    "hardneg_tutoring_backend",
    "hardneg_labelling_vendor",
}


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory):
    sys.path.insert(0, str(HERE))
    try:
        # not ``import generate``: every held-out generator has one
        spec = importlib.util.spec_from_file_location("h5_generate", HERE / "generate.py")
        generate = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(generate)
        world = importlib.import_module("_h5_world").World.load(shared_data)
        root = tmp_path_factory.mktemp("ho5")
        return {
            name: (root / name, generate.generate(root / name, seed=seed, scale=SCALE, world=world))
            for name, seed in (("a", 0), ("b", 0), ("c", 1))
        }
    finally:
        sys.path.remove(str(HERE))


def _events(path: Path):
    return ds.dataset(path / "events", format="parquet").to_table()


def test_every_row_accepted_and_labels_match_events(runs) -> None:
    from distillguard.ingest import iter_event_batches
    from distillguard.schema import LABELS_SCHEMA

    path, manifest = runs["a"]
    accepted = quarantined = 0
    for batch, bad in iter_event_batches(path / "events"):
        accepted += batch.num_rows
        quarantined += bad.num_rows
    assert (accepted, quarantined) == (manifest["events"], 0)
    labels = pq.read_table(path / "labels.parquet")
    assert [(f.name, f.type) for f in labels.schema] == [(f.name, f.type) for f in LABELS_SCHEMA]
    ids = set(labels["account_id"].to_pylist())
    assert ids == set(pc.unique(_events(path)["account_id"]).to_pylist())
    d = labels.to_pydict()
    for attack, campaign, persona in zip(d["is_attack"], d["campaign"], d["persona"], strict=True):
        assert attack == (campaign is not None), persona
        assert persona.startswith("atk_" if attack else ("benign_", "hardneg_")), persona
    assert set(json.loads((path / "manifest.json").read_text())["personas"]) == PERSONAS


def test_adaptive_tactics_hold_in_the_output(runs) -> None:
    """One card per adaptive account; the maths variant's harvest shares its cover's threads;
    the aged variant's accounts were opened long before the window."""
    path, _ = runs["c"]
    labels = pq.read_table(path / "labels.parquet").to_pydict()
    persona = dict(zip(labels["account_id"], labels["persona"], strict=True))
    t = _events(path).to_pydict()
    cards: dict[str, set[str]] = {}
    threads: dict[str, set[bool]] = {}
    for i, a in enumerate(t["account_id"]):
        p = persona[a]
        if p.startswith("atk_adaptive"):
            cards.setdefault(t["payment_fingerprint"][i], set()).add(a)
        if p == "atk_adaptive_math" and t["conversation_id"][i] is not None:
            threads.setdefault(t["conversation_id"][i], set()).add(bool(t["reasoning_output_tokens"][i]))
        if p == "atk_adaptive_aged":
            assert (t["timestamp"][i] - t["account_created_at"][i]).days >= 200
    assert all(len(v) == 1 for v in cards.values())
    assert any(v == {True, False} for v in threads.values()), "harvest and cover in one thread"


def test_same_seed_same_bytes_other_seed_differs(runs) -> None:
    a, b, c = (_events(runs[k][0]) for k in "abc")
    assert a.equals(b)
    assert not a.equals(c)
