"""Export: bundle structure, validity, and that nothing raw leaves the building."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.errors import DistillguardError
from distillguard.share import ExportParams, export_bundle, generate_key, match
from distillguard.share._stix import ATLAS_ID, EXTENSION_ID, TLP2_MARKING_IDS


def _validate(bundle: dict) -> None:
    from stix2validator import ValidationOptions, validate_instance

    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def _by_type(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for obj in bundle["objects"]:
        out.setdefault(obj["type"], []).append(obj)
    return out


@pytest.fixture
def exported(providers, key_file, tmp_path):
    alpha, _ = providers
    res = export_bundle(
        alpha.scan,
        key_file=key_file,
        out=tmp_path / "alpha.json",
        identity="Alpha AI",
        params=ExportParams(share_ips=True),
    )
    return res, json.loads(res.path.read_text())


def test_bundle_shape_and_validity(exported) -> None:
    res, bundle = exported
    _validate(bundle)
    objs = _by_type(bundle)
    assert [i["name"] for i in objs["identity"] if i["name"] == "Alpha AI"]
    (campaign,) = objs["campaign"]
    assert (
        campaign["first_seen"].startswith("2026-03-01")
        and campaign["extensions"][EXTENSION_ID]["accounts"] == 6
    )
    assert campaign["extensions"][EXTENSION_ID]["capabilities"] == ["cot_elicitation", "rubric_grading"]
    (pattern,) = objs["attack-pattern"]
    assert pattern["external_references"][0]["external_id"] == ATLAS_ID
    marks = objs["marking-definition"]
    assert [m["id"] for m in marks] == [TLP2_MARKING_IDS["amber"]]
    kinds = {i["extensions"][EXTENSION_ID]["kind"] for i in objs["indicator"]}
    assert kinds == {"payment", "ip", "ip24", "tls", "ua", "frame", "template"}
    rels = {(r["source_ref"], r["relationship_type"], r["target_ref"]) for r in objs["relationship"]}
    for ind in objs["indicator"]:
        assert (ind["id"], "indicates", campaign["id"]) in rels
        assert ind["object_marking_refs"] == [TLP2_MARKING_IDS["amber"]]
        assert ind["pattern_type"] == "stix" and ind["valid_until"] > ind["valid_from"]
    assert (campaign["id"], "uses", pattern["id"]) in rels
    assert res.values_by_kind["payment"] == 4 and res.values_by_kind["template"] == 2


def test_nothing_raw_leaves(exported, providers) -> None:
    """Every raw identifier, prompt, account and campaign id of the input is absent."""
    _, bundle = exported
    text = json.dumps(bundle)
    alpha, _ = providers
    raw = set().union(*alpha.raw_values.values()) | set(alpha.attack_accounts) | set(alpha.benign_accounts)
    raw |= {"c-0001"}
    for value in raw:
        assert value not in text, value
    lowered = text.lower()
    for prompt in alpha.raw_values["prompt"]:  # no 16-character window of any prompt survives
        p = prompt.lower()
        assert not [p[i : i + 16] for i in range(len(p) - 15) if p[i : i + 16] in lowered]
    for ip in alpha.raw_values["ip"]:
        assert ".".join(ip.split(".")[:3]) + ".0/24" not in text


def test_wrong_key_matches_nothing(exported, providers, tmp_path) -> None:
    res, _ = exported
    _, beta = providers
    right = generate_key(tmp_path / "unrelated.json")  # a different group's key with another id
    out = match(
        res.path, [beta.events], key_file=tmp_path / "unrelated.json", out=tmp_path / "m", identity="Beta"
    )
    assert len(out.matches) == 0 and out.skipped == {"unknown_key_id": 7}
    # same key id, wrong secret: everything is computed, nothing joins
    doc = json.loads((tmp_path / "unrelated.json").read_text())
    doc["key_id"] = json.loads(res.path.read_text())["objects"][-1].get("id", "x") and _key_id_of(res.path)
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    forged = match(
        res.path, [beta.events], key_file=tmp_path / "forged.json", out=tmp_path / "m2", identity="Beta"
    )
    assert forged.indicators == 7 and len(forged.matches) == 0
    assert right.current.key_id != _key_id_of(res.path)


def _key_id_of(path: Path) -> str:
    bundle = json.loads(path.read_text())
    return next(o for o in bundle["objects"] if o["type"] == "indicator")["extensions"][EXTENSION_ID][
        "key_id"
    ]


def test_common_values_are_withheld(providers, key_file, tmp_path) -> None:
    """A value also used outside the campaign is withheld once more than N outsiders use it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from distillguard.schema import EVENT_SCHEMA

    alpha, _ = providers
    part = alpha.events / "events" / "day=2026-03-01" / "part-0.parquet"
    row = pq.read_table(part).filter(
        pa.compute.equal(pq.read_table(part)["account_id"], alpha.benign_accounts[1])
    )
    row = (
        row.slice(0, 1)
        .set_column(
            row.schema.get_field_index("client_ip"),
            EVENT_SCHEMA.field("client_ip"),
            pa.array(["198.51.100.77"]),
        )
        .set_column(
            row.schema.get_field_index("event_id"), EVENT_SCHEMA.field("event_id"), pa.array(["extra-1"])
        )
    )
    pq.write_table(row, part.with_name("part-1.parquet"))
    kw = {"key_file": key_file, "identity": "Alpha AI"}
    lenient = export_bundle(alpha.scan, out=tmp_path / "l.json", params=ExportParams(share_ips=True), **kw)
    strict = export_bundle(
        alpha.scan,
        out=tmp_path / "s.json",
        params=ExportParams(max_outside_accounts=0, share_ips=True),
        **kw,
    )
    assert lenient.withheld_common["ip"] == 0 and lenient.values_by_kind["ip"] == 41
    assert strict.withheld_common["ip"] == 1 and strict.values_by_kind["ip"] == 40
    assert strict.values_by_kind["payment"] == lenient.values_by_kind["payment"]


