"""MaxMind ``.mmdb`` feeds: a real database is read through the optional ``geo`` extra, and
without ``maxminddb`` the error is one line naming the extra."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.enrich import IpInfra
from distillguard.errors import DistillguardError

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _write_mmdb(path: Path) -> Path:
    """A GeoLite2-ASN-like database and an Anonymous-IP-like one, written with mmdb-writer."""
    writer_mod = pytest.importorskip("mmdb_writer", reason="mmdb-writer (dev extra) writes the test database")
    from netaddr import IPSet

    asn = writer_mod.MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    asn.insert_network(
        IPSet(["203.0.113.0/24"]),
        {"autonomous_system_number": 64500, "autonomous_system_organization": "Example Hosting"},
    )
    asn.insert_network(
        IPSet(["198.51.100.0/24"]), {"autonomous_system_number": 64501, "is_tor_exit_node": True}
    )
    asn.to_db_file(str(path))
    return path


def test_a_real_mmdb_fills_asn_org_and_kind(tmp_path: Path) -> None:
    pytest.importorskip("maxminddb", reason="reading .mmdb needs the geo extra")
    real = sorted(SHARED_DATA.rglob("*.mmdb")) if SHARED_DATA.is_dir() else []
    if real:  # a real database beside the repo: it must open and answer without error
        annotated = IpInfra.from_paths(real[:1]).annotate(pa.array(["8.8.8.8", "1.1.1.1"]))
        assert annotated.num_rows == 2
    db = _write_mmdb(tmp_path / "GeoLite2-ASN.mmdb")
    out = IpInfra.from_paths([db], include_builtin=False).annotate(
        pa.array(["203.0.113.7", "198.51.100.9", "192.0.2.1"])
    )
    assert out["asn"].to_pylist()[:2] == [64500, 64501]
    assert out["as_org"].to_pylist()[0] == "Example Hosting"
    assert out["ip_kind"].to_pylist()[1] == "tor"
    assert out["asn"].to_pylist()[2] is None


def test_missing_maxminddb_is_one_line_naming_the_extra(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "GeoLite2-ASN.mmdb"
    db.write_bytes(b"\x00")
    monkeypatch.setitem(sys.modules, "maxminddb", None)  # import maxminddb -> ModuleNotFoundError
    with pytest.raises(DistillguardError) as err:
        IpInfra.from_paths([db])
    message = str(err.value)
    assert "\n" not in message
    assert "needs the 'maxminddb' package" in message and "distillguard[geo]" in message
