"""IpInfra over the real public feeds in shared/data/ip_infra (read in place)."""

from __future__ import annotations

import csv
import ipaddress
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distillguard.enrich import IpInfra


@pytest.fixture(scope="module")
def real_infra(shared_data: Path) -> IpInfra:
    return IpInfra.from_dir(shared_data / "ip_infra")


def test_every_real_file_is_recognised(real_infra: IpInfra, shared_data: Path) -> None:
    loaded = {Path(p).name for p, _ in real_infra.sources if p != "builtin"}
    assert loaded == {p.name for p in (shared_data / "ip_infra").iterdir()}
    info = real_infra.describe()
    assert info["asn_ranges"] > 400_000
    assert info["asns_by_kind"]["hosting"] > 800


def test_well_known_addresses(real_infra: IpInfra) -> None:
    rows = real_infra.annotate(
        pa.array(["8.8.8.8", "73.162.0.1", "172.224.226.1", "192.168.0.1", "3.80.0.1", "5.9.0.1"])
    ).to_pylist()
    assert [(r["asn"], r["ip_kind"]) for r in rows] == [
        (15169, "hosting"),
        (7922, "residential"),  # Comcast cable
        (36183, "relay"),  # iCloud Private Relay egress
        (None, "private"),
        (14618, "hosting"),
        (24940, "hosting"),
    ]
    assert rows[1]["as_org"].startswith("Comcast")


def test_every_tor_exit_is_tor(real_infra: IpInfra, shared_data: Path) -> None:
    exits = (shared_data / "ip_infra/tor_exit_nodes.txt").read_text().split()
    kinds = real_infra.annotate(pa.array(exits)).column("ip_kind").to_pylist()
    assert set(kinds) == {"tor"}


def test_aws_ec2_prefixes_are_hosting(real_infra: IpInfra, shared_data: Path) -> None:
    feed = json.loads((shared_data / "ip_infra/aws-ip-ranges.json").read_text())
    rng = np.random.default_rng(0)
    nets = [ipaddress.ip_network(p["ip_prefix"]) for p in feed["prefixes"] if p["service"] == "EC2"]
    picks = [str(n.network_address + int(rng.integers(0, n.num_addresses))) for n in rng.choice(nets, 300)]
    kinds = real_infra.annotate(pa.array(picks)).column("ip_kind").to_pylist()
    assert set(kinds) <= {"hosting", "relay", "vpn", "tor"}
    assert kinds.count("hosting") / len(kinds) > 0.95


def test_builtin_prefixes_agree_with_the_asn_table(real_infra: IpInfra) -> None:
    """The embedded prefixes are facts: the real IP-to-ASN table must route them to the
    ASN the builtin file claims (sampled at the start, middle and end of each)."""
    from importlib.resources import files

    text = (files("distillguard.enrich") / "data" / "builtin_prefixes.csv").read_text()
    checked = 0
    for row in csv.DictReader(text.splitlines()):
        if not row["asn"]:
            continue
        net = ipaddress.ip_network(row["cidr"])
        probes = [net.network_address + k for k in (1, net.num_addresses // 2, net.num_addresses - 2)]
        got = real_infra.annotate(pa.array([str(p) for p in probes])).column("asn").to_pylist()
        assert sum(a == int(row["asn"]) for a in got) >= 2, (row["cidr"], got)
        checked += 1
    assert checked >= 15


def test_residential_share_of_random_routed_space(real_infra: IpInfra) -> None:
    """Random public IPv4 addresses: most routed space is ISP space, not hosting."""
    rng = np.random.default_rng(1)
    values = rng.integers(1 << 24, 223 << 24, 20_000, dtype=np.uint64).astype(np.uint32)
    texts = [str(ipaddress.IPv4Address(int(v))) for v in values]
    kinds = real_infra.annotate(pa.array(texts)).column("ip_kind").to_pylist()
    share = {k: kinds.count(k) / len(kinds) for k in set(kinds)}
    assert share["residential"] > 0.3
    assert 0.02 < share["hosting"] < 0.5
