"""Push and pull through a real TAXII 2.1 server (medallion 3.0.0 on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.share import export_bundle, match, pull, push
from distillguard.share.testing import local_taxii_server

pytest.importorskip("medallion")


@pytest.fixture(scope="module")
def server():
    with local_taxii_server(page_size=4) as srv:
        yield srv


def _creds(srv) -> dict:
    return {"server": srv.url, "collection": srv.collection, "user": srv.user, "password": srv.password}


def test_push_pull_pages_resume_and_match(server, providers, key_file, tmp_path) -> None:
    alpha, beta = providers
    bundle = export_bundle(alpha.scan, key_file=key_file, out=tmp_path / "a.json", identity="Alpha AI").path
    sent = push(bundle, **_creds(server))
    n_objects = len(json.loads(bundle.read_text())["objects"])
    assert sent.skipped == 1 and sent.objects == n_objects - 1 and sent.succeeded == sent.objects
    assert sent.objects > 3 * server.page_size  # more than one page holds

    state = tmp_path / "state.json"
    got = pull(**_creds(server), out=tmp_path / "inbox", state_file=state, page_size=3)
    assert got.pages >= sent.objects // server.page_size  # the server capped our limit; pages followed
    assert got.objects >= sent.objects
    ids = {o["id"] for o in json.loads(got.path.read_text())["objects"]}
    assert {
        o["id"] for o in json.loads(bundle.read_text())["objects"] if o["type"] != "extension-definition"
    } <= ids
    assert json.loads(state.read_text())  # Date-Added-Last remembered

    again = pull(**_creds(server), out=tmp_path / "inbox", state_file=state)
    assert again.objects == 0 and again.added_after == got.date_added_last and again.path is None

    dup = push(bundle, **_creds(server))
    assert dup.succeeded == 0 and dup.failed == dup.objects  # same id + modified already held

    res = match(
        tmp_path / "inbox", [beta.events], key_file=key_file, out=tmp_path / "m", identity="Beta Labs"
    )
    assert res.accounts == len(beta.attack_accounts) + 1
    back = push(res.out / "sightings.json", **_creds(server))
    assert back.succeeded >= res.sightings
    newer = pull(**_creds(server), out=tmp_path / "inbox2", state_file=state)
    types = {o["type"] for o in json.loads(newer.path.read_text())["objects"]}
    assert "sighting" in types and "campaign" not in types  # only what was added since last time


def test_discovery_url_and_env_credentials(server, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DISTILLGUARD_TAXII_USER", server.user)
    monkeypatch.setenv("DISTILLGUARD_TAXII_PASSWORD", server.password)
    got = pull(server=server.discovery, collection=server.collection, out=tmp_path / "x.json")
    assert got.pages >= 1


def test_wrong_password_is_a_one_line_error(server, tmp_path) -> None:
    with pytest.raises(DistillguardError, match="HTTP 401") as info:
        pull(
            server=server.url, collection=server.collection, user=server.user, password="wrong", out=tmp_path
        )
    assert "\n" not in str(info.value)


def test_unknown_collection(server, tmp_path) -> None:
    with pytest.raises(DistillguardError, match="TAXII"):
        pull(
            server=server.url,
            collection="00000000-0000-4000-8000-000000000000",
            user=server.user,
            password=server.password,
            out=tmp_path,
        )


def test_push_rejects_non_bundles(server, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(DistillguardError, match="not a STIX bundle"):
        push(tmp_path / "x.json", **_creds(server))
