"""Frame families: a thin fleet's wrappers leave even when most of its members look clear."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.share import ExportParams, IntelParams, export_bundle, intel_signals
from distillguard.share._frames import frame_map
from distillguard.share._hashing import duck, hash_canonical
from distillguard.share._keys import load_keyring
from distillguard.share._stix import EXTENSION_ID
from distillguard.share.intel import signals_from_matches

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _wrapper_hashes(provider, key_file: Path) -> set[str]:
    """Keyed frames of the fleet's harvest prompts (what a family should carry)."""
    attack = sorted(p for p in provider.raw_values["prompt"] if "integral of" in p)
    con = duck()
    con.register("events", pa.table({"prompt": attack}))
    frames = con.sql(f"SELECT canon FROM {frame_map(con, 4)}").to_arrow_table()
    secret = load_keyring(key_file).current.secret
    return set(hash_canonical(frames["canon"], secret, "frame").to_pylist())


def _by_level(path: Path) -> tuple[dict[str, set[str]], dict[str, dict]]:
    """Frame hashes per level, and the extension of each level's campaign object."""
    objects = json.loads(path.read_text())["objects"]
    frames: dict[str, set[str]] = {}
    for o in objects:
        ext = o.get("extensions", {}).get(EXTENSION_ID, {})
        if o["type"] == "indicator" and ext["kind"] == "frame":
            frames.setdefault(ext["level"], set()).update(ext["hmac"])
    camps = {
        o["extensions"][EXTENSION_ID]["level"]: {
            **o["extensions"][EXTENSION_ID],
            "confidence": o["confidence"],
        }
        for o in objects
        if o["type"] == "campaign"
    }
    return frames, camps


