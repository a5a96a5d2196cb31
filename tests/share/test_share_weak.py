"""Suspicious-level sharing: weak indicators leave with lower confidence, converge when pooled."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillguard.share import ExportParams, IntelParams, export_bundle, intel_signals
from distillguard.share._frames import frame_map
from distillguard.share._hashing import duck, hash_canonical
from distillguard.share._keys import load_keyring
from distillguard.share._stix import EXTENSION_ID
from distillguard.share.intel import signals_from_matches

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _prompts(provider) -> tuple[list[str], list[str]]:
    """(attack prompts, benign prompts) of a hand-made provider (the fixture's texts)."""
    everything = sorted(provider.raw_values["prompt"])
    attack = [p for p in everything if "integral of" in p]
    return attack, [p for p in everything if p not in attack]


def _validate(bundle: dict) -> None:
    from stix2validator import ValidationOptions, validate_instance

    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def _indicators(path: Path) -> list[dict]:
    return [o for o in json.loads(path.read_text())["objects"] if o["type"] == "indicator"]


def test_suspicious_accounts_are_exported_with_lower_confidence(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    beta.mark(beta.attack_accounts)
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    bundle = json.loads(res.path.read_text())
    _validate(bundle)
    (campaign,) = [o for o in bundle["objects"] if o["type"] == "campaign"]
    ext = campaign["extensions"][EXTENSION_ID]
    assert ext["level"] == "suspicious" and ext["accounts"] == len(beta.attack_accounts)
    assert campaign["confidence"] == 45 and res.levels == {"suspicious": 1} and res.campaigns == 0
    inds = _indicators(res.path)
    kinds = {i["extensions"][EXTENSION_ID]["kind"] for i in inds}
    assert kinds == {"payment", "frame", "template"}  # no user agents, TLS, IPs at this level
    for ind in inds:
        assert ind["confidence"] == 45 and ind["indicator_types"] == ["anomalous-activity"]
        assert ind["extensions"][EXTENSION_ID]["level"] == "suspicious"
        assert ind["extensions"][EXTENSION_ID]["accounts"] == len(beta.attack_accounts)
    text = json.dumps(bundle).lower()
    for value in set().union(*beta.raw_values.values()) | set(beta.attack_accounts):
        assert value.lower() not in text


def test_weak_confidence_is_capped_and_campaigns_keep_their_score(tmp_path, key_file, make_provider) -> None:
    alpha = make_provider(tmp_path, "alpha", seed=1, caught=True)
    alpha.mark(alpha.benign_accounts[:2], verdict="suspicious", score=0.62)
    res = export_bundle(alpha.scan, key_file=key_file, out=tmp_path / "a.json", identity="Alpha AI")
    conf = {
        i["extensions"][EXTENSION_ID]["level"]: i["confidence"]
        for i in _indicators(res.path)
        if i["extensions"][EXTENSION_ID]["kind"] == "payment"
    }
    assert conf == {"campaign": 93, "suspicious": ExportParams().weak_max_confidence}
    off = export_bundle(
        alpha.scan,
        key_file=key_file,
        out=tmp_path / "off.json",
        identity="Alpha AI",
        params=ExportParams(share_suspicious=False),
    )
    assert off.levels == {"campaign": 1}


def test_only_harvest_prompts_give_frames(tmp_path, key_file, make_provider) -> None:
    """A suspicious benign account's everyday prompts never become frame indicators."""
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    beta.mark([*beta.attack_accounts, beta.benign_accounts[1]])
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    shared = {
        h
        for i in _indicators(res.path)
        if i["extensions"][EXTENSION_ID]["kind"] == "frame"
        for h in i["extensions"][EXTENSION_ID]["hmac"]
    }
    attack_prompts, benign_prompts = _prompts(beta)
    con = duck()
    con.register("events", pa.table({"prompt": attack_prompts + benign_prompts}))
    frames = con.sql(f"SELECT raw, canon FROM {frame_map(con, 4)}").to_arrow_table()
    secret = load_keyring(key_file).current.secret
    keyed = hash_canonical(frames["canon"], secret, "frame").to_pylist()
    raw = frames["raw"].to_pylist()
    attack = {h for r, h in zip(raw, keyed, strict=True) if r in attack_prompts}
    benign = {h for r, h in zip(raw, keyed, strict=True) if r in benign_prompts}
    assert attack <= shared and benign and not benign & shared


def test_frames_used_by_many_clear_accounts_are_withheld(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    beta.mark(beta.attack_accounts)
    # the suspicious level alone (frame families have their own rule: test_share_family.py)
    kw = {"key_file": key_file, "identity": "Beta Labs", "params": ExportParams(share_families=False)}
    before = export_bundle(beta.scan, out=tmp_path / "1.json", **kw)
    attack_prompts, _ = _prompts(beta)
    rows = [(a, attack_prompts[0]) for a in beta.benign_accounts[:3]]
    beta.add_events("benign-cot", rows)
    after = export_bundle(beta.scan, out=tmp_path / "2.json", **kw)
    assert before.withheld_common["frame"] == 0
    assert after.withheld_common["frame"] == 2  # head and tail of the shared wrapper
    assert after.values_by_kind["frame"] == before.values_by_kind["frame"] - 2


def test_cross_account_template_signal_joins_the_weak_group(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    kw = {"key_file": key_file, "identity": "Beta Labs"}
    assert export_bundle(beta.scan, out=tmp_path / "none.json", **kw).levels == {}
    pq.write_table(
        pa.table(
            {
                "account_id": beta.attack_accounts[:3],
                "family": ["coordination"] * 3,
                "signal": ["shared_harvest_template"] * 3,
                "strength": [0.6] * 3,
            }
        ),
        beta.scan / "signals.parquet",
    )
    res = export_bundle(beta.scan, out=tmp_path / "x.json", **kw)
    (camp,) = [o for o in json.loads(res.path.read_text())["objects"] if o["type"] == "campaign"]
    assert res.levels == {"suspicious": 1} and camp["extensions"][EXTENSION_ID]["accounts"] == 3


def _weak_partners(tmp_path: Path, key_file: Path, make_provider, names: list[str], score: float) -> Path:
    root = tmp_path / f"{score}-{len(names)}"
    intel = root / "intel"
    for seed, name in enumerate(names, start=10):
        (root / name).mkdir(parents=True)
        p = make_provider(root / name, name, seed=seed, caught=False)
        p.mark(p.attack_accounts, score=score)
        export_bundle(p.scan, key_file=key_file, out=intel / f"{name}.json", identity=name)
    return intel


def _strengths(table: pa.Table, account: str) -> dict[str, float]:
    return {r["signal"]: r["strength"] for r in table.to_pylist() if r["account_id"] == account}


def test_weak_partners_converge(tmp_path, key_file, make_provider) -> None:
    """One weak partner is never enough; more independent weak partners, more strength."""
    (tmp_path / "beta").mkdir()
    beta = make_provider(tmp_path / "beta", "beta", seed=2, caught=False)
    target = beta.attack_accounts[1]
    got = {}
    for n in (1, 2, 3):
        intel = _weak_partners(tmp_path, key_file, make_provider, ["p1", "p2", "p3"][:n], 0.45)
        got[n] = _strengths(intel_signals(intel, beta.events, key_file=key_file), target)
    assert "intel_frame_match" not in got[1] and not got[1]
    assert 0 < got[2]["intel_frame_match"] < got[3]["intel_frame_match"] <= IntelParams().max_strength
    lower = _weak_partners(tmp_path, key_file, make_provider, ["q1", "q2"], 0.25)
    low = _strengths(intel_signals(lower, beta.events, key_file=key_file), target)
    assert low["intel_frame_match"] < got[2]["intel_frame_match"]  # confidence counts
    assert not {a for a in beta.benign_accounts} & {
        r["account_id"] for r in intel_signals(lower, beta.events, key_file=key_file).to_pylist()
    }


def _matches(rows: list[dict]) -> pa.Table:
    from distillguard.share._match_core import MATCH_SCHEMA

    base = {
        "account_id": "acc",
        "partner_name": None,
        "kind": "frame",
        "campaign_ref": None,
        "matched_values": 2,
        "events": 10,
        "account_events": 10,
        "first_seen": datetime(2026, 3, 1, tzinfo=UTC),
        "last_seen": datetime(2026, 3, 2, tzinfo=UTC),
        "jaccard": None,
        "level": "suspicious",
        "confidence": 0.45,
        "member_events": 8.0,
    }
    full = [
        {**base, "partner_name": r["partner_id"], "indicator_id": r["partner_id"] + "-i", **r} for r in rows
    ]
    return pa.Table.from_pylist(full, schema=MATCH_SCHEMA)


def test_strength_formula_partners_confidence_and_heavy_users() -> None:
    p = IntelParams()
    w = p.kind_weight["frame"] * 0.45 / p.full_confidence

    def strength(rows: list[dict]) -> float | None:
        out = signals_from_matches(_matches(rows), p).to_pylist()
        return out[0]["strength"] if out else None

    assert strength([{"partner_id": "a"}]) is None  # one weak partner: no signal
    assert (
        strength([{"partner_id": "a"}, {"partner_id": "a", "indicator_id": "a-2"}]) is None
    )  # not independent
    assert strength([{"partner_id": "a"}, {"partner_id": "b"}]) == pytest.approx(1 - (1 - w) ** 2)
    assert strength([{"partner_id": c} for c in "abc"]) == pytest.approx(1 - (1 - w) ** 3)
    assert strength([{"partner_id": "a", "confidence": 0.9}]) == pytest.approx(p.kind_weight["frame"])
    heavy = {"events": 1000, "account_events": 1000}
    assert strength([{"partner_id": "a", **heavy}, {"partner_id": "b", **heavy}]) is None
    many = [{"partner_id": c} for c in "abcdefghijkl"]
    assert strength(many) == pytest.approx(p.max_strength)
    half = [{**r, "account_events": 40} for r in many]  # 10 of 40 events: coverage 0.25 / 0.5
    assert strength(half) == pytest.approx(min(p.max_strength, (1 - (1 - w) ** 12) * 0.5))


def test_ip_matches_need_three_partners_whatever_their_confidence() -> None:
    """A residential proxy lends a real person's address to fleets: one or two providers'
    campaigns carrying an IP is not enough, three independent ones are."""
    p = IntelParams()
    strong = {"kind": "ip", "confidence": 0.9}

    def rows(kind: str, partners: str) -> list[dict]:
        out = signals_from_matches(_matches([{**strong, "kind": kind, "partner_id": c} for c in partners]), p)
        return out.to_pylist()

    assert rows("ip", "ab") == [] and rows("ip24", "ab") == []
    (three,) = rows("ip", "abc")
    assert three["signal"] == "intel_ip_match" and three["threshold"] == 3.0 and three["value"] == 3.0
    (tls,) = rows("tls", "a")  # other kinds keep their own rule: one high-confidence partner
    assert tls["threshold"] == 1.0
    relaxed = IntelParams(kind_min_partners={})
    assert len(signals_from_matches(_matches([{**strong, "partner_id": "a"}]), relaxed)) == 1


def test_bad_confidence_and_foreign_frames_are_skipped(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    beta.mark(beta.attack_accounts)
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    bundle = json.loads(res.path.read_text())
    inds = [o for o in bundle["objects"] if o["type"] == "indicator"]
    frame = next(i for i in inds if i["extensions"][EXTENSION_ID]["kind"] == "frame")
    frame["extensions"][EXTENSION_ID]["frame"] = {"words": 8, "normalizer": "someone-elses"}
    other = next(i for i in inds if i["extensions"][EXTENSION_ID]["kind"] == "payment")
    other["confidence"] = 250
    res.path.write_text(json.dumps(bundle))
    sig = intel_signals(res.path, beta.events, key_file=key_file)
    skipped = json.loads(sig.schema.metadata[b"distillguard.intel_skipped"])
    assert skipped == {"incompatible_sketch": 1, "malformed_indicator": 1}
