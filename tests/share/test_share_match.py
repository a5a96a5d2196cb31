"""Match and intel signals: what partners' intel finds locally, and bad intel never crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from distillguard.errors import DistillguardError
from distillguard.schema import SIGNALS_SCHEMA
from distillguard.share import ExportParams, IntelParams, export_bundle, generate_key, intel_signals, match
from distillguard.share._stix import EXTENSION_ID


@pytest.fixture
def alpha_bundle(providers, key_file, tmp_path) -> Path:
    alpha, _ = providers
    return export_bundle(
        alpha.scan,
        key_file=key_file,
        out=tmp_path / "intel" / "alpha.json",
        identity="Alpha AI",
        params=ExportParams(share_ips=True),
    ).path


def _validate(path: Path) -> None:
    from stix2validator import ValidationOptions, validate_instance

    assert validate_instance(json.loads(path.read_text()), ValidationOptions(version="2.1")).is_valid


def test_match_finds_the_campaign_at_the_partner(providers, key_file, alpha_bundle, tmp_path) -> None:
    _, beta = providers
    res = match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "m", identity="Beta Labs")
    strong = set(pc.filter(res.matches["account_id"], pc.not_equal(res.matches["kind"], "ua")).to_pylist())
    assert strong == set(beta.attack_accounts)
    kinds = {r["account_id"]: set() for r in res.matches.to_pylist()}
    for r in res.matches.to_pylist():
        kinds[r["account_id"]].add(r["kind"])
    assert kinds[beta.attack_accounts[0]] == {"payment", "ip", "ip24", "tls", "ua", "frame", "template"}
    assert kinds[beta.attack_accounts[1]] == {
        "ip",
        "ip24",
        "tls",
        "ua",
        "frame",
        "template",
    }  # own card, not shared
    assert kinds[beta.benign_accounts[0]] == {"ua"}  # only the harvester's HTTP library in common
    assert not set(beta.benign_accounts[1:]) & set(kinds)
    _validate(res.out / "sightings.json")
    sightings = [
        o for o in json.loads((res.out / "sightings.json").read_text())["objects"] if o["type"] == "sighting"
    ]
    assert len(sightings) == res.sightings == 7
    assert all(s["where_sighted_refs"] and s["count"] >= 1 for s in sightings)
    text = (res.out / "sightings.json").read_text()
    assert not any(a in text for a in beta.attack_accounts + beta.benign_accounts)
    assert (res.out / "matches.parquet").is_file()


def test_intel_signals_schema_and_strength(providers, key_file, alpha_bundle) -> None:
    _, beta = providers
    sig = intel_signals(alpha_bundle, beta.events, key_file=key_file)
    assert sig.schema.remove_metadata() == SIGNALS_SCHEMA.remove_metadata()
    rows = sig.to_pylist()
    assert {r["family"] for r in rows} == {"intel"}
    by = {(r["account_id"], r["signal"]): r for r in rows}
    params = IntelParams()
    pay = by[(beta.attack_accounts[0], "intel_payment_match")]
    assert pay["strength"] == pytest.approx(params.kind_weight["payment"]) and pay["value"] == 1
    ua = by[(beta.benign_accounts[0], "intel_ua_match")]
    assert ua["strength"] == pytest.approx(params.kind_weight["ua"])
    tmpl = by[(beta.attack_accounts[1], "intel_template_match")]
    assert tmpl["value"] >= params.sketch.min_jaccard and tmpl["threshold"] == params.sketch.min_jaccard
    assert all(0 <= r["strength"] <= params.max_strength for r in rows)
    assert "Alpha AI" in pay["evidence"]


def test_independent_partners_strengthen_and_duplicates_do_not(tmp_path, key_file, make_provider) -> None:
    alpha = make_provider(tmp_path, "alpha", seed=1, caught=True)
    gamma = make_provider(tmp_path, "gamma", seed=3, caught=True)
    beta = make_provider(tmp_path, "beta", seed=2, caught=False)
    intel = tmp_path / "intel"
    export_bundle(alpha.scan, key_file=key_file, out=intel / "a.json", identity="Alpha AI")
    export_bundle(alpha.scan, key_file=key_file, out=intel / "a-again.json", identity="Alpha AI")
    one = intel_signals(intel, beta.events, key_file=key_file)
    export_bundle(gamma.scan, key_file=key_file, out=intel / "g.json", identity="Gamma Inc")
    two = intel_signals(intel, beta.events, key_file=key_file)

    def strength(table, acc: str, name: str) -> float:
        return next(
            r["strength"] for r in table.to_pylist() if r["account_id"] == acc and r["signal"] == name
        )

    acc = beta.attack_accounts[0]
    assert strength(one, acc, "intel_payment_match") == pytest.approx(0.6)
    assert strength(two, acc, "intel_payment_match") == pytest.approx(1 - 0.4**2)
    assert strength(two, acc, "intel_tls_match") > strength(one, acc, "intel_tls_match")
    assert json.loads(two.schema.metadata[b"distillguard.intel_partners"]).__len__() == 2


def test_bad_intel_is_skipped_with_reasons(providers, key_file, alpha_bundle, tmp_path) -> None:
    _, beta = providers
    intel = alpha_bundle.parent
    (intel / "garbage.json").write_text("{not json")
    (intel / "not-a-bundle.json").write_text(json.dumps({"type": "indicator"}))
    bundle = json.loads(alpha_bundle.read_text())
    inds = [o for o in bundle["objects"] if o["type"] == "indicator"]
    inds[0]["extensions"][EXTENSION_ID]["key_id"] = "someone-elses-key"
    inds[1]["valid_until"] = "2026-03-02T00:00:00Z"
    inds[2]["extensions"][EXTENSION_ID]["hmac"] = ["not-hex"]
    alpha_bundle.write_text(json.dumps(bundle))
    sig = intel_signals(intel, beta.events, key_file=key_file, as_of=datetime(2026, 4, 1, tzinfo=UTC))
    skipped = json.loads(sig.schema.metadata[b"distillguard.intel_skipped"])
    assert skipped == {
        "malformed_bundle": 2,
        "unknown_key_id": 1,
        "expired_indicator": 1,
        "malformed_indicator": 1,
    }
    assert len(sig) > 0  # the three good indicators still count

    untrusted = intel_signals(alpha_bundle, beta.events, key_file=key_file, trusted=["Gamma Inc"])
    assert len(untrusted) == 0
    assert json.loads(untrusted.schema.metadata[b"distillguard.intel_skipped"])["untrusted_identity"] == 7
    trusted = intel_signals(alpha_bundle, beta.events, key_file=key_file, trusted=["alpha ai"])
    assert len(trusted) == len(intel_signals(alpha_bundle, beta.events, key_file=key_file))


def test_own_bundle_coming_back_is_ignored(providers, key_file, alpha_bundle, tmp_path) -> None:
    alpha, _ = providers
    res = match(alpha_bundle, [alpha.events], key_file=key_file, out=tmp_path / "self", identity="Alpha AI")
    assert len(res.matches) == 0 and res.skipped == {"own_identity": 7}


def test_rotated_key_still_matches_old_intel(providers, key_file, alpha_bundle, tmp_path) -> None:
    _, beta = providers
    generate_key(tmp_path / "rotated.json", rotate=key_file)
    res = match(
        alpha_bundle, [beta.events], key_file=tmp_path / "rotated.json", out=tmp_path / "r", identity="B"
    )
    assert res.accounts == len(beta.attack_accounts) + 1


def test_missing_intel_path_is_a_user_error(providers, key_file, tmp_path) -> None:
    _, beta = providers
    with pytest.raises(DistillguardError, match="does not exist"):
        intel_signals(tmp_path / "nope", beta.events, key_file=key_file)


def test_expired_previous_key_is_not_used(providers, key_file, alpha_bundle, tmp_path) -> None:
    _, beta = providers
    doc = json.loads(key_file.read_text())
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    ring = {"key_id": "new-key-1", "key": "ab" * 32, "previous": [{**doc, "expires": past, "previous": []}]}
    (tmp_path / "k.json").write_text(json.dumps(ring))
    sig = intel_signals(alpha_bundle, beta.events, key_file=tmp_path / "k.json")
    assert len(sig) == 0 and json.loads(sig.schema.metadata[b"distillguard.intel_skipped"]) == {
        "expired_key": 7
    }


def _events_by_indicator(matches) -> dict[tuple[str, str], int]:
    return {(r["account_id"], r["kind"]): r["events"] for r in matches.to_pylist()}


def test_match_counts_never_exceed_the_accounts_events(providers, key_file, alpha_bundle, tmp_path) -> None:
    """A prompt's head and tail frames in one indicator are one event, not two."""
    _, beta = providers
    res = match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "m", identity="Beta Labs")
    rows = res.matches.to_pylist()
    assert {r["kind"] for r in rows} >= {"frame", "template"}
    assert all(r["events"] <= r["account_events"] for r in rows), [
        (r["account_id"], r["kind"], r["events"], r["account_events"])
        for r in rows
        if r["events"] > r["account_events"]
    ]
    # every attack event carries a harvest frame of the campaign: all 25 match, once each
    frames = {r["account_id"]: r["events"] for r in rows if r["kind"] == "frame"}
    assert frames == {a: 25 for a in beta.attack_accounts}


def test_values_listed_twice_in_an_indicator_count_events_once(
    providers, key_file, alpha_bundle, tmp_path
) -> None:
    _, beta = providers
    plain = match(alpha_bundle, [beta.events], key_file=key_file, out=tmp_path / "a", identity="Beta Labs")
    bundle = json.loads(alpha_bundle.read_text())
    for obj in bundle["objects"]:
        ext = obj.get("extensions", {}).get(EXTENSION_ID, {})
        for field in ("hmac", "signatures"):
            if field in ext:
                ext[field] = ext[field] * 2
    doubled = tmp_path / "doubled.json"
    doubled.write_text(json.dumps(bundle))
    twice = match(doubled, [beta.events], key_file=key_file, out=tmp_path / "b", identity="Beta Labs")
    assert _events_by_indicator(twice.matches) == _events_by_indicator(plain.matches)
    assert twice.matches["matched_values"].to_pylist() == plain.matches["matched_values"].to_pylist()
