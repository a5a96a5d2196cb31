"""Network infrastructure the simulated traffic comes from: IPv4 prefixes by kind.

This is the ONE place the simulator learns where addresses live. Without a corpus it
uses the small built-in table below: real, publicly announced prefixes of well-known
networks (so an IP-infrastructure enrichment that knows the same networks classifies
the traffic correctly), one row per prefix with the operator's ASN and country. It is
deliberately small and coarse; ``enrich/data`` owns the authoritative embedded list and
this table can be pointed at it later. With ``--corpus DIR`` the hosting, VPN, Tor and
relay kinds come from the real range feeds in ``DIR/ip_infra`` instead.

Kinds: ``residential`` (home ISPs), ``mobile`` (carrier CGNAT egress: many users per
address), ``corporate`` and ``university`` (NAT: a whole organisation behind a few
addresses), ``hosting`` (cloud / datacenter), ``vpn`` (commercial VPN exits), ``tor``
(exit relays), ``relay`` (shared-egress privacy relays such as iCloud Private Relay).
Residential proxy pools are drawn from ``residential``: that is what makes them hard.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distillguard.errors import DistillguardError
from distillguard.simulate._ids import ipv4_to_int

KINDS: tuple[str, ...] = (
    "residential",
    "mobile",
    "corporate",
    "university",
    "hosting",
    "vpn",
    "tor",
    "relay",
)

# (cidr, asn, organisation, country). Public allocations of the named operators.
_BUILTIN: dict[str, list[tuple[str, int, str, str]]] = {
    "residential": [
        ("73.0.0.0/8", 7922, "Comcast Cable", "US"),
        ("98.192.0.0/10", 7922, "Comcast Cable", "US"),
        ("96.224.0.0/11", 701, "Verizon Business", "US"),
        ("70.48.0.0/13", 577, "Bell Canada", "CA"),
        ("79.192.0.0/10", 3320, "Deutsche Telekom", "DE"),
        ("86.128.0.0/10", 2856, "British Telecommunications", "GB"),
        ("90.0.0.0/9", 3215, "Orange", "FR"),
        ("58.32.0.0/11", 4812, "China Telecom", "CN"),
        ("123.112.0.0/12", 4808, "China Unicom", "CN"),
        ("49.36.0.0/14", 55836, "Reliance Jio", "IN"),
        ("126.0.0.0/8", 17676, "SoftBank", "JP"),
        ("121.128.0.0/10", 4766, "Korea Telecom", "KR"),
        ("177.32.0.0/11", 28573, "Claro NET", "BR"),
        ("95.24.0.0/13", 8402, "Beeline", "RU"),
        ("82.0.0.0/11", 5089, "Virgin Media", "GB"),
        ("31.4.128.0/17", 12479, "Orange Espagne", "ES"),
        ("101.160.0.0/11", 1221, "Telstra", "AU"),
        ("188.24.0.0/13", 8708, "RCS & RDS", "RO"),
    ],
    "mobile": [
        ("172.56.0.0/14", 21928, "T-Mobile USA", "US"),
        ("174.192.0.0/10", 6167, "Verizon Wireless", "US"),
        ("109.40.0.0/13", 3209, "Vodafone GmbH", "DE"),
        ("223.104.0.0/13", 9808, "China Mobile", "CN"),
        ("106.192.0.0/11", 55836, "Reliance Jio", "IN"),
        ("92.40.0.0/16", 12576, "EE Mobile", "GB"),
    ],
    "corporate": [
        ("12.0.0.0/10", 7018, "AT&T Enterprise", "US"),
        ("4.0.0.0/10", 3356, "Lumen Enterprise", "US"),
        ("62.96.0.0/13", 3257, "GTT Enterprise", "DE"),
        ("213.52.0.0/16", 8220, "Colt Technology", "GB"),
    ],
    "university": [
        ("171.64.0.0/14", 32, "Stanford University", "US"),
        ("128.32.0.0/16", 25, "University of California Berkeley", "US"),
        ("131.111.0.0/16", 786, "University of Cambridge (Jisc)", "GB"),
        ("166.111.0.0/16", 4538, "Tsinghua University (CERNET)", "CN"),
        ("129.132.0.0/16", 559, "ETH Zurich (SWITCH)", "CH"),
        ("133.11.0.0/16", 2907, "University of Tokyo (SINET)", "JP"),
    ],
    "hosting": [
        ("3.208.0.0/12", 14618, "Amazon AWS", "US"),
        ("54.144.0.0/14", 14618, "Amazon AWS", "US"),
        ("52.0.0.0/15", 16509, "Amazon AWS", "US"),
        ("34.64.0.0/10", 396982, "Google Cloud", "US"),
        ("35.184.0.0/13", 396982, "Google Cloud", "US"),
        ("20.36.0.0/14", 8075, "Microsoft Azure", "US"),
        ("129.146.0.0/16", 31898, "Oracle Cloud", "US"),
        ("159.89.0.0/16", 14061, "DigitalOcean", "US"),
        ("165.227.0.0/16", 14061, "DigitalOcean", "US"),
        ("49.12.0.0/16", 24940, "Hetzner Online", "DE"),
        ("51.75.0.0/16", 16276, "OVH", "FR"),
        ("47.88.0.0/14", 45102, "Alibaba Cloud", "SG"),
        ("43.128.0.0/14", 132203, "Tencent Cloud", "SG"),
    ],
    "vpn": [
        ("185.213.154.0/24", 39351, "31173 Services (Mullvad)", "SE"),
        ("146.70.0.0/16", 9009, "M247", "GB"),
        ("37.19.192.0/19", 60068, "Datacamp / CDN77", "GB"),
        ("89.187.160.0/19", 60068, "Datacamp / CDN77", "US"),
        ("185.159.156.0/22", 62371, "Proton AG", "CH"),
    ],
    "tor": [
        ("185.220.100.0/22", 208294, "Tor exit relays (Zwiebelfreunde)", "DE"),
        ("199.249.230.0/24", 62744, "Tor exit relays (Quintex)", "US"),
        ("23.129.64.0/24", 396507, "Tor exit relays (Emerald Onion)", "US"),
    ],
    "relay": [
        ("172.224.224.0/19", 36183, "Akamai (iCloud Private Relay)", "US"),
        ("104.28.0.0/16", 13335, "Cloudflare (iCloud Private Relay)", "US"),
        ("146.75.160.0/19", 54113, "Fastly (iCloud Private Relay)", "US"),
    ],
}


@dataclass(frozen=True)
class PrefixTable:
    """IPv4 prefixes of one kind: first address, number of addresses, owner, country."""

    kind: str
    base: np.ndarray  # uint64 first address
    size: np.ndarray  # uint64 number of addresses
    asn: np.ndarray  # int64
    org: tuple[str, ...]
    country: np.ndarray  # str

    def __len__(self) -> int:
        return len(self.base)


def _parse_cidr(cidr: str) -> tuple[int, int] | None:
    """(first address, size) of an IPv4 CIDR, or None for IPv6 / junk lines."""
    cidr = cidr.strip()
    if not cidr or ":" in cidr or cidr.startswith("#"):
        return None
    addr, _, bits = cidr.partition("/")
    try:
        first = ipv4_to_int(addr)
        plen = int(bits) if bits else 32
    except ValueError:
        return None
    if not 0 <= plen <= 32:
        return None
    size = 1 << (32 - plen)
    return first & ~(size - 1) & 0xFFFFFFFF, size


def _table(kind: str, rows: list[tuple[str, int, str, str]]) -> PrefixTable:
    parsed = [(_parse_cidr(c), a, o, k) for c, a, o, k in rows]
    parsed = [(p, a, o, k) for p, a, o, k in parsed if p is not None]
    if not parsed:
        raise DistillguardError(f"no usable IPv4 prefixes for network kind {kind!r}")
    return PrefixTable(
        kind=kind,
        base=np.array([p[0] for p, *_ in parsed], dtype=np.uint64),
        size=np.array([p[1] for p, *_ in parsed], dtype=np.uint64),
        asn=np.array([a for _, a, _, _ in parsed], dtype=np.int64),
        org=tuple(o for _, _, o, _ in parsed),
        country=np.array([k for *_, k in parsed]),
    )


class NetRanges:
    """Samples addresses of a network kind, vectorized; optionally matching a country."""

    def __init__(self, tables: dict[str, PrefixTable], source: str) -> None:
        missing = [k for k in KINDS if k not in tables]
        if missing:
            raise DistillguardError(f"network ranges lack kinds: {', '.join(missing)}")
        self.tables = tables
        self.source = source

    @classmethod
    def builtin(cls) -> NetRanges:
        """The small embedded table (works without any data on disk)."""
        return cls({k: _table(k, rows) for k, rows in _BUILTIN.items()}, "builtin")

    @classmethod
    def from_corpus(cls, root: Path) -> NetRanges:
        """Hosting/VPN/Tor/relay from ``root/ip_infra`` feeds; the other kinds built in."""
        ip = Path(root) / "ip_infra"
        tables = {k: _table(k, rows) for k, rows in _BUILTIN.items()}
        loaders = {
            "hosting": _cloud_rows,
            "vpn": lambda d: _plain_rows(d / "x4b_vpn_ipv4.txt", 0, "commercial VPN (X4B list)"),
            "tor": lambda d: _plain_rows(d / "tor_exit_nodes.txt", 0, "Tor exit"),
            "relay": _relay_rows,
        }
        used = []
        for kind, load in loaders.items():
            rows = load(ip)
            if rows:
                tables[kind] = _table(kind, rows)
                used.append(kind)
        return cls(tables, f"corpus:{root} ({', '.join(used) or 'none'})" if used else "builtin")

    def sample(self, kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` addresses (uint32) of ``kind``, prefixes weighted by sqrt(size)."""
        t = self.tables[kind]
        w = np.sqrt(t.size.astype(np.float64))
        idx = rng.choice(len(t), size=n, p=w / w.sum())
        return self._hosts(t, idx, rng)

    def sample_in_country(self, kind: str, rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
        """One address per entry of ``countries``, from that country's prefixes when any exist."""
        t = self.tables[kind]
        countries = np.asarray(countries)
        idx = rng.integers(0, len(t), size=len(countries))
        for c in np.unique(countries):
            own = np.flatnonzero(t.country == c)
            if len(own):
                sel = np.flatnonzero(countries == c)
                idx[sel] = own[rng.integers(0, len(own), size=len(sel))]
        return self._hosts(t, idx, rng)

    @staticmethod
    def _hosts(t: PrefixTable, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size = t.size[idx]
        # Skip network and broadcast addresses where the prefix has room for hosts.
        span = np.where(size > 2, size - 2, size).astype(np.float64)
        off = np.floor(rng.random(len(idx)) * span).astype(np.uint64) + (size > 2)
        return (t.base[idx] + off).astype(np.uint32)


def _cloud_rows(ip: Path) -> list[tuple[str, int, str, str]]:
    rows: list[tuple[str, int, str, str]] = []
    aws = ip / "aws-ip-ranges.json"
    if aws.is_file():
        data = json.loads(aws.read_text())
        rows += [(p["ip_prefix"], 16509, "Amazon AWS", "US") for p in data.get("prefixes", [])]
    gcp = ip / "google-cloud-ip-ranges.json"
    if gcp.is_file():
        data = json.loads(gcp.read_text())
        rows += [
            (p["ipv4Prefix"], 396982, "Google Cloud", "US") for p in data["prefixes"] if "ipv4Prefix" in p
        ]
    oci = ip / "oracle-cloud-ip-ranges.json"
    if oci.is_file():
        data = json.loads(oci.read_text())
        rows += [(c["cidr"], 31898, "Oracle Cloud", "US") for r in data["regions"] for c in r["cidrs"]]
    azure = ip / "azure_cloud_regional_ranges.csv"
    if azure.is_file():
        with azure.open(newline="") as fh:
            rows += [
                (r["cidr"], 8075, "Microsoft Azure", "US")
                for r in csv.DictReader(fh)
                if r["ip_version"] == "4"
            ]
    return rows


def _plain_rows(path: Path, asn: int, org: str) -> list[tuple[str, int, str, str]]:
    if not path.is_file():
        return []
    return [(line.strip(), asn, org, "ZZ") for line in path.read_text().splitlines() if line.strip()]


def _relay_rows(ip: Path) -> list[tuple[str, int, str, str]]:
    path = ip / "lordalfred_provider_ranges.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [
            (r["cidr"], 714, "iCloud Private Relay", "US")
            for r in csv.DictReader(fh)
            if r["category"] == "privacy_relay" and r["ip_version"] == "4"
        ]
