"""The simulator's output contract: schema, layout, labels, personas, manifest."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from distillguard.schema import EVENT_SCHEMA, LABELS_SCHEMA, QUARANTINE_SCHEMA
from distillguard.simulate._registry import attack_personas, known_personas


def test_every_part_has_exactly_the_event_schema(tiny_dir: Path) -> None:
    parts = sorted((tiny_dir / "events").glob("day=*/part-*.parquet"))
    assert len(parts) == 8  # tiny spans 8 days
    for part in parts:
        table = pq.read_table(part)
        assert table.schema.equals(EVENT_SCHEMA, check_metadata=False), part
        assert table.cast(EVENT_SCHEMA).num_rows == table.num_rows


def test_day_partition_matches_timestamps(tiny_dir: Path) -> None:
    for part in (tiny_dir / "events").glob("day=*/part-*.parquet"):
        day = part.parent.name.removeprefix("day=")
        dates = pl.read_parquet(part)["timestamp"].dt.date().cast(pl.Utf8).unique().to_list()
        assert dates == [day]


def test_required_columns_filled_and_ids_unique(tiny_events: pl.DataFrame) -> None:
    assert tiny_events.height == 34_500
    for col in (
        "event_id",
        "timestamp",
        "account_id",
        "model",
        "input_tokens",
        "output_tokens",
        "client_ip",
        "user_agent",
        "tls_fingerprint",
        "payment_fingerprint",
        "account_tier",
        "prompt",
        "status",
    ):
        assert tiny_events[col].null_count() == 0, col
    assert tiny_events["event_id"].n_unique() == tiny_events.height
    assert (tiny_events["input_tokens"] >= 0).all() and (tiny_events["output_tokens"] >= 0).all()
    assert set(tiny_events["status"].unique()) <= {"ok", "error", "rate_limited", "refused"}
    assert set(tiny_events["account_tier"].unique()) <= {
        "free",
        "paid",
        "edu",
        "startup",
        "research",
        "enterprise",
    }
    ips = tiny_events["client_ip"].unique().to_list()
    assert all(str(ipaddress.ip_address(ip)) == ip for ip in ips)  # valid, canonical text


def test_labels_one_row_per_account_and_campaign_iff_attack(
    tiny_dir: Path, tiny_events: pl.DataFrame
) -> None:
    labels_t = pq.read_table(tiny_dir / "labels.parquet")
    assert labels_t.schema.equals(LABELS_SCHEMA, check_metadata=False)
    labels = pl.from_arrow(labels_t)
    assert labels["account_id"].n_unique() == labels.height
    assert set(labels["account_id"]) == set(tiny_events["account_id"].unique())
    assert (labels["campaign"].is_not_null() == labels["is_attack"]).all()
    assert tiny_events["persona"].null_count() == 0


def test_every_persona_present_in_tiny(tiny_events: pl.DataFrame) -> None:
    present = set(tiny_events["persona"].unique())
    assert set(known_personas()) <= present
    assert "relay_hijacked_key" in present
    attacks = set(tiny_events.filter(pl.col("is_attack"))["persona"].unique())
    assert attacks == set(attack_personas()) | {"relay_hijacked_key"}


def test_manifest_and_quarantine(tiny_dir: Path, tiny_events: pl.DataFrame) -> None:
    m = json.loads((tiny_dir / "manifest.json").read_text())
    assert m["events"] == tiny_events.height and m["seed"] == 0
    assert sum(p["events"] for p in m["personas"].values()) == tiny_events.height
    assert len(m["campaigns"]) == len(attack_personas())
    assert [x["name"] for x in m["models"] if x["new"]] == ["atlas-3"]
    assert "relay_hijacked_key" in m["label_policy"]
    q = pq.read_table(tiny_dir / "quarantine.parquet")
    assert q.num_rows == 0 and q.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)


def test_account_ids_do_not_leak_personas(tiny_events: pl.DataFrame) -> None:
    ids = tiny_events["account_id"].unique()
    assert ids.str.contains(r"^org-[0-9a-f]{16}$").all()
    for word in ("hydra", "relay", "benign", "attack", "sync"):
        assert not tiny_events["api_key_id"].str.contains(word).any()


def test_account_attributes_constant_per_account(tiny_events: pl.DataFrame) -> None:
    per = tiny_events.group_by("account_id").agg(
        pl.col(c).n_unique().alias(c)
        for c in ("account_tier", "account_country", "account_created_at", "provider")
    )
    assert (per.drop("account_id").max_horizontal() == 1).all()
    assert (tiny_events["account_created_at"] < tiny_events["timestamp"]).all()


def test_new_model_only_after_release(tiny_dir: Path, tiny_events: pl.DataFrame) -> None:
    m = json.loads((tiny_dir / "manifest.json").read_text())
    release = next(x for x in m["models"] if x["new"])["released_at"]
    new = tiny_events.filter(pl.col("model") == "atlas-3")
    assert new.height > 0
    assert (new["timestamp"].dt.to_string("%Y-%m-%dT%H:%M:%S") >= release.rstrip("Z")).all()


def test_reasoning_tokens_only_on_reasoning_models(tiny_events: pl.DataFrame) -> None:
    plain = tiny_events.filter(pl.col("model").is_in(["atlas-1", "atlas-2", "atlas-2-mini"]))
    assert (plain["reasoning_output_tokens"] == 0).all()
    think = tiny_events.filter(pl.col("model") == "atlas-2-think", pl.col("status") == "ok")
    assert (think["reasoning_output_tokens"] > 0).mean() > 0.95
    assert (tiny_events["reasoning_output_tokens"] <= tiny_events["output_tokens"]).all()


def test_tool_and_image_fields_follow_prompt_family(tiny_events: pl.DataFrame) -> None:
    agent = tiny_events.filter(pl.col("persona") == "benign_agent_framework")
    assert (agent["tool_count"] > 0).mean() > 0.9
    hobby = tiny_events.filter(pl.col("persona") == "benign_hobbyist")
    assert 0 < hobby["has_image"].mean() < 0.2
    assert np.isclose((hobby["tool_count"] > 0).mean(), 0.0)
