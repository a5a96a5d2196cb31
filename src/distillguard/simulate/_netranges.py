"""Network infrastructure the simulated traffic comes from: prefixes by kind, IPv4 and IPv6.

This is the ONE place the simulator learns where addresses live. Without a corpus:

* ``hosting`` and ``relay`` come from the enrich stage's embedded list
  (``distillguard/enrich/data/builtin_prefixes.csv``, the table ``IpInfra.builtin()``
  reads), so every simulated cloud or privacy-relay address is classified as such by
  enrichment without ``--corpus``. Its one ``mobile`` row (RFC 6598 carrier-grade NAT
  space) is not used: those addresses never reach a public API as a source address.
* the other kinds use the small table below: real, publicly announced prefixes of
  well-known networks, one row per prefix with the operator's ASN and country. The
  enrich list has no residential / corporate / university / VPN / Tor prefixes (it
  recognises VPNs by ASN, which needs an IP-to-ASN feed), so these stay here.
* IPv6: residential ISPs and mobile carriers hand each subscriber its own /64 (no NAT),
  so v6 clients are modelled as /64 networks drawn from the operators' v6 allocations
  below (interface ids are added per account and day when events are written).

With ``--corpus DIR`` the hosting, VPN, Tor and relay kinds come from the real range
feeds in ``DIR/ip_infra`` instead.

Addresses are ``uint64`` codes: an IPv4 address is its 32-bit value; an IPv6 client is
the upper 64 bits of its /64 (always >= 2**32 for global unicast ``2000::/3``), see
``_ids.ip_strings``.

Kinds: ``residential`` (home ISPs), ``mobile`` (carrier CGNAT egress: many users per
address), ``corporate`` and ``university`` (NAT: a whole organisation behind a few
addresses), ``hosting`` (cloud / datacenter), ``vpn`` (commercial VPN exits), ``tor``
(exit relays), ``relay`` (shared-egress privacy relays such as iCloud Private Relay).
Residential proxy pools are drawn from ``residential``: that is what makes them hard.
"""

from __future__ import annotations

import csv
import io
import ipaddress
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
# hosting and relay: see _enrich_rows (the enrich stage's embedded list).
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
}


# IPv6 allocations (RIR records) of residential ISPs and mobile carriers: (cidr, asn, org, country).
_BUILTIN_V6: dict[str, list[tuple[str, int, str, str]]] = {
    "residential": [
        ("2601::/20", 7922, "Comcast Cable", "US"),
        ("2600:1700::/24", 7018, "AT&T Internet Services", "US"),
        ("2600:6c00::/24", 20115, "Charter Communications", "US"),
        ("2003::/19", 3320, "Deutsche Telekom", "DE"),
        ("2a01:e00::/26", 12322, "Free SAS", "FR"),
        ("2a01:cb00::/24", 3215, "Orange", "FR"),
        ("2a00:23c0::/26", 2856, "British Telecommunications", "GB"),
        ("2001:8000::/20", 1221, "Telstra", "AU"),
        ("240e::/20", 4134, "China Telecom", "CN"),
        ("2408:8000::/20", 4837, "China Unicom", "CN"),
        ("2405:201::/32", 55836, "Reliance Jio (JioFiber)", "IN"),
    ],
    "mobile": [
        ("2607:fb90::/32", 21928, "T-Mobile USA", "US"),
        ("2600:1000::/24", 22394, "Verizon Wireless", "US"),
        ("2600:300::/24", 20057, "AT&T Mobility", "US"),
        ("2a01:598::/32", 3320, "Telekom Deutschland (mobile)", "DE"),
        ("2409:4000::/22", 55836, "Reliance Jio", "IN"),
        ("2401:4900::/32", 45609, "Bharti Airtel", "IN"),
        ("2409:8000::/20", 9808, "China Mobile", "CN"),
    ],
}
#: Kinds of the enrich stage's embedded prefix list used as is (same meaning in both).
ENRICH_KINDS: tuple[str, ...] = ("hosting", "relay")


def _enrich_rows(kind: str) -> list[tuple[str, int, str, str]]:
    """Rows of ``kind`` from ``distillguard/enrich/data/builtin_prefixes.csv`` (IPv4 only)."""
    from importlib.resources import files

    path = files("distillguard.enrich").joinpath("data/builtin_prefixes.csv")
    if not path.is_file():
        raise DistillguardError("enrich/data/builtin_prefixes.csv is missing: the package is incomplete")
    rows = csv.DictReader(io.StringIO(path.read_text()))
    return [
        (r["cidr"], int(r["asn"] or 0), r["org"], "ZZ")
        for r in rows
        if r["kind"] == kind and ":" not in r["cidr"]
    ]


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


