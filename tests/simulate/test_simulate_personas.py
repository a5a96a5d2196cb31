"""Each persona shows the behaviour it exists for (and hard negatives the signal they mimic)."""

from __future__ import annotations

import polars as pl


def _cv(events: pl.DataFrame) -> pl.DataFrame:
    """Per-account inter-arrival coefficient of variation (accounts with >= 10 requests)."""
    gaps = (
        events.sort("account_id", "timestamp")
        .with_columns(pl.col("timestamp").diff().over("account_id").dt.total_microseconds().alias("gap"))
        .drop_nulls("gap")
    )
    return (
        gaps.group_by("account_id", "persona")
        .agg(pl.len().alias("n"), (pl.col("gap").std() / pl.col("gap").mean()).alias("cv"))
        .filter(pl.col("n") >= 10)
    )


def test_benign_timing_is_bursty_like_real_clients(tiny_events: pl.DataFrame) -> None:
    cv = _cv(tiny_events)
    hobby = cv.filter(pl.col("persona").is_in(["benign_hobbyist", "benign_developer"]))["cv"]
    assert 2.0 < hobby.median() < 16.0  # ServeGen clients: mostly 3-16 over a day
    sync = cv.filter(pl.col("persona") == "sync_reasoning_harvest")["cv"]
    assert sync.median() < hobby.median() / 2  # load-balanced fleets are far more regular


def test_sync_harvest_shares_cards_and_moves_in_lockstep(tiny_events: pl.DataFrame) -> None:
    sync = tiny_events.filter(pl.col("persona") == "sync_reasoning_harvest")
    assert sync["payment_fingerprint"].n_unique() < sync["account_id"].n_unique() / 3
    hourly = sync.group_by(pl.col("timestamp").dt.truncate("1h"), "account_id").len()
    active = hourly.group_by("timestamp").agg(pl.col("account_id").n_unique().alias("k"))
    assert active["k"].median() >= sync["account_id"].n_unique() * 0.6


def test_hydra_replaces_accounts_and_pivots_to_new_model(tiny_events: pl.DataFrame) -> None:
    hydra = tiny_events.filter(pl.col("persona") == "hydra_proxy")
    life = hydra.group_by("account_id").agg(
        pl.col("timestamp").min().alias("a"), pl.col("timestamp").max().alias("b")
    )
    span_h = (life["b"] - life["a"]).dt.total_hours()
    assert span_h.median() < 7 * 24 * 0.5  # short-lived accounts, not the whole window
    assert hydra["client_ip"].n_unique() > hydra.height * 0.5  # rotating residential proxies
    release = tiny_events.filter(pl.col("model") == "atlas-3")["timestamp"].min()
    day_after = hydra.filter(pl.col("timestamp") > release + pl.duration(hours=12))
    share = (day_after["model"] == "atlas-3").mean()
    hobby = tiny_events.filter(pl.col("persona") == "benign_hobbyist", pl.col("timestamp") > release)
    assert share > 0.35 and share > 2 * (hobby["model"] == "atlas-3").mean()


def test_university_class_shares_nat_creation_day_and_assignment(tiny_events: pl.DataFrame) -> None:
    uni = tiny_events.filter(pl.col("persona") == "benign_university_class")
    assert uni["account_tier"].unique().to_list() == ["edu"]
    assert uni["client_ip"].n_unique() <= 4
    created = uni.group_by("account_id").agg(pl.col("account_created_at").first())["account_created_at"]
    assert (created.max() - created.min()).total_seconds() < 4 * 3600
    homework = uni.filter(pl.col("prompt").str.contains("process and a thread|master theorem|Dijkstra"))
    assert homework.height > uni.height * 0.3


def test_shared_card_team_and_relay_users_share_what_attackers_share(tiny_events: pl.DataFrame) -> None:
    team = tiny_events.filter(pl.col("persona") == "benign_shared_card_team")
    assert team["payment_fingerprint"].n_unique() < team["account_id"].n_unique()
    relay_users = tiny_events.filter(pl.col("persona") == "benign_relay_users")
    per_ip = relay_users.group_by("client_ip").agg(pl.col("account_id").n_unique().alias("k"))
    assert per_ip["k"].max() >= 2


def test_relay_hijacked_keys(tiny_events: pl.DataFrame) -> None:
    vic = tiny_events.filter(pl.col("persona") == "relay_hijacked_key")
    ops = tiny_events.filter(pl.col("persona") == "relay")
    per_key = vic.group_by("account_id", "api_key_id").agg(
        pl.len().alias("n"),
        pl.col("system_prompt").is_not_null().mean().alias("sys"),
        pl.col("client_ip").unique().alias("ips"),
    )
    stolen = per_key.filter(pl.col("sys") > 0.7)
    # Exactly one stolen key per victim, carrying a large share of its traffic.
    assert stolen["account_id"].n_unique() == stolen.height == vic["account_id"].n_unique()
    assert stolen["n"].sum() > 0.4 * vic.height
    stolen_ips = set(stolen["ips"].explode())
    own_ips = set(per_key.filter(pl.col("sys") <= 0.7)["ips"].explode())
    assert stolen_ips & set(ops["client_ip"])  # sent from the relay operator's servers
    assert not own_ips & set(ops["client_ip"])


def test_eval_harness_resembles_cot_harvest_but_is_one_steady_account(tiny_events: pl.DataFrame) -> None:
    ev = tiny_events.filter(pl.col("persona") == "benign_eval_harness")
    assert ev["prompt"].str.contains("step by step").mean() > 0.9
    assert (ev["temperature"] == 0.0).all()
    assert ev["payment_fingerprint"].n_unique() == ev["account_id"].n_unique()


def test_attack_prompts_vary(tiny_events: pl.DataFrame) -> None:
    for persona in ("sync_reasoning_harvest", "hydra_proxy", "low_and_slow", "capability_sweep"):
        p = tiny_events.filter(pl.col("persona") == persona)["prompt"]
        assert p.n_unique() > 0.3 * len(p), persona


def test_capability_sweep_accounts_created_in_bursts(tiny_events: pl.DataFrame) -> None:
    cap = tiny_events.filter(pl.col("persona") == "capability_sweep")
    created = cap.group_by("account_id").agg(pl.col("account_created_at").first())
    bursts = created.group_by(pl.col("account_created_at").dt.truncate("3h")).len()
    assert bursts["len"].max() >= 10
    assert cap["account_tier"].n_unique() >= 4
    assert (cap["tool_count"] > 0).mean() > 0.15 and cap["has_image"].mean() > 0.1
