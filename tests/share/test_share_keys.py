"""Key files: parsing, validation, generation and rotation."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.share import generate_key, load_keyring
from distillguard.share._keys import MIN_KEY_BYTES


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_hex_and_base64_keys_load(tmp_path: Path) -> None:
    raw = bytes(range(40))
    hex_file = _write(tmp_path / "h.json", {"key_id": "grp-1", "key": raw.hex()})
    b64_file = _write(
        tmp_path / "b.json", {"key_id": "grp-1", "key": "base64:" + base64.b64encode(raw).decode()}
    )
    assert load_keyring(hex_file).current.secret == raw
    assert load_keyring(b64_file).current.secret == raw


def test_toml_key_file_with_previous(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    path.write_text(
        f'key_id = "new-1"\nkey = "hex:{"ab" * 32}"\nexpires = "2099-01-01T00:00:00Z"\n'
        f'[[previous]]\nkey_id = "old-1"\nkey = "hex:{"cd" * 32}"\n'
    )
    ring = load_keyring(path)
    assert ring.current.key_id == "new-1"
    assert ring.get("old-1").secret == bytes.fromhex("cd" * 32)
    assert ring.get("nope") is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"key_id": "g-1", "key": "ab" * (MIN_KEY_BYTES - 1)}, "need at least"),
        ({"key_id": "g-1", "key": "base64:!!!notbase64"}, "not valid base64"),
        ({"key": "ab" * 32}, "key_id"),
        ({"key_id": "g-1"}, "missing key"),
        ({"key_id": "g-1", "key": "ab" * 32, "previous": [{"key_id": "g-1", "key": "cd" * 32}]}, "duplicate"),
        ({"key_id": "g-1", "key": "ab" * 32, "expires": "tomorrow"}, "bad timestamp"),
    ],
)
def test_bad_key_files_are_one_line_errors(tmp_path: Path, doc: dict, message: str) -> None:
    with pytest.raises(DistillguardError, match=message) as info:
        load_keyring(_write(tmp_path / "k.json", doc))
    assert "\n" not in str(info.value)


def test_missing_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match="cannot read key file"):
        load_keyring(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DistillguardError, match="not valid"):
        load_keyring(tmp_path / "bad.json")


def test_expired_current_key_refuses_to_sign(tmp_path: Path) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    ring = load_keyring(_write(tmp_path / "k.json", {"key_id": "g-1", "key": "ab" * 32, "expires": past}))
    with pytest.raises(DistillguardError, match="expired"):
        ring.signing_key()


def test_generate_is_private_fresh_and_rotates(tmp_path: Path) -> None:
    first = generate_key(tmp_path / "k1.json")
    assert stat.S_IMODE((tmp_path / "k1.json").stat().st_mode) == 0o600
    assert len(first.current.secret) == 32
    again = generate_key(tmp_path / "other.json")
    assert again.current.secret != first.current.secret
    assert again.current.key_id != first.current.key_id
    with pytest.raises(DistillguardError, match="exists"):
        generate_key(tmp_path / "k1.json")
    rotated = generate_key(tmp_path / "k2.json", rotate=tmp_path / "k1.json", keep_previous_days=30)
    reloaded = load_keyring(tmp_path / "k2.json")
    assert reloaded.current.key_id == rotated.current.key_id
    assert [k.key_id for k in reloaded.previous] == [first.current.key_id]
    assert reloaded.previous[0].secret == first.current.secret
    assert reloaded.previous[0].expires <= datetime.now(UTC) + timedelta(days=31)
    assert first.current.secret.hex() not in repr(reloaded)
    assert str(list(first.current.secret)) not in repr(reloaded) and "secret=" not in repr(reloaded)