def test_events_default_to_scan_meta_and_options(providers, key_file, tmp_path) -> None:
    alpha, _ = providers
    res = export_bundle(
        alpha.scan,
        key_file=key_file,
        out=tmp_path / "r.json",
        identity="Alpha AI",
        tlp="red",
        events=[alpha.events],
    )
    bundle = json.loads(res.path.read_text())
    _validate(bundle)
    assert _by_type(bundle)["marking-definition"][0]["id"] == TLP2_MARKING_IDS["red"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"identity": None}, "no provider identity"),
        ({"tlp": "purple"}, "unknown TLP"),
        ({"scan": "missing"}, "does not exist"),
    ],
)
def test_user_mistakes(providers, key_file, tmp_path, kwargs, message) -> None:
    alpha, _ = providers
    scan = tmp_path / kwargs.pop("scan") if "scan" in kwargs else alpha.scan
    args = {"identity": "Alpha AI", **kwargs}
    with pytest.raises(DistillguardError, match=message):
        export_bundle(scan, key_file=key_file, out=tmp_path / "x.json", **args)


def test_indicator_events_count_each_event_once(
    exported, providers, tmp_path, key_file, make_provider
) -> None:
    """A prompt's head and tail frames are one event in the counts partners' heavy-user rule reads."""
    _, bundle = exported
    alpha, _ = providers
    campaign_events = 25 * len(alpha.attack_accounts)
    exts = [i["extensions"][EXTENSION_ID] for i in _by_type(bundle)["indicator"]]
    assert all(e["events"] <= campaign_events for e in exts), [(e["kind"], e["events"]) for e in exts]
    assert [e["events"] for e in exts if e["kind"] == "frame"] == [campaign_events]

    gamma = make_provider(tmp_path / "g", "gamma", seed=3, caught=False, n_attack=12)
    gamma.mark(gamma.attack_accounts[:6])
    res = export_bundle(gamma.scan, key_file=key_file, out=tmp_path / "g.json", identity="Gamma")
    family = [
        o["extensions"][EXTENSION_ID]
        for o in json.loads(res.path.read_text())["objects"]
        if o["type"] == "indicator" and o["extensions"][EXTENSION_ID]["level"] == "family"
    ]
    assert family and all(e["events"] == 25 * 12 for e in family)


def _kinds(path: Path) -> set[str]:
    indicators = _by_type(json.loads(path.read_text()))["indicator"]
    return {i["extensions"][EXTENSION_ID]["kind"] for i in indicators}


def test_ip_indicators_are_opt_in(providers, key_file, tmp_path, capsys) -> None:
    """Any group member can hash every IPv4 address: IPs and /24s leave only when asked, with a warning."""
    alpha, _ = providers
    kw = {"key_file": key_file, "identity": "Alpha AI"}
    default = export_bundle(alpha.scan, out=tmp_path / "d.json", **kw)
    assert _kinds(default.path) == {"payment", "tls", "ua", "frame", "template"}
    assert "ip" not in default.values_by_kind and "warning" not in capsys.readouterr().err
    text = default.path.read_text()
    for ip in alpha.raw_values["ip"]:  # not even keyed: a member could read them
        for kind in ("ip", "ip24"):
            from distillguard.share._hashing import keyed_hashes
            from distillguard.share._keys import load_keyring

            secret = load_keyring(key_file).current.secret
            assert keyed_hashes(pa.array([ip]), secret, kind).to_pylist()[0] not in text

    (tmp_path / "share.toml").write_text("share_ips = true\n")
    opted = export_bundle(alpha.scan, out=tmp_path / "o.json", config=tmp_path / "share.toml", **kw)
    assert _kinds(opted.path) >= {"ip", "ip24"}
    err = capsys.readouterr().err
    assert err.startswith("warning: exporting client IPs") and len(err.strip().splitlines()) == 1

    (tmp_path / "bad.toml").write_text('share_ips = "yes"\n')
    with pytest.raises(DistillguardError, match="share_ips must be true or false"):
        export_bundle(alpha.scan, out=tmp_path / "b.json", config=tmp_path / "bad.toml", **kw)
