"""Hold-out-2 generator: deterministic per seed, exactly the event/labels/quarantine schemas,
and the properties its scenario promises (attacks start on day 2, source gaps, IPv6)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA, QUARANTINE_SCHEMA

HOLDOUT2 = Path(__file__).resolve().parents[2] / "bench" / "holdout2"
#: Small enough to run in seconds, large enough that every persona has accounts.
SCALE = 0.05


def _load_generate():
    sys.path.insert(0, str(HOLDOUT2))
    spec = importlib.util.spec_from_file_location("h2_generate", HOLDOUT2 / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.parquet")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    gen = _load_generate()
    base = tmp_path_factory.mktemp("h2")
    out = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        gen.generate(base / name, seed=seed, scale=SCALE, data=shared_data)
        out[name] = base / name
    return out


def test_same_seed_same_bytes_other_seed_differs(runs):
    assert _digest(runs["a"]) == _digest(runs["b"])
    assert _digest(runs["a"]) != _digest(runs["c"])


def test_schemas_and_layout(runs):
    root = runs["a"]
    days = sorted(p.name for p in (root / "events").iterdir())
    assert days == [f"day=2026-03-{d:02d}" for d in range(9, 14)]
    for d in days:
        assert pq.read_schema(root / "events" / d / "part-0.parquet").equals(EVENT_SCHEMA)
    assert pq.read_schema(root / "labels.parquet").equals(LABELS_SCHEMA)
    q = pq.read_table(root / "quarantine.parquet")
    assert q.schema.equals(QUARANTINE_SCHEMA) and q.num_rows == 0


def test_labels_cover_events_and_attacks_start_day_two(runs):
    root = runs["a"]
    ev = ds.dataset(root / "events", format="parquet").to_table(
        columns=["event_id", "timestamp", "account_id", "client_ip", "tls_fingerprint", "prompt"]
    )
    labels = pq.read_table(root / "labels.parquet")
    assert pc.count_distinct(ev["event_id"]).as_py() == ev.num_rows
    assert set(pc.unique(ev["account_id"]).to_pylist()) == set(labels["account_id"].to_pylist())
    personas = set(labels["persona"].to_pylist())
    assert {"cot_harvester", "hydra_reseller", "relay_stolen_key", "benign_mooc_cohort"} <= personas
    attackers = labels.filter(labels["is_attack"])
    assert pc.count_distinct(attackers["campaign"]).as_py() == 6
    # every attack persona except the stolen-key victims (their owners' own traffic) starts on day 2
    early = labels.filter(pc.and_(labels["is_attack"], pc.not_equal(labels["persona"], "relay_stolen_key")))
    atk_ev = ev.filter(pc.is_in(ev["account_id"], early["account_id"]))
    assert pc.min(atk_ev["timestamp"]).as_py().day == 10
    # missing optional data, as real sources have it
    assert 0 < ev["tls_fingerprint"].null_count < ev.num_rows
    assert 0 < ev["prompt"].null_count < ev.num_rows
    # a good share of households reach us over IPv6
    casual = labels.filter(pc.equal(labels["persona"], "benign_casual"))["account_id"]
    c_ev = ev.filter(pc.is_in(ev["account_id"], casual))
    v6_accounts = pc.count_distinct(
        c_ev.filter(pc.match_substring(c_ev["client_ip"], ":"))["account_id"]
    ).as_py()
    assert v6_accounts > 0.15 * pc.count_distinct(c_ev["account_id"]).as_py()
