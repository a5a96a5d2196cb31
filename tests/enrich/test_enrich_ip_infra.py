"""IpInfra on tiny hand-made feeds: every file format, precedence, errors, builtin."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from distillguard.enrich import IP_COLUMNS, IpInfra
from distillguard.enrich._mmdb import record_fields
from distillguard.errors import DistillguardError, UnreadableInputError


def _ip(a: str) -> int:
    import ipaddress

    return int(ipaddress.IPv4Address(a))


@pytest.fixture()
def feeds(tmp_path: Path) -> Path:
    d = tmp_path / "feeds"
    d.mkdir()
    (d / "aws-ip-ranges.json").write_text(
        json.dumps(
            {
                "prefixes": [{"ip_prefix": "3.0.0.0/24", "region": "x", "service": "EC2"}],
                "ipv6_prefixes": [{"ipv6_prefix": "2600:1f00::/40", "region": "x", "service": "EC2"}],
            }
        )
    )
    (d / "cloud.json").write_text(json.dumps({"prefixes": [{"ipv4Prefix": "34.0.0.0/24", "scope": "x"}]}))
    (d / "oracle.json").write_text(
        json.dumps({"regions": [{"region": "r", "cidrs": [{"cidr": "129.0.0.0/24"}]}]})
    )
    (d / "azure.csv").write_text("service_tag,region,ip_version,cidr\nAzureCloud.x,x,4,20.0.0.0/24\n")
    (d / "providers.csv").write_text(
        "provider,category,ip_version,cidr\n"
        "apple-proxy,privacy_relay,4,172.224.0.0/24\n"
        "starlink,residential_isp_satellite,4,98.97.0.0/24\n"
        "protonvpn,vpn,4,185.159.0.0/24\n"
    )
    (d / "tor_exit_nodes.txt").write_text("5.5.5.5\n2001:67c::1\n")
    (d / "x4b_vpn_asns.txt").write_text("AS64500 # some vpn\n")
    (d / "x4b_datacenter_asns.txt").write_text("AS64501 # some host\n")
    (d / "mobile_cidrs.txt").write_text("# carrier list\n7.7.0.0/16\n")
    (d / "bad_asn_list.csv").write_text('ASN,Entity\n64502, "Hoster, NL"\n')
    with gzip.open(d / "asn_ipv4_ranges.csv.gz", "wt") as fh:
        fh.write("ip_start_num,ip_end_num,asn\n")
        for start, end, asn in [
            ("73.0.0.0", "73.0.255.255", 64496),  # residential ISP
            ("9.0.0.0", "9.0.0.255", 64500),  # vpn ASN
            ("9.0.1.0", "9.0.1.255", 64501),  # datacenter ASN
            ("9.0.2.0", "9.0.2.255", 64502),  # bad-asn list
            ("5.5.5.0", "5.5.5.255", 64501),  # tor exit inside a datacenter ASN
            ("7.7.0.0", "7.7.255.255", 64496),
        ]:
            fh.write(f"{_ip(start)},{_ip(end)},{asn}\n")
    (d / "asn_names.csv").write_text('asn,as_organization\n64496,"Example Cable, Inc."\n64500,VPN Co\n')
    (d / "README.md").write_text("not a feed; from_dir must skip it\n")
    return d


def _kinds(infra: IpInfra, ips: list[str | None]) -> list[str]:
    return infra.annotate(pa.array(ips, pa.string())).column("ip_kind").to_pylist()


def test_every_format_is_detected(feeds: Path) -> None:
    infra = IpInfra.from_dir(feeds, include_builtin=False)
    detected = dict(infra.sources)
    assert detected[str(feeds / "aws-ip-ranges.json")] == "aws-ranges"
    assert detected[str(feeds / "cloud.json")] == "google-ranges"
    assert detected[str(feeds / "oracle.json")] == "oracle-ranges"
    assert detected[str(feeds / "azure.csv")] == "azure-ranges-csv"
    assert detected[str(feeds / "providers.csv")] == "provider-ranges-csv"
    assert detected[str(feeds / "tor_exit_nodes.txt")] == "cidr-list:tor"
    assert detected[str(feeds / "x4b_vpn_asns.txt")] == "asn-list:vpn"
    assert detected[str(feeds / "mobile_cidrs.txt")] == "cidr-list:mobile"
    assert detected[str(feeds / "asn_ipv4_ranges.csv.gz")] == "ip-to-asn"
    assert str(feeds / "README.md") not in detected


def test_kinds_and_precedence(feeds: Path) -> None:
    infra = IpInfra.from_dir(feeds, include_builtin=False)
    ips = [
        "3.0.0.9",
        "34.0.0.1",
        "129.0.0.1",
        "20.0.0.1",
        "172.224.0.5",
        "98.97.0.1",
        "185.159.0.1",
        "5.5.5.5",
        "9.0.0.1",
        "9.0.1.1",
        "9.0.2.1",
        "73.0.1.2",
        "7.7.1.1",
        "11.0.0.1",
        None,
        "nope",
    ]
    assert _kinds(infra, ips) == [
        "hosting",
        "hosting",
        "hosting",
        "hosting",
        "relay",
        "unknown",
        "vpn",
        "tor",  # tor beats the datacenter ASN it sits in
        "vpn",
        "hosting",
        "hosting",
        "residential",
        "mobile",  # a mobile CIDR beats "residential" from the ASN
        "unknown",
        "unknown",
        "unknown",
    ]


def test_asn_org_prefix_and_ipv6(feeds: Path) -> None:
    infra = IpInfra.from_dir(feeds, include_builtin=False)
    t = infra.annotate(pa.array(["73.0.1.2", "2600:1f00::5", "2001:67c::1", "::ffff:9.0.0.7", None]))
    assert t.schema == IP_COLUMNS
    rows = t.to_pylist()
    assert rows[0] == {
        "asn": 64496,
        "as_org": "Example Cable, Inc.",
        "ip_kind": "residential",
        "ip_country": None,
        "ip_prefix24": "73.0.1.0/24",
    }
    assert rows[1]["ip_kind"] == "hosting" and rows[1]["ip_prefix24"] == "2600:1f00::/48"
    assert rows[2]["ip_kind"] == "tor"
    assert rows[3]["ip_kind"] == "vpn" and rows[3]["asn"] == 64500 and rows[3]["ip_prefix24"] == "9.0.0.0/24"
    assert rows[4] == {
        "asn": None,
        "as_org": None,
        "ip_kind": "unknown",
        "ip_country": None,
        "ip_prefix24": None,
    }


def test_relay_egress_csv_gives_relay_and_country(tmp_path: Path) -> None:
    # Apple's egress-ip-ranges.csv layout: prefix,country,region,city (no header)
    f = tmp_path / "egress-ip-ranges.csv"
    f.write_text("172.224.226.0/27,GB,GB-EN,London\n2a02:26f7:b3c0:4000::/64,FR,FR-75,Paris\n")
    infra = IpInfra.from_paths([f], include_builtin=False)
    rows = infra.annotate(pa.array(["172.224.226.7", "2a02:26f7:b3c0:4000::1", "172.224.226.40"])).to_pylist()
    assert [(r["ip_kind"], r["ip_country"]) for r in rows] == [
        ("relay", "GB"),
        ("relay", "FR"),
        ("unknown", None),
    ]


def test_kind_comment_and_headerless_kind_lines(tmp_path: Path) -> None:
    a = tmp_path / "list-a.txt"
    a.write_text("# kind: vpn\n44.0.0.0/8\n")
    b = tmp_path / "mixed.txt"
    b.write_text("45.0.0.0/8,tor\n46.0.0.0/8,hosting\n")
    infra = IpInfra.from_paths([a, b], include_builtin=False)
    assert _kinds(infra, ["44.1.1.1", "45.1.1.1", "46.1.1.1"]) == ["vpn", "tor", "hosting"]


def test_duplicates_are_broadcast_and_length_kept(feeds: Path) -> None:
    infra = IpInfra.from_dir(feeds, include_builtin=False)
    ips = pa.chunked_array([["73.0.1.2", "9.0.0.1"], ["73.0.1.2", None, "9.0.0.1"]])
    t = infra.annotate(ips)
    assert t.num_rows == 5
    assert t.column("ip_kind").to_pylist() == ["residential", "vpn", "residential", "unknown", "vpn"]


def test_builtin_floor() -> None:
    infra = IpInfra.builtin()
    rows = infra.annotate(
        pa.array(["10.1.2.3", "100.64.0.9", "52.1.2.3", "172.224.226.9", "192.0.2.1", "fe80::1", "8.8.4.4"])
    ).to_pylist()
    assert [r["ip_kind"] for r in rows] == [
        "private",
        "mobile",
        "hosting",
        "relay",
        "private",
        "private",
        "unknown",
    ]
    assert rows[2]["asn"] == 16509 and rows[2]["as_org"] == "Amazon.com, Inc."
    assert rows[3]["asn"] == 36183


def test_builtin_is_included_under_user_files(feeds: Path) -> None:
    with_builtin = IpInfra.from_dir(feeds)
    assert _kinds(with_builtin, ["192.168.1.1", "73.0.1.2"]) == ["private", "residential"]
    assert _kinds(IpInfra.from_dir(feeds, include_builtin=False), ["192.168.1.1"]) == ["unknown"]


def test_errors_are_one_line_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="no such file"):
        IpInfra.from_paths([tmp_path / "missing.txt"])
    junk = tmp_path / "junk.txt"
    junk.write_text("hello world\n")
    with pytest.raises(DistillguardError, match="unrecognised"):
        IpInfra.from_paths([junk])
    nameless = tmp_path / "list.txt"
    nameless.write_text("1.2.3.0/24\n")
    with pytest.raises(DistillguardError, match="without a kind"):
        IpInfra.from_paths([nameless])
    bad_json = tmp_path / "x.json"
    bad_json.write_text("{not json")
    with pytest.raises(UnreadableInputError, match="bad JSON"):
        IpInfra.from_paths([bad_json])
    badkind = tmp_path / "k.csv"
    badkind.write_text("cidr,kind\n1.0.0.0/8,evil\n")
    with pytest.raises(DistillguardError, match="unknown ip kind"):
        IpInfra.from_paths([badkind])
    with pytest.raises(DistillguardError, match="not a directory"):
        IpInfra.from_dir(tmp_path / "nope")
    with pytest.raises(DistillguardError, match="must be strings"):
        IpInfra.builtin().annotate(pa.array([1, 2]))


def test_mmdb_without_package_is_a_clear_error(tmp_path: Path) -> None:
    try:
        import maxminddb  # noqa: F401
    except ModuleNotFoundError:
        db = tmp_path / "GeoLite2-ASN.mmdb"
        db.write_bytes(b"\x00")
        with pytest.raises(DistillguardError, match="needs the 'maxminddb' package"):
            IpInfra.from_paths([db])
    else:
        pytest.skip("maxminddb installed; the error path is not reachable")


@pytest.mark.parametrize(
    ("record", "want"),
    [
        (
            {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"},
            (15169, "GOOGLE", None, None),
        ),
        ({"country": {"iso_code": "de"}}, (None, None, "DE", None)),
        ({"asn": "AS13335", "as_name": "Cloudflare", "country": "US"}, (13335, "Cloudflare", "US", None)),
        ({"is_anonymous_vpn": True, "is_hosting_provider": True}, (None, None, None, "vpn")),
        ({"is_tor_exit_node": True, "is_anonymous_vpn": True}, (None, None, None, "tor")),
        ({"is_residential_proxy": True}, (None, None, None, "relay")),
        ({"connection_type": "Cellular"}, (None, None, None, "mobile")),
        (None, (None, None, None, None)),
    ],
)
def test_mmdb_record_interpretation(record: dict | None, want: tuple) -> None:
    assert record_fields(record) == want