@dataclass(frozen=True)
class PrefixTable6:
    """IPv6 prefixes of one kind: first /64 (upper 64 bits), number of /64s, owner, country."""

    kind: str
    base: np.ndarray  # uint64 upper 64 bits of the first /64
    size: np.ndarray  # uint64 number of /64 networks in the prefix
    asn: np.ndarray
    org: tuple[str, ...]
    country: np.ndarray

    def __len__(self) -> int:
        return len(self.base)


def _table6(kind: str, rows: list[tuple[str, int, str, str]]) -> PrefixTable6:
    nets = [ipaddress.IPv6Network(c) for c, *_ in rows]
    if any(n.prefixlen > 64 for n in nets):
        raise DistillguardError(f"IPv6 prefixes of {kind!r} must be /64 or shorter")
    return PrefixTable6(
        kind=kind,
        base=np.array([int(n.network_address) >> 64 for n in nets], dtype=np.uint64),
        size=np.array([1 << (64 - n.prefixlen) for n in nets], dtype=np.uint64),
        asn=np.array([a for _, a, _, _ in rows], dtype=np.int64),
        org=tuple(o for _, _, o, _ in rows),
        country=np.array([k for *_, k in rows]),
    )


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

    def __init__(
        self, tables: dict[str, PrefixTable], source: str, v6: dict[str, PrefixTable6] | None = None
    ) -> None:
        missing = [k for k in KINDS if k not in tables]
        if missing:
            raise DistillguardError(f"network ranges lack kinds: {', '.join(missing)}")
        self.tables = tables
        self.source = source
        self.v6 = v6 if v6 is not None else {k: _table6(k, rows) for k, rows in _BUILTIN_V6.items()}

    @classmethod
    def builtin(cls) -> NetRanges:
        """The embedded tables (work without any data on disk); hosting/relay from enrich."""
        return cls(_builtin_tables(), "builtin (hosting, relay: enrich/data/builtin_prefixes.csv)")

    @classmethod
    def from_corpus(cls, root: Path) -> NetRanges:
        """Hosting/VPN/Tor/relay from ``root/ip_infra`` feeds; the other kinds built in."""
        ip = Path(root) / "ip_infra"
        tables = _builtin_tables()
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
        return cls(tables, f"corpus:{root} ({', '.join(used)})" if used else cls.builtin().source)

    def sample(self, kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` IPv4 address codes (uint64) of ``kind``, prefixes weighted by sqrt(size)."""
        t = self.tables[kind]
        w = np.sqrt(t.size.astype(np.float64))
        idx = rng.choice(len(t), size=n, p=w / w.sum())
        return self._hosts(t, idx, rng)

    def sample_in_country(self, kind: str, rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
        """One IPv4 address per entry of ``countries``, from that country's prefixes when any exist."""
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
        return t.base[idx] + off

    def has_v6(self, kind: str, countries: np.ndarray) -> np.ndarray:
        """Whether each country has IPv6 prefixes of ``kind`` here (only those get v6 clients)."""
        t = self.v6.get(kind)
        return np.zeros(len(countries), bool) if t is None else np.isin(countries, t.country)

    def sample_v6(self, kind: str, rng: np.random.Generator, countries: np.ndarray) -> np.ndarray:
        """One subscriber /64 (upper 64 bits, uint64) per country, from that country's v6 prefixes."""
        t = self.v6[kind]
        countries = np.asarray(countries)
        idx = rng.integers(0, len(t), size=len(countries))
        for c in np.unique(countries):
            own = np.flatnonzero(t.country == c)
            if len(own):
                sel = np.flatnonzero(countries == c)
                idx[sel] = own[rng.integers(0, len(own), size=len(sel))]
        off = np.floor(rng.random(len(idx)) * t.size[idx].astype(np.float64)).astype(np.uint64)
        return t.base[idx] + np.minimum(off, t.size[idx] - np.uint64(1))


def _builtin_tables() -> dict[str, PrefixTable]:
    tables = {k: _table(k, rows) for k, rows in _BUILTIN.items()}
    for kind in ENRICH_KINDS:
        tables[kind] = _table(kind, _enrich_rows(kind))
    return tables


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