def _validate(path: Path) -> None:
    from stix2validator import ValidationOptions, validate_instance

    result = validate_instance(json.loads(path.read_text()), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def test_family_carries_wrappers_of_a_partly_flagged_fleet(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False, n_attack=12)
    beta.mark(beta.attack_accounts[:6])  # local scoring caught half of the fleet
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    frames, camps = _by_level(res.path)
    wrappers = _wrapper_hashes(beta, key_file)
    # the suspicious level withholds them: six unflagged accounts use them too ...
    assert not wrappers & frames.get("suspicious", set())
    # ... the family level carries them, with its counts and a lower confidence
    assert wrappers <= frames["family"]
    fam = camps["family"]
    assert (fam["accounts"], fam["flagged"], fam["concentration"]) == (12, 6, 0.5)
    assert fam["confidence"] == ExportParams().family_confidence < ExportParams().weak_max_confidence
    assert res.levels == {"suspicious": 1, "family": 1}
    for ind in (o for o in json.loads(res.path.read_text())["objects"] if o["type"] == "indicator"):
        ext = ind["extensions"][EXTENSION_ID]  # per-value volume for partners' heavy-user rule
        assert ext["accounts"] <= ext["pairs"] <= ext["events"]
    _validate(res.path)
    raw = res.path.read_text()
    assert not any(p in raw for p in beta.raw_values["prompt"])
    off = export_bundle(
        beta.scan,
        key_file=key_file,
        out=tmp_path / "off.json",
        identity="Beta Labs",
        params=ExportParams(share_families=False),
    )
    assert "family" not in off.levels


def test_everyday_wrapper_is_no_family(tmp_path, key_file, make_provider) -> None:
    """A wording many clear accounts use fails the flagged-share test, whoever else uses it."""
    beta = make_provider(tmp_path, "beta", seed=2, caught=False, n_attack=12)
    beta.mark(beta.attack_accounts[:6])
    attack = sorted(p for p in beta.raw_values["prompt"] if "integral of" in p)
    crowd = [f"crowd-{i}" for i in range(20)]
    beta.add_events("crowd", [(a, attack[0]) for a in crowd])
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    frames, _ = _by_level(res.path)
    con = duck()
    con.register("events", pa.table({"prompt": [attack[0]]}))
    canon = con.sql(f"SELECT canon FROM {frame_map(con, 4)}").to_arrow_table()["canon"]
    shared = set(hash_canonical(canon, load_keyring(key_file).current.secret, "frame").to_pylist())
    assert not shared & frames.get("family", set())  # 6 flagged of 32 users: below family_min_share


def test_family_needs_enough_flagged_and_enough_users(tmp_path, key_file, make_provider) -> None:
    beta = make_provider(tmp_path, "beta", seed=2, caught=False, n_attack=12)
    beta.mark(beta.attack_accounts[:4])  # below family_min_flagged (5)
    res = export_bundle(beta.scan, key_file=key_file, out=tmp_path / "b.json", identity="Beta Labs")
    assert "family" not in res.levels
    (tmp_path / "s").mkdir()
    small = make_provider(tmp_path / "s", "small", seed=3, caught=False, n_attack=6)
    small.mark(small.attack_accounts)  # 6 of 6 flagged, but 6 users < family_min_accounts (8)
    res = export_bundle(small.scan, key_file=key_file, out=tmp_path / "s.json", identity="Small")
    assert "family" not in res.levels


def test_partners_families_converge_on_unflagged_members(tmp_path, key_file, make_provider) -> None:
    """Three partners' families fire on the fleet's members here, none on benign accounts
    (their suspicious groups withhold the wrappers: half of each fleet looks clear)."""
    intel = tmp_path / "intel"
    for seed, name in enumerate(["p1", "p2", "p3"], start=10):
        (tmp_path / name).mkdir()
        p = make_provider(tmp_path / name, name, seed=seed, caught=False, n_attack=12)
        p.mark(p.attack_accounts[:6])
        export_bundle(p.scan, key_file=key_file, out=intel / f"{name}.json", identity=name)
    (tmp_path / "beta").mkdir()
    beta = make_provider(tmp_path / "beta", "beta", seed=2, caught=False)
    sig = intel_signals(intel, beta.events, key_file=key_file)
    hit = {r["account_id"] for r in sig.to_pylist() if r["signal"] == "intel_frame_match"}
    assert hit == set(beta.attack_accounts)
    ip = IntelParams()
    w = ip.kind_weight["frame"] * ExportParams().family_confidence / 100 / ip.full_confidence
    strengths = [r["strength"] for r in sig.to_pylist() if r["signal"] == "intel_frame_match"]
    assert strengths == pytest.approx([1 - (1 - w) ** 3] * len(strengths))


def _match(**kw) -> dict:
    base = {
        "account_id": "acc",
        "kind": "frame",
        "campaign_ref": None,
        "matched_values": 2,
        "events": 10,
        "account_events": 10,
        "first_seen": T0,
        "last_seen": T0 + timedelta(days=1),
        "jaccard": None,
        "level": "family",
        "confidence": 0.4,
        "member_events": 8.0,
        "pair_events": 1.5,
    }
    row = {**base, **kw}
    return {**row, "partner_name": row["partner_id"], "indicator_id": row["partner_id"] + "-i"}


def test_heavy_per_value_use_is_ignored() -> None:
    """An account sending each matched value far more often than partners' members do is an
    independent heavy user (an eval harness), even when per-indicator volume averages it away."""
    from distillguard.share._match_core import MATCH_SCHEMA

    p = IntelParams()

    def fired(rows: list[dict]) -> bool:
        return bool(signals_from_matches(pa.Table.from_pylist(rows, schema=MATCH_SCHEMA), p).num_rows)

    member = [_match(partner_id=c) for c in "ab"]
    assert fired(member)
    # 2 values x 40 uses each: within member_max_ratio x 8 per account (160), but 40 uses
    # per value exceed value_max_ratio x 1.5
    heavy = [_match(partner_id=c, events=80, account_events=80) for c in "ab"]
    assert p.member_max_ratio * 8.0 >= 80 and not fired(heavy)
    unknown = [_match(partner_id=c, events=80, account_events=80, pair_events=None) for c in "ab"]
    assert fired(unknown)  # older bundles without pair counts keep the per-account rule only
