"""Behavioural feature tests, run on every Ibis backend (see conftest.py).

Every expected value is worked out by hand from the rows in the test, never by running the
feature code a second way.
"""

from __future__ import annotations

import datetime as dt

import pytest

approx = pytest.approx


@pytest.fixture(params=["duckdb", "polars", "pyspark"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Every backend, PySpark included: ``make test`` runs these on Spark (local[2]), so the
    claim that the features run unchanged there is checked on every run (conftest's
    ``backend_name`` marks PySpark ``slow``; this module overrides it). Without PySpark or
    Java the PySpark cases skip, except in CI where they fail."""
    if request.param == "pyspark":
        from tests.engines.spark import require_spark

        require_spark()
    return request.param


#: the time ``at = 0`` of the hand-made rows (conftest.T0: a Monday, 00:00 UTC)
T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)


def test_volume_tokens_gaps_and_egress(features_of) -> None:
    rows = [
        # "a": an exact 10 s period; tokens and egress vary
        {"account_id": "a", "at": 0, "input_tokens": 100, "output_tokens": 50, "tool_count": 1,
         "ip_kind": "hosting", "client_ip": "1.1.1.1"},
        {"account_id": "a", "at": 10, "input_tokens": 200, "output_tokens": 50, "reasoning_tokens": 10,
         "ip_kind": "hosting", "client_ip": "1.1.1.1"},
        {"account_id": "a", "at": 20, "input_tokens": 300, "output_tokens": 50, "reasoning_tokens": 20,
         "ip_kind": "residential", "client_ip": "1.1.1.2"},
        {"account_id": "a", "at": 30, "input_tokens": 400, "output_tokens": 50, "reasoning_tokens": 30,
         "ip_kind": "relay", "client_ip": "1.1.1.3"},
        # "b": two fast gaps (1 s, 1.5 s), then a session break (4997.5 s > 1800 s)
        {"account_id": "b", "at": 0},
        {"account_id": "b", "at": 1},
        {"account_id": "b", "at": 2.5},
        {"account_id": "b", "at": 5000},
    ]  # fmt: skip
    f = features_of(rows)[0]
    a, b = f["a"], f["b"]
    assert (a["n"], a["in_tok"], a["out_tok"], a["reason_tok"]) == (4, 1000.0, 200.0, 60.0)
    assert a["out_in_ratio"] == approx(201 / 1001)
    assert a["reasoning_share"] == approx(60 / 200)
    assert a["out_per_req"] == approx(50.0)
    assert a["tool_share"] == approx(0.25)
    assert a["span_h"] == approx(30 / 3600)
    assert a["first_ts"] == T0 and a["last_ts"] == T0 + dt.timedelta(seconds=30)
    assert (a["gap_n"], a["gap_cv"], a["fast_gap_share"], a["periodic_share"]) == (3, 0.0, 0.0, 1.0)
    assert (a["hosting_share"], a["residential_share"], a["relay_share"]) == (0.5, 0.25, 0.25)
    assert a["unknown_ip_share"] == 0.0 and a["ips"] == 3
    # b: gaps 1 and 1.5 -> mean 1.25, variance (1 + 2.25) / 2 - 1.25^2 = 0.0625, CV 0.25 / 1.25
    assert b["gap_n"] == 2 and b["gap_cv"] == approx(0.2)
    assert b["fast_gap_share"] == 1.0
    assert b["periodic_share"] == 0.0  # the one pair follows a fast gap: not a period
    assert b["unknown_ip_share"] == 1.0 and b["ips"] == 0
    assert b["reasoning_share"] == 0.0 and b["span_h"] == approx(5000 / 3600)


def test_distinct_counts_and_peaks(features_of) -> None:
    rows = [
        {"account_id": "c", "at": 3600.0, "model": "m1", "client_ip": "ip1", "user_agent": "ua1"},
        {"account_id": "c", "at": 3600.2, "model": "m1", "client_ip": "ip2", "user_agent": "ua1"},
        {"account_id": "c", "at": 3600.5, "model": "m2", "client_ip": "ip1", "user_agent": "ua1"},
        {"account_id": "c", "at": 3660.0, "model": "m1", "client_ip": "ip1", "user_agent": "ua2"},
        {"account_id": "c", "at": 7300.0, "model": "m2", "client_ip": "ip1", "user_agent": "ua1"},
    ]
    c = features_of(rows)[0]["c"]
    assert (c["peak_sec_n"], c["peak_min_n"], c["peak_hour_n"], c["peak_day_n"]) == (3, 3, 4, 5)
    assert (c["active_hour_buckets"], c["active_hours"], c["active_days"]) == (2, 2, 1)
    assert (c["models"], c["ips"], c["user_agents"]) == (2, 2, 2)


def test_running_features_at_checkpoints(features_of) -> None:
    checkpoints = [T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)]
    rows = [
        {"account_id": "d", "at": 600, "model": "m1", "template_family": 1},
        {"account_id": "d", "at": 4000, "model": "m1", "template_family": 1},
        {"account_id": "d", "at": 8000, "model": "m2", "template_family": 2},
        {"account_id": "e", "at": 5000},
    ]
    by_k = features_of(rows, checkpoints)
    assert sorted(by_k) == [0, 1, 2]
    assert set(by_k[0]) == {"d"} and set(by_k[1]) == set(by_k[2]) == {"d", "e"}
    d0, d1, d2 = (by_k[k]["d"] for k in range(3))
    assert [d["n"] for d in (d0, d1, d2)] == [1, 2, 3]
    assert [d["models"] for d in (d0, d1, d2)] == [1, 1, 2]  # m1 twice counts once
    assert [d["families"] for d in (d0, d1, d2)] == [1, 1, 2]
    assert d1["first_ts"] == T0 + dt.timedelta(seconds=600)
    assert d1["last_ts"] == T0 + dt.timedelta(seconds=4000)
    assert d2["span_h"] == approx((8000 - 600) / 3600)
    # Simpson concentration: [1] -> 1, [1, 1] -> 4 / 4, [1, 1, 2] -> (4 + 1) / 9
    assert [d["family_concentration"] for d in (d0, d1, d2)] == approx([1.0, 1.0, 5 / 9])
    assert by_k[1]["e"]["n"] == 1 and by_k[1]["e"]["first_ts"] == T0 + dt.timedelta(seconds=5000)


def test_attributes_local_clock_and_geography(features_of) -> None:
    created = T0 - dt.timedelta(hours=2)
    jp = {"account_id": "f", "account_country": "JP", "account_created_at": created,
          "ip_kind": "hosting", "ip_country": "jp", "client_ip": "9.9.9.9"}  # fmt: skip
    rows = [
        {**jp, "at": 0, "account_tier": "unknown"},  # 09:00 in Japan (UTC+9)
        {**jp, "at": 10, "account_tier": "pro", "payment_fingerprint": "card1"},
        {**jp, "at": 20, "account_tier": "free"},
        {**jp, "at": 15 * 3600 + 1800},  # 00:30 in Japan: night
        {
            "account_id": "g",
            "at": 0,
            "account_country": "ZZ",
            "ip_kind": "residential",
            "ip_country": "DE",
            "client_ip": "8.8.8.8",
        },
    ]
    f = features_of(rows)[0]
    jf, g = f["f"], f["g"]
    assert (jf["tier"], jf["country"], jf["payment"], jf["provider"]) == ("pro", "JP", "card1", "local")
    assert jf["created_at"] == created and jf["age_first_use_h"] == approx(2.0)
    assert (jf["tz_n"], jf["night_share"]) == (4, 0.25)
    assert jf["country_mismatch_share"] == 0.0  # same country, whatever the case
    assert g["tier"] == "unknown" and g["payment"] is None and g["age_first_use_h"] is None
    assert (g["tz_n"], g["night_share"]) == (0, None)  # no local clock for an unknown country
    assert g["country_mismatch_share"] == 1.0


def test_population_relative_features(features_of) -> None:
    rows = []
    for i in range(5):  # five ordinary accounts on the main model and a common TLS stack
        for j in range(4):
            rows.append({"account_id": f"h{i}", "at": 60 * j, "tls_fingerprint": "common"})
    for j, cap in enumerate(["code", "code", "math", "chat"]):
        rows[j]["capability"] = cap  # h0
    # "o": one request to an old model present from the start with 1/27 of the traffic
    rows += [{"account_id": "o", "at": 0, "model": "m-old", "tls_fingerprint": "rare2"}]
    rows += [{"account_id": "o", "at": 60 * j, "tls_fingerprint": "common"} for j in (1, 2, 3)]
    # "p": pivots to a model first seen 10 h into the input, on its own TLS stack
    for at, model in ((36000, "m-new"), (36060, "m-new"), (36120, "m-main")):
        rows.append({"account_id": "p", "at": at, "model": model, "tls_fingerprint": "rare1"})
    f = features_of(rows)[0]
    assert f["o"]["minority_model_share"] == 0.25
    assert f["h1"]["minority_model_share"] == 0.0 and f["p"]["minority_model_share"] == 0.0
    assert (f["p"]["pivot_share"], f["p"]["pivot_n"]) == (approx(2 / 3), 2)
    assert (f["h1"]["pivot_share"], f["h1"]["pivot_n"]) == (0.0, 0)
    # a fingerprint is rare while at most max(2, 0.5% of 7 accounts) accounts use it
    assert f["p"]["rare_tls_share"] == 1.0 and f["o"]["rare_tls_share"] == 0.25
    assert f["h1"]["rare_tls_share"] == 0.0
    h0 = f["h0"]
    assert (h0["top_capability"], h0["cap_top_share"], h0["capabilities"]) == ("code", 0.5, 2)
    assert (f["h1"]["top_capability"], f["h1"]["cap_top_share"], f["h1"]["capabilities"]) == (None, 0.0, 0)
