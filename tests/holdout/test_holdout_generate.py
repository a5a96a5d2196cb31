"""The hold-out generator writes a valid, labelled, deterministic event directory whose
hard negatives and attacks carry the properties they are meant to test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA, QUARANTINE_SCHEMA

HOLDOUT = Path(__file__).resolve().parents[2] / "bench" / "holdout"
#: Small enough for a fast test, large enough that every persona has accounts.
SCALE = 0.08


@pytest.fixture(scope="module")
def gen():
    # each held-out generator is a ``generate.py``: load this one under its own module name,
    # or a worker that imported another one first would run that one instead
    sys.path.insert(0, str(HOLDOUT))
    spec = importlib.util.spec_from_file_location("h1_generate", HOLDOUT / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def out(gen, shared_data, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("holdout") / "a"
    gen.generate(d, seed=3, scale=SCALE, data=shared_data)
    return d


def _events(d: Path):
    return ds.dataset(d / "events", format="parquet").to_table()


def test_layout_and_schemas(out: Path) -> None:
    parts = sorted((out / "events").glob("day=*/part-0.parquet"))
    assert len(parts) == 10
    for p in parts:
        assert pq.read_schema(p).remove_metadata().equals(EVENT_SCHEMA.remove_metadata())
    assert pq.read_schema(out / "labels.parquet").equals(LABELS_SCHEMA, check_metadata=False)
    q = pq.read_table(out / "quarantine.parquet")
    assert q.num_rows == 0 and q.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)


def test_labels_cover_events_and_campaigns(gen, out: Path) -> None:
    ev = _events(out)
    lab = pq.read_table(out / "labels.parquet")
    assert set(pc.unique(ev["account_id"]).to_pylist()) == set(lab["account_id"].to_pylist())
    assert set(lab["persona"].to_pylist()) == set(gen.PERSONAS)
    attack = lab["is_attack"].to_numpy(zero_copy_only=False)
    campaign = np.array(lab["campaign"].to_pylist(), dtype=object)
    assert all(c is not None for c in campaign[attack]) and all(c is None for c in campaign[~attack])
    persona = np.array(lab["persona"].to_pylist())
    assert all(p.startswith("benign_") for p in persona[~attack])
    assert not any(p.startswith("benign_") for p in persona[attack])


def test_events_are_valid(out: Path) -> None:
    ev = _events(out)
    assert ev.num_rows == pc.count_distinct(ev["event_id"]).as_py()
    for col in ("event_id", "timestamp", "account_id", "model", "input_tokens", "output_tokens"):
        assert ev[col].null_count == 0
    assert pc.min(ev["input_tokens"]).as_py() >= 0 and pc.min(ev["output_tokens"]).as_py() >= 0
    rt = ev["reasoning_output_tokens"].to_numpy(zero_copy_only=False)
    assert np.all(rt <= ev["output_tokens"].to_numpy())
    assert set(pc.unique(ev["status"]).to_pylist()) <= {"ok", "error", "rate_limited", "refused"}
    # Account ids are opaque: nothing in them names the persona.
    ids = pc.unique(ev["account_id"]).to_pylist()
    assert all(a.startswith("org-") and int(a[4:], 16) >= 0 for a in ids)


def test_same_seed_same_bytes(gen, out: Path, shared_data, tmp_path: Path) -> None:
    again = tmp_path / "b"
    gen.generate(again, seed=3, scale=SCALE, data=shared_data)
    assert _events(again).equals(_events(out))
    other = tmp_path / "c"
    gen.generate(other, seed=4, scale=SCALE, data=shared_data)
    assert not _events(other).equals(_events(out))


def _by_persona(out: Path):
    import polars as pl

    ev = pl.from_arrow(_events(out))
    return ev.join(pl.read_parquet(out / "labels.parquet"), on="account_id"), pl


def test_hard_negatives_have_the_traits_they_test(out: Path) -> None:
    ev, pl = _by_persona(out)
    startup = ev.filter(pl.col("persona") == "benign_startup")
    assert startup["account_id"].n_unique() == 20
    assert startup["payment_fingerprint"].n_unique() == 1 and startup["client_ip"].n_unique() == 1
    uni = ev.filter(pl.col("persona") == "benign_university_nat")
    nat = uni["client_ip"].mode()[0]
    assert (
        uni.filter(pl.col("client_ip") == nat)["account_id"].n_unique() >= 0.8 * uni["account_id"].n_unique()
    )
    assert (uni["account_tier"] == "edu").all()
    evals = ev.filter(pl.col("persona") == "benign_eval_harness")
    assert evals["prompt"].str.contains("Let's think step by step").any()
    assert (evals["model"] == "atlas-4-think").any()


def test_attacks_have_their_tactics(out: Path) -> None:
    ev, pl = _by_persona(out)
    fleet = ev.filter(pl.col("persona") == "cot_paraphrase_fleet")
    per_acct = fleet.group_by("account_id").agg(pl.col("payment_fingerprint").first())
    assert per_acct["payment_fingerprint"].n_unique() == per_acct.height  # one card per account
    assert fleet["tls_fingerprint"].n_unique() <= 2  # but one custom TLS stack
    pivot = ev.filter((pl.col("persona") == "release_pivot") & (pl.col("model") == "atlas-4-think"))
    first_new = ev.filter(pl.col("model") == "atlas-4-think")["timestamp"].min()
    assert (pivot["timestamp"].min() - first_new).total_seconds() < 24 * 3600
    relay = ev.filter(pl.col("persona") == "relay_hijack")
    assert relay["system_prompt"].is_null().any() and relay["system_prompt"].is_not_null().any()
