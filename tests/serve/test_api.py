"""The HTTP surface in-process (FastAPI's TestClient, no background threads): auth, ingest, risk."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dg_serve_world import SCOPES, make_events, make_tokens, ndjson

from distillguard.errors import DistillguardError
from distillguard.serve import ActionPolicy, ServeParams, load_params
from distillguard.serve._app import build_runtime, create_app, serve_paths
from distillguard.serve._risk import AccountRisk, RiskIndex
from distillguard.serve._wal import read_segment

ROUTES = [
    ("POST", "/v1/events", "ingest"),
    ("POST", "/v1/traces", "ingest"),
    ("GET", "/v1/accounts/acct-1/risk", "read"),
    ("POST", "/v1/risk:batch", "read"),
    ("GET", "/metrics", "read"),
    ("POST", "/v1/admin/increment", "admin"),
    ("GET", "/v1/admin/status", "admin"),
]


@pytest.fixture()
def world(tmp_path):
    from fastapi.testclient import TestClient

    state = tmp_path / "state"
    tokens = make_tokens(state)
    rt = build_runtime(state, ServeParams(max_quarantine_in_response=5), background=False)
    with TestClient(create_app(rt)) as client:
        yield client, tokens, rt


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _body(path: str) -> tuple[bytes, dict[str, str]]:
    if path == "/v1/events":
        return ndjson(make_events(3)), {}
    if path == "/v1/traces":
        return b"{}", {"Content-Type": "application/json"}
    if path == "/v1/risk:batch":
        return json.dumps({"account_ids": ["acct-1"]}).encode(), {}
    return b"", {}


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_auth_matrix(world, method, path, scope):
    client, tokens, _ = world
    body, headers = _body(path)
    send = lambda h: client.request(method, path, content=body or None, headers={**headers, **h})  # noqa: E731
    assert send({}).status_code == 401
    assert send({"Authorization": "Bearer dgt_not-a-token"}).status_code == 401
    assert send({"Authorization": f"Basic {tokens[scope]}"}).status_code == 401
    for other in SCOPES:
        if other != scope:
            r = send(_auth(tokens[other]))
            assert r.status_code == 403, (other, r.text)
    r = send(_auth(tokens[scope]))
    assert r.status_code == 200, r.text


def test_healthz_needs_no_token_and_tokens_are_stored_hashed(world):
    client, tokens, rt = world
    assert client.get("/healthz").json()["status"] == "ok"
    text = serve_paths(rt.state)["tokens"].read_text()
    assert all(t not in text for t in tokens.values())


def test_ndjson_rows_accepted_or_quarantined_with_reasons_and_durable(world):
    client, tokens, rt = world
    events = make_events(20)
    lines = ndjson(events).decode().splitlines()
    lines[3] = "{not json"
    lines[7] = json.dumps({**events[7], "output_tokens": -5})
    lines[9] = lines[8]  # the same event id twice in one request
    r = client.post("/v1/events", content=("\n".join(lines) + "\n").encode(), headers=_auth(tokens["ingest"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["rows_read"], out["accepted"], out["quarantined"]) == (20, 17, 3)
    assert set(out["quarantined_by_reason"]) == {
        "malformed_row",
        "duplicate_event_id",
        out["quarantine"][1]["reason"],
    }
    assert [q["row_number"] for q in out["quarantine"]] == [4, 8, 10]
    assert all(q["detail"] for q in out["quarantine"])
    # durable: already in the write-ahead segment when the response was sent
    seg = read_segment(next(serve_paths(rt.state)["wal"].glob("seg-*.open")))
    assert sum(t.num_rows for t in seg.events) == 17
    assert sum(t.num_rows for t in seg.quarantine) == 3


def test_gzip_body_and_malformed_bodies(world):
    client, tokens, _ = world
    h = _auth(tokens["ingest"])
    r = client.post(
        "/v1/events", content=gzip.compress(ndjson(make_events(5))), headers={**h, "Content-Encoding": "gzip"}
    )
    assert r.status_code == 200 and r.json()["accepted"] == 5
    for body, extra, status in [
        (b"", {}, 400),
        (b"garbage that is not json\nnor this\n", {}, 400),
        (b"\xff\xfe\x00bad", {}, 400),
        (b"not gzip at all", {"Content-Encoding": "gzip"}, 400),
        (b"x", {"Content-Encoding": "br"}, 415),
    ]:
        r = client.post("/v1/events", content=body, headers={**h, **extra})
        assert r.status_code == status, (body, r.text)
        msg = r.json()["error"]
        assert msg and "\n" not in msg
    r = client.post(
        "/v1/traces", content=b"\x00\x01garbage", headers={**h, "Content-Type": "application/x-protobuf"}
    )
    assert r.status_code == 400 and "\n" not in r.json()["error"]
    r = client.post("/v1/traces", content=b"{]", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400


def test_body_limit_is_413(tmp_path):
    from fastapi.testclient import TestClient

    state = tmp_path / "state"
    tokens = make_tokens(state)
    rt = build_runtime(state, ServeParams(max_body_bytes=1000), background=False)
    with TestClient(create_app(rt)) as client:
        h = _auth(tokens["ingest"])
        assert client.post("/v1/events", content=ndjson(make_events(50)), headers=h).status_code == 413
        bomb = gzip.compress(b"\n" * 100_000)
        r = client.post("/v1/events", content=bomb, headers={**h, "Content-Encoding": "gzip"})
        assert r.status_code == 413


def test_risk_lookup_unknown_known_and_policy(world, tmp_path):
    client, tokens, rt = world
    h = _auth(tokens["read"])
    unknown = client.get("/v1/accounts/nobody/risk", headers=h).json()
    assert unknown["known"] is False and unknown["action"] == "allow"
    rt.index = RiskIndex(
        {
            "bad": AccountRisk(0.9, "attack", "C0001", ("a", "b", "c", "d"), "2026-03-02T00:00:00Z"),
            "meh": AccountRisk(0.4, "suspicious", None, ("x",), None),
            "ok": AccountRisk(0.0, "clear", None, (), None),
        },
        {"C0001": ["bad"]},
    )
    bad = client.get("/v1/accounts/bad/risk", headers=h).json()
    assert bad == {
        "account_id": "bad",
        "known": True,
        "score": 0.9,
        "verdict": "attack",
        "campaign_id": "C0001",
        "reasons": ["a", "b", "c"],
        "flagged_at": "2026-03-02T00:00:00Z",
        "action": "block",
    }
    r = client.post("/v1/risk:batch", json={"account_ids": ["meh", "ok", "nobody"]}, headers=h).json()
    assert [x["action"] for x in r["results"]] == ["verify", "allow", "allow"]
    assert client.post("/v1/risk:batch", content=b"[1]", headers=h).status_code == 400
    assert client.post("/v1/risk:batch", content=b"{no", headers=h).status_code == 400


def test_action_policy_from_toml(tmp_path):
    cfg = tmp_path / "serve.toml"
    cfg.write_text(
        'increment_interval_s = 5\nwebhook_urls = ["http://127.0.0.1:9/x"]\n'
        '[actions]\nblock_min_score = 0.8\nsuspicious = "throttle"\n'
    )
    p = load_params(cfg)
    assert p.increment_interval_s == 5 and p.webhook_urls == ("http://127.0.0.1:9/x",)
    assert p.actions.action("attack", 0.9) == "block"
    assert p.actions.action("attack", 0.7) == "degrade_reasoning"
    assert p.actions.action("suspicious", 0.5) == "throttle"
    assert p.actions.action(None, None) == "allow"
    for text in ("nope = 1\n", '[actions]\nattack = "nuke"\n', "increment_interval_s = 0\n", "x = [\n"):
        cfg.write_text(text)
        with pytest.raises(DistillguardError):
            load_params(cfg)
    with pytest.raises(DistillguardError):
        ActionPolicy(clear="shrug")


def test_risk_index_reads_the_state_scan(tmp_path):
    scan = tmp_path / "scan"
    scan.mkdir()
    pq.write_table(
        pa.table(
            {
                "account_id": ["a", "b"],
                "score": [0.9, 0.1],
                "verdict": ["attack", "clear"],
                "campaign_id": ["C1", None],
                "reasons": [["r1", "r2"], []],
                "flagged_at": pa.array([None, None], pa.timestamp("us", "UTC")),
            }
        ),
        scan / "accounts.parquet",
    )
    idx = RiskIndex.load(scan)
    assert idx.campaigns == {"C1": ["a"]}
    assert idx.lookup("a", ActionPolicy(), 1)["reasons"] == ["r1"]


def test_decode_process_pool_gives_the_same_answers(tmp_path):
    """``decode_workers`` > 0 validates in other processes: same counts, same one-line 400."""
    from fastapi.testclient import TestClient

    state = tmp_path / "state"
    tokens = make_tokens(state)
    rt = build_runtime(state, ServeParams(decode_workers=1), background=False)
    try:
        with TestClient(create_app(rt)) as client:
            h = _auth(tokens["ingest"])
            lines = ndjson(make_events(10)).decode().splitlines()
            lines[2] = "{oops"
            r = client.post("/v1/events", content=("\n".join(lines) + "\n").encode(), headers=h)
            assert r.status_code == 200 and (r.json()["accepted"], r.json()["quarantined"]) == (9, 1)
            r = client.post("/v1/events", content=b"nothing here\n", headers=h)
            assert r.status_code == 400 and "no line of the body is a JSON object" in r.json()["error"]
    finally:
        rt.decode_pool.shutdown(wait=True)
    seg = read_segment(next(serve_paths(state)["wal"].glob("seg-*.open")))
    assert sum(t.num_rows for t in seg.events) == 9


def test_risk_answers_are_encoded_once_per_index_and_policy():
    """A known account's answer is cached as bytes; a new policy or index re-encodes it."""
    idx = RiskIndex({"bad": AccountRisk(0.9, "attack", "C1", ("a", "b"), None)}, {"C1": ["bad"]})
    block, soft = ActionPolicy(), ActionPolicy(attack="verify")
    body, known = idx.answer("bad", block, 1)
    assert known and json.loads(body) == idx.lookup("bad", block, 1)
    assert idx.answer("bad", block, 1)[0] is body  # the cached bytes
    assert json.loads(idx.answer("bad", soft, 1)[0])["action"] == "verify"
    assert json.loads(idx.answer("bad", soft, 2)[0])["reasons"] == ["a", "b"]
    body, known = idx.answer('who"?', block, 1)
    assert not known and json.loads(body) == idx.lookup('who"?', block, 1)
    assert json.loads(idx.answer("nobody", soft, 1)[0]) == idx.lookup("nobody", soft, 1)
    assert 'who"?' not in idx._encoded  # unknown ids are not kept


def test_increments_start_every_interval_not_interval_after_the_last_ended(tmp_path):
    """The cadence is max(interval, scoring time), not their sum."""
    import itertools
    import time

    from distillguard.serve._worker import IncrementWorker

    w = IncrementWorker(
        tmp_path,
        None,
        interval_s=0.5,
        timeout_s=10,
        scan_options={},
        allowed_lateness_h=None,
        on_index=lambda *a: None,
        on_result=lambda *a: None,
    )
    starts: list[float] = []

    def slow_increment() -> dict:
        starts.append(time.monotonic())
        time.sleep(0.2 if len(starts) < 3 else 1.0)  # shorter, then longer than the interval
        return {"increment": None}

    w._increment = slow_increment
    w.start()
    deadline = time.monotonic() + 10
    while len(starts) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    w.stop()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 4
    assert all(0.45 < g < 0.68 for g in gaps[:2]), gaps  # 0.5 start to start, not 0.7
    assert all(0.95 < g < 1.35 for g in gaps[2:4]), gaps  # longer than the interval: 1.0, not 1.5
